with

source as (

    select * from {{ source('crm', 'engagements') }}

),

latest as (

    -- raw keeps every version received; the current conversation is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        id as engagement_id,
        nullif(trim(company_id), '') as company_id,
        nullif(trim(contact_id), '') as contact_id,

        -- dimensions
        lower(nullif(trim(hs_engagement_type), '')) as engagement_type,
        lower(nullif(trim(hs_language), '')) as language,
        -- the outcome logged by the salesperson, when there is one
        lower(nullif(trim(hs_outcome), '')) as outcome,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(archived, false) as is_deleted,

        -- free text (may mention people; read by text analysis, never copied to marts)
        nullif(trim(hs_body_preview), '') as body_preview,

        -- timestamps
        {{ iso_text_to_reporting_timezone('hs_timestamp') }} as occurred_at,
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
