{#
    A table rebuilt in full: a few thousand leads over about a thousand days × channels,
    built in well under a second, and a first order arriving today changes the conversion of
    leads created months ago.

    Window lengths are dbt vars; `or` gives the defaults so that a var left undefined in
    dbt_project.yml still has them.
#}

{%- set window_days = (var('prospects_window_days', none) or 30) | int %}
{%- set conversion_days = (var('lead_conversion_window_days', none) or 90) | int %}
{%- set as_of = as_of() %}

with

lead_funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

orders as (

    -- the orders of the run's as-of day and before; later ones wait for their day
    select * from {{ ref('stg_erp__orders') }}
    where {{ on_or_before_as_of('order_date') }}

),

lead_bounds as (

    select
        min(lead_created_date) as first_lead_day,
        max(lead_created_date) as last_lead_day
    from lead_funnel

),

order_bounds as (

    select
        min(order_date) as first_order_day,
        max(order_date) as last_order_day
    from orders

),

data_bounds as (

    -- the series starts with the order history (conversions of older leads cannot be seen),
    -- or with the first lead when there is no ERP, and runs to the latest lead or order
    select
        greatest(
            lead_bounds.first_lead_day,
            coalesce(order_bounds.first_order_day, lead_bounds.first_lead_day)
        ) as first_day,
        greatest(
            lead_bounds.last_lead_day,
            coalesce(order_bounds.last_order_day, lead_bounds.last_lead_day)
        ) as last_data_day,
        -- without ERP orders no conversion can be seen: rates are unknown, not 0 %
        order_bounds.first_order_day is not null as has_order_history
    from lead_bounds
    cross join order_bounds

),

calendar as (

    -- the last day is `as_of` when it is set
    select
        first_day,
        {{ "cast('" ~ as_of ~ "' as date)" if as_of else 'last_data_day' }} as last_day,
        has_order_history
    from data_bounds

),

counted_leads as (

    select
        lead_funnel.lead_source,
        lead_funnel.lead_created_date,
        lead_funnel.first_order_date,
        lead_funnel.days_to_first_order,
        -- converted within the conversion window of its creation (and by the last day); a
        -- lead converted later counts as not converted, so that every cohort is measured
        -- over the same horizon
        coalesce(
            lead_funnel.days_to_first_order <= {{ conversion_days }}
            and lead_funnel.first_order_date <= calendar.last_day,
            false
        ) as is_converted_in_window
    from lead_funnel
    cross join calendar
    where lead_funnel.lead_created_date between calendar.first_day and calendar.last_day

),

member_leads as (

    {{ member_rows('counted_leads', {'channel': 'lead_source'}) }}

),

dimension_members as (

    select distinct
        dimension,
        dimension_value
    from member_leads

),

daily_leads as (

    select
        dimension,
        dimension_value,
        lead_created_date,
        count(*) as leads_created,
        sum(case when is_converted_in_window then 1 else 0 end) as leads_converted
    from member_leads
    group by dimension, dimension_value, lead_created_date

),

days as (

    {{ day_series(
        '(select first_day from calendar)', '(select last_day from calendar)', 'prospect_date'
    ) }}

),

member_days as (

    -- every day for every member, with or without leads, so that the windows below can
    -- count rows instead of comparing dates
    select
        days.prospect_date,
        dimension_members.dimension,
        dimension_members.dimension_value
    from days
    cross join dimension_members

),

conversions as (

    -- the marketing lag of the leads whose first order fell in the `conversion_days` days
    -- ending on each day: dated by conversion, so a day's value never waits for later data
    select
        member_days.prospect_date,
        member_days.dimension,
        member_days.dimension_value,
        count(*) as first_orders,
        percentile_cont(0.5) within group (
            order by member_leads.days_to_first_order
        ) as median_days_to_first_order
    from member_days
    inner join member_leads
        on
            member_days.dimension = member_leads.dimension
            and member_days.dimension_value = member_leads.dimension_value
            and member_leads.first_order_date
            between {{ add_days('member_days.prospect_date', -(conversion_days - 1)) }}
            and member_days.prospect_date
    where member_leads.days_to_first_order is not null
    group by member_days.prospect_date, member_days.dimension, member_days.dimension_value

),

daily as (

    select
        -- keys
        member_days.prospect_date,
        member_days.dimension,
        member_days.dimension_value,

        -- measures of the day
        coalesce(daily_leads.leads_created, 0) as leads_created,
        coalesce(daily_leads.leads_converted, 0) as leads_converted

    from member_days
    left join daily_leads
        on
            member_days.dimension = daily_leads.dimension
            and member_days.dimension_value = daily_leads.dimension_value
            and member_days.prospect_date = daily_leads.lead_created_date

),

windowed as (

    select
        -- keys
        prospect_date,
        dimension,
        dimension_value,

        -- measures of the day
        leads_created,

        -- the cohort of leads created in the `window_days` days ending on the day
        sum(leads_created) over (
            partition by dimension, dimension_value
            order by prospect_date
            rows between {{ window_days - 1 }} preceding and current row
        ) as leads_created_in_window,
        sum(leads_converted) over (
            partition by dimension, dimension_value
            order by prospect_date
            rows between {{ window_days - 1 }} preceding and current row
        ) as leads_converted_in_window

    from daily

),

final as (

    select
        -- keys
        windowed.prospect_date,
        windowed.dimension,
        windowed.dimension_value,

        -- leads created
        cast(windowed.leads_created as {{ dbt.type_bigint() }}) as leads_created,
        cast(windowed.leads_created_in_window as {{ dbt.type_bigint() }}) as leads_created_30d,

        -- conversion of the leads created in the trailing window, within
        -- `conversion_days` days of their creation; the rate is final once the last lead of
        -- the window has had its full conversion window
        cast(windowed.leads_converted_in_window as {{ dbt.type_bigint() }})
            as leads_converted_30d,
        {{ add_days('windowed.prospect_date', conversion_days) }} <= calendar.last_day
            as is_conversion_window_complete,
        case
            when
                calendar.has_order_history
                and {{ add_days('windowed.prospect_date', conversion_days) }} <= calendar.last_day
                then
                    100 * cast(windowed.leads_converted_in_window as {{ type_double() }})
                    / nullif(windowed.leads_created_in_window, 0)
        end as lead_conversion_rate_30d,

        -- marketing lag of the conversions (first orders) of the trailing `conversion_days`
        cast(coalesce(conversions.first_orders, 0) as {{ dbt.type_bigint() }})
            as first_orders_from_leads_90d,
        cast(conversions.median_days_to_first_order as {{ type_double() }})
            as median_days_to_first_order_90d

    from windowed
    cross join calendar
    left join conversions
        on
            windowed.prospect_date = conversions.prospect_date
            and windowed.dimension = conversions.dimension
            and windowed.dimension_value = conversions.dimension_value

)

select * from final
