{#
    Rates are quoted against one base currency (the ECB's against EUR): cross rates through
    the base are only right when every rate shares it. Rows here name the bases found.
#}
with

exchange_rates as (

    select * from {{ ref('stg_erp__exchange_rates') }}

),

bases as (

    select
        base_currency,
        count(*) as rates,
        count(*) over () as bases
    from exchange_rates
    group by base_currency

),

final as (

    select
        base_currency,
        rates
    from bases
    where bases > 1

)

select * from final
