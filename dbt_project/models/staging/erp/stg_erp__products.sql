with

source as (

    select * from {{ source('erp', 'products') }}

),

latest as (

    -- raw keeps every version received; the current product is the latest one
    select *
    from source
    {{ latest_version('product_id') }}

),

final as (

    select
        -- ids
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,

        -- dimensions
        nullif(trim(product_name), '') as product_name,
        lower(nullif(trim(category), '')) as category,

        -- measures
        cast(list_price as decimal(18, 2)) as list_price,

        -- timestamps
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
