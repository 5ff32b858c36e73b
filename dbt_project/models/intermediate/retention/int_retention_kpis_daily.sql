{#
    The daily retention KPIs in the long shape of fct_kpi_daily; their definitions are in the
    model's YAML.

    Cost. Summing each day's windows per customer would cost customers × days. Instead each
    purchase day changes its customer's windows on a few dates only: when it enters a recent
    window, moves to the earlier one, and leaves it. Between two such dates a customer's
    contribution to each KPI is constant, so it is computed on those dates only, as a change
    against the previous one, and the changes are added up along the days: exact values for
    every day in O(purchase days + days × members).

    A value whose windows reach back before the first order of the data is null rather than
    biased by the cut history (the first two years of revenue retention, say); the alerts
    start a series at its first value.
#}

{%- set window_days = var('active_window_days') | int %}
{%- set lapse_days = var('lapse_days') | int %}
{#- the trailing windows: 30 days for churn and lost revenue; a year for revenue retention #}
{%- set recent_days = 30 %}
{%- set year_days = 365 %}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

customer_order_days as (

    select * from {{ ref('int_customer_order_days_sequenced') }}

),

calendar as (

    -- the same days as fct_customer_value_daily: first order to last order date or `as_of`
    {{ order_calendar() }}

),

dimension_members as (

    {{ order_dimension_members() }}

),

days as (

    {{ day_series(
        '(select first_day from calendar)', '(select last_day from calendar)', 'kpi_date'
    ) }}

),

counted_order_days as (

    select customer_order_days.*
    from customer_order_days
    cross join calendar
    where customer_order_days.order_date <= calendar.last_day

),

customer_window_changes as (

    -- how each purchase day changes its customer's windows, and when: it enters the recent
    -- 30 days and the trailing year on its date, moves to the previous 30 days after 30
    -- days and to the prior year after a year, and leaves them after twice as long
    select
        customer_id,
        segment,
        region,
        order_date as change_date,
        order_count as recent_orders,
        0 as previous_orders,
        0 as previous_revenue,
        net_revenue as trailing_year_revenue,
        0 as prior_year_revenue
    from counted_order_days

    union all

    select
        customer_id,
        segment,
        region,
        {{ add_days('order_date', recent_days) }} as change_date,
        -order_count as recent_orders,
        order_count as previous_orders,
        net_revenue as previous_revenue,
        0 as trailing_year_revenue,
        0 as prior_year_revenue
    from counted_order_days

    union all

    select
        customer_id,
        segment,
        region,
        {{ add_days('order_date', 2 * recent_days) }} as change_date,
        0 as recent_orders,
        -order_count as previous_orders,
        -net_revenue as previous_revenue,
        0 as trailing_year_revenue,
        0 as prior_year_revenue
    from counted_order_days

    union all

    select
        customer_id,
        segment,
        region,
        {{ add_days('order_date', year_days) }} as change_date,
        0 as recent_orders,
        0 as previous_orders,
        0 as previous_revenue,
        -net_revenue as trailing_year_revenue,
        net_revenue as prior_year_revenue
    from counted_order_days

    union all

    select
        customer_id,
        segment,
        region,
        {{ add_days('order_date', 2 * year_days) }} as change_date,
        0 as recent_orders,
        0 as previous_orders,
        0 as previous_revenue,
        0 as trailing_year_revenue,
        -net_revenue as prior_year_revenue
    from counted_order_days

),

customer_change_days as (

    -- a customer's sums fit decimal(18, 2): keeping them there keeps the arithmetic of the
    -- millions of change rows of a large company on 64-bit integers instead of 128-bit ones
    select
        customer_window_changes.customer_id,
        customer_window_changes.segment,
        customer_window_changes.region,
        customer_window_changes.change_date,
        cast(sum(customer_window_changes.recent_orders) as {{ dbt.type_bigint() }})
            as recent_orders,
        cast(sum(customer_window_changes.previous_orders) as {{ dbt.type_bigint() }})
            as previous_orders,
        cast(sum(customer_window_changes.previous_revenue) as decimal(18, 2))
            as previous_revenue,
        cast(sum(customer_window_changes.trailing_year_revenue) as decimal(18, 2))
            as trailing_year_revenue,
        cast(sum(customer_window_changes.prior_year_revenue) as decimal(18, 2))
            as prior_year_revenue
    from customer_window_changes
    cross join calendar
    where customer_window_changes.change_date <= calendar.last_day
    group by
        customer_window_changes.customer_id,
        customer_window_changes.segment,
        customer_window_changes.region,
        customer_window_changes.change_date

),

customer_windows as (

    -- the customer's windows from each change date until the next one
    select
        customer_id,
        segment,
        region,
        change_date,
        cast(
            sum(recent_orders) over (
                partition by customer_id
                order by change_date
                rows between unbounded preceding and current row
            ) as {{ dbt.type_bigint() }}
        ) as recent_orders,
        cast(
            sum(previous_orders) over (
                partition by customer_id
                order by change_date
                rows between unbounded preceding and current row
            ) as {{ dbt.type_bigint() }}
        ) as previous_orders,
        cast(
            sum(previous_revenue) over (
                partition by customer_id
                order by change_date
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as previous_revenue,
        cast(
            sum(trailing_year_revenue) over (
                partition by customer_id
                order by change_date
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as trailing_year_revenue,
        cast(
            sum(prior_year_revenue) over (
                partition by customer_id
                order by change_date
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as prior_year_revenue
    from customer_change_days

),

customer_contributions as (

    -- what the customer adds to each KPI's numerator and denominator while the windows hold
    select
        customer_id,
        segment,
        region,
        change_date,
        -- lost: bought in the previous 30 days, not in the recent 30
        case
            when recent_orders = 0 and previous_orders > 0 then previous_revenue else 0
        end as lost_revenue,
        -- revenue retention: the base is the customers with revenue in the prior year
        case when prior_year_revenue > 0 then prior_year_revenue else 0 end
            as base_prior_revenue,
        case when prior_year_revenue > 0 then trailing_year_revenue else 0 end
            as base_trailing_revenue,
        case
            when prior_year_revenue > 0 then least(trailing_year_revenue, prior_year_revenue)
            else 0
        end as base_capped_revenue
    from customer_windows

),

customer_contribution_changes as (

    select
        segment,
        region,
        change_date,
        lost_revenue - coalesce(lag(lost_revenue) over (
            partition by customer_id
            order by change_date
        ), 0) as lost_revenue,
        base_prior_revenue - coalesce(lag(base_prior_revenue) over (
            partition by customer_id
            order by change_date
        ), 0) as base_prior_revenue,
        base_trailing_revenue - coalesce(lag(base_trailing_revenue) over (
            partition by customer_id
            order by change_date
        ), 0) as base_trailing_revenue,
        base_capped_revenue - coalesce(lag(base_capped_revenue) over (
            partition by customer_id
            order by change_date
        ), 0) as base_capped_revenue
    from customer_contributions

),

day_changes as (

    -- every change of a day: activity periods starting (+1) and ending (−1), lapses, first
    -- and second orders, and the window contributions above
    select
        segment,
        region,
        order_date as change_date,
        1 as active_change,
        0 as lapses,
        case when is_first_order_day then 1 else 0 end as first_orders,
        case when is_second_order_day then 1 else 0 end as second_orders,
        0 as lost_revenue,
        0 as base_prior_revenue,
        0 as base_trailing_revenue,
        0 as base_capped_revenue
    from counted_order_days

    union all

    select
        segment,
        region,
        active_until as change_date,
        -1 as active_change,
        0 as lapses,
        0 as first_orders,
        0 as second_orders,
        0 as lost_revenue,
        0 as base_prior_revenue,
        0 as base_trailing_revenue,
        0 as base_capped_revenue
    from counted_order_days

    union all

    select
        segment,
        region,
        lapse_date as change_date,
        0 as active_change,
        1 as lapses,
        0 as first_orders,
        0 as second_orders,
        0 as lost_revenue,
        0 as base_prior_revenue,
        0 as base_trailing_revenue,
        0 as base_capped_revenue
    from counted_order_days
    where lapse_date is not null

    union all

    select
        segment,
        region,
        change_date,
        0 as active_change,
        0 as lapses,
        0 as first_orders,
        0 as second_orders,
        lost_revenue,
        base_prior_revenue,
        base_trailing_revenue,
        base_capped_revenue
    from customer_contribution_changes

),

segment_region_changes as (

    select
        segment,
        region,
        change_date,
        sum(active_change) as active_change,
        sum(lapses) as lapses,
        sum(first_orders) as first_orders,
        sum(second_orders) as second_orders,
        sum(lost_revenue) as lost_revenue,
        sum(base_prior_revenue) as base_prior_revenue,
        sum(base_trailing_revenue) as base_trailing_revenue,
        sum(base_capped_revenue) as base_capped_revenue
    from day_changes
    group by segment, region, change_date

),

member_segment_region_changes as (

    {{ member_rows('segment_region_changes') }}

),

member_changes as (

    select
        dimension,
        dimension_value,
        change_date,
        sum(active_change) as active_change,
        sum(lapses) as lapses,
        sum(first_orders) as first_orders,
        sum(second_orders) as second_orders,
        sum(lost_revenue) as lost_revenue,
        sum(base_prior_revenue) as base_prior_revenue,
        sum(base_trailing_revenue) as base_trailing_revenue,
        sum(base_capped_revenue) as base_capped_revenue
    from member_segment_region_changes
    group by dimension, dimension_value, change_date

),

member_days as (

    -- every day for every member, with or without changes, so that windows count rows
    select
        days.kpi_date,
        dimension_members.dimension,
        dimension_members.dimension_value,
        coalesce(member_changes.active_change, 0) as active_change,
        coalesce(member_changes.lapses, 0) as lapses,
        coalesce(member_changes.first_orders, 0) as first_orders,
        coalesce(member_changes.second_orders, 0) as second_orders,
        coalesce(member_changes.lost_revenue, 0) as lost_revenue,
        coalesce(member_changes.base_prior_revenue, 0) as base_prior_revenue,
        coalesce(member_changes.base_trailing_revenue, 0) as base_trailing_revenue,
        coalesce(member_changes.base_capped_revenue, 0) as base_capped_revenue
    from days
    cross join dimension_members
    left join member_changes
        on
            days.kpi_date = member_changes.change_date
            and dimension_members.dimension = member_changes.dimension
            and dimension_members.dimension_value = member_changes.dimension_value

),

running as (

    select
        kpi_date,
        dimension,
        dimension_value,
        sum(active_change) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between unbounded preceding and current row
        ) as active_customers,
        sum(lapses) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between {{ recent_days - 1 }} preceding and current row
        ) as lapsed_customers_30d,
        sum(first_orders) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between unbounded preceding and current row
        ) as customers_to_date,
        sum(second_orders) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between unbounded preceding and current row
        ) as repeat_customers_to_date,
        sum(lost_revenue) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between unbounded preceding and current row
        ) as lost_revenue_30d,
        sum(base_prior_revenue) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between unbounded preceding and current row
        ) as base_prior_revenue,
        sum(base_trailing_revenue) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between unbounded preceding and current row
        ) as base_trailing_revenue,
        sum(base_capped_revenue) over (
            partition by dimension, dimension_value
            order by kpi_date
            rows between unbounded preceding and current row
        ) as base_capped_revenue
    from member_days

),

measures as (

    select
        running.kpi_date,
        running.dimension,
        running.dimension_value,
        running.lapsed_customers_30d,
        lag(running.active_customers, {{ recent_days }}) over (
            partition by running.dimension, running.dimension_value
            order by running.kpi_date
        ) as active_customers_30d_before,
        running.customers_to_date,
        running.repeat_customers_to_date,
        running.lost_revenue_30d,
        running.base_prior_revenue,
        running.base_trailing_revenue,
        running.base_capped_revenue,
        -- the first day each measure's windows lie entirely within the data
        {{ add_days('running.kpi_date', -(recent_days + window_days - 1)) }}
        >= calendar.first_day as has_churn_history,
        {{ add_days('running.kpi_date', -(recent_days - 1 + lapse_days)) }}
        >= calendar.first_day as has_lapse_history,
        {{ add_days('running.kpi_date', -(2 * recent_days - 1)) }}
        >= calendar.first_day as has_lost_revenue_history,
        {{ add_days('running.kpi_date', -(2 * year_days - 1)) }}
        >= calendar.first_day as has_revenue_retention_history
    from running
    cross join calendar

),

kpis as (

    select
        kpi_date,
        'churn_rate' as kpi_name,
        dimension,
        dimension_value,
        case
            when has_churn_history
                then
                    cast(lapsed_customers_30d as {{ type_double() }})
                    / nullif(active_customers_30d_before, 0)
        end as value,
        cast(active_customers_30d_before as {{ dbt.type_bigint() }}) as sample_size
    from measures

    union all

    select
        kpi_date,
        'lapsed_customers_30d' as kpi_name,
        dimension,
        dimension_value,
        case
            when has_lapse_history then cast(lapsed_customers_30d as {{ type_double() }})
        end as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from measures

    union all

    select
        kpi_date,
        'repeat_purchase_rate' as kpi_name,
        dimension,
        dimension_value,
        cast(repeat_customers_to_date as {{ type_double() }})
        / nullif(customers_to_date, 0) as value,
        cast(customers_to_date as {{ dbt.type_bigint() }}) as sample_size
    from measures

    union all

    select
        kpi_date,
        'net_revenue_retention' as kpi_name,
        dimension,
        dimension_value,
        case
            when has_revenue_retention_history
                then
                    cast(base_trailing_revenue as {{ type_double() }})
                    / nullif(base_prior_revenue, 0)
        end as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from measures

    union all

    select
        kpi_date,
        'gross_revenue_retention' as kpi_name,
        dimension,
        dimension_value,
        case
            when has_revenue_retention_history
                then
                    cast(base_capped_revenue as {{ type_double() }})
                    / nullif(base_prior_revenue, 0)
        end as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from measures

    union all

    select
        kpi_date,
        'lost_revenue_30d' as kpi_name,
        dimension,
        dimension_value,
        case
            when has_lost_revenue_history then cast(lost_revenue_30d as {{ type_double() }})
        end as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from measures

),

final as (

    select
        -- keys
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,

        -- measures (null when undefined that day, or when the windows reach before the data)
        value,
        -- the customers a rate is a share of; null for counts, money and revenue retention
        sample_size

    from kpis

)

select * from final
