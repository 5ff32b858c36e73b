-- The customer-value KPIs of the radar, reshaped from fct_customer_value_daily into the long
-- format every area's KPI series shares: one row per day per KPI per dimension member, with
-- the customers or orders a mean is taken over (null for a count or a sum).
with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

final as (

    -- the customer-value measures, one row per measure
    select
        value_date as kpi_date,
        'average_customer_value' as kpi_name,
        dimension,
        dimension_value,
        cast(average_customer_value as {{ type_double() }}) as value,
        cast(active_customers as {{ dbt.type_bigint() }}) as sample_size
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'active_customers' as kpi_name,
        dimension,
        dimension_value,
        cast(active_customers as {{ type_double() }}) as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'window_revenue' as kpi_name,
        dimension,
        dimension_value,
        cast(net_revenue_in_window as {{ type_double() }}) as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'orders_per_active_customer' as kpi_name,
        dimension,
        dimension_value,
        cast(orders_per_active_customer as {{ type_double() }}) as value,
        cast(active_customers as {{ dbt.type_bigint() }}) as sample_size
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'average_order_value' as kpi_name,
        dimension,
        dimension_value,
        cast(average_order_value as {{ type_double() }}) as value,
        cast(orders_in_window as {{ dbt.type_bigint() }}) as sample_size
    from customer_value_daily

)

select * from final
