with

source as (

    select * from {{ source('crm', 'companies') }}

),

latest as (

    -- raw keeps every version received; the current company is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        id as company_id,
        {{ dbt.safe_cast("nullif(trim(erp_customer_id), '')", dbt.type_bigint()) }}
            as erp_customer_id,

        -- dimensions (the name is dropped: for sole traders it is a person's name)
        lower(nullif(trim(domain), '')) as domain,
        nullif(trim(industry), '') as industry,
        lower(nullif(trim(lifecyclestage), '')) as lifecycle_stage,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(archived, false) as is_deleted,

        -- timestamps
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
