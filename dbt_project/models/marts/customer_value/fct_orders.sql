{#
    One row per order with its place in the customer's purchase history. A table rebuilt in
    full rather than incremental: a cancellation, or an order the ERP moves to another day,
    renumbers every later order of the customer, so an incremental build would have to
    rewrite whole customer histories from a full read of int_orders_enriched anyway (itself
    a full table); writing all rows costs little more.
#}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

counted_orders as (

    -- the purchase sequence counts non-cancelled orders only; orders of the same day are
    -- taken in the order of their numbers
    select
        order_id,
        row_number() over (
            partition by customer_id
            order by order_date, order_id
        ) as order_number,
        lag(order_date) over (
            partition by customer_id
            order by order_date, order_id
        ) as previous_order_date
    from orders
    where not is_cancelled

),

final as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,

        -- dimensions (the customer's current segment and region)
        orders.segment,
        orders.region,
        orders.is_cancelled,

        -- measures
        orders.net_revenue,

        -- purchase sequence (null for a cancelled order)
        coalesce(counted_orders.order_number = 1, false) as is_first_order,
        cast(counted_orders.order_number as {{ dbt.type_bigint() }}) as order_number,
        cast(
            {{ dbt.datediff('counted_orders.previous_order_date', 'orders.order_date', 'day') }}
            as {{ dbt.type_bigint() }}
        ) as days_since_previous_order,

        -- dates
        orders.order_date

    from orders
    left join counted_orders
        on orders.order_id = counted_orders.order_id

)

select * from final
