with

source as (

    -- one row per event: events never change, and extraction merges on event_id, so a
    -- landing file read again replaces its rows (the source's unique test proves it)
    select * from {{ source('web', 'events') }}

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

    from source

)

select * from final
