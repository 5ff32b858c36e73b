with

source as (

    select * from {{ source('crm', 'feedback') }}

),

latest as (

    -- raw keeps every version received; the current survey response is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

live as (

    -- HubSpot may not report the associations of a deleted object: a deleted survey response
    -- keeps the links of its latest live version
    select *
    from source
    where not coalesce(archived, false)
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        latest.id as feedback_response_id,
        coalesce(nullif(trim(latest.company_id), ''), nullif(trim(live.company_id), ''))
            as company_id,
        coalesce(nullif(trim(latest.contact_id), ''), nullif(trim(live.contact_id), ''))
            as contact_id,
        coalesce(nullif(trim(latest.ticket_id), ''), nullif(trim(live.ticket_id), ''))
            as ticket_id,

        -- dimensions
        lower(nullif(trim(latest.hs_survey_type), '')) as survey_type,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(latest.archived, false) as is_deleted,

        -- measures (NPS 0-10, CSAT 1-5, CES 1-7)
        {{ read_as('latest.hs_response_value', dbt.type_int()) }}
            as response_value,

        -- free text (may mention people; read by text analysis, never copied to marts)
        nullif(trim(latest.hs_content), '') as comment,

        -- timestamps
        {{ iso_text_to_reporting_timezone('latest.hs_submission_timestamp') }} as submitted_at,
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at

    from latest
    left join live
        on latest.id = live.id

)

select * from final
