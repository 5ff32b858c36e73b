{{ config(meta={'dagster': {'ref': {'name': 'fct_cohort_retention'}}}) }}

-- Every customer with a non-cancelled order belongs to exactly one cohort: the cohorts'
-- sizes add up to the customers to date of the last month of fct_retention_monthly.
with

cohort_retention as (

    select * from {{ ref('fct_cohort_retention') }}

),

retention_monthly as (

    select * from {{ ref('fct_retention_monthly') }}

),

cohort_sizes as (

    select sum(cohort_customers) as customers
    from cohort_retention
    where months_since_first = 0

),

last_month_start as (

    select max(month_start) as month_start
    from retention_monthly

),

last_month as (

    select retention_monthly.customers_to_date as customers
    from retention_monthly
    inner join last_month_start
        on retention_monthly.month_start = last_month_start.month_start
    where retention_monthly.dimension = 'total'

),

final as (

    select
        cohort_sizes.customers as cohort_customers,
        last_month.customers as customers_to_date
    from cohort_sizes
    full outer join last_month
        on true
    where coalesce(cohort_sizes.customers, 0) != coalesce(last_month.customers, 0)

)

select * from final
