-- A cohort is the customers whose first non-cancelled order fell in its month, so in month
-- 0 every one of them bought: retention is 100 % of the customers and of the revenue. Every
-- cohort has its month 0, and each later month holds no more customers than the cohort.
with

cohort_retention as (

    select * from {{ ref('fct_cohort_retention') }}

),

cohorts as (

    select
        cohort_month,
        min(months_since_first) as first_month_since,
        max(cohort_customers) as cohort_customers,
        min(cohort_customers) as min_cohort_customers
    from cohort_retention
    group by cohort_month

),

final as (

    select
        cohort_retention.cohort_month,
        cohort_retention.months_since_first,
        cohort_retention.customers_retained,
        cohort_retention.cohort_customers,
        cohort_retention.customer_retention_rate,
        cohort_retention.revenue_retention_rate
    from cohort_retention
    inner join cohorts
        on cohort_retention.cohort_month = cohorts.cohort_month
    where
        cohorts.first_month_since != 0
        or cohorts.cohort_customers != cohorts.min_cohort_customers
        or cohort_retention.customers_retained > cohort_retention.cohort_customers
        or (
            cohort_retention.months_since_first = 0
            and (
                cohort_retention.customers_retained != cohort_retention.cohort_customers
                or cohort_retention.customer_retention_rate != 1
                or cohort_retention.revenue != cohort_retention.cohort_first_month_revenue
                or coalesce(cohort_retention.revenue_retention_rate, 1) != 1
            )
        )

)

select * from final
