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

final as (

    select
        -- ids
        id as review_id,
        nullif(trim(company_id), '') as company_id,

        -- dimensions
        lower(nullif(trim(platform), '')) as platform,
        lower(nullif(trim(hs_language), '')) as language,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(archived, false) as is_deleted,

        -- measures (stars 1-5)
        {{ dbt.safe_cast("nullif(trim(rating), '')", dbt.type_int()) }} as rating,

        -- free text (public, but may name people; read by text analysis only)
        nullif(trim(title), '') as title,
        nullif(trim(body), '') as body,

        -- timestamps
        {{ iso_text_to_reporting_timezone('published_at') }} as published_at,
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
