-- Every customer has exactly one current segment and one current region, so in every
-- period each bridge component of the segments adds up to the total's, and so do the
-- regions'.
with

revenue_bridge as (

    select * from {{ ref('fct_revenue_bridge') }}

),

totals as (

    select *
    from revenue_bridge
    where dimension = 'total'

),

dimension_sums as (

    select
        period_grain,
        period_start,
        dimension,
        sum(starting_revenue) as starting_revenue,
        sum(new_revenue) as new_revenue,
        sum(reactivated_revenue) as reactivated_revenue,
        sum(expansion_revenue) as expansion_revenue,
        sum(contraction_revenue) as contraction_revenue,
        sum(lost_revenue) as lost_revenue,
        sum(ending_revenue) as ending_revenue,
        sum(new_customers) as new_customers,
        sum(reactivated_customers) as reactivated_customers,
        sum(retained_customers) as retained_customers,
        sum(lost_customers) as lost_customers
    from revenue_bridge
    where dimension in ('segment', 'region')
    group by period_grain, period_start, dimension

),

expected_dimensions as (

    select 'segment' as dimension
    union all
    select 'region' as dimension

),

final as (

    select
        totals.period_grain,
        totals.period_start,
        expected_dimensions.dimension
    from totals
    cross join expected_dimensions
    left join dimension_sums
        on
            totals.period_grain = dimension_sums.period_grain
            and totals.period_start = dimension_sums.period_start
            and expected_dimensions.dimension = dimension_sums.dimension
    where
        dimension_sums.period_start is null
        or totals.starting_revenue != dimension_sums.starting_revenue
        or totals.new_revenue != dimension_sums.new_revenue
        or totals.reactivated_revenue != dimension_sums.reactivated_revenue
        or totals.expansion_revenue != dimension_sums.expansion_revenue
        or totals.contraction_revenue != dimension_sums.contraction_revenue
        or totals.lost_revenue != dimension_sums.lost_revenue
        or totals.ending_revenue != dimension_sums.ending_revenue
        or totals.new_customers != dimension_sums.new_customers
        or totals.reactivated_customers != dimension_sums.reactivated_customers
        or totals.retained_customers != dimension_sums.retained_customers
        or totals.lost_customers != dimension_sums.lost_customers

)

select * from final
