-- Predicted CLV discounts each of the next 12 months' expected purchases by 1 to 12 months:
-- it can be neither more than the undiscounted expected purchases × expected spend, nor less
-- than that discounted by the full 12 months. Outside these bounds the horizon, the discount
-- or the time unit is wrong. The factors 1 ± 1e-9 absorb floating-point rounding.

with

predictions as (

    select * from {{ source('python', 'int_customer_clv_predictions') }}

),

bounded as (

    select
        customer_id,
        predicted_clv_12m,
        expected_purchases_12m * expected_average_order_value as undiscounted_clv_12m,
        expected_purchases_12m * expected_average_order_value
        / power(1 + monthly_discount, 12) as fully_discounted_clv_12m
    from predictions

),

final as (

    select *
    from bounded
    where
        predicted_clv_12m > undiscounted_clv_12m * (1 + 1e-9)
        or predicted_clv_12m < fully_discounted_clv_12m * (1 - 1e-9)

)

select * from final
