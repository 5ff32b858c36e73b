-- Every customer has exactly one current segment and one current region, so on every day
-- the segments' active customers, orders and revenue add up to the total, and so do the
-- regions'. A gap means a customer counted twice or lost between dimensions.
with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

totals as (

    select
        value_date,
        active_customers,
        orders_in_window,
        net_revenue_in_window
    from customer_value_daily
    where dimension = 'total'

),

dimension_sums as (

    select
        dimension,
        value_date,
        sum(active_customers) as active_customers,
        sum(orders_in_window) as orders_in_window,
        sum(net_revenue_in_window) as net_revenue_in_window
    from customer_value_daily
    where dimension in ('segment', 'region')
    group by dimension, value_date

),

expected_dimensions as (

    select 'segment' as dimension
    union all
    select 'region' as dimension

),

final as (

    select
        totals.value_date,
        expected_dimensions.dimension,
        totals.active_customers as total_active_customers,
        dimension_sums.active_customers as summed_active_customers,
        totals.orders_in_window as total_orders_in_window,
        dimension_sums.orders_in_window as summed_orders_in_window,
        totals.net_revenue_in_window as total_net_revenue_in_window,
        dimension_sums.net_revenue_in_window as summed_net_revenue_in_window
    from totals
    cross join expected_dimensions
    left join dimension_sums
        on
            totals.value_date = dimension_sums.value_date
            and expected_dimensions.dimension = dimension_sums.dimension
    where
        dimension_sums.value_date is null
        or totals.active_customers != dimension_sums.active_customers
        or totals.orders_in_window != dimension_sums.orders_in_window
        or totals.net_revenue_in_window != dimension_sums.net_revenue_in_window

)

select * from final
