with

responses as (

    select * from {{ ref('stg_crm__feedback_responses') }}

),

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

contacts as (

    select * from {{ ref('int_crm_contacts_mapped') }}

),

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

closed_tickets as (

    -- CSAT and CES rate the support of a ticket once it is closed; a ticket reopened or
    -- deleted since has no closing that counts
    select
        ticket_id,
        closed_at
    from tickets
    where
        pipeline_stage = 'closed'
        and closed_at is not null
        and not is_deleted

),

mapped as (

    select
        responses.*,
        coalesce(responses.company_id, contacts.company_id) as respondent_company_id,
        -- the account the response names first, else the respondent's own (a consumer) or
        -- their company's
        coalesce(companies.erp_customer_id, contacts.customer_id) as customer_id,
        closed_tickets.closed_at as ticket_closed_at
    from responses
    left join companies
        on responses.company_id = companies.company_id
    left join contacts
        on responses.contact_id = contacts.contact_id
    left join closed_tickets
        on responses.ticket_id = closed_tickets.ticket_id
    -- a response deleted in the CRM was withdrawn or entered by mistake
    where not responses.is_deleted

),

final as (

    select
        -- ids
        mapped.feedback_response_id,
        mapped.respondent_company_id as company_id,
        mapped.contact_id,
        mapped.ticket_id,
        mapped.customer_id,

        -- dimensions
        mapped.survey_type,
        -- the ERP customer's current segment and region, as in the customer-value marts;
        -- null when the respondent maps to no ERP customer
        case
            when customers.customer_id is not null
                then coalesce(customers.segment, 'unknown')
        end as segment,
        case
            when customers.customer_id is not null
                then coalesce(customers.region, 'unknown')
        end as region,
        case
            when mapped.survey_type != 'nps' then null
            when mapped.response_value >= 9 then 'promoter'
            when mapped.response_value >= 7 then 'passive'
            when mapped.response_value >= 0 then 'detractor'
        end as nps_category,
        case
            when mapped.survey_type = 'csat' and mapped.response_value is not null
                then mapped.response_value >= 4
        end as is_satisfied,

        -- measures (NPS 0-10, CSAT 1-5, CES 1-7 where 7 is the least effort)
        mapped.response_value as score,

        -- dates: NPS counts on the day it was submitted, CSAT and CES on the day their
        -- ticket was closed (the support they rate), so a late answer lands with its ticket
        cast(
            case
                when mapped.survey_type = 'nps' then mapped.submitted_at
                else mapped.ticket_closed_at
            end as date
        ) as feedback_date,
        cast(mapped.submitted_at as date) as submitted_date,
        cast(mapped.ticket_closed_at as date) as ticket_closed_date,

        -- timestamps
        mapped.submitted_at,
        mapped.ticket_closed_at

    from mapped
    left join customers
        on mapped.customer_id = customers.customer_id

)

select * from final
