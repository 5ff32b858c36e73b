{#
    The purchase history of each customer, one row per day with at least one non-cancelled
    order, with the dates that the retention definitions (DESIGN §5) derive from it: when the
    customer lapses, when an order reactivates them, and how long each purchase keeps them
    active. The retention marts and the daily retention KPIs all read these dates from here,
    so a lapse means the same thing everywhere.
#}

{%- set window_days = var('active_window_days') | int %}
{%- set lapse_days = var('lapse_days') | int %}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

order_days as (

    -- several orders of a customer on one day are one purchase occasion for lapses and
    -- activity, but each order counts towards the repeat purchase rate
    select
        customer_id,
        segment,
        region,
        order_date,
        count(*) as order_count,
        sum(net_revenue) as net_revenue
    from orders
    where not is_cancelled
    group by customer_id, segment, region, order_date

),

sequenced as (

    select
        customer_id,
        segment,
        region,
        order_date,
        order_count,
        net_revenue,
        row_number() over (
            partition by customer_id
            order by order_date
        ) as order_day_number,
        sum(order_count) over (
            partition by customer_id
            order by order_date
            rows between unbounded preceding and current row
        ) as orders_to_date,
        lag(order_date) over (
            partition by customer_id
            order by order_date
        ) as previous_order_date,
        lead(order_date) over (
            partition by customer_id
            order by order_date
        ) as next_order_date
    from order_days

),

final as (

    select
        -- ids
        customer_id,

        -- dimensions (the customer's current segment and region)
        segment,
        region,

        -- measures of the day
        cast(order_count as {{ dbt.type_bigint() }}) as order_count,
        cast(net_revenue as decimal(18, 2)) as net_revenue,

        -- position in the customer's history
        cast(order_day_number as {{ dbt.type_bigint() }}) as order_day_number,
        cast(orders_to_date as {{ dbt.type_bigint() }}) as orders_to_date,
        order_day_number = 1 as is_first_order_day,
        -- the day the customer's orders reach two: the first day itself when it has two
        orders_to_date >= 2 and orders_to_date - order_count < 2 as is_second_order_day,
        -- an order on or after the day the customer lapsed brings them back
        coalesce(
            order_date >= {{ add_days('previous_order_date', lapse_days) }}, false
        ) as is_reactivation,

        -- dates
        order_date,
        previous_order_date,
        next_order_date,
        -- the customer lapses `lapse_days` after this purchase unless they order again
        -- before that day; an order on the lapse date itself comes too late (the lapse date
        -- counts) and reactivates them
        case
            when
                next_order_date is null
                or next_order_date >= {{ add_days('order_date', lapse_days) }}
                then {{ add_days('order_date', lapse_days) }}
        end as lapse_date,
        -- the purchase keeps the customer active from its day until (excluded) the next
        -- purchase or the end of the active window, whichever comes first: the periods of
        -- one customer never overlap, so active customers are a running sum of starts and ends
        least(
            coalesce(next_order_date, {{ add_days('order_date', window_days) }}),
            {{ add_days('order_date', window_days) }}
        ) as active_until

    from sequenced

)

select * from final
