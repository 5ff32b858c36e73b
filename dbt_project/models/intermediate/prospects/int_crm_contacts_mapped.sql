with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

final as (

    select
        -- ids
        contacts.contact_id,
        contacts.company_id,
        -- a consumer buys as themselves, a business contact through their company's account
        coalesce(contacts.erp_customer_id, companies.erp_customer_id) as customer_id,

        -- dimensions: the ERP customer's current segment and region, as in the
        -- customer-value marts ('unknown' when the ERP has none); null without a customer
        case
            when customers.customer_id is not null
                then coalesce(customers.segment, 'unknown')
        end as segment,
        case
            when customers.customer_id is not null
                then coalesce(customers.region, 'unknown')
        end as region,
        contacts.lead_source,
        contacts.lifecycle_stage,
        contacts.is_deleted,

        -- timestamps
        contacts.lead_created_at,
        customers.created_at as customer_created_at

    from contacts
    left join companies
        on contacts.company_id = companies.company_id
    left join customers
        on coalesce(contacts.erp_customer_id, companies.erp_customer_id) = customers.customer_id

)

select * from final
