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

final as (

    select
        -- ids
        id as ticket_id,
        nullif(trim(company_id), '') as company_id,

        -- dimensions
        lower(nullif(trim(hs_pipeline_stage), '')) as pipeline_stage,
        lower(nullif(trim(hs_ticket_category), '')) as category,
        lower(nullif(trim(hs_ticket_priority), '')) as priority,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(archived, false) as is_deleted,

        -- free text (may mention people; read by text analysis, never copied to marts)
        nullif(trim(subject), '') as subject,

        -- timestamps
        {{ iso_text_to_reporting_timezone('closed_date') }} as closed_at,
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
