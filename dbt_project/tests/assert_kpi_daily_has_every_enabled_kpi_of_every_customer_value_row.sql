{{ config(meta={'dagster': {'ref': {'name': 'fct_kpi_daily'}}}) }}

-- The customer-value rows of fct_kpi_daily are fct_customer_value_daily reshaped: each of its
-- rows yields one row per enabled customer-value KPI, no more, no less.
with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

kpi_daily as (

    select * from {{ ref('fct_kpi_daily') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

enabled_customer_value_kpis as (

    select count(*) as kpi_count
    from kpi_catalogue
    where
        enabled
        and kpi_name in (
            'average_customer_value',
            'active_customers',
            'window_revenue',
            'orders_per_active_customer',
            'average_order_value'
        )

),

expected as (

    select count(*) * max(enabled_customer_value_kpis.kpi_count) as row_count
    from customer_value_daily
    cross join enabled_customer_value_kpis

),

actual as (

    select count(*) as row_count
    from kpi_daily
    where kpi_name in (
        'average_customer_value',
        'active_customers',
        'window_revenue',
        'orders_per_active_customer',
        'average_order_value'
    )

),

final as (

    select
        expected.row_count as expected_rows,
        actual.row_count as actual_rows
    from expected
    cross join actual
    where expected.row_count != actual.row_count

)

select * from final
