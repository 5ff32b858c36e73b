with

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

refunds as (

    select * from {{ ref('stg_erp__refunds') }}

),

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

order_line_totals as (

    select
        order_id,
        count(*) as line_count,
        -- revenue is net of discounts and excludes tax
        sum(quantity * unit_price - discount_amount) as line_revenue,
        sum(tax_amount) as tax_amount,
        max(_loaded_at) as _loaded_at
    from order_lines
    group by order_id

),

order_refunds as (

    -- credit notes count against the order they refund, on the order date (not the refund
    -- date), so a customer's value follows their orders
    select
        order_id,
        count(*) as refund_count,
        sum(refund_amount) as refunded_amount,
        max(_loaded_at) as _loaded_at
    from refunds
    group by order_id

),

final as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,

        -- dimensions: the customer's current segment and region, so a customer's whole
        -- history moves with them when the ERP reassigns them
        coalesce(customers.segment, 'unknown') as segment,
        coalesce(customers.region, 'unknown') as region,
        customers.customer_type,
        orders.status,
        orders.is_cancelled,
        orders.channel,
        orders.currency,

        -- measures (net of tax)
        coalesce(order_line_totals.line_count, 0) as line_count,
        cast(coalesce(order_line_totals.line_revenue, 0) as decimal(18, 2)) as line_revenue,
        cast(coalesce(order_refunds.refunded_amount, 0) as decimal(18, 2)) as refunded_amount,
        cast(
            coalesce(order_line_totals.line_revenue, 0)
            - coalesce(order_refunds.refunded_amount, 0)
            as decimal(18, 2)
        ) as net_revenue,
        cast(coalesce(order_line_totals.tax_amount, 0) as decimal(18, 2)) as tax_amount,

        -- dates
        orders.order_date,
        orders.earliest_order_date,

        -- lineage: the latest raw load among everything this row is built from; incremental
        -- marts recompute from the order date of every order loaded since their last build
        greatest(
            orders._loaded_at,
            coalesce(order_line_totals._loaded_at, orders._loaded_at),
            coalesce(order_refunds._loaded_at, orders._loaded_at),
            coalesce(customers._loaded_at, orders._loaded_at)
        ) as _loaded_at

    from orders
    left join order_line_totals
        on orders.order_id = order_line_totals.order_id
    left join order_refunds
        on orders.order_id = order_refunds.order_id
    left join customers
        on orders.customer_id = customers.customer_id

)

select * from final
