-- Churn and repeat purchase rates are shares of customers, so within 0 … 1 (churn because
-- every customer lapsing in a month was active at its start: their last purchase lies less
-- than `active_window_days` before it). GRR caps every customer at their earlier revenue,
-- so it never exceeds 100 % nor NRR, and both are defined together.
with

retention_monthly as (

    select * from {{ ref('fct_retention_monthly') }}

),

final as (

    select
        month_start,
        dimension,
        dimension_value,
        churn_rate,
        repeat_purchase_rate,
        gross_revenue_retention_12m,
        net_revenue_retention_12m
    from retention_monthly
    where
        churn_rate < 0
        or churn_rate > 1
        or repeat_purchase_rate < 0
        or repeat_purchase_rate > 1
        or gross_revenue_retention_12m < 0
        or gross_revenue_retention_12m > 1
        or gross_revenue_retention_12m > net_revenue_retention_12m
        or (gross_revenue_retention_12m is null) != (net_revenue_retention_12m is null)
        or lapsed_customers > active_at_start
        or base_trailing_12m_capped_revenue > base_trailing_12m_revenue
        or base_trailing_12m_capped_revenue > base_prior_12m_revenue

)

select * from final
