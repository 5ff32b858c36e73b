with

source as (

    select * from {{ source('crm', 'reviews') }}

),

latest as (

    -- raw keeps every version received; the current review is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

live as (

    -- HubSpot may not report the associations of a deleted object: a deleted review
    -- keeps the links of its latest live version
    select *
    from source
    where not coalesce(archived, false)
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        latest.id as review_id,
        coalesce(nullif(trim(latest.company_id), ''), nullif(trim(live.company_id), ''))
            as company_id,

        -- dimensions
        lower(nullif(trim(latest.platform), '')) as platform,
        lower(nullif(trim(latest.hs_language), '')) as language,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(latest.archived, false) as is_deleted,

        -- measures (stars 1-5)
        {{ read_as('latest.rating', dbt.type_int()) }} as rating,

        -- free text (public, but may name people; read by text analysis only)
        nullif(trim(latest.title), '') as title,
        nullif(trim(latest.body), '') as body,

        -- timestamps
        {{ iso_text_to_reporting_timezone('latest.published_at') }} as published_at,
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at

    from latest
    left join live
        on latest.id = live.id

)

select * from final
