with

source as (

    select * from {{ source('crm', 'contacts') }}

),

latest as (

    -- raw keeps every version received; the current contact is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        id as contact_id,
        nullif(trim(company_id), '') as company_id,
        {{ dbt.safe_cast("nullif(trim(erp_customer_id), '')", dbt.type_bigint()) }}
            as erp_customer_id,

        -- personal data, pseudonymised (first and last names are dropped)
        {{ hash_email('email') }} as email_hash,

        -- dimensions
        lower(nullif(trim(lifecyclestage), '')) as lifecycle_stage,
        lower(nullif(trim(lead_source), '')) as lead_source,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(archived, false) as is_deleted,

        -- timestamps
        {{ iso_text_to_reporting_timezone('createdate') }} as lead_created_at,
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
