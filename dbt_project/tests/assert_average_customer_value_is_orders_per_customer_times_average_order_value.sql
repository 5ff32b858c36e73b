-- ACV factors exactly into frequency × basket: revenue / customers
-- = (orders / customers) × (revenue / orders). The alerts explain an ACV move by these two
-- factors, so they must multiply back to it (up to floating-point rounding).
with

customer_value_daily as (

    select * from {{ ref('fct_customer_value_daily') }}

),

final as (

    select
        value_date,
        dimension,
        dimension_value,
        average_customer_value,
        orders_per_active_customer,
        average_order_value
    from customer_value_daily
    where
        -- with active customers there is at least one order, so all three are defined
        (active_customers > 0 and (
            average_customer_value is null
            or orders_per_active_customer is null
            or average_order_value is null
            or abs(
                average_customer_value - orders_per_active_customer * average_order_value
            ) > 1e-9 * greatest(1, abs(average_customer_value))
        ))
        or (active_customers = 0 and average_customer_value is not null)

)

select * from final
