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

final as (

    select
        -- ids
        id as feedback_response_id,
        nullif(trim(company_id), '') as company_id,
        nullif(trim(contact_id), '') as contact_id,
        nullif(trim(ticket_id), '') as ticket_id,

        -- dimensions
        lower(nullif(trim(hs_survey_type), '')) as survey_type,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(archived, false) as is_deleted,

        -- measures (NPS 0-10, CSAT 1-5, CES 1-7)
        {{ dbt.safe_cast("nullif(trim(hs_response_value), '')", dbt.type_int()) }}
            as response_value,

        -- free text (may mention people; read by text analysis, never copied to marts)
        nullif(trim(hs_content), '') as comment,

        -- timestamps
        {{ iso_text_to_reporting_timezone('hs_submission_timestamp') }} as submitted_at,
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
