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

live as (

    -- HubSpot may not report the associations of a deleted object: a deleted contact
    -- keeps the links of its latest live version
    select *
    from source
    where not coalesce(archived, false)
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        latest.id as contact_id,
        coalesce(nullif(trim(latest.company_id), ''), nullif(trim(live.company_id), ''))
            as company_id,
        {{ read_as('latest.erp_customer_id', dbt.type_bigint()) }}
            as erp_customer_id,

        -- personal data, pseudonymised (first and last names are dropped)
        {{ hash_email('latest.email') }} as email_hash,

        -- dimensions
        lower(nullif(trim(latest.lifecyclestage), '')) as lifecycle_stage,
        lower(nullif(trim(latest.lead_source), '')) as lead_source,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(latest.archived, false) as is_deleted,

        -- timestamps
        {{ iso_text_to_reporting_timezone('latest.createdate') }} as lead_created_at,
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at

    from latest
    left join live
        on latest.id = live.id

)

select * from final
