{{ config(meta={'dagster': {'ref': {'name': 'fct_customer_value_daily'}}}) }}

-- Recounts some days of fct_customer_value_daily straight from the definition (every
-- non-cancelled order whose date falls in the window), independently of the model's
-- running sums and of what earlier incremental builds left in it. Any difference means
-- the incremental build drifted from a full refresh, or the model from the definition.
-- The days recounted: the last 7 (where daily builds write) and the first of each quarter
-- (older history that late refunds and cancellations rewrite), of the days the build
-- changed in the daily job (macro recounted_day); recounting every day would cost days ×
-- orders in a window.
{{ config(tags=['recount']) }}

{%- set window_days = var('active_window_days') | int %}

with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

last_day as (

    select max(value_date) as value_date
    from customer_value_daily

),

sampled_days as (

    select distinct customer_value_daily.value_date
    from customer_value_daily
    cross join last_day
    where
        {{ sampled_day('customer_value_daily.value_date', 'last_day.value_date') }}
        and {{ recounted_day('customer_value_daily.value_date') }}

),

counted_orders as (

    select
        'total' as dimension,
        'all' as dimension_value,
        customer_id,
        order_date,
        net_revenue
    from orders
    where not is_cancelled

    union all

    select
        'segment' as dimension,
        segment as dimension_value,
        customer_id,
        order_date,
        net_revenue
    from orders
    where not is_cancelled

    union all

    select
        'region' as dimension,
        region as dimension_value,
        customer_id,
        order_date,
        net_revenue
    from orders
    where not is_cancelled

),

recount as (

    select
        sampled_days.value_date,
        counted_orders.dimension,
        counted_orders.dimension_value,
        count(distinct counted_orders.customer_id) as active_customers,
        count(*) as orders_in_window,
        sum(counted_orders.net_revenue) as net_revenue_in_window
    from sampled_days
    inner join counted_orders
        on
            sampled_days.value_date >= counted_orders.order_date
            and {{ add_days('sampled_days.value_date', -window_days) }}
            < counted_orders.order_date
    group by
        sampled_days.value_date,
        counted_orders.dimension,
        counted_orders.dimension_value

),

built as (

    select customer_value_daily.*
    from customer_value_daily
    inner join sampled_days
        on customer_value_daily.value_date = sampled_days.value_date

),

final as (

    select
        coalesce(built.value_date, recount.value_date) as value_date,
        coalesce(built.dimension, recount.dimension) as dimension,
        coalesce(built.dimension_value, recount.dimension_value) as dimension_value,
        built.active_customers as built_active_customers,
        recount.active_customers as recounted_active_customers,
        built.orders_in_window as built_orders_in_window,
        recount.orders_in_window as recounted_orders_in_window,
        built.net_revenue_in_window as built_net_revenue_in_window,
        recount.net_revenue_in_window as recounted_net_revenue_in_window
    from built
    full outer join recount
        on
            built.value_date = recount.value_date
            and built.dimension = recount.dimension
            and built.dimension_value = recount.dimension_value
    where
        built.value_date is null
        or coalesce(recount.active_customers, 0) != built.active_customers
        or coalesce(recount.orders_in_window, 0) != built.orders_in_window
        or coalesce(recount.net_revenue_in_window, 0) != built.net_revenue_in_window

)

select * from final
