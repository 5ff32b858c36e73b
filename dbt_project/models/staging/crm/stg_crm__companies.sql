with

source as (

    select * from {{ source('crm', 'companies') }}

),

erp_customers as (

    select * from {{ source('erp', 'customers') }}

),

latest as (

    -- raw keeps every version received; the current company is the latest one
    select *
    from source
    {{ latest_version('id') }}

),

erp_domains as (

    -- the ERP customers by the domain of their e-mail, for companies that carry no ERP
    -- number (CRM_ERP_LINK=domain); a domain shared by several customers (a webmail
    -- provider) names none of them
    select
        lower({{ dbt.split_part('email', "'@'", 2) }}) as domain,
        min(customer_id) as erp_customer_id
    from erp_customers
    where email like '%@%'
    group by 1
    having count(distinct customer_id) = 1

),

final as (

    select
        -- ids: the ERP number the company carries, else the ERP customer at its domain
        latest.id as company_id,
        coalesce(
            {{ read_as('latest.erp_customer_id', dbt.type_bigint()) }},
            erp_domains.erp_customer_id
        ) as erp_customer_id,

        -- dimensions (the name is dropped: for sole traders it is a person's name)
        lower(nullif(trim(latest.domain), '')) as domain,
        nullif(trim(latest.industry), '') as industry,
        lower(nullif(trim(latest.lifecyclestage), '')) as lifecycle_stage,
        -- archived objects are deleted in the CRM; kept and flagged so models choose
        coalesce(latest.archived, false) as is_deleted,

        -- timestamps
        {{ to_reporting_timezone('latest.created_at') }} as created_at,
        {{ to_reporting_timezone('latest.updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('latest._dlt_load_id') }} as _loaded_at

    from latest
    left join erp_domains
        on lower(nullif(trim(latest.domain), '')) = erp_domains.domain

)

select * from final
