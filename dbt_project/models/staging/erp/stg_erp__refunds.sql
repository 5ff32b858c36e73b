with

source as (

    select * from {{ source('erp', 'refunds') }}

),

latest as (

    -- raw keeps every version received; the current credit note is the latest one
    select *
    from source
    {{ latest_version('refund_id') }}

),

final as (

    select
        -- ids
        cast(refund_id as {{ dbt.type_bigint() }}) as refund_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,

        -- dimensions
        nullif(trim(reason), '') as reason,
        -- null when the ERP sent none: the refund is then in its order's currency
        upper(nullif(trim(currency), '')) as currency,

        -- measures (net of tax, positive, in the refund's currency)
        cast(amount as decimal(18, 2)) as refund_amount,

        -- dates
        cast(refund_date as date) as refund_date,

        -- timestamps
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
