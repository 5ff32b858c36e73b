-- The daily retention KPIs keep the bounds of their definitions: churn and repeat purchase
-- rates within 0 … 1, GRR within 0 … 1 and never above NRR on the same day and member,
-- counts and lost revenue never negative.
with

retention_kpis_daily as (

    select * from {{ ref('int_retention_kpis_daily') }}

),

pivoted as (

    select
        kpi_date,
        dimension,
        dimension_value,
        max(case when kpi_name = 'churn_rate' then value end) as churn_rate,
        max(case when kpi_name = 'lapsed_customers_30d' then value end) as lapsed_customers_30d,
        max(case when kpi_name = 'repeat_purchase_rate' then value end) as repeat_purchase_rate,
        max(case when kpi_name = 'gross_revenue_retention' then value end)
            as gross_revenue_retention,
        max(case when kpi_name = 'net_revenue_retention' then value end)
            as net_revenue_retention,
        max(case when kpi_name = 'lost_revenue_30d' then value end) as lost_revenue_30d
    from retention_kpis_daily
    group by kpi_date, dimension, dimension_value

),

final as (

    select *
    from pivoted
    where
        churn_rate < 0
        or churn_rate > 1
        or repeat_purchase_rate < 0
        or repeat_purchase_rate > 1
        or gross_revenue_retention < 0
        -- exact: both are sums to the cent divided by the same base, and rounded division
        -- keeps their order
        or gross_revenue_retention > 1
        or gross_revenue_retention > net_revenue_retention
        or (gross_revenue_retention is null) != (net_revenue_retention is null)
        or lapsed_customers_30d < 0
        or lost_revenue_30d < 0

)

select * from final
