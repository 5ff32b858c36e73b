-- Active customers are a running sum of period starts (+1) and ends (-1): a negative count
-- means an end was counted without its start (e.g. an incremental build that read too
-- short a history). Orders and revenue of a window cannot be negative either, except
-- revenue when refunds exceed sales, which is allowed.
with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

final as (

    select
        value_date,
        dimension,
        dimension_value,
        active_customers,
        orders_in_window
    from customer_value_daily
    where active_customers < 0 or orders_in_window < 0

)

select * from final
