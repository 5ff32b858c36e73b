with

products as (

    select * from {{ ref('stg_erp__products') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

sales as (

    -- what each product sold on non-cancelled orders, net of discounts and of tax
    select
        order_lines.product_id,
        sum(order_lines.quantity) as units_sold,
        count(distinct order_lines.order_id) as orders,
        count(distinct orders.customer_id) as customers,
        sum(
            order_lines.quantity * order_lines.unit_price - order_lines.discount_amount
        ) as line_revenue
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    where not orders.is_cancelled
    group by order_lines.product_id

),

final as (

    select
        -- ids
        products.product_id,

        -- dimensions
        products.product_name,
        products.category,

        -- measures
        products.list_price,
        cast(coalesce(sales.units_sold, 0) as {{ dbt.type_bigint() }}) as units_sold,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.customers, 0) as customers,
        cast(coalesce(sales.line_revenue, 0) as decimal(18, 2)) as line_revenue

    from products
    left join sales
        on products.product_id = sales.product_id

)

select * from final
