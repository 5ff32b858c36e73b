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

final as (

    select
        -- ids
        id as deal_id,
        nullif(trim(company_id), '') as company_id,

        -- dimensions (the deal name is dropped: it often names the buyer)
        lower(nullif(trim(dealstage), '')) as deal_stage,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(archived, false) as is_deleted,

        -- measures (net of tax)
        {{ dbt.safe_cast("nullif(trim(amount), '')", "decimal(18, 2)") }} as amount,

        -- timestamps (close date: actual once won or lost, expected before)
        {{ iso_text_to_reporting_timezone('closedate') }} as closes_at,
        {{ to_reporting_timezone('created_at') }} as created_at,
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
