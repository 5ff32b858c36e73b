{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

-- A customer who never ordered has nothing to predict from: no P(alive), no predicted CLV, no
-- RFM score, never active or lapsed. Every customer who ordered has all of them, so a missing
-- prediction cannot hide a customer the fit skipped - unless the fit failed for everyone
-- (clv_fit_status 'failed', a warning of its own), when only the scores remain.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        customer_id,
        orders,
        predicted_clv_12m,
        p_alive,
        expected_purchases_12m,
        rfm_segment,
        is_active,
        lapsed_on
    from customers
    where
        case
            when orders = 0
                then
                    predicted_clv_12m is not null
                    or p_alive is not null
                    or expected_purchases_12m is not null
                    or rfm_recency_score is not null
                    or rfm_frequency_score is not null
                    or rfm_monetary_score is not null
                    or rfm_segment is not null
                    or is_active
                    or lapsed_on is not null
            else
                (
                    clv_fit_status is distinct from 'failed'
                    and (
                        predicted_clv_12m is null
                        or p_alive is null
                        or expected_purchases_12m is null
                    )
                )
                or rfm_recency_score is null
                or rfm_frequency_score is null
                or rfm_monetary_score is null
                or rfm_segment is null
        end

)

select * from final
