{{ config(meta={'dagster': {'ref': {'name': 'fct_feedback_daily'}}}) }}

-- NPS is a difference of two percentages of the same responses: from -100 (all detractors)
-- to 100 (all promoters), in the mart and in the KPI series the alerts read.
with

feedback_daily as (

    select * from {{ ref('fct_feedback_daily') }}

),

feedback_kpis as (

    select * from {{ ref('int_feedback_kpis_daily') }}

),

nps_values as (

    select
        'fct_feedback_daily' as source_model,
        feedback_date as value_date,
        dimension,
        dimension_value,
        nps_90d as nps
    from feedback_daily

    union all

    select
        'int_feedback_kpis_daily' as source_model,
        kpi_date as value_date,
        dimension,
        dimension_value,
        value as nps
    from feedback_kpis
    where kpi_name = 'nps'

),

final as (

    select *
    from nps_values
    where nps < -100 or nps > 100

)

select * from final
