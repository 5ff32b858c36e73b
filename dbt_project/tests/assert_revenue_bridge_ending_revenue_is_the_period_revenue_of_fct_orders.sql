{{ config(meta={'dagster': {'ref': {'name': 'fct_revenue_bridge'}}}) }}

-- The bridge's ending revenue and customers of a period are simply the net revenue and the
-- distinct customers of the period's non-cancelled orders in fct_orders, summed directly
-- (up to `as_of` when set, where the bridge ends).

{%- set as_of = as_of() %}

with

revenue_bridge as (

    select * from {{ ref('fct_revenue_bridge') }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    {%- if as_of %}
    where order_date <= cast('{{ as_of }}' as date)
    {%- endif %}

),

period_orders as (

    select
        'month' as period_grain,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as period_start,
        sum(net_revenue) as net_revenue,
        count(distinct customer_id) as customers
    from orders
    where not is_cancelled
    group by cast({{ dbt.date_trunc('month', 'order_date') }} as date)

    union all

    select
        'week' as period_grain,
        cast({{ dbt.date_trunc('week', 'order_date') }} as date) as period_start,
        sum(net_revenue) as net_revenue,
        count(distinct customer_id) as customers
    from orders
    where not is_cancelled
    group by cast({{ dbt.date_trunc('week', 'order_date') }} as date)

),

totals as (

    select *
    from revenue_bridge
    where dimension = 'total'

),

final as (

    select
        totals.period_grain,
        totals.period_start,
        totals.ending_revenue,
        period_orders.net_revenue as orders_net_revenue,
        totals.ending_customers,
        period_orders.customers as orders_customers
    from totals
    left join period_orders
        on
            totals.period_grain = period_orders.period_grain
            and totals.period_start = period_orders.period_start
    where
        totals.ending_revenue != coalesce(period_orders.net_revenue, 0)
        or totals.ending_customers != coalesce(period_orders.customers, 0)

)

select * from final
