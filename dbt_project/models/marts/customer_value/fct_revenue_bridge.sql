{#
    The revenue bridge (DESIGN §5): how the revenue of one period became the revenue of the
    next, customer by customer. Each customer with a non-cancelled order in a period is new
    (first purchase ever), reactivated (bought before, not in the previous period) or
    retained (bought in the previous period too; the change of their revenue is expansion or
    contraction); a customer who bought in the previous period but not in this one is lost
    with their previous revenue. Every customer falls in exactly one case, so
    ending = starting + new + reactivated + expansion − contraction − lost holds to the cent.

    A table rebuilt in full: a customer's segment and region, late refunds and cancellations
    rewrite any period of their history, and the bridge is small (periods × members).
#}


with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

calendar as (

    -- the periods run from the one holding the first order to the one holding the last
    -- order date, or `as_of`: the same days as the daily marts
    {{ order_calendar() }}

),

dimension_members as (

    {{ order_dimension_members() }}

),

days as (

    {{ day_series('(select first_day from calendar)', '(select last_day from calendar)') }}

),

period_starts as (

    -- weeks start on Monday (ISO 8601), as date_trunc('week') gives on DuckDB, Spark and
    -- Postgres
    select distinct
        'month' as period_grain,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as period_start
    from days

    union all

    select distinct
        'week' as period_grain,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as period_start
    from days

),

periods as (

    -- every period, with or without orders, numbered so that "the previous period" is
    -- index - 1 for months and weeks alike
    select
        period_starts.period_grain,
        period_starts.period_start,
        case
            when period_starts.period_grain = 'month'
                then {{ add_days(dbt.dateadd('month', 1, 'period_starts.period_start'), -1) }}
            else {{ add_days('period_starts.period_start', 6) }}
        end as period_end,
        row_number() over (
            partition by period_starts.period_grain
            order by period_starts.period_start
        ) as period_index
    from period_starts

),

counted_orders as (

    select
        -- ids
        orders.customer_id,

        -- dimensions
        orders.segment,
        orders.region,

        -- measures
        orders.net_revenue,

        -- dates
        cast({{ dbt.date_trunc('month', 'orders.order_date') }} as date) as month_start,
        cast({{ dbt.date_trunc('week', 'orders.order_date') }} as date) as week_start

    from orders
    cross join calendar
    where
        not orders.is_cancelled
        and orders.order_date <= calendar.last_day

),

customer_periods as (

    -- each customer's revenue in each period in which they have a non-cancelled order (a
    -- fully refunded order still makes them a customer of the period, with 0.00)
    select
        'month' as period_grain,
        customer_id,
        segment,
        region,
        month_start as period_start,
        sum(net_revenue) as revenue
    from counted_orders
    group by customer_id, segment, region, month_start

    union all

    select
        'week' as period_grain,
        customer_id,
        segment,
        region,
        week_start as period_start,
        sum(net_revenue) as revenue
    from counted_orders
    group by customer_id, segment, region, week_start

),

customer_periods_sequenced as (

    select
        customer_periods.period_grain,
        customer_periods.customer_id,
        customer_periods.segment,
        customer_periods.region,
        periods.period_index,
        customer_periods.revenue,
        lag(periods.period_index) over (
            partition by customer_periods.period_grain, customer_periods.customer_id
            order by periods.period_index
        ) as previous_active_index,
        lag(customer_periods.revenue) over (
            partition by customer_periods.period_grain, customer_periods.customer_id
            order by periods.period_index
        ) as previous_active_revenue,
        lead(periods.period_index) over (
            partition by customer_periods.period_grain, customer_periods.customer_id
            order by periods.period_index
        ) as next_active_index
    from customer_periods
    inner join periods
        on
            customer_periods.period_grain = periods.period_grain
            and customer_periods.period_start = periods.period_start

),

customer_flows as (

    -- a customer who buys in a period: new, reactivated or retained there
    select
        period_grain,
        period_index,
        segment,
        region,

        -- customers
        case when previous_active_index = period_index - 1 then 1 else 0 end
            as starting_customers,
        case when previous_active_index is null then 1 else 0 end as new_customers,
        case when previous_active_index < period_index - 1 then 1 else 0 end
            as reactivated_customers,
        case when previous_active_index = period_index - 1 then 1 else 0 end
            as retained_customers,
        case
            when previous_active_index = period_index - 1 and revenue > previous_active_revenue
                then 1
            else 0
        end as expanding_customers,
        case
            when previous_active_index = period_index - 1 and revenue < previous_active_revenue
                then 1
            else 0
        end as contracting_customers,
        0 as lost_customers,
        1 as ending_customers,

        -- revenue
        case
            when previous_active_index = period_index - 1 then previous_active_revenue else 0
        end as starting_revenue,
        case when previous_active_index is null then revenue else 0 end as new_revenue,
        case
            when previous_active_index < period_index - 1 then revenue else 0
        end as reactivated_revenue,
        case
            when previous_active_index = period_index - 1
                then greatest(revenue - previous_active_revenue, 0)
            else 0
        end as expansion_revenue,
        case
            when previous_active_index = period_index - 1
                then greatest(previous_active_revenue - revenue, 0)
            else 0
        end as contraction_revenue,
        0 as lost_revenue,
        revenue as ending_revenue

    from customer_periods_sequenced

    union all

    -- a customer who bought in a period but not in the next one: lost in the next one, with
    -- the revenue they brought in the period they left (a lost customer past the last period
    -- has no period to land in and is dropped by the join with the periods below)
    select
        period_grain,
        period_index + 1 as period_index,
        segment,
        region,

        -- customers
        1 as starting_customers,
        0 as new_customers,
        0 as reactivated_customers,
        0 as retained_customers,
        0 as expanding_customers,
        0 as contracting_customers,
        1 as lost_customers,
        0 as ending_customers,

        -- revenue
        revenue as starting_revenue,
        0 as new_revenue,
        0 as reactivated_revenue,
        0 as expansion_revenue,
        0 as contraction_revenue,
        revenue as lost_revenue,
        0 as ending_revenue

    from customer_periods_sequenced
    where next_active_index is null or next_active_index > period_index + 1

),

segment_region_flows as (

    -- summed once per segment and region, then rolled up to the dimension members
    select
        period_grain,
        period_index,
        segment,
        region,
        sum(starting_customers) as starting_customers,
        sum(new_customers) as new_customers,
        sum(reactivated_customers) as reactivated_customers,
        sum(retained_customers) as retained_customers,
        sum(expanding_customers) as expanding_customers,
        sum(contracting_customers) as contracting_customers,
        sum(lost_customers) as lost_customers,
        sum(ending_customers) as ending_customers,
        sum(starting_revenue) as starting_revenue,
        sum(new_revenue) as new_revenue,
        sum(reactivated_revenue) as reactivated_revenue,
        sum(expansion_revenue) as expansion_revenue,
        sum(contraction_revenue) as contraction_revenue,
        sum(lost_revenue) as lost_revenue,
        sum(ending_revenue) as ending_revenue
    from customer_flows
    group by period_grain, period_index, segment, region

),

member_segment_region_flows as (

    {{ member_rows('segment_region_flows') }}

),

member_flows as (

    select
        dimension,
        dimension_value,
        period_grain,
        period_index,
        sum(starting_customers) as starting_customers,
        sum(new_customers) as new_customers,
        sum(reactivated_customers) as reactivated_customers,
        sum(retained_customers) as retained_customers,
        sum(expanding_customers) as expanding_customers,
        sum(contracting_customers) as contracting_customers,
        sum(lost_customers) as lost_customers,
        sum(ending_customers) as ending_customers,
        sum(starting_revenue) as starting_revenue,
        sum(new_revenue) as new_revenue,
        sum(reactivated_revenue) as reactivated_revenue,
        sum(expansion_revenue) as expansion_revenue,
        sum(contraction_revenue) as contraction_revenue,
        sum(lost_revenue) as lost_revenue,
        sum(ending_revenue) as ending_revenue
    from member_segment_region_flows
    group by dimension, dimension_value, period_grain, period_index

),

final as (

    select
        -- keys
        periods.period_grain,
        periods.period_start,
        dimension_members.dimension,
        dimension_members.dimension_value,

        -- the period
        periods.period_end,
        periods.period_end <= calendar.last_day as is_complete_period,

        -- revenue: ending = starting + new + reactivated + expansion − contraction − lost
        cast(coalesce(member_flows.starting_revenue, 0) as decimal(18, 2)) as starting_revenue,
        cast(coalesce(member_flows.new_revenue, 0) as decimal(18, 2)) as new_revenue,
        cast(coalesce(member_flows.reactivated_revenue, 0) as decimal(18, 2))
            as reactivated_revenue,
        cast(coalesce(member_flows.expansion_revenue, 0) as decimal(18, 2)) as expansion_revenue,
        cast(coalesce(member_flows.contraction_revenue, 0) as decimal(18, 2))
            as contraction_revenue,
        cast(coalesce(member_flows.lost_revenue, 0) as decimal(18, 2)) as lost_revenue,
        cast(coalesce(member_flows.ending_revenue, 0) as decimal(18, 2)) as ending_revenue,

        -- customers behind each component
        cast(coalesce(member_flows.starting_customers, 0) as {{ dbt.type_bigint() }})
            as starting_customers,
        cast(coalesce(member_flows.new_customers, 0) as {{ dbt.type_bigint() }})
            as new_customers,
        cast(coalesce(member_flows.reactivated_customers, 0) as {{ dbt.type_bigint() }})
            as reactivated_customers,
        cast(coalesce(member_flows.retained_customers, 0) as {{ dbt.type_bigint() }})
            as retained_customers,
        cast(coalesce(member_flows.expanding_customers, 0) as {{ dbt.type_bigint() }})
            as expanding_customers,
        cast(coalesce(member_flows.contracting_customers, 0) as {{ dbt.type_bigint() }})
            as contracting_customers,
        cast(coalesce(member_flows.lost_customers, 0) as {{ dbt.type_bigint() }})
            as lost_customers,
        cast(coalesce(member_flows.ending_customers, 0) as {{ dbt.type_bigint() }})
            as ending_customers

    from periods
    cross join dimension_members
    cross join calendar
    left join member_flows
        on
            periods.period_grain = member_flows.period_grain
            and periods.period_index = member_flows.period_index
            and dimension_members.dimension = member_flows.dimension
            and dimension_members.dimension_value = member_flows.dimension_value

)

select * from final
