{%- set window_days = var('active_window_days') | int %}
{%- set lapse_days = var('lapse_days') | int %}

with

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

predictions as (

    select * from {{ source('python', 'int_customer_clv_predictions') }}

),

observation as (

    -- one day for every row; null only while no customer has ordered
    select max(observation_end) as observation_end
    from rfm

),

crm_accounts as (

    -- the CRM company that records the customer as its ERP account; should several do, the
    -- live one, then the one updated last. A company deleted in the CRM still links, since
    -- its tickets and feedback stay in staging (stg_crm__companies.is_deleted tells)
    select
        erp_customer_id,
        company_id
    from companies
    where erp_customer_id is not null
    qualify row_number() over (
        partition by erp_customer_id
        order by is_deleted asc, updated_at desc, company_id asc
    ) = 1

),

final as (

    select
        -- ids
        customers.customer_id,
        crm_accounts.company_id as crm_company_id,

        -- dimensions: current values; segment and region 'unknown' as in the daily marts
        customers.customer_type,
        coalesce(customers.segment, 'unknown') as segment,
        coalesce(customers.region, 'unknown') as region,
        customers.country,

        -- order history up to the observation end (non-cancelled orders, net of refunds)
        rfm.first_order_date,
        rfm.last_order_date,
        coalesce(rfm.order_count, 0) as orders,
        cast(coalesce(rfm.net_revenue_to_date, 0) as decimal(18, 2)) as historical_clv,

        -- predictions for the next 12 months; null for customers who never ordered, and for
        -- everyone when the fit failed (the status and the reason say so)
        predictions.predicted_clv_12m,
        predictions.p_alive,
        predictions.expected_purchases_12m,
        predictions.clv_fit_status,
        predictions.clv_fit_error,

        -- rfm; null for customers who never ordered
        rfm.rfm_recency_score,
        rfm.rfm_frequency_score,
        rfm.rfm_monetary_score,
        rfm.rfm_segment,

        -- status on the observation end
        coalesce(
            rfm.last_order_date > {{ add_days('observation.observation_end', -window_days) }},
            false
        ) as is_active,
        case
            when
                {{ add_days('rfm.last_order_date', lapse_days) }}
                <= observation.observation_end
                then {{ add_days('rfm.last_order_date', lapse_days) }}
        end as lapsed_on,

        -- dates
        observation.observation_end

    from customers
    cross join observation
    left join crm_accounts
        on customers.customer_id = crm_accounts.erp_customer_id
    left join rfm
        on customers.customer_id = rfm.customer_id
    left join predictions
        on customers.customer_id = predictions.customer_id

)

select * from final
