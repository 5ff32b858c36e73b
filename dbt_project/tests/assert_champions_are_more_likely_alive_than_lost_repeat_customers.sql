{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

-- The two models must tell the same story: champions (bought recently, often, much) are
-- likelier to still be customers than lost ones (bought long ago, little). Compared among
-- repeat customers only, since BG/NBD gives every one-time buyer P(alive) = 1. A reversal
-- means the RFM scores or the BG/NBD fit read recency backwards.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

predictions as (

    select * from {{ source('python', 'int_customer_clv_predictions') }}

),

segment_p_alive as (

    select
        customers.rfm_segment,
        avg(customers.p_alive) as average_p_alive
    from customers
    inner join predictions
        on customers.customer_id = predictions.customer_id
    where
        predictions.frequency > 0
        and customers.rfm_segment in ('champions', 'lost')
    group by customers.rfm_segment

),

final as (

    select
        champions.average_p_alive as champions_average_p_alive,
        lost.average_p_alive as lost_average_p_alive
    from segment_p_alive as champions
    inner join segment_p_alive as lost
        on
            champions.rfm_segment = 'champions'
            and lost.rfm_segment = 'lost'
    where champions.average_p_alive <= lost.average_p_alive

)

select * from final
