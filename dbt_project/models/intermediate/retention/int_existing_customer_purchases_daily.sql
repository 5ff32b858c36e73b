{#
    What the existing customers bought each day against what their own rhythm promised: the
    leading signal of customers leaving (purchases) and of those who stay buying less (basket).
    A customer is existing on day d once their first order is `existing_customer_days` or more
    days before d. Their rhythm is their trailing year before d, weekday by weekday: on d
    they are expected to make their orders of d - 365 … d - 1 on the weekday of d over the
    52 such days (over those of the history when fewer), so that a business closed on
    Sundays expects nothing then and every day reads 1 as usual; an order of theirs on d is
    expected to be worth their average order of that year.
#}

{%- set existing_after = var('existing_customer_days') | int %}
{%- set rhythm_days = var('active_window_days') | int %}

with

customer_order_days as (

    select * from {{ ref('int_customer_order_days_sequenced') }}

),

calendar as (

    -- the same days as fct_customer_value_daily: first order to last order date or `as_of`
    {{ order_calendar('customer_order_days') }}

),

dimension_members as (

    {{ order_dimension_members('customer_order_days') }}

),

days as (

    {{ day_series(
        '(select first_day from calendar)', '(select last_day from calendar)', 'kpi_date'
    ) }}

),

order_days as (

    select
        customer_id,
        segment,
        region,
        order_date,
        order_count,
        cast(net_revenue as {{ type_double() }}) as net_revenue,
        {{ weekday('order_date') }} as order_weekday,
        min(order_date) over (partition by customer_id) as first_order_date,
        -- the customer's trailing year before this day: orders and revenue
        coalesce(sum(order_count) over (
            partition by customer_id
            order by order_date
            range between interval {{ rhythm_days }} days preceding
            and interval 1 day preceding
        ), 0) as rhythm_orders,
        coalesce(sum(cast(net_revenue as {{ type_double() }})) over (
            partition by customer_id
            order by order_date
            range between interval {{ rhythm_days }} days preceding
            and interval 1 day preceding
        ), 0) as rhythm_revenue
    from customer_order_days

),

rhythm_changes as (

    -- an order day adds its orders to the rhythm of its weekday on each of the days it lies
    -- in the trailing year of, from the day the customer is existing
    select
        segment,
        region,
        order_weekday,
        greatest(
            {{ add_days('order_date', 1) }},
            {{ add_days('first_order_date', existing_after) }}
        ) as change_date,
        order_count as rhythm_change
    from order_days
    where
        {{ add_days('order_date', rhythm_days) }}
        >= {{ add_days('first_order_date', existing_after) }}

    union all

    select
        segment,
        region,
        order_weekday,
        {{ add_days('order_date', rhythm_days + 1) }} as change_date,
        -order_count as rhythm_change
    from order_days
    where
        {{ add_days('order_date', rhythm_days) }}
        >= {{ add_days('first_order_date', existing_after) }}

),

member_rhythm_changes as (

    {{ member_rows('rhythm_changes') }}

),

daily_rhythm_changes as (

    select
        dimension,
        dimension_value,
        order_weekday,
        change_date,
        sum(rhythm_change) as rhythm_change
    from member_rhythm_changes
    group by dimension, dimension_value, order_weekday, change_date

),

existing_orders as (

    -- the order days of existing customers, with their own average order of the year before
    select
        segment,
        region,
        order_date,
        order_count,
        net_revenue,
        case
            when rhythm_orders > 0 then order_count * rhythm_revenue / rhythm_orders
        end as expected_revenue
    from order_days
    where order_date >= {{ add_days('first_order_date', existing_after) }}

),

member_existing_orders as (

    {{ member_rows('existing_orders') }}

),

daily_existing_orders as (

    select
        dimension,
        dimension_value,
        order_date,
        sum(order_count) as actual_purchases,
        -- the basket compares only the orders of customers with a purchase in the year before;
        -- amounts are summed as decimals, whose sum does not depend on the order of the rows
        sum(order_count) filter (where expected_revenue is not null) as basket_orders,
        sum(cast(net_revenue as decimal(38, 12))) filter (where expected_revenue is not null)
            as basket_revenue,
        sum(cast(expected_revenue as decimal(38, 12))) as expected_basket_revenue
    from member_existing_orders
    group by dimension, dimension_value, order_date

),

member_days as (

    select
        days.kpi_date,
        dimension_members.dimension,
        dimension_members.dimension_value
    from days
    cross join dimension_members

),

weekdays as (

    {% for day in range(7) -%}
        select {{ day }} as order_weekday
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

weekday_rhythm as (

    -- the trailing-year orders of the existing customers made on each weekday: running sums
    -- of the changes, all dated after the first order, so the calendar misses none
    select
        member_days.kpi_date,
        member_days.dimension,
        member_days.dimension_value,
        weekdays.order_weekday,
        sum(coalesce(daily_rhythm_changes.rhythm_change, 0)) over (
            partition by
                member_days.dimension, member_days.dimension_value, weekdays.order_weekday
            order by member_days.kpi_date
            rows between unbounded preceding and current row
        ) as rhythm_orders
    from member_days
    cross join weekdays
    left join daily_rhythm_changes
        on
            member_days.dimension = daily_rhythm_changes.dimension
            and member_days.dimension_value = daily_rhythm_changes.dimension_value
            and weekdays.order_weekday = daily_rhythm_changes.order_weekday
            and member_days.kpi_date = daily_rhythm_changes.change_date

),

rhythm as (

    -- of each day, the rhythm of its weekday
    select
        kpi_date,
        dimension,
        dimension_value,
        rhythm_orders
    from weekday_rhythm
    where order_weekday = {{ weekday('kpi_date') }}

),

final as (

    select
        -- keys
        rhythm.kpi_date,
        rhythm.dimension,
        rhythm.dimension_value,

        -- measures: purchases of the existing customers against their own rhythm, over the
        -- days of the same weekday in the rhythm window (in the history when it is shorter)
        cast(rhythm.rhythm_orders as {{ type_double() }}) / greatest(
            1,
            floor(
                least(
                    {{ rhythm_days }},
                    {{ dbt.datediff('calendar.first_day', 'rhythm.kpi_date', 'day') }}
                ) / 7.0
            )
        ) as expected_purchases,
        cast(coalesce(daily_existing_orders.actual_purchases, 0) as {{ dbt.type_bigint() }})
            as actual_purchases,

        -- measures: their basket against their own average order of the year before
        cast(coalesce(daily_existing_orders.basket_orders, 0) as {{ dbt.type_bigint() }})
            as basket_orders,
        cast(coalesce(daily_existing_orders.basket_revenue, 0) as {{ type_double() }})
            as basket_revenue,
        cast(coalesce(daily_existing_orders.expected_basket_revenue, 0) as {{ type_double() }})
            as expected_basket_revenue

    from rhythm
    cross join calendar
    left join daily_existing_orders
        on
            rhythm.dimension = daily_existing_orders.dimension
            and rhythm.dimension_value = daily_existing_orders.dimension_value
            and rhythm.kpi_date = daily_existing_orders.order_date

)

select * from final
