{#
    The stakeholder KPIs in the KPI radar's long daily format. A survey measures its month
    and is read once the month has ended: each day carries the company's result of the latest
    survey month that ended before it, so a month's value holds from the first day after it
    until the next survey's month has ended (a month without a survey keeps the previous one),
    and a survey under way is never read against whole ones. The series ends on `as_of`, or
    else on the day of the latest response, never in the future.
#}

{%- set as_of = as_of() %}

with

pulse_monthly as (

    select * from {{ ref('fct_employee_pulse_monthly') }}

),

company_pulse as (

    -- the whole company only: departments are too small to watch day by day
    select
        survey_month,
        enps,
        response_rate,
        responses,
        invited
    from pulse_monthly
    where department = 'all' and is_complete_month

),

surveys as (

    select
        -- the month is read from the day after it ends
        cast({{ dbt.dateadd('month', 1, 'survey_month') }} as date) as valid_from,
        cast(
            lead({{ dbt.dateadd('month', 1, 'survey_month') }}) over (order by survey_month)
            as date
        ) as valid_to,
        enps,
        response_rate,
        responses,
        invited
    from company_pulse

),

bounds as (

    select
        min(valid_from) as first_day,
        {{
            "cast('" ~ as_of ~ "' as date)" if as_of
            else '(select cast(max(last_response_at) as date) from pulse_monthly)'
        }} as last_day
    from surveys

),

days as (

    {{ day_series('(select first_day from bounds)', '(select last_day from bounds)', 'kpi_date') }}

),

daily as (

    select
        days.kpi_date,
        surveys.enps,
        surveys.response_rate,
        surveys.responses,
        surveys.invited
    from days
    inner join surveys
        on
            days.kpi_date >= surveys.valid_from
            and (surveys.valid_to is null or days.kpi_date < surveys.valid_to)

),

kpis as (

    select
        kpi_date,
        'employee_enps' as kpi_name,
        enps as kpi_value,
        responses as sample_size
    from daily

    union all

    select
        kpi_date,
        'employee_response_rate' as kpi_name,
        response_rate as kpi_value,
        invited as sample_size
    from daily

),

final as (

    select
        -- keys
        kpi_date,
        kpi_name,
        'total' as dimension,
        'all' as dimension_value,

        -- measures (null when undefined that month, e.g. a rate without a headcount)
        cast(kpi_value as {{ type_double() }}) as value,
        -- the responses or the staff invited the value is a share of
        cast(sample_size as {{ dbt.type_bigint() }}) as sample_size

    from kpis

)

select * from final
