with

source as (

    select * from {{ source('erp', 'orders') }}

),

latest as (

    -- raw keeps every version received; the current order header is the latest one
    select
        *,
        -- an order the ERP moved to another day changed the days it used to count on too
        min(order_date) over (partition by order_id) as earliest_order_date
    from source
    {{ latest_version('order_id') }}

),

final as (

    select
        -- ids
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,

        -- dimensions
        lower(nullif(trim(status), '')) as status,
        coalesce(lower(trim(status)) = 'cancelled', false) as is_cancelled,
        -- an order without a currency is in the reporting currency (a business in one
        -- currency need not fill it)
        coalesce(upper(nullif(trim(currency), '')), {{ reporting_currency() }}) as currency,
        lower(nullif(trim(channel), '')) as channel,

        -- dates: order_date is already the calendar day in the reporting time zone
        cast(order_date as date) as order_date,
        cast(earliest_order_date as date) as earliest_order_date,

        -- timestamps
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
