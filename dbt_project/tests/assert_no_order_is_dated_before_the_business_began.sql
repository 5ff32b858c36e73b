-- An order dated before var('business_start') is impossible: a typo (0226-06-01), a default
-- date of the ERP (1900-01-01) or a migration artefact. It would open a cohort and stretch the
-- daily marts back to that day, so the serving copy waits until the order is corrected in the
-- ERP or the var is set to the day the business really began.
{{ config(severity='error') }}

with

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

final as (

    select
        order_id,
        customer_id,
        order_date,
        'before business_start {{ var("business_start") }}' as reason
    from orders
    where order_date < cast('{{ var("business_start") }}' as date)

)

select * from final
