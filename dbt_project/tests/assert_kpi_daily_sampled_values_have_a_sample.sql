{{ config(meta={'dagster': {'ref': {'name': 'fct_kpi_daily'}}}) }}
-- A KPI the catalogue declares a share or mean of a sample (an observation range) has, on
-- every day it has a value, a positive sample size: the alerts hold its moves to the
-- sampling error of that sample and could not without it. A count of events is its own
-- sample.
with

kpi_daily as (

    select * from {{ ref('fct_kpi_daily') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

final as (

    select
        kpi_daily.kpi_date,
        kpi_daily.kpi_name,
        kpi_daily.dimension,
        kpi_daily.dimension_value,
        kpi_daily.value,
        kpi_daily.sample_size
    from kpi_daily
    inner join kpi_catalogue
        on kpi_daily.kpi_name = kpi_catalogue.kpi_name
    where
        kpi_catalogue.observation_range is not null
        and kpi_catalogue.observation_range != 'count'
        and kpi_daily.value is not null
        and coalesce(kpi_daily.sample_size, 0) <= 0

)

select * from final
