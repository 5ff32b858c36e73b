-- Orders dated after the run's as-of day are left out of every mart until their day comes
-- (on_or_before_as_of): in a backfill they are simply later orders, on the day itself they
-- are impossible, an order keyed with a wrong year (2099) say. Either way the run says how
-- many it left out and which, as a warning; nothing is counted on a day that has not come.
{{ config(severity='warn') }}

with

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

final as (

    select
        order_id,
        customer_id,
        order_date,
        'dated after the as-of day {{ as_of() }}' as reason
    from orders
    where not {{ on_or_before_as_of('order_date') }}

)

select * from final
