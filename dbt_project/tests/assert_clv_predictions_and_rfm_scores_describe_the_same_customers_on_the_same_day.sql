{{ config(meta={'dagster': {'source': 'python.int_customer_clv_predictions'}}) }}

-- The Python asset computes its observation end (the run's as-of day) and customer base apart
-- from the SQL models: both must be the customers with a non-cancelled order on or before the
-- same day, and every prediction must come from one and the same fit.

with

predictions as (

    select * from {{ source('python', 'int_customer_clv_predictions') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

observation as (

    select {{ clv_observation_end(ref('int_orders_enriched')) }} as observation_end

),

fits as (

    select count(*) as fit_count
    from (
        select distinct
            r,
            alpha,
            a,
            b,
            p,
            q,
            v,
            time_unit_days,
            monthly_discount,
            observation_end,
            model_fitted_at
        from predictions
    ) as distinct_fits

),

final as (

    select
        coalesce(predictions.customer_id, rfm.customer_id) as customer_id,
        predictions.observation_end as predictions_observation_end,
        rfm.observation_end as rfm_observation_end,
        observation.observation_end as expected_observation_end,
        fits.fit_count
    from predictions
    full outer join rfm
        on predictions.customer_id = rfm.customer_id
    cross join observation
    cross join fits
    where
        predictions.customer_id is null
        or rfm.customer_id is null
        or predictions.observation_end != observation.observation_end
        or rfm.observation_end != observation.observation_end
        or fits.fit_count != 1

)

select * from final
