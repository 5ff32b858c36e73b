-- A customer's non-cancelled orders are numbered 1 … n without gap or repeat, exactly one of
-- them is first, and the days since the previous order are missing only on the first.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select
        customer_id,
        count(*) as order_count,
        count(distinct order_number) as distinct_order_numbers,
        max(order_number) as last_order_number,
        sum(case when is_first_order then 1 else 0 end) as first_orders,
        sum(case when days_since_previous_order is null then 1 else 0 end)
            as orders_without_previous
    from orders
    where not is_cancelled
    group by customer_id

),

final as (

    select *
    from customers
    where
        last_order_number != order_count
        or distinct_order_numbers != order_count
        or first_orders != 1
        or orders_without_previous != 1

)

select * from final
