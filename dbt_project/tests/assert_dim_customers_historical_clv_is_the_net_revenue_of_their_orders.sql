{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

-- Recounts every customer's orders and historical CLV straight from the orders: non-cancelled
-- orders on or before the observation end, net of refunds. A customer without such an order
-- must show 0 and 0.00. Any difference means an order was dropped, doubled or counted
-- against the wrong customer on the way through the RFM model.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

recount as (

    select
        customers.customer_id,
        count(orders.order_id) as orders,
        coalesce(sum(orders.net_revenue), 0) as historical_clv
    from customers
    left join orders
        on
            customers.customer_id = orders.customer_id
            and not orders.is_cancelled
            and customers.observation_end >= orders.order_date
    group by customers.customer_id

),

final as (

    select
        customers.customer_id,
        customers.orders as built_orders,
        recount.orders as recounted_orders,
        customers.historical_clv as built_historical_clv,
        recount.historical_clv as recounted_historical_clv
    from customers
    inner join recount
        on customers.customer_id = recount.customer_id
    where
        customers.orders != recount.orders
        or customers.historical_clv != recount.historical_clv

)

select * from final
