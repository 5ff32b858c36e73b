with

source as (

    select * from {{ source('crm', 'deals') }}

),

latest as (

    -- raw keeps every version received; the current deal is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

live as (

    -- HubSpot may not report the associations of a deleted object: a deleted deal
    -- keeps the links of its latest live version
    select *
    from source
    where not coalesce(archived, false)
    {{ latest_version('id') }}

),

final as (

    select
        -- ids
        latest.id as deal_id,
        coalesce(nullif(trim(latest.company_id), ''), nullif(trim(live.company_id), ''))
            as company_id,

        -- dimensions (the deal name is dropped: it often names the buyer)
        lower(nullif(trim(latest.dealstage), '')) as deal_stage,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(latest.archived, false) as is_deleted,

        -- measures (net of tax)
        {{ read_as('latest.amount', 'decimal(18, 2)') }} as amount,

        -- timestamps (close date: actual once won or lost, expected before)
        {{ iso_text_to_reporting_timezone('latest.closedate') }} as closes_at,
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at

    from latest
    left join live
        on latest.id = live.id

)

select * from final
