with

source as (

    select * from {{ source('web', 'events') }}

),

latest as (

    -- events never change, but a landing file loaded twice must not count twice
    select *
    from source
    {{ latest_version('event_id', updated_at=none) }}

),

final as (

    select
        -- ids
        event_id,
        nullif(trim(visitor_id), '') as visitor_id,
        nullif(trim(session_id), '') as session_id,
        -- the CRM contact a sign-up created
        nullif(trim(contact_id), '') as contact_id,

        -- dimensions
        lower(nullif(trim(event_type), '')) as event_type,
        lower(nullif(trim(channel), '')) as channel,
        nullif(trim(page_path), '') as page_path,

        -- timestamps
        {{ to_reporting_timezone('occurred_at') }} as occurred_at,

        -- lineage: the landing file and the load that brought the event
        _file_name,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
