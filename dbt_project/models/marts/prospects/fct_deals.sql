with

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

final as (

    select
        -- ids
        deals.deal_id,
        deals.company_id,
        companies.erp_customer_id as customer_id,

        -- dimensions
        deals.deal_stage,
        deals.deal_stage = 'closedwon' as is_won,
        deals.deal_stage = 'closedlost' as is_lost,
        deals.is_deleted,

        -- measures
        deals.amount,
        case
            when deals.closes_at is not null
                then cast(
                    {{ dbt.datediff('deals.created_at', 'deals.closes_at', 'day') }}
                    as {{ dbt.type_bigint() }}
                )
        end as days_to_close,

        -- dates
        cast(deals.created_at as date) as created_date,
        cast(deals.closes_at as date) as close_date

    from deals
    left join companies
        on deals.company_id = companies.company_id

)

select * from final
