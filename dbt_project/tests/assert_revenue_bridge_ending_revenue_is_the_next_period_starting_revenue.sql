-- Periods chain: what a member ends one period with is what it starts the next with (in
-- revenue and in customers), and the first period starts from nothing. The model computes
-- starting revenue from the previous period's customers, not by copying the previous row,
-- so a customer counted twice or missed between periods shows here.
with

revenue_bridge as (

    select * from {{ ref('fct_revenue_bridge') }}

),

chained as (

    select
        period_grain,
        period_start,
        dimension,
        dimension_value,
        starting_revenue,
        starting_customers,
        lag(ending_revenue) over (
            partition by period_grain, dimension, dimension_value
            order by period_start
        ) as previous_ending_revenue,
        lag(ending_customers) over (
            partition by period_grain, dimension, dimension_value
            order by period_start
        ) as previous_ending_customers
    from revenue_bridge

),

final as (

    select *
    from chained
    where
        starting_revenue != coalesce(previous_ending_revenue, 0)
        or starting_customers != coalesce(previous_ending_customers, 0)

)

select * from final
