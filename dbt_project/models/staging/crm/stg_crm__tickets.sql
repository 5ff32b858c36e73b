with

source as (

    select * from {{ source('crm', 'tickets') }}

),

latest as (

    -- raw keeps every version received; the current ticket is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

live as (

    -- HubSpot may not report the associations of a deleted object: a deleted ticket
    -- keeps the links of its latest live version
    select *
    from source
    where not coalesce(archived, false)
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        latest.id as ticket_id,
        coalesce(nullif(trim(latest.company_id), ''), nullif(trim(live.company_id), ''))
            as company_id,

        -- dimensions
        lower(nullif(trim(latest.hs_pipeline_stage), '')) as pipeline_stage,
        lower(nullif(trim(latest.hs_ticket_category), '')) as category,
        lower(nullif(trim(latest.hs_ticket_priority), '')) as priority,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(latest.archived, false) as is_deleted,

        -- free text (may mention people; read by text analysis, never copied to marts)
        nullif(trim(latest.subject), '') as subject,

        -- timestamps
        {{ iso_text_to_reporting_timezone('latest.closed_date') }} as closed_at,
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at

    from latest
    left join live
        on latest.id = live.id

)

select * from final
