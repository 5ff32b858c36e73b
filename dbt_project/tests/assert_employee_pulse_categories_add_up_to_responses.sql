-- Every response with a score is a promoter (9-10), a passive (7-8) or a detractor (0-6),
-- exactly one of them, so on every row of the pulse mart the three add up to the responses.
-- A gap means a score fell outside 0-10 or between two categories.
with

pulse_monthly as (

    select * from {{ ref('fct_employee_pulse_monthly') }}

),

final as (

    select
        survey_month,
        department,
        responses,
        promoters,
        passives,
        detractors
    from pulse_monthly
    where promoters + passives + detractors != responses

)

select * from final
