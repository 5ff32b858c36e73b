{#
    The stakeholder KPIs in the KPI radar's long daily format. A survey measures its month:
    each day carries the company's result of the latest survey month on or before it, so the
    value of a month holds from its first day until the next survey's month begins (and a
    month without a survey keeps the previous one). The series ends on `as_of`, or else on
    the day of the latest response, never in the future.
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
        invited,
        last_response_at
    from pulse_monthly
    where department = 'all'
    {%- if as_of %}
        and survey_month <= cast('{{ as_of }}' as date)
    {%- endif %}

),

surveys as (

    select
        survey_month as valid_from,
        lead(survey_month) over (order by survey_month) as next_survey_month,
        enps,
        response_rate,
        responses,
        invited
    from company_pulse

),

bounds as (

    select
        min(survey_month) as first_day,
        {{ "cast('" ~ as_of ~ "' as date)" if as_of else 'cast(max(last_response_at) as date)' }}
            as last_day
    from company_pulse

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
            and (surveys.next_survey_month is null or days.kpi_date < surveys.next_survey_month)

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
