{#
    A table rebuilt in full: a few dozen survey months × departments, built in milliseconds,
    and a late response or a corrected export changes its month wherever it falls.
#}

{%- set as_of = as_of() %}

with

responses as (

    select * from {{ ref('stg_hr__pulse_responses') }}

),

calendar as (

    -- the data run to `as_of`, or without it to the latest response
    {%- if as_of %}
    select cast('{{ as_of }}' as date) as last_day
    {%- else %}
    select cast(max(submitted_at) as date) as last_day
    from responses
    {%- endif %}

),

departments as (

    select
        survey_month,
        department,
        -- the headcount invited is repeated on every response of the department; exports
        -- taken while the survey ran may differ by a late hire, the largest one counts
        max(invited_count) as invited,
        count(score) as responses,
        count(case when score >= 9 then 1 end) as promoters,
        count(case when score between 7 and 8 then 1 end) as passives,
        count(case when score <= 6 then 1 end) as detractors,
        max(submitted_at) as last_response_at
    from responses
    group by survey_month, department

),

company as (

    select
        survey_month,
        'all' as department,
        sum(invited) as invited,
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(passives) as passives,
        sum(detractors) as detractors,
        max(last_response_at) as last_response_at
    from departments
    group by survey_month

),

departments_and_company as (

    select * from departments
    union all
    select * from company

),

final as (

    select
        -- keys
        survey_month,
        department,

        -- measures
        cast(invited as {{ dbt.type_bigint() }}) as invited,
        cast(responses as {{ dbt.type_bigint() }}) as responses,
        cast(responses as {{ type_double() }}) / nullif(invited, 0) as response_rate,
        cast(promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(passives as {{ dbt.type_bigint() }}) as passives,
        cast(detractors as {{ dbt.type_bigint() }}) as detractors,
        -- % promoters - % detractors, from -100 to 100
        100 * cast(promoters - detractors as {{ type_double() }}) / nullif(responses, 0) as enps,

        -- the survey's month has ended: a month under way has had only some of its answers
        {{ add_days(dbt.dateadd('month', 1, 'survey_month'), -1) }}
        <= (select calendar.last_day from calendar) as is_complete_month,

        -- timestamps
        last_response_at

    from departments_and_company

)

select * from final
