-- The existing-customer KPIs of the radar in the long format every area's KPI series shares:
-- one row per day per KPI per dimension member. Each is a ratio of what the existing customers
-- did to what their own rhythm promised (1 = as usual); its sample size is the count it rests
-- on, so the alerts can test the counts rather than the ratio.
with

existing_customer_purchases as (

    select * from {{ ref('int_existing_customer_purchases_daily') }}

),

final as (

    -- purchases made against expected; sample: the expected purchases, rounded
    select
        kpi_date,
        'existing_customer_purchases' as kpi_name,
        dimension,
        dimension_value,
        case
            when expected_purchases > 0 then actual_purchases / expected_purchases
        end as value,
        cast(round(expected_purchases) as {{ dbt.type_bigint() }}) as sample_size
    from existing_customer_purchases

    union all

    -- revenue of their orders against their own average order of the year before; sample:
    -- those orders
    select
        kpi_date,
        'existing_customer_basket' as kpi_name,
        dimension,
        dimension_value,
        case
            when expected_basket_revenue > 0 then basket_revenue / expected_basket_revenue
        end as value,
        basket_orders as sample_size
    from existing_customer_purchases

)

select * from final
