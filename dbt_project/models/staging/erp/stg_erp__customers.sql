with

source as (

    select * from {{ source('erp', 'customers') }}

),

latest as (

    -- raw keeps every version received; the current account is the latest one
    select *
    from source
    {{ latest_version('customer_id') }}

),

final as (

    select
        -- ids
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,

        -- personal data, pseudonymised (the name is dropped)
        {{ hash_email('email') }} as email_hash,

        -- dimensions
        lower(nullif(trim(customer_type), '')) as customer_type,
        lower(nullif(trim(segment), '')) as segment,
        lower(nullif(trim(region), '')) as region,
        upper(nullif(trim(country), '')) as country,

        -- timestamps
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
