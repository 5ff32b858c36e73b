{{ config(meta={'dagster': {'ref': {'name': 'fct_feedback_daily'}}}) }}

-- Every share and rate of the feedback and prospect marts is a percentage (0-100, like
-- CSAT), never a fraction of 1: a part can be neither negative nor larger than its whole.
with

feedback_daily as (

    select * from {{ ref('fct_feedback_daily') }}

),

prospects_daily as (

    select * from {{ ref('fct_prospects_daily') }}

),

web_channels_daily as (

    select * from {{ ref('fct_web_channels_daily') }}

),

shares as (

    select
        'nps_promoter_share_90d' as share_name,
        feedback_date as share_date,
        dimension,
        dimension_value,
        nps_promoter_share_90d as percentage
    from feedback_daily

    union all

    select
        'nps_detractor_share_90d' as share_name,
        feedback_date as share_date,
        dimension,
        dimension_value,
        nps_detractor_share_90d as percentage
    from feedback_daily

    union all

    select
        'csat_30d' as share_name,
        feedback_date as share_date,
        dimension,
        dimension_value,
        csat_30d as percentage
    from feedback_daily

    union all

    select
        'positive_review_share_30d' as share_name,
        feedback_date as share_date,
        dimension,
        dimension_value,
        positive_review_share_30d as percentage
    from feedback_daily

    union all

    select
        'positive_conversation_share_30d' as share_name,
        feedback_date as share_date,
        dimension,
        dimension_value,
        positive_conversation_share_30d as percentage
    from feedback_daily

    union all

    select
        'lead_conversion_rate_30d' as share_name,
        prospect_date as share_date,
        dimension,
        dimension_value,
        lead_conversion_rate_30d as percentage
    from prospects_daily

    union all

    select
        'visitor_to_lead_rate' as share_name,
        activity_date as share_date,
        dimension,
        dimension_value,
        visitor_to_lead_rate as percentage
    from web_channels_daily

    union all

    select
        'visitor_to_lead_rate_30d' as share_name,
        activity_date as share_date,
        dimension,
        dimension_value,
        visitor_to_lead_rate_30d as percentage
    from web_channels_daily

),

final as (

    select *
    from shares
    where percentage < 0 or percentage > 100

)

select * from final
