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

live as (

    -- HubSpot may not report the associations of a deleted object: a deleted conversation
    -- keeps the links of its latest live version
    select *
    from source
    where not coalesce(archived, false)
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        latest.id as engagement_id,
        coalesce(nullif(trim(latest.company_id), ''), nullif(trim(live.company_id), ''))
            as company_id,
        coalesce(nullif(trim(latest.contact_id), ''), nullif(trim(live.contact_id), ''))
            as contact_id,

        -- dimensions
        lower(nullif(trim(latest.hs_engagement_type), '')) as engagement_type,
        lower(nullif(trim(latest.hs_language), '')) as language,
        -- the outcome logged by the salesperson, when there is one
        lower(nullif(trim(latest.hs_outcome), '')) as outcome,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(latest.archived, false) as is_deleted,

        -- free text (may mention people; read by text analysis, never copied to marts)
        nullif(trim(latest.hs_body_preview), '') as body_preview,

        -- timestamps
        {{ iso_text_to_reporting_timezone('latest.hs_timestamp') }} as occurred_at,
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at

    from latest
    left join live
        on latest.id = live.id

)

select * from final
