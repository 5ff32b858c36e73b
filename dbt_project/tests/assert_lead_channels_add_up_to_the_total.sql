{{ config(meta={'dagster': {'ref': {'name': 'fct_prospects_daily'}}}) }}

-- Every lead has exactly one channel, so on every day the channels' leads, conversions and
-- first orders add up to the total; and the daily leads of the series add up to the leads
-- of the funnel created within it.
with

prospects_daily as (

    select * from {{ ref('fct_prospects_daily') }}

),

lead_funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

totals as (

    select *
    from prospects_daily
    where dimension = 'total'

),

channel_sums as (

    select
        prospect_date,
        sum(leads_created) as leads_created,
        sum(leads_created_30d) as leads_created_30d,
        sum(leads_converted_30d) as leads_converted_30d,
        sum(first_orders_from_leads_90d) as first_orders_from_leads_90d
    from prospects_daily
    where dimension = 'channel'
    group by prospect_date

),

day_mismatches as (

    select
        totals.prospect_date,
        'channels differ from the total' as problem
    from totals
    left join channel_sums
        on totals.prospect_date = channel_sums.prospect_date
    where
        totals.leads_created != coalesce(channel_sums.leads_created, 0)
        or totals.leads_created_30d != coalesce(channel_sums.leads_created_30d, 0)
        or totals.leads_converted_30d != coalesce(channel_sums.leads_converted_30d, 0)
        or totals.first_orders_from_leads_90d
        != coalesce(channel_sums.first_orders_from_leads_90d, 0)

),

series_bounds as (

    select
        min(prospect_date) as first_day,
        max(prospect_date) as last_day
    from totals

),

funnel_leads as (

    select count(*) as leads
    from lead_funnel
    cross join series_bounds
    where lead_funnel.lead_created_date between series_bounds.first_day and series_bounds.last_day

),

series_leads as (

    select coalesce(sum(leads_created), 0) as leads
    from totals

),

total_mismatch as (

    select
        cast(null as date) as prospect_date,
        'daily leads differ from the funnel' as problem
    from funnel_leads
    cross join series_leads
    where funnel_leads.leads != series_leads.leads

),

final as (

    select * from day_mismatches
    union all
    select * from total_mismatch

)

select * from final
