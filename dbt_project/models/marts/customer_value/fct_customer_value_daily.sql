{#
    Incremental: a build recomputes only the days from the earliest day that new or changed
    orders affect. An order whose header, lines, refunds or customer were loaded since the
    previous build changes every day from its order date (or an earlier date it had) on: its
    window spans the next `active_window_days` days, and a customer's current segment and
    region apply to all their orders. A day not built yet is new; a dimension member not
    built yet needs its whole series. Rows keep the watermark (`_loaded_at`) they were
    computed with. The pre-hook deletes rows that no longer belong to the series, so an
    incremental build gives the same rows as a full refresh; the recount data test checks it.
#}
{{
    config(
        materialized=incremental_by_day(),
        incremental_strategy='delete+insert',
        unique_key=['value_date', 'dimension', 'dimension_value'],
        on_schema_change='fail',
        pre_hook="{{ delete_rows_out_of_series(
            'value_date',
            order_calendar(ref('int_orders_enriched')),
            order_dimension_members_of(ref('int_orders_enriched'))
        ) }}"
    )
}}

{%- set window_days = var('active_window_days') | int %}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

calendar as (

    -- the daily series runs from the first order to the last order date, or to `as_of`
    {{ order_calendar() }}

),

watermark as (

    -- the latest raw load behind any order: stored on every row this build writes
    select max(_loaded_at) as loaded_through
    from orders

),

dimension_members as (

    {{ order_dimension_members() }}

),

-- an order moved to a later day also changed the days from its earlier date
{{ incremental_scope('value_date', 'orders', 'orders.earliest_order_date') }}

bounds as (

    -- a recomputed day needs the orders of the full window that ends on it
    select
        recompute_from,
        last_day,
        {{ add_days('recompute_from', -window_days) }} as read_from
    from scope

),

counted_orders as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,

        -- dimensions
        orders.segment,
        orders.region,

        -- measures
        orders.net_revenue,

        -- dates
        orders.order_date

    from orders
    cross join bounds
    where
        not orders.is_cancelled
        and orders.order_date between bounds.read_from and bounds.last_day

),

customer_order_days as (

    select distinct
        customer_id,
        segment,
        region,
        order_date
    from counted_orders

),

active_periods as (

    -- each order day opens a period of activity that ends (exclusive) at the customer's next
    -- order day or when the window has passed, whichever comes first; periods of one customer
    -- never overlap, so the active customers of a day are a running sum of starts and ends
    select
        customer_id,
        segment,
        region,
        order_date as active_from,
        least(
            coalesce(
                lead(order_date) over (partition by customer_id order by order_date),
                {{ add_days('order_date', window_days) }}
            ),
            {{ add_days('order_date', window_days) }}
        ) as active_until
    from customer_order_days

),

activity_changes as (

    select
        segment,
        region,
        active_from as change_date,
        1 as active_change
    from active_periods

    union all

    select
        segment,
        region,
        active_until as change_date,
        -1 as active_change
    from active_periods

),

member_activity_changes as (

    {{ member_rows('activity_changes') }}

),

daily_activity_changes as (

    select
        dimension,
        dimension_value,
        change_date,
        sum(active_change) as active_change
    from member_activity_changes
    group by dimension, dimension_value, change_date

),

member_orders as (

    {{ member_rows('counted_orders') }}

),

daily_orders as (

    select
        dimension,
        dimension_value,
        order_date,
        count(*) as order_count,
        sum(net_revenue) as net_revenue
    from member_orders
    group by dimension, dimension_value, order_date

),

days as (

    {{ day_series(
        '(select read_from from bounds)', '(select last_day from bounds)', 'value_date'
    ) }}

),

member_days as (

    -- every day for every member, with or without orders, so that the windows below can
    -- count rows instead of comparing dates
    select
        days.value_date,
        dimension_members.dimension,
        dimension_members.dimension_value
    from days
    cross join dimension_members

),

daily as (

    select
        -- keys
        member_days.value_date,
        member_days.dimension,
        member_days.dimension_value,

        -- measures of the day
        coalesce(daily_activity_changes.active_change, 0) as active_change,
        coalesce(daily_orders.order_count, 0) as order_count,
        coalesce(daily_orders.net_revenue, 0) as net_revenue

    from member_days
    left join daily_activity_changes
        on
            member_days.dimension = daily_activity_changes.dimension
            and member_days.dimension_value = daily_activity_changes.dimension_value
            and member_days.value_date = daily_activity_changes.change_date
    left join daily_orders
        on
            member_days.dimension = daily_orders.dimension
            and member_days.dimension_value = daily_orders.dimension_value
            and member_days.value_date = daily_orders.order_date

),

windowed as (

    select
        -- keys
        value_date,
        dimension,
        dimension_value,

        -- measures of the window ending on the day
        sum(active_change) over (
            partition by dimension, dimension_value
            order by value_date
            rows between unbounded preceding and current row
        ) as active_customers,
        sum(order_count) over (
            partition by dimension, dimension_value
            order by value_date
            rows between {{ window_days - 1 }} preceding and current row
        ) as orders_in_window,
        sum(net_revenue) over (
            partition by dimension, dimension_value
            order by value_date
            rows between {{ window_days - 1 }} preceding and current row
        ) as net_revenue_in_window

    from daily

),

final as (

    select
        -- keys
        windowed.value_date,
        windowed.dimension,
        windowed.dimension_value,

        -- measures
        cast(windowed.active_customers as {{ dbt.type_bigint() }}) as active_customers,
        cast(windowed.orders_in_window as {{ dbt.type_bigint() }}) as orders_in_window,
        cast(windowed.net_revenue_in_window as decimal(18, 2)) as net_revenue_in_window,

        -- ratios: ACV = orders per active customer × average order value
        cast(windowed.net_revenue_in_window as {{ type_double() }})
        / nullif(windowed.active_customers, 0) as average_customer_value,
        cast(windowed.orders_in_window as {{ type_double() }})
        / nullif(windowed.active_customers, 0) as orders_per_active_customer,
        cast(windowed.net_revenue_in_window as {{ type_double() }})
        / nullif(windowed.orders_in_window, 0) as average_order_value,

        -- lineage
        watermark.loaded_through as _loaded_at

    from windowed
    cross join bounds
    cross join watermark
    where windowed.value_date >= bounds.recompute_from

)

select * from final
