{#
    A table rebuilt in full, not incremental: it only reshapes the daily marts (days × members
    × KPIs, tens of thousands of rows, built in well under a second), and a full rebuild
    applies a KPI enabled or disabled in the catalogue to the whole history at the next build,
    where an incremental model would need a full refresh.
#}

with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

customer_value_kpis as (

    -- the customer-value measures, one row per measure
    select
        value_date as kpi_date,
        'average_customer_value' as kpi_name,
        dimension,
        dimension_value,
        cast(average_customer_value as {{ type_double() }}) as value
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'active_customers' as kpi_name,
        dimension,
        dimension_value,
        cast(active_customers as {{ type_double() }}) as value
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'window_revenue' as kpi_name,
        dimension,
        dimension_value,
        cast(net_revenue_in_window as {{ type_double() }}) as value
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'orders_per_active_customer' as kpi_name,
        dimension,
        dimension_value,
        cast(orders_per_active_customer as {{ type_double() }}) as value
    from customer_value_daily

    union all

    select
        value_date as kpi_date,
        'average_order_value' as kpi_name,
        dimension,
        dimension_value,
        cast(average_order_value as {{ type_double() }}) as value
    from customer_value_daily

),

final as (

    select
        -- keys
        customer_value_kpis.kpi_date,
        customer_value_kpis.kpi_name,
        customer_value_kpis.dimension,
        customer_value_kpis.dimension_value,

        -- measures (null when undefined that day, e.g. a ratio over no active customer)
        customer_value_kpis.value

    from customer_value_kpis
    -- only KPIs that are in the catalogue and enabled there
    inner join kpi_catalogue
        on customer_value_kpis.kpi_name = kpi_catalogue.kpi_name
    where kpi_catalogue.enabled

)

select * from final
