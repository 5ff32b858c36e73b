with

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_daily') }}

),

final as (

    select
        -- ids
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.product_id,

        -- dimensions: the currency of the order, converted at the rate of the order date
        orders.currency,
        orders.order_date,
        case
            when orders.currency = {{ reporting_currency() }} then cast(1 as {{ type_double() }})
            else exchange_rates.to_reporting_rate
        end as exchange_rate,

        -- measures in the reporting currency, net of discounts and of tax; null without a rate
        order_lines.quantity,
        {{ to_reporting_currency(
            'order_lines.quantity * order_lines.unit_price - order_lines.discount_amount',
            'orders.currency',
            'exchange_rates.to_reporting_rate'
        ) }} as line_revenue,
        {{ to_reporting_currency(
            'order_lines.tax_amount', 'orders.currency', 'exchange_rates.to_reporting_rate'
        ) }} as tax_amount,

        -- timestamps: the latest raw load among the line and the rate it is converted at
        greatest(
            order_lines._loaded_at,
            coalesce(exchange_rates._loaded_at, order_lines._loaded_at)
        ) as _loaded_at

    from order_lines
    -- a line of an order the ERP has not given counts once the order loads (stg_erp__order_lines
    -- warns of it, and the radar notes it)
    inner join orders
        on order_lines.order_id = orders.order_id
    left join exchange_rates
        on
            orders.currency = exchange_rates.currency
            and orders.order_date = exchange_rates.date_day

)

select * from final
