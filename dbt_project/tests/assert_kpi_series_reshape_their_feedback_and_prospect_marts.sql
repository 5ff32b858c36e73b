{{ config(meta={'dagster': {'ref': {'name': 'int_feedback_kpis_daily'}}}) }}

-- The KPI series only reshape the marts: each row of fct_feedback_daily yields one row per
-- feedback KPI, each row of fct_prospects_daily one per lead KPI and each row of
-- fct_web_channels_daily one per web KPI, no more, no less.
with

feedback_daily as (

    select * from {{ ref('fct_feedback_daily') }}

),

prospects_daily as (

    select * from {{ ref('fct_prospects_daily') }}

),

web_channels_daily as (

    select * from {{ ref('fct_web_channels_daily') }}

),

feedback_kpis as (

    select * from {{ ref('int_feedback_kpis_daily') }}

),

prospect_kpis as (

    select * from {{ ref('int_prospect_kpis_daily') }}

),

expected as (

    select
        'int_feedback_kpis_daily' as kpi_model,
        9 * (select count(*) from feedback_daily) as row_count

    union all

    select
        'int_prospect_kpis_daily' as kpi_model,
        3 * (select count(*) from prospects_daily)
        + 2 * (select count(*) from web_channels_daily) as row_count

),

actual as (

    select
        'int_feedback_kpis_daily' as kpi_model,
        count(*) as row_count
    from feedback_kpis

    union all

    select
        'int_prospect_kpis_daily' as kpi_model,
        count(*) as row_count
    from prospect_kpis

),

final as (

    select
        expected.kpi_model,
        expected.row_count as expected_rows,
        actual.row_count as actual_rows
    from expected
    inner join actual
        on expected.kpi_model = actual.kpi_model
    where expected.row_count != actual.row_count

)

select * from final
