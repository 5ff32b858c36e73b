with

products as (

    select * from {{ ref('stg_erp__products') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_converted') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

sales as (

    -- what each product sold on non-cancelled orders, net of discounts and of tax, in the
    -- reporting currency; a line without an exchange rate leaves the sum null, never partial
    select
        order_lines.product_id,
        sum(order_lines.quantity) as units_sold,
        count(distinct order_lines.order_id) as orders,
        count(distinct orders.customer_id) as customers,
        case
            when count(order_lines.line_revenue) = count(*) then sum(order_lines.line_revenue)
        end as line_revenue
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
        cast(
            case when sales.product_id is null then 0 else sales.line_revenue end
            as decimal(18, 2)
        ) as line_revenue

    from products
    left join sales
        on products.product_id = sales.product_id

)

select * from final
