{{ config(meta={'dagster': {'ref': {'name': 'int_retention_kpis_daily'}}}) }}

-- Recounts the retention KPIs of some days straight from the definitions, order by order,
-- independently of the model's change dates and running sums and of
-- int_customer_order_days_sequenced: for each sampled day, each customer's orders in the
-- windows ending on it, and the lapses whose date falls in the last 30 days (a purchase
-- day + `lapse_days` with no purchase in between). Any difference means the model drifted
-- from the definitions. The days recounted: the last 7 and the first of each quarter, of
-- the days the build changed in the daily job (macro recounted_day, which reads
-- {{ ref('fct_customer_value_daily') }}: the retention KPIs come from the same orders);
-- recounting every day would cost days × orders.
{{ config(tags=['recount']) }}

{%- set window_days = var('active_window_days') | int %}
{%- set lapse_days = var('lapse_days') | int %}

with

retention_kpis_daily as (

    select * from {{ ref('int_retention_kpis_daily') }}

),

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

first_order as (

    select min(order_date) as first_day
    from orders

),

last_day as (

    select max(kpi_date) as kpi_date
    from retention_kpis_daily

),

sampled_days as (

    select distinct retention_kpis_daily.kpi_date
    from retention_kpis_daily
    cross join last_day
    where
        {{ sampled_day('retention_kpis_daily.kpi_date', 'last_day.kpi_date') }}
        and {{ recounted_day('retention_kpis_daily.kpi_date') }}

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

customer_windows as (

    -- each customer's orders up to the sampled day, split into the KPIs' windows
    select
        sampled_days.kpi_date,
        counted_orders.dimension,
        counted_orders.dimension_value,
        counted_orders.customer_id,
        count(*) as orders_to_date,
        sum(case
            when counted_orders.order_date > {{ add_days('sampled_days.kpi_date', -30) }}
                then 1
            else 0
        end) as recent_orders,
        sum(case
            when
                counted_orders.order_date
                between {{ add_days('sampled_days.kpi_date', -59) }}
                and {{ add_days('sampled_days.kpi_date', -30) }}
                then 1
            else 0
        end) as previous_orders,
        sum(case
            when
                counted_orders.order_date
                between {{ add_days('sampled_days.kpi_date', -59) }}
                and {{ add_days('sampled_days.kpi_date', -30) }}
                then counted_orders.net_revenue
            else 0
        end) as previous_revenue,
        sum(case
            when
                counted_orders.order_date
                between {{ add_days('sampled_days.kpi_date', -(30 + window_days - 1)) }}
                and {{ add_days('sampled_days.kpi_date', -30) }}
                then 1
            else 0
        end) as orders_in_active_window_30_days_before,
        sum(case
            when counted_orders.order_date > {{ add_days('sampled_days.kpi_date', -365) }}
                then counted_orders.net_revenue
            else 0
        end) as trailing_year_revenue,
        sum(case
            when
                counted_orders.order_date
                between {{ add_days('sampled_days.kpi_date', -729) }}
                and {{ add_days('sampled_days.kpi_date', -365) }}
                then counted_orders.net_revenue
            else 0
        end) as prior_year_revenue
    from sampled_days
    inner join counted_orders
        on sampled_days.kpi_date >= counted_orders.order_date
    group by
        sampled_days.kpi_date,
        counted_orders.dimension,
        counted_orders.dimension_value,
        counted_orders.customer_id

),

member_windows as (

    select
        kpi_date,
        dimension,
        dimension_value,
        count(*) as customers_to_date,
        sum(case when orders_to_date >= 2 then 1 else 0 end) as repeat_customers_to_date,
        sum(case when orders_in_active_window_30_days_before > 0 then 1 else 0 end)
            as active_customers_30d_before,
        sum(case when recent_orders = 0 and previous_orders > 0 then previous_revenue else 0 end)
            as lost_revenue_30d,
        sum(case when prior_year_revenue > 0 then prior_year_revenue else 0 end)
            as base_prior_revenue,
        sum(case when prior_year_revenue > 0 then trailing_year_revenue else 0 end)
            as base_trailing_revenue,
        sum(case
            when prior_year_revenue > 0 then least(trailing_year_revenue, prior_year_revenue)
            else 0
        end) as base_capped_revenue
    from customer_windows
    group by kpi_date, dimension, dimension_value

),

purchase_days as (

    select distinct
        dimension,
        dimension_value,
        customer_id,
        order_date
    from counted_orders

),

member_lapses as (

    -- a purchase day is followed by a lapse `lapse_days` later unless another purchase day
    -- comes strictly before that date
    select
        sampled_days.kpi_date,
        purchase_days.dimension,
        purchase_days.dimension_value,
        count(distinct purchase_days.customer_id) as lapsed_customers_30d
    from sampled_days
    inner join purchase_days
        on
            {{ add_days('purchase_days.order_date', lapse_days) }}
            between {{ add_days('sampled_days.kpi_date', -29) }} and sampled_days.kpi_date
    where
        not exists (
            select 1
            from purchase_days as later_purchase_days
            where
                later_purchase_days.dimension = purchase_days.dimension
                and later_purchase_days.dimension_value = purchase_days.dimension_value
                and later_purchase_days.customer_id = purchase_days.customer_id
                and later_purchase_days.order_date > purchase_days.order_date
                and later_purchase_days.order_date
                < {{ add_days('purchase_days.order_date', lapse_days) }}
        )
    group by sampled_days.kpi_date, purchase_days.dimension, purchase_days.dimension_value

),

built as (

    select
        retention_kpis_daily.kpi_date,
        retention_kpis_daily.dimension,
        retention_kpis_daily.dimension_value,
        max(case
            when retention_kpis_daily.kpi_name = 'churn_rate' then retention_kpis_daily.value
        end) as churn_rate,
        max(case
            when retention_kpis_daily.kpi_name = 'lapsed_customers_30d'
                then retention_kpis_daily.value
        end) as lapsed_customers_30d,
        max(case
            when retention_kpis_daily.kpi_name = 'repeat_purchase_rate'
                then retention_kpis_daily.value
        end) as repeat_purchase_rate,
        max(case
            when retention_kpis_daily.kpi_name = 'net_revenue_retention'
                then retention_kpis_daily.value
        end) as net_revenue_retention,
        max(case
            when retention_kpis_daily.kpi_name = 'gross_revenue_retention'
                then retention_kpis_daily.value
        end) as gross_revenue_retention,
        max(case
            when retention_kpis_daily.kpi_name = 'lost_revenue_30d'
                then retention_kpis_daily.value
        end) as lost_revenue_30d
    from retention_kpis_daily
    inner join sampled_days
        on retention_kpis_daily.kpi_date = sampled_days.kpi_date
    group by
        retention_kpis_daily.kpi_date,
        retention_kpis_daily.dimension,
        retention_kpis_daily.dimension_value

),

recounted as (

    -- the same values from the recount, null where the model must give null
    select
        built.kpi_date,
        built.dimension,
        built.dimension_value,
        case
            when
                {{ add_days('built.kpi_date', -(30 + window_days - 1)) }}
                >= first_order.first_day
                then
                    cast(coalesce(member_lapses.lapsed_customers_30d, 0) as {{ type_double() }})
                    / nullif(member_windows.active_customers_30d_before, 0)
        end as churn_rate,
        case
            when {{ add_days('built.kpi_date', -(29 + lapse_days)) }} >= first_order.first_day
                then cast(coalesce(member_lapses.lapsed_customers_30d, 0) as {{ type_double() }})
        end as lapsed_customers_30d,
        cast(member_windows.repeat_customers_to_date as {{ type_double() }})
        / nullif(member_windows.customers_to_date, 0) as repeat_purchase_rate,
        case
            when {{ add_days('built.kpi_date', -729) }} >= first_order.first_day
                then
                    cast(member_windows.base_trailing_revenue as {{ type_double() }})
                    / nullif(member_windows.base_prior_revenue, 0)
        end as net_revenue_retention,
        case
            when {{ add_days('built.kpi_date', -729) }} >= first_order.first_day
                then
                    cast(member_windows.base_capped_revenue as {{ type_double() }})
                    / nullif(member_windows.base_prior_revenue, 0)
        end as gross_revenue_retention,
        case
            when {{ add_days('built.kpi_date', -59) }} >= first_order.first_day
                then cast(coalesce(member_windows.lost_revenue_30d, 0) as {{ type_double() }})
        end as lost_revenue_30d
    from built
    cross join first_order
    left join member_windows
        on
            built.kpi_date = member_windows.kpi_date
            and built.dimension = member_windows.dimension
            and built.dimension_value = member_windows.dimension_value
    left join member_lapses
        on
            built.kpi_date = member_lapses.kpi_date
            and built.dimension = member_lapses.dimension
            and built.dimension_value = member_lapses.dimension_value

),

paired as (

    select
        built.kpi_date,
        built.dimension,
        built.dimension_value,
        built.churn_rate as built_churn_rate,
        recounted.churn_rate as recounted_churn_rate,
        built.lapsed_customers_30d as built_lapsed_customers_30d,
        recounted.lapsed_customers_30d as recounted_lapsed_customers_30d,
        built.repeat_purchase_rate as built_repeat_purchase_rate,
        recounted.repeat_purchase_rate as recounted_repeat_purchase_rate,
        built.net_revenue_retention as built_net_revenue_retention,
        recounted.net_revenue_retention as recounted_net_revenue_retention,
        built.gross_revenue_retention as built_gross_revenue_retention,
        recounted.gross_revenue_retention as recounted_gross_revenue_retention,
        built.lost_revenue_30d as built_lost_revenue_30d,
        recounted.lost_revenue_30d as recounted_lost_revenue_30d
    from built
    inner join recounted
        on
            built.kpi_date = recounted.kpi_date
            and built.dimension = recounted.dimension
            and built.dimension_value = recounted.dimension_value

),

compared as (

    select
        kpi_date,
        dimension,
        dimension_value,
        'churn_rate' as kpi_name,
        built_churn_rate as built_value,
        recounted_churn_rate as recounted_value
    from paired

    union all

    select
        kpi_date,
        dimension,
        dimension_value,
        'lapsed_customers_30d' as kpi_name,
        built_lapsed_customers_30d as built_value,
        recounted_lapsed_customers_30d as recounted_value
    from paired

    union all

    select
        kpi_date,
        dimension,
        dimension_value,
        'repeat_purchase_rate' as kpi_name,
        built_repeat_purchase_rate as built_value,
        recounted_repeat_purchase_rate as recounted_value
    from paired

    union all

    select
        kpi_date,
        dimension,
        dimension_value,
        'net_revenue_retention' as kpi_name,
        built_net_revenue_retention as built_value,
        recounted_net_revenue_retention as recounted_value
    from paired

    union all

    select
        kpi_date,
        dimension,
        dimension_value,
        'gross_revenue_retention' as kpi_name,
        built_gross_revenue_retention as built_value,
        recounted_gross_revenue_retention as recounted_value
    from paired

    union all

    select
        kpi_date,
        dimension,
        dimension_value,
        'lost_revenue_30d' as kpi_name,
        built_lost_revenue_30d as built_value,
        recounted_lost_revenue_30d as recounted_value
    from paired

),

final as (

    select *
    from compared
    where not (
        (built_value is null and recounted_value is null)
        or abs(built_value - recounted_value) <= 1e-9 * greatest(1, abs(recounted_value))
    )

)

select * from final
