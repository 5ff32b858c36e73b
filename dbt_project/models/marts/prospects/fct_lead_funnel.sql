with

contacts as (

    select * from {{ ref('int_crm_contacts_mapped') }}

),

orders as (

    -- the orders of the run's as-of day and before; later ones wait for their day
    select * from {{ ref('stg_erp__orders') }}
    where {{ on_or_before_as_of('order_date') }}

),

order_history as (

    -- the ERP's order history starts here: a first order before it cannot be seen
    select min(order_date) as history_start_date
    from orders

),

first_orders as (

    select
        customer_id,
        min(order_date) as first_order_date
    from orders
    where not is_cancelled
    group by customer_id

),

leads as (

    -- every contact entered the CRM as a lead; deleted ones stay, so that the leads and
    -- conversions of past days do not change when the CRM is cleaned up
    select
        contacts.*,
        cast(contacts.lead_created_at as date) as lead_created_date,
        order_history.history_start_date,
        -- the first order is known only for an account opened inside the order history; an
        -- older account may have ordered before the data begins
        case
            when
                coalesce(cast(contacts.customer_created_at as date), first_orders.first_order_date)
                >= order_history.history_start_date
                then first_orders.first_order_date
        end as first_order_date
    from contacts
    cross join order_history
    left join first_orders
        on contacts.customer_id = first_orders.customer_id
    where contacts.lead_created_at is not null

),

final as (

    select
        -- ids
        contact_id,
        company_id,
        customer_id,

        -- dimensions
        coalesce(lead_source, 'unknown') as lead_source,
        lifecycle_stage,
        is_deleted,
        -- converted: the lead's customer placed their first order on or after the day the
        -- lead was created; unknown (null) for a lead older than the order history, whose
        -- customer may have ordered before the data begins
        case
            when history_start_date is null or lead_created_date < history_start_date
                then null
            else coalesce(first_order_date >= lead_created_date, false)
        end as converted,

        -- measures: the marketing lag, for converted leads only
        case
            when
                lead_created_date >= history_start_date
                and first_order_date >= lead_created_date
                then cast(
                    {{ dbt.datediff('lead_created_date', 'first_order_date', 'day') }}
                    as {{ dbt.type_bigint() }}
                )
        end as days_to_first_order,

        -- dates
        lead_created_date,
        first_order_date,

        -- timestamps
        lead_created_at

    from leads

)

select * from final
