-- The bridge explains the whole revenue change of every period and member, to the cent:
-- ending = starting + new + reactivated + expansion − contraction − lost. Its customer
-- counts balance the same way: every customer of the period is new, reactivated or
-- retained, and every customer of the previous period is retained or lost.
with

revenue_bridge as (

    select * from {{ ref('fct_revenue_bridge') }}

),

final as (

    select
        period_grain,
        period_start,
        dimension,
        dimension_value,
        starting_revenue,
        new_revenue,
        reactivated_revenue,
        expansion_revenue,
        contraction_revenue,
        lost_revenue,
        ending_revenue
    from revenue_bridge
    where
        ending_revenue - starting_revenue
        != new_revenue + reactivated_revenue + expansion_revenue
        - contraction_revenue - lost_revenue
        or ending_customers != new_customers + reactivated_customers + retained_customers
        or starting_customers != retained_customers + lost_customers
        or expanding_customers + contracting_customers > retained_customers
        or least(
            new_revenue, reactivated_revenue, expansion_revenue, contraction_revenue, lost_revenue
        ) < 0
        or (expansion_revenue > 0) != (expanding_customers > 0)
        or (contraction_revenue > 0) != (contracting_customers > 0)

)

select * from final
