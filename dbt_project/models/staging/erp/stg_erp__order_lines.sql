with

source as (

    select * from {{ source('erp', 'order_lines') }}

),

latest as (

    -- raw keeps every version received; the current line is the latest one
    select *
    from source
    {{ latest_version('order_line_id') }}

),

final as (

    select
        -- ids
        cast(order_line_id as {{ dbt.type_bigint() }}) as order_line_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,

        -- measures (net of tax; a missing discount or tax means none)
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(coalesce(discount_amount, 0) as decimal(18, 2)) as discount_amount,
        cast(coalesce(tax_amount, 0) as decimal(18, 2)) as tax_amount,

        -- timestamps
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
