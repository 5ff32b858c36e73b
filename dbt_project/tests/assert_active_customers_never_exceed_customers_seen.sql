{{ config(meta={'dagster': {'ref': {'name': 'fct_customer_value_daily'}}}) }}

-- A customer active on a day has ordered on or before that day: the active customers of a
-- member never exceed the distinct customers of that member with a non-cancelled order so
-- far, nor the orders of the window.
with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

first_orders as (

    select
        customer_id,
        segment,
        region,
        min(order_date) as first_order_date
    from orders
    where not is_cancelled
    group by customer_id, segment, region

),

new_customers as (

    select
        'total' as dimension,
        'all' as dimension_value,
        first_order_date,
        count(*) as new_customers
    from first_orders
    group by first_order_date

    union all

    select
        'segment' as dimension,
        segment as dimension_value,
        first_order_date,
        count(*) as new_customers
    from first_orders
    group by segment, first_order_date

    union all

    select
        'region' as dimension,
        region as dimension_value,
        first_order_date,
        count(*) as new_customers
    from first_orders
    group by region, first_order_date

),

customers_seen as (

    -- the daily series has every day from the first order on, so a running sum of the
    -- customers first seen each day counts the customers seen so far
    select
        customer_value_daily.value_date,
        customer_value_daily.dimension,
        customer_value_daily.dimension_value,
        customer_value_daily.active_customers,
        customer_value_daily.orders_in_window,
        sum(coalesce(new_customers.new_customers, 0)) over (
            partition by customer_value_daily.dimension, customer_value_daily.dimension_value
            order by customer_value_daily.value_date
            rows between unbounded preceding and current row
        ) as customers_seen
    from customer_value_daily
    left join new_customers
        on
            customer_value_daily.dimension = new_customers.dimension
            and customer_value_daily.dimension_value = new_customers.dimension_value
            and customer_value_daily.value_date = new_customers.first_order_date

),

final as (

    select *
    from customers_seen
    where
        active_customers > customers_seen
        or active_customers > orders_in_window

)

select * from final
