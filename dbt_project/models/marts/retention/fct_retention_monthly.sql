{#
    Retention month by month (DESIGN §5), for the total, each segment and each region: the
    customers active at the start of the month, those who arrived, lapsed or came back in
    it, the churn rate, the repeat purchase rate, and the gross and net revenue retention
    over 12 months. Lapse dates, reactivations and activity periods come from
    int_customer_order_days_sequenced, so they mean the same as in the daily KPIs.

    A rate whose window reaches back before the first order of the data is null rather than
    biased: before then the history is cut (customers who last bought before the first day
    are invisible), so the churn rate and the revenue retention would start far off their
    true level and page the alerts for nothing. So is a rate of a month under way: its
    lapses so far against a whole month's customers, or a trailing year of 11 months and some
    days against a whole earlier year, would read as a cliff beside whole months.

    A table rebuilt in full: months × members is small, and a customer's current segment,
    late refunds and cancellations rewrite any month of their history.
#}

{%- set window_days = var('active_window_days') | int %}
{%- set complete_month -%}
    {{ add_days(dbt.dateadd('month', 1, 'member_series.month_start'), -1) }} <= calendar.last_day
{%- endset %}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

customer_order_days as (

    select * from {{ ref('int_customer_order_days_sequenced') }}

),

calendar as (

    -- the months run from the one holding the first order to the one holding the last
    -- order date, or `as_of`: the same days as the daily marts
    {{ order_calendar() }}

),

dimension_members as (

    {{ order_dimension_members() }}

),

days as (

    {{ day_series('(select first_day from calendar)', '(select last_day from calendar)') }}

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from days

),

counted_order_days as (

    select
        -- ids
        customer_order_days.customer_id,

        -- dimensions
        customer_order_days.segment,
        customer_order_days.region,

        -- measures
        customer_order_days.net_revenue,
        customer_order_days.is_first_order_day,
        customer_order_days.is_second_order_day,
        customer_order_days.is_reactivation,

        -- dates
        customer_order_days.order_date,
        customer_order_days.lapse_date,
        customer_order_days.active_until,
        cast({{ dbt.date_trunc('month', 'customer_order_days.order_date') }} as date)
            as month_start

    from customer_order_days
    cross join calendar
    where customer_order_days.order_date <= calendar.last_day

),

customer_events as (

    -- what each customer changes in the month of each event; a lapse or an end of activity
    -- after the last day has not happened yet (its month is not in the series, or the
    -- running sums below stop before it)
    select
        customer_id,
        segment,
        region,
        month_start,
        1 as activity_change,
        case when is_first_order_day then 1 else 0 end as first_orders,
        case when is_second_order_day then 1 else 0 end as second_orders,
        case when is_reactivation then 1 else 0 end as reactivations,
        0 as lapses
    from counted_order_days

    union all

    select
        counted_order_days.customer_id,
        counted_order_days.segment,
        counted_order_days.region,
        cast({{ dbt.date_trunc('month', 'counted_order_days.active_until') }} as date)
            as month_start,
        -1 as activity_change,
        0 as first_orders,
        0 as second_orders,
        0 as reactivations,
        0 as lapses
    from counted_order_days
    cross join calendar
    where counted_order_days.active_until <= calendar.last_day

    union all

    select
        counted_order_days.customer_id,
        counted_order_days.segment,
        counted_order_days.region,
        cast({{ dbt.date_trunc('month', 'counted_order_days.lapse_date') }} as date)
            as month_start,
        0 as activity_change,
        0 as first_orders,
        0 as second_orders,
        0 as reactivations,
        1 as lapses
    from counted_order_days
    cross join calendar
    where counted_order_days.lapse_date <= calendar.last_day

),

customer_month_events as (

    -- per customer first, so that a customer counts once in a month however many events
    select
        customer_id,
        segment,
        region,
        month_start,
        sum(activity_change) as activity_change,
        sum(first_orders) as first_orders,
        sum(second_orders) as second_orders,
        max(reactivations) as reactivations,
        max(lapses) as lapses
    from customer_events
    group by customer_id, segment, region, month_start

),

segment_region_events as (

    select
        segment,
        region,
        month_start,
        sum(activity_change) as activity_change,
        sum(first_orders) as first_orders,
        sum(second_orders) as second_orders,
        sum(reactivations) as reactivations,
        sum(lapses) as lapses
    from customer_month_events
    group by segment, region, month_start

),

customer_revenue_months as (

    select
        customer_id,
        segment,
        region,
        month_start,
        sum(net_revenue) as revenue
    from counted_order_days
    group by customer_id, segment, region, month_start

),

customer_first_months as (

    select
        customer_id,
        segment,
        region,
        min(month_start) as first_month
    from customer_revenue_months
    group by customer_id, segment, region

),

customer_month_grid as (

    -- every month from the customer's first, so that the windows below count months as
    -- rows (O(customers × months))
    select
        customer_first_months.customer_id,
        customer_first_months.segment,
        customer_first_months.region,
        months.month_start,
        coalesce(customer_revenue_months.revenue, 0) as revenue
    from customer_first_months
    inner join months
        on customer_first_months.first_month <= months.month_start
    left join customer_revenue_months
        on
            customer_first_months.customer_id = customer_revenue_months.customer_id
            and months.month_start = customer_revenue_months.month_start

),

customer_revenue_windows as (

    select
        customer_id,
        segment,
        region,
        month_start,
        -- the trailing 12 months (this month and the 11 before) and the 12 before them
        sum(revenue) over (
            partition by customer_id
            order by month_start
            rows between 11 preceding and current row
        ) as trailing_revenue,
        coalesce(sum(revenue) over (
            partition by customer_id
            order by month_start
            rows between 23 preceding and 12 preceding
        ), 0) as prior_revenue
    from customer_month_grid

),

segment_region_revenue_retention as (

    -- the base: customers with revenue in the prior 12 months; GRR caps each at that value
    select
        segment,
        region,
        month_start,
        sum(case when prior_revenue > 0 then 1 else 0 end) as base_customers,
        sum(case when prior_revenue > 0 then prior_revenue else 0 end) as base_prior_revenue,
        sum(case when prior_revenue > 0 then trailing_revenue else 0 end)
            as base_trailing_revenue,
        sum(
            case when prior_revenue > 0 then least(trailing_revenue, prior_revenue) else 0 end
        ) as base_capped_revenue
    from customer_revenue_windows
    group by segment, region, month_start

),

segment_region_months as (

    select
        coalesce(segment_region_events.segment, segment_region_revenue_retention.segment)
            as segment,
        coalesce(segment_region_events.region, segment_region_revenue_retention.region)
            as region,
        coalesce(
            segment_region_events.month_start, segment_region_revenue_retention.month_start
        ) as month_start,
        coalesce(segment_region_events.activity_change, 0) as activity_change,
        coalesce(segment_region_events.first_orders, 0) as first_orders,
        coalesce(segment_region_events.second_orders, 0) as second_orders,
        coalesce(segment_region_events.reactivations, 0) as reactivations,
        coalesce(segment_region_events.lapses, 0) as lapses,
        coalesce(segment_region_revenue_retention.base_customers, 0) as base_customers,
        coalesce(segment_region_revenue_retention.base_prior_revenue, 0)
            as base_prior_revenue,
        coalesce(segment_region_revenue_retention.base_trailing_revenue, 0)
            as base_trailing_revenue,
        coalesce(segment_region_revenue_retention.base_capped_revenue, 0)
            as base_capped_revenue
    from segment_region_events
    full outer join segment_region_revenue_retention
        on
            segment_region_events.segment = segment_region_revenue_retention.segment
            and segment_region_events.region = segment_region_revenue_retention.region
            and segment_region_events.month_start = segment_region_revenue_retention.month_start

),

member_segment_region_months as (

    {{ member_rows('segment_region_months') }}

),

member_months as (

    select
        dimension,
        dimension_value,
        month_start,
        sum(activity_change) as activity_change,
        sum(first_orders) as first_orders,
        sum(second_orders) as second_orders,
        sum(reactivations) as reactivations,
        sum(lapses) as lapses,
        sum(base_customers) as base_customers,
        sum(base_prior_revenue) as base_prior_revenue,
        sum(base_trailing_revenue) as base_trailing_revenue,
        sum(base_capped_revenue) as base_capped_revenue
    from member_segment_region_months
    group by dimension, dimension_value, month_start

),

member_series as (

    -- every month for every member, with running sums over the months
    select
        months.month_start,
        dimension_members.dimension,
        dimension_members.dimension_value,
        -- active on the day before the month: the activity starts and ends of earlier months
        coalesce(sum(coalesce(member_months.activity_change, 0)) over (
            partition by dimension_members.dimension, dimension_members.dimension_value
            order by months.month_start
            rows between unbounded preceding and 1 preceding
        ), 0) as active_at_start,
        coalesce(member_months.first_orders, 0) as new_customers,
        coalesce(member_months.lapses, 0) as lapsed_customers,
        coalesce(member_months.reactivations, 0) as reactivated_customers,
        sum(coalesce(member_months.first_orders, 0)) over (
            partition by dimension_members.dimension, dimension_members.dimension_value
            order by months.month_start
            rows between unbounded preceding and current row
        ) as customers_to_date,
        sum(coalesce(member_months.second_orders, 0)) over (
            partition by dimension_members.dimension, dimension_members.dimension_value
            order by months.month_start
            rows between unbounded preceding and current row
        ) as repeat_customers_to_date,
        coalesce(member_months.base_customers, 0) as base_customers,
        coalesce(member_months.base_prior_revenue, 0) as base_prior_revenue,
        coalesce(member_months.base_trailing_revenue, 0) as base_trailing_revenue,
        coalesce(member_months.base_capped_revenue, 0) as base_capped_revenue
    from months
    cross join dimension_members
    left join member_months
        on
            months.month_start = member_months.month_start
            and dimension_members.dimension = member_months.dimension
            and dimension_members.dimension_value = member_months.dimension_value

),

final as (

    select
        -- keys
        member_series.month_start,
        member_series.dimension,
        member_series.dimension_value,

        -- the month is to date when the data end before its last day
        {{ complete_month }} as is_complete_month,

        -- customers
        cast(member_series.active_at_start as {{ dbt.type_bigint() }}) as active_at_start,
        cast(member_series.new_customers as {{ dbt.type_bigint() }}) as new_customers,
        cast(member_series.lapsed_customers as {{ dbt.type_bigint() }}) as lapsed_customers,
        cast(member_series.reactivated_customers as {{ dbt.type_bigint() }})
            as reactivated_customers,
        cast(member_series.customers_to_date as {{ dbt.type_bigint() }}) as customers_to_date,
        cast(member_series.repeat_customers_to_date as {{ dbt.type_bigint() }})
            as repeat_customers_to_date,

        -- churn: lapsed ÷ active at the start of the month, once the active window before
        -- the month lies within the data and the month has ended
        case
            when
                {{ add_days('member_series.month_start', -window_days) }} >= calendar.first_day
                and {{ complete_month }}
                then
                    cast(member_series.lapsed_customers as {{ type_double() }})
                    / nullif(member_series.active_at_start, 0)
        end as churn_rate,
        cast(member_series.repeat_customers_to_date as {{ type_double() }})
        / nullif(member_series.customers_to_date, 0) as repeat_purchase_rate,

        -- revenue retention over 12 months: the customers with revenue in the 12 months
        -- before the trailing 12, and what they brought in both
        cast(member_series.base_customers as {{ dbt.type_bigint() }})
            as revenue_retention_base_customers,
        cast(member_series.base_prior_revenue as decimal(18, 2)) as base_prior_12m_revenue,
        cast(member_series.base_trailing_revenue as decimal(18, 2))
            as base_trailing_12m_revenue,
        cast(member_series.base_capped_revenue as decimal(18, 2))
            as base_trailing_12m_capped_revenue,
        case
            when
                cast({{ dbt.dateadd('month', -23, 'member_series.month_start') }} as date)
                >= calendar.first_day
                and {{ complete_month }}
                then
                    cast(member_series.base_capped_revenue as {{ type_double() }})
                    / nullif(member_series.base_prior_revenue, 0)
        end as gross_revenue_retention_12m,
        case
            when
                cast({{ dbt.dateadd('month', -23, 'member_series.month_start') }} as date)
                >= calendar.first_day
                and {{ complete_month }}
                then
                    cast(member_series.base_trailing_revenue as {{ type_double() }})
                    / nullif(member_series.base_prior_revenue, 0)
        end as net_revenue_retention_12m

    from member_series
    cross join calendar

)

select * from final
