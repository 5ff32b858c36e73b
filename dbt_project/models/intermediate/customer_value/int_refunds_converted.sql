with

refunds as (

    select * from {{ ref('stg_erp__refunds') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

exchange_rates as (

    select * from {{ ref('int_exchange_rates_daily') }}

),

refunds_dated as (

    -- a credit note without a currency is in its order's. It counts against its order on the
    -- order date, so it converts at the rate of that day (DESIGN §5): a full refund nets the
    -- order to exactly zero, whatever the rates did in between
    select
        refunds.refund_id,
        refunds.order_id,
        coalesce(refunds.currency, orders.currency) as currency,
        refunds.refund_date,
        orders.order_date as conversion_date,
        refunds.refund_amount,
        refunds._loaded_at
    from refunds
    -- a credit note of an order the ERP has not given counts once the order loads
    -- (stg_erp__refunds warns of it, and the radar notes it)
    inner join orders
        on refunds.order_id = orders.order_id

),

final as (

    select
        -- ids
        refunds_dated.refund_id,
        refunds_dated.order_id,

        -- dimensions
        refunds_dated.currency,
        case
            when refunds_dated.currency = {{ reporting_currency() }}
                then cast(1 as {{ type_double() }})
            else exchange_rates.to_reporting_rate
        end as exchange_rate,

        -- measures in the reporting currency, net of tax, positive; null without a rate
        {{ to_reporting_currency(
            'refunds_dated.refund_amount',
            'refunds_dated.currency',
            'exchange_rates.to_reporting_rate'
        ) }} as refund_amount,

        -- dates
        refunds_dated.refund_date,
        refunds_dated.conversion_date,

        -- timestamps: the latest raw load among the credit note and the rate it is converted at
        greatest(
            refunds_dated._loaded_at,
            coalesce(exchange_rates._loaded_at, refunds_dated._loaded_at)
        ) as _loaded_at

    from refunds_dated
    left join exchange_rates
        on
            refunds_dated.currency = exchange_rates.currency
            and refunds_dated.conversion_date = exchange_rates.date_day

)

select * from final
