{#
    Every order line and credit note outside the reporting currency has a usable exchange rate
    on its day (the latest rate at most var('exchange_rate_max_age_days') old). Without one
    its amounts would be missing from the marts or, worse, counted 1:1; this finding stops
    the publication instead and names, per currency, the days that lack a rate. The failing
    rows are stored (dbt_test__audit) so the run's log points to them.
#}
{{ config(
    severity='error',
    store_failures=true,
    meta={'dagster': {'ref': {'name': 'int_order_lines_converted'}}}
) }}

with

order_lines as (

    select * from {{ ref('int_order_lines_converted') }}

),

refunds as (

    select * from {{ ref('int_refunds_converted') }}

),

documents_without_rate as (

    select
        currency,
        order_date as conversion_date,
        order_id,
        cast(null as {{ dbt.type_bigint() }}) as refund_id
    from order_lines
    where exchange_rate is null and {{ on_or_before_as_of('order_date') }}

    union all

    select
        currency,
        conversion_date,
        cast(null as {{ dbt.type_bigint() }}) as order_id,
        refund_id
    from refunds
    where exchange_rate is null and {{ on_or_before_as_of('conversion_date') }}

),

days_without_rate as (

    select
        currency,
        conversion_date,
        count(distinct order_id) as orders,
        count(distinct refund_id) as refunds
    from documents_without_rate
    group by currency, conversion_date

),

final as (

    select
        currency,
        count(*) as days_without_rate,
        sum(orders) as orders_without_rate,
        sum(refunds) as refunds_without_rate,
        min(conversion_date) as first_day,
        max(conversion_date) as last_day,
        {{ dbt.listagg(
            'cast(conversion_date as ' ~ dbt.type_string() ~ ')',
            "', '",
            'order by conversion_date'
        ) }} as missing_days
    from days_without_rate
    group by currency

)

select * from final
