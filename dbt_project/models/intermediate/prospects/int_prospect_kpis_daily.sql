{#
    The prospect marts reshaped into the long KPI series of the radar, one row per KPI: the
    KPI mart and the alerts read this instead of repeating the definitions. A rate or a median
    comes with its sample size: the leads, visitors or conversions it is taken over.

    lead_conversion_rate on day d is the rate of the latest lead cohort that is final on d:
    the leads created in the window ending `lead_conversion_window_days` days before d, whose
    conversion window has just closed. It is what could be known on d, so the series never
    drops at its end for want of time to convert.

    A count over the trailing `prospects_window_days` (leads, visitors) is null until that
    window lies within the data: on the series' first days it would only count the days so
    far, a climb that is no growth, and a baseline read on it would sit too low.
#}

{%- set conversion_days = (var('lead_conversion_window_days', none) or 90) | int %}
{%- set window_days = (var('prospects_window_days', none) or 30) | int %}

with

prospects_daily as (

    select * from {{ ref('fct_prospects_daily') }}

),

web_channels_daily as (

    select * from {{ ref('fct_web_channels_daily') }}

),

latest_final_cohorts as (

    select
        later.prospect_date,
        later.dimension,
        later.dimension_value,
        cohort.lead_conversion_rate_30d,
        cohort.leads_created_30d
    from prospects_daily as later
    left join prospects_daily as cohort
        on
            later.dimension = cohort.dimension
            and later.dimension_value = cohort.dimension_value
            and cohort.prospect_date = {{ add_days('later.prospect_date', -conversion_days) }}

),

full_windows as (

    -- the first day whose trailing window lies within each series
    select
        (
            select {{ add_days('min(prospect_date)', window_days - 1) }}
            from prospects_daily
        ) as first_lead_day,
        (
            select {{ add_days('min(activity_date)', window_days - 1) }}
            from web_channels_daily
        ) as first_web_day

),

final as (

    select
        prospects_daily.prospect_date as kpi_date,
        'leads_created_30d' as kpi_name,
        prospects_daily.dimension,
        prospects_daily.dimension_value,
        case
            when prospects_daily.prospect_date >= full_windows.first_lead_day
                then cast(prospects_daily.leads_created_30d as {{ type_double() }})
        end as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from prospects_daily
    cross join full_windows

    union all

    select
        prospect_date as kpi_date,
        'lead_conversion_rate' as kpi_name,
        dimension,
        dimension_value,
        cast(lead_conversion_rate_30d as {{ type_double() }}) as value,
        cast(leads_created_30d as {{ dbt.type_bigint() }}) as sample_size
    from latest_final_cohorts

    union all

    select
        prospect_date as kpi_date,
        'marketing_lag_days' as kpi_name,
        dimension,
        dimension_value,
        cast(median_days_to_first_order_90d as {{ type_double() }}) as value,
        cast(first_orders_from_leads_90d as {{ dbt.type_bigint() }}) as sample_size
    from prospects_daily

    union all

    select
        web_channels_daily.activity_date as kpi_date,
        'web_visitors_30d' as kpi_name,
        web_channels_daily.dimension,
        web_channels_daily.dimension_value,
        case
            when web_channels_daily.activity_date >= full_windows.first_web_day
                then cast(web_channels_daily.visitors_30d as {{ type_double() }})
        end as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from web_channels_daily
    cross join full_windows

    union all

    select
        activity_date as kpi_date,
        'visitor_to_lead_rate_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(visitor_to_lead_rate_30d as {{ type_double() }}) as value,
        cast(visitors_30d as {{ dbt.type_bigint() }}) as sample_size
    from web_channels_daily

)

select * from final
