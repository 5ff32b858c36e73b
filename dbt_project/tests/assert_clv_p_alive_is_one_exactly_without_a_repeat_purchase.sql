-- In the BG/NBD a customer can drop out only right after a repeat purchase, so P(alive) is
-- exactly 1 for a customer with none, one-time buyers of long ago included, and below 1 for
-- everyone else (their odds of having dropped out are at least a / (b + x - 1) > 0). A
-- one-time buyer with P(alive) < 1, or a repeat buyer at 1, means the model or its inputs
-- changed meaning.

with

predictions as (

    select * from {{ source('python', 'int_customer_clv_predictions') }}

),

final as (

    select
        customer_id,
        frequency,
        p_alive
    from predictions
    where (frequency = 0) != (p_alive = 1)

)

select * from final
