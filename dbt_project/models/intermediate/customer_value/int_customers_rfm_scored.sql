with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

observation as (

    select {{ clv_observation_end('orders') }} as observation_end

),

customer_orders as (

    -- lifetime history up to the observation end: a customer who bought much long ago keeps
    -- high frequency and monetary scores, which is what tells at_risk and cannot_lose_them
    -- from lost (a trailing window would score every lapsed customer zero on both)
    select
        orders.customer_id,
        min(orders.order_date) as first_order_date,
        max(orders.order_date) as last_order_date,
        count(*) as order_count,
        sum(orders.net_revenue) as net_revenue_to_date
    from orders
    cross join observation
    where
        not orders.is_cancelled
        and orders.order_date <= observation.observation_end
    group by orders.customer_id

),

measured as (

    select
        customer_orders.*,
        observation.observation_end,
        {{ dbt.datediff('customer_orders.last_order_date', 'observation.observation_end', 'day') }}
            as recency_days
    from customer_orders
    cross join observation

),

scored as (

    -- quintiles of the customers who bought, 5 the best: most recent, most orders, most net
    -- revenue; ntile splits ties by customer_id so that a rebuild gives the same scores, which
    -- may put customers with equal values in adjacent quintiles
    select
        *,
        cast(
            ntile(5) over (order by recency_days desc, customer_id asc) as {{ dbt.type_int() }}
        ) as rfm_recency_score,
        cast(
            ntile(5) over (order by order_count, customer_id) as {{ dbt.type_int() }}
        ) as rfm_frequency_score,
        cast(
            ntile(5) over (order by net_revenue_to_date, customer_id) as {{ dbt.type_int() }}
        ) as rfm_monetary_score
    from measured

),

combined as (

    -- frequency and monetary move together and name the segments as one axis: their mean,
    -- rounded half up
    select
        *,
        cast(
            ceil((rfm_frequency_score + rfm_monetary_score) / 2.0) as {{ dbt.type_int() }}
        ) as rfm_frequency_monetary_score
    from scored

),

final as (

    select
        -- ids
        customer_id,

        -- order history up to the observation end (non-cancelled orders, net of refunds)
        first_order_date,
        last_order_date,
        order_count,
        cast(net_revenue_to_date as decimal(18, 2)) as net_revenue_to_date,
        recency_days,

        -- scores
        rfm_recency_score,
        rfm_frequency_score,
        rfm_monetary_score,
        rfm_frequency_monetary_score,
        cast(rfm_recency_score as {{ dbt.type_string() }})
        || cast(rfm_frequency_score as {{ dbt.type_string() }})
        || cast(rfm_monetary_score as {{ dbt.type_string() }}) as rfm_score,

        -- segment: recency × frequency-monetary grid, the mapping table of _clv__models.yml;
        -- the conditions do not overlap and cover all 25 cells
        case
            when rfm_recency_score = 5 and rfm_frequency_monetary_score >= 4
                then 'champions'
            when rfm_recency_score in (3, 4) and rfm_frequency_monetary_score >= 4
                then 'loyal'
            when rfm_recency_score >= 4 and rfm_frequency_monetary_score in (2, 3)
                then 'potential_loyalists'
            when rfm_recency_score = 5 and rfm_frequency_monetary_score = 1
                then 'new_customers'
            when rfm_recency_score = 4 and rfm_frequency_monetary_score = 1
                then 'promising'
            when rfm_recency_score = 3 and rfm_frequency_monetary_score = 3
                then 'need_attention'
            when rfm_recency_score = 3 and rfm_frequency_monetary_score <= 2
                then 'about_to_sleep'
            when rfm_recency_score <= 2 and rfm_frequency_monetary_score = 5
                then 'cannot_lose_them'
            when rfm_recency_score <= 2 and rfm_frequency_monetary_score in (3, 4)
                then 'at_risk'
            when rfm_recency_score = 2 and rfm_frequency_monetary_score <= 2
                then 'hibernating'
            when rfm_recency_score = 1 and rfm_frequency_monetary_score <= 2
                then 'lost'
        end as rfm_segment,

        -- dates
        observation_end

    from combined

)

select * from final
