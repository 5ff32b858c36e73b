{{ config(meta={'dagster': {'ref': {'name': 'fct_feedback_daily'}}}) }}

{%- set nps_window_days = (var('nps_window_days', none) or 90) | int %}
{%- set feedback_window_days = (var('feedback_window_days', none) or 30) | int %}

-- The mart counts its windows with running sums over a dense day series; this recounts the
-- total of each day another way, by comparing dates, at the configured window lengths
-- (90 and 30 days by default). A gap in the day series or a window one day off would show.
-- The days recounted: every day, or in the daily job's builds after the first the last 7 and
-- the first of each quarter (macro recounted_sample): recounting every day costs days ×
-- responses, each day.
{{ config(tags=['recount']) }}

with

feedback_daily as (

    select * from {{ ref('fct_feedback_daily') }}

),

survey_responses as (

    select * from {{ ref('fct_survey_responses') }}

),

reviews as (

    select * from {{ ref('stg_crm__reviews') }}

),

engagements as (

    select * from {{ source('python', 'int_engagements_scored') }}

),

last_day as (

    select max(feedback_date) as feedback_date
    from feedback_daily

),

totals as (

    select feedback_daily.*
    from feedback_daily
    cross join last_day
    where
        feedback_daily.dimension = 'total'
        and {{ recounted_sample('feedback_daily.feedback_date', 'last_day.feedback_date') }}

),

nps_recount as (

    select
        totals.feedback_date,
        count(survey_responses.nps_category) as nps_responses,
        count(case when survey_responses.nps_category = 'promoter' then 1 end) as promoters,
        count(case when survey_responses.nps_category = 'detractor' then 1 end) as detractors
    from totals
    left join survey_responses
        on
            survey_responses.survey_type = 'nps'
            and survey_responses.feedback_date
            between {{ add_days('totals.feedback_date', -(nps_window_days - 1)) }}
            and totals.feedback_date
    group by totals.feedback_date

),

support_recount as (

    select
        totals.feedback_date,
        count(survey_responses.is_satisfied) as csat_ratings,
        count(case when survey_responses.is_satisfied then 1 end) as csat_satisfied,
        count(case when survey_responses.survey_type = 'ces' then survey_responses.score end)
            as ces_responses
    from totals
    left join survey_responses
        on
            survey_responses.survey_type in ('csat', 'ces')
            and survey_responses.feedback_date
            between {{ add_days('totals.feedback_date', -(feedback_window_days - 1)) }}
            and totals.feedback_date
    group by totals.feedback_date

),

review_recount as (

    select
        totals.feedback_date,
        count(reviews.review_id) as reviews
    from totals
    left join reviews
        on
            not reviews.is_deleted
            and cast(reviews.published_at as date)
            between {{ add_days('totals.feedback_date', -(feedback_window_days - 1)) }}
            and totals.feedback_date
    group by totals.feedback_date

),

conversation_recount as (

    select
        totals.feedback_date,
        count(engagements.engagement_id) as conversations,
        count(case when engagements.tone = 'positive' then 1 end) as positive_conversations
    from totals
    left join engagements
        on
            engagements.occurred_date
            between {{ add_days('totals.feedback_date', -(feedback_window_days - 1)) }}
            and totals.feedback_date
    group by totals.feedback_date

),

final as (

    select
        totals.feedback_date,
        totals.nps_responses_90d,
        nps_recount.nps_responses,
        totals.csat_ratings_30d,
        support_recount.csat_ratings,
        totals.review_count_30d,
        review_recount.reviews,
        totals.conversation_count_30d,
        conversation_recount.conversations
    from totals
    inner join nps_recount
        on totals.feedback_date = nps_recount.feedback_date
    inner join support_recount
        on totals.feedback_date = support_recount.feedback_date
    inner join review_recount
        on totals.feedback_date = review_recount.feedback_date
    inner join conversation_recount
        on totals.feedback_date = conversation_recount.feedback_date
    where
        totals.nps_responses_90d != nps_recount.nps_responses
        or totals.nps_promoters_90d != nps_recount.promoters
        or totals.nps_detractors_90d != nps_recount.detractors
        or totals.csat_ratings_30d != support_recount.csat_ratings
        or totals.csat_satisfied_ratings_30d != support_recount.csat_satisfied
        or totals.ces_responses_30d != support_recount.ces_responses
        or totals.review_count_30d != review_recount.reviews
        or totals.conversation_count_30d != conversation_recount.conversations
        or totals.positive_conversation_count_30d != conversation_recount.positive_conversations

)

select * from final
