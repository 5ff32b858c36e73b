with

orders as (

    -- the orders of the run's as-of day and before; later ones wait for their day
    select * from {{ ref('stg_erp__orders') }}
    where {{ on_or_before_as_of('order_date') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_converted') }}

),

refunds as (

    -- a credit note written after the as-of day was not known on that day
    select * from {{ ref('int_refunds_converted') }}
    where refund_date is null or {{ on_or_before_as_of('refund_date') }}

),

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

order_line_totals as (

    -- amounts in the reporting currency; null when a line has no exchange rate, never a
    -- partial sum
    select
        order_id,
        count(*) as line_count,
        -- revenue is net of discounts and excludes tax
        case when count(line_revenue) = count(*) then sum(line_revenue) end as line_revenue,
        case when count(tax_amount) = count(*) then sum(tax_amount) end as tax_amount,
        max(_loaded_at) as _loaded_at
    from order_lines
    group by order_id

),

order_refunds as (

    -- credit notes count against the order they refund, on the order date (not the refund
    -- date), so a customer's value follows their orders; each is converted at the rate of its
    -- own date, and a credit note without a rate leaves the sum null
    select
        order_id,
        count(*) as refund_count,
        case
            when count(refund_amount) = count(*) then sum(refund_amount)
        end as refunded_amount,
        max(_loaded_at) as _loaded_at
    from refunds
    group by order_id

),

order_amounts as (

    -- per order, in the reporting currency: 0 without lines or refunds, null when one of them
    -- has no exchange rate (never counted as 0)
    select
        orders.order_id,
        coalesce(order_line_totals.line_count, 0) as line_count,
        case
            when order_line_totals.order_id is null then 0
            else order_line_totals.line_revenue
        end as line_revenue,
        case
            when order_refunds.order_id is null then 0
            else order_refunds.refunded_amount
        end as refunded_amount,
        case
            when order_line_totals.order_id is null then 0
            else order_line_totals.tax_amount
        end as tax_amount,
        greatest(
            coalesce(order_line_totals._loaded_at, orders._loaded_at),
            coalesce(order_refunds._loaded_at, orders._loaded_at)
        ) as _loaded_at
    from orders
    left join order_line_totals
        on orders.order_id = order_line_totals.order_id
    left join order_refunds
        on orders.order_id = order_refunds.order_id

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
        -- the currency the ERP holds the order in; every amount here is converted from it
        orders.currency,

        -- measures (net of tax, in the reporting currency): the exact sums rounded to the cent,
        -- and net revenue from the rounded ones, so the three always add up
        order_amounts.line_count,
        cast(order_amounts.line_revenue as decimal(18, 2)) as line_revenue,
        cast(order_amounts.refunded_amount as decimal(18, 2)) as refunded_amount,
        cast(
            cast(order_amounts.line_revenue as decimal(18, 2))
            - cast(order_amounts.refunded_amount as decimal(18, 2))
            as decimal(18, 2)
        ) as net_revenue,
        cast(order_amounts.tax_amount as decimal(18, 2)) as tax_amount,

        -- dates
        orders.order_date,
        orders.earliest_order_date,

        -- lineage: the latest raw load among everything this row is built from (exchange
        -- rates included), of the customer only what gave them their segment and region;
        -- incremental marts recompute from the order date of every order loaded since their
        -- last build
        greatest(
            orders._loaded_at,
            order_amounts._loaded_at,
            coalesce(customers.segment_region_loaded_at, orders._loaded_at)
        ) as _loaded_at

    from orders
    inner join order_amounts
        on orders.order_id = order_amounts.order_id
    left join customers
        on orders.customer_id = customers.customer_id

)

select * from final
