with

source as (

    -- one row per response: the open survey's export is read again until it closes, and a
    -- corrected export may be dropped again, but extraction merges on response_id, so the
    -- latest load of each response is the one raw keeps (the source's unique test proves it)
    select * from {{ source('hr', 'pulse_responses') }}

),

final as (

    select
        -- ids
        response_id,
        nullif(trim(survey_id), '') as survey_id,

        -- dimensions
        -- the month the survey measures, whatever day the export gave it
        cast({{ dbt.date_trunc('month', 'survey_month') }} as date) as survey_month,
        lower(trim(department)) as department,

        -- measures
        -- the department's headcount invited to the survey, repeated on each response
        invited_count,
        -- eNPS answer, 0-10
        score,

        -- timestamps
        {{ to_reporting_timezone('submitted_at') }} as submitted_at,

        -- lineage: the export file and the load that brought the response
        _file_name,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from source

)

select * from final
