with

source as (

    select * from {{ source('erp', 'customers') }}

),

latest as (

    -- raw keeps every version received; the current account is the latest one
    select *
    from source
    {{ latest_version('customer_id') }}

),

versions as (

    -- each version received, numbered in the order latest_version reads them
    select
        customer_id,
        lower(nullif(trim(segment), '')) as segment,
        lower(nullif(trim(region), '')) as region,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at,
        row_number() over (
            partition by customer_id
            order by updated_at, {{ dlt_load_id_to_timestamp('_dlt_load_id') }}
        ) as version_number
    from source

),

segment_region_moves as (

    -- the versions that put the customer in another segment or region than the version
    -- before them (the first version does)
    select
        customer_id,
        _loaded_at
    from versions
    qualify
        version_number = 1
        or segment is distinct from lag(segment)
            over (partition by customer_id order by version_number)
        or region is distinct from lag(region)
            over (partition by customer_id order by version_number)

),

segment_region_loads as (

    select
        customer_id,
        max(_loaded_at) as segment_region_loaded_at
    from segment_region_moves
    group by customer_id

),

final as (

    select
        -- ids
        cast(latest.customer_id as {{ dbt.type_bigint() }}) as customer_id,

        -- personal data, pseudonymised (the name is dropped)
        {{ hash_email('latest.email') }} as email_hash,

        -- dimensions
        lower(nullif(trim(latest.customer_type), '')) as customer_type,
        lower(nullif(trim(latest.segment), '')) as segment,
        lower(nullif(trim(latest.region), '')) as region,
        upper(nullif(trim(latest.country), '')) as country,

        -- timestamps
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at,
        segment_region_loads.segment_region_loaded_at

    from latest
    left join segment_region_loads
        on latest.customer_id = segment_region_loads.customer_id

)

select * from final
