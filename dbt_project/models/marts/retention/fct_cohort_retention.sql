{#
    Monthly cohorts by first purchase (DESIGN §5): of the customers whose first non-cancelled
    order fell in a month, how many bought again k months later and how much revenue they
    brought, against the cohort's size and its first month's revenue. Every month from the
    cohort's first to the last month of data has a row, with or without purchases. A table
    rebuilt in full: cohorts × months is small, and late refunds or cancellations rewrite
    any cell (a cancelled first order even moves a customer to a later cohort).
#}


with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

customer_order_days as (

    select * from {{ ref('int_customer_order_days_sequenced') }}

),

calendar as (

    -- the same days as the other retention marts: first order to last order date or `as_of`
    {{ order_calendar() }}

),

days as (

    {{ day_series('(select first_day from calendar)', '(select last_day from calendar)') }}

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from days

),

customer_months as (

    select
        customer_order_days.customer_id,
        cast({{ dbt.date_trunc('month', 'customer_order_days.order_date') }} as date)
            as month_start,
        sum(customer_order_days.net_revenue) as revenue
    from customer_order_days
    cross join calendar
    where customer_order_days.order_date <= calendar.last_day
    group by
        customer_order_days.customer_id,
        cast({{ dbt.date_trunc('month', 'customer_order_days.order_date') }} as date)

),

cohort_members as (

    select
        customer_order_days.customer_id,
        cast({{ dbt.date_trunc('month', 'customer_order_days.order_date') }} as date)
            as cohort_month
    from customer_order_days
    cross join calendar
    where
        customer_order_days.is_first_order_day
        and customer_order_days.order_date <= calendar.last_day

),

cohorts as (

    select
        cohort_month,
        count(*) as cohort_customers
    from cohort_members
    group by cohort_month

),

cohort_months as (

    -- the purchases of each cohort's customers, month by month
    select
        cohort_members.cohort_month,
        customer_months.month_start,
        count(*) as customers_retained,
        sum(customer_months.revenue) as revenue
    from cohort_members
    inner join customer_months
        on cohort_members.customer_id = customer_months.customer_id
    group by cohort_members.cohort_month, customer_months.month_start

),

cohort_grid as (

    -- every month from the cohort's first on, so that a month without purchases shows 0
    select
        cohorts.cohort_month,
        months.month_start,
        -- the last month is complete only when the data reach its last day
        {{ add_days(dbt.dateadd('month', 1, 'months.month_start'), -1) }}
        <= calendar.last_day as is_complete_month,
        cohorts.cohort_customers,
        coalesce(cohort_months.customers_retained, 0) as customers_retained,
        coalesce(cohort_months.revenue, 0) as revenue
    from cohorts
    inner join months
        on cohorts.cohort_month <= months.month_start
    cross join calendar
    left join cohort_months
        on
            cohorts.cohort_month = cohort_months.cohort_month
            and months.month_start = cohort_months.month_start

),

with_first_month as (

    select
        cohort_month,
        month_start,
        is_complete_month,
        cohort_customers,
        customers_retained,
        revenue,
        -- every cohort customer bought in the cohort month, so its revenue is the base
        sum(case when month_start = cohort_month then revenue else 0 end) over (
            partition by cohort_month
        ) as cohort_first_month_revenue
    from cohort_grid

),

final as (

    select
        -- keys
        cohort_month,
        cast({{ dbt.datediff('cohort_month', 'month_start', 'month') }} as {{ dbt.type_int() }})
            as months_since_first,

        -- the calendar month of the row
        month_start as activity_month,
        is_complete_month,

        -- measures
        cast(cohort_customers as {{ dbt.type_bigint() }}) as cohort_customers,
        cast(customers_retained as {{ dbt.type_bigint() }}) as customers_retained,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(cohort_first_month_revenue as decimal(18, 2)) as cohort_first_month_revenue,

        -- ratios
        cast(customers_retained as {{ type_double() }})
        / cohort_customers as customer_retention_rate,
        cast(revenue as {{ type_double() }})
        / nullif(cohort_first_month_revenue, 0) as revenue_retention_rate

    from with_first_month

)

select * from final
