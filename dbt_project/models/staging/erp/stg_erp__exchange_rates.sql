with

source as (

    select * from {{ source('erp', 'exchange_rates') }}

),

latest as (

    -- raw keeps every version received; a corrected rate replaces the one published first
    select *
    from source
    {{ latest_version('base_currency, currency, rate_date') }}

),

final as (

    select
        -- ids
        cast(rate_date as date) as rate_date,
        upper(trim(base_currency)) as base_currency,
        upper(trim(currency)) as currency,

        -- measures: units of currency for one unit of the base currency
        cast(rate as {{ type_double() }}) as rate,

        -- timestamps
        {{ to_reporting_timezone('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as _loaded_at

    from latest

)

select * from final
