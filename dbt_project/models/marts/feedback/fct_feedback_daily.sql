{#
    A table rebuilt in full: tens of thousands of feedback rows over a few thousand days ×
    members, built in well under a second, and a survey answered late or a review deleted
    changes days in the past that an incremental build would have to find.

    Window lengths are dbt vars; `or` gives the defaults so that a var left undefined in
    dbt_project.yml still has them.
#}

{%- set nps_window_days = (var('nps_window_days', none) or 90) | int %}
{%- set feedback_window_days = (var('feedback_window_days', none) or 30) | int %}
{%- set as_of = as_of() %}

with

survey_responses as (

    select * from {{ ref('fct_survey_responses') }}

),

reviews as (

    select * from {{ ref('stg_crm__reviews') }}

),

engagements as (

    select * from {{ source('python', 'int_engagements_scored') }}

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

company_customers as (

    -- the ERP customer behind a CRM company, with its current segment and region
    select
        companies.company_id,
        customers.customer_id,
        coalesce(customers.segment, 'unknown') as segment,
        coalesce(customers.region, 'unknown') as region
    from companies
    inner join customers
        on companies.erp_customer_id = customers.customer_id

),

review_items as (

    -- a review whose author is no known company counts in the total only
    select
        cast(reviews.published_at as date) as feedback_date,
        company_customers.segment,
        company_customers.region,
        reviews.rating
    from reviews
    left join company_customers
        on reviews.company_id = company_customers.company_id
    -- a review deleted in the CRM was taken down from its platform
    where not reviews.is_deleted

),

conversation_items as (

    select
        engagements.occurred_date as feedback_date,
        coalesce(company_customers.segment, contacts.segment) as segment,
        coalesce(company_customers.region, contacts.region) as region,
        engagements.tone
    from engagements
    left join company_customers
        on engagements.company_id = company_customers.company_id
    left join contacts
        on engagements.contact_id = contacts.contact_id

),

feedback_items as (

    -- one row per response, review or conversation on the day it counts, with 0/1 flags so
    -- that every measure below is a sum
    select
        feedback_date,
        segment,
        region,
        case when survey_type = 'nps' and nps_category is not null then 1 else 0 end
            as nps_response,
        case when nps_category = 'promoter' then 1 else 0 end as nps_promoter,
        case when nps_category = 'passive' then 1 else 0 end as nps_passive,
        case when nps_category = 'detractor' then 1 else 0 end as nps_detractor,
        case when is_satisfied is not null then 1 else 0 end as csat_rating,
        case when is_satisfied then 1 else 0 end as csat_satisfied,
        case when survey_type = 'ces' and score is not null then 1 else 0 end as ces_response,
        case when survey_type = 'ces' then score else 0 end as ces_score,
        0 as review,
        0 as review_rated,
        0 as review_rating,
        0 as review_positive,
        0 as conversation,
        0 as conversation_toned,
        0 as conversation_positive
    from survey_responses

    union all

    select
        feedback_date,
        segment,
        region,
        0 as nps_response,
        0 as nps_promoter,
        0 as nps_passive,
        0 as nps_detractor,
        0 as csat_rating,
        0 as csat_satisfied,
        0 as ces_response,
        0 as ces_score,
        1 as review,
        case when rating is not null then 1 else 0 end as review_rated,
        coalesce(rating, 0) as review_rating,
        case when rating >= 4 then 1 else 0 end as review_positive,
        0 as conversation,
        0 as conversation_toned,
        0 as conversation_positive
    from review_items

    union all

    select
        feedback_date,
        segment,
        region,
        0 as nps_response,
        0 as nps_promoter,
        0 as nps_passive,
        0 as nps_detractor,
        0 as csat_rating,
        0 as csat_satisfied,
        0 as ces_response,
        0 as ces_score,
        0 as review,
        0 as review_rated,
        0 as review_rating,
        0 as review_positive,
        1 as conversation,
        case when tone is not null then 1 else 0 end as conversation_toned,
        case when tone = 'positive' then 1 else 0 end as conversation_positive
    from conversation_items

),

calendar as (

    -- the daily series runs from the first feedback of any kind to the last one, or to
    -- `as_of`
    select
        min(feedback_date) as first_day,
        {{ "cast('" ~ as_of ~ "' as date)" if as_of else 'max(feedback_date)' }} as last_day
    from feedback_items
    {%- if as_of %}
    where feedback_date <= cast('{{ as_of }}' as date)
    {%- endif %}

),

counted_items as (

    select feedback_items.*
    from feedback_items
    cross join calendar
    where feedback_items.feedback_date between calendar.first_day and calendar.last_day

),

dimension_members as (

    select distinct
        'total' as dimension,
        'all' as dimension_value
    from counted_items

    union all

    select distinct
        'segment' as dimension,
        segment as dimension_value
    from counted_items
    where segment is not null

    union all

    select distinct
        'region' as dimension,
        region as dimension_value
    from counted_items
    where region is not null

),

member_items as (

    {{ member_rows('counted_items') }}

),

daily_items as (

    select
        dimension,
        dimension_value,
        feedback_date,
        sum(nps_response) as nps_responses,
        sum(nps_promoter) as nps_promoters,
        sum(nps_passive) as nps_passives,
        sum(nps_detractor) as nps_detractors,
        sum(csat_rating) as csat_ratings,
        sum(csat_satisfied) as csat_satisfied_ratings,
        sum(ces_response) as ces_responses,
        sum(ces_score) as ces_score_sum,
        sum(review) as reviews,
        sum(review_rated) as rated_reviews,
        sum(review_rating) as review_rating_sum,
        sum(review_positive) as positive_reviews,
        sum(conversation) as conversations,
        sum(conversation_toned) as toned_conversations,
        sum(conversation_positive) as positive_conversations
    from member_items
    group by dimension, dimension_value, feedback_date

),

days as (

    {{ day_series(
        '(select first_day from calendar)', '(select last_day from calendar)', 'feedback_date'
    ) }}

),

member_days as (

    -- every day for every member, with or without feedback, so that the windows below can
    -- count rows instead of comparing dates
    select
        days.feedback_date,
        dimension_members.dimension,
        dimension_members.dimension_value
    from days
    cross join dimension_members

),

daily as (

    select
        -- keys
        member_days.feedback_date,
        member_days.dimension,
        member_days.dimension_value,

        -- measures of the day
        coalesce(daily_items.nps_responses, 0) as nps_responses,
        coalesce(daily_items.nps_promoters, 0) as nps_promoters,
        coalesce(daily_items.nps_passives, 0) as nps_passives,
        coalesce(daily_items.nps_detractors, 0) as nps_detractors,
        coalesce(daily_items.csat_ratings, 0) as csat_ratings,
        coalesce(daily_items.csat_satisfied_ratings, 0) as csat_satisfied_ratings,
        coalesce(daily_items.ces_responses, 0) as ces_responses,
        coalesce(daily_items.ces_score_sum, 0) as ces_score_sum,
        coalesce(daily_items.reviews, 0) as reviews,
        coalesce(daily_items.rated_reviews, 0) as rated_reviews,
        coalesce(daily_items.review_rating_sum, 0) as review_rating_sum,
        coalesce(daily_items.positive_reviews, 0) as positive_reviews,
        coalesce(daily_items.conversations, 0) as conversations,
        coalesce(daily_items.toned_conversations, 0) as toned_conversations,
        coalesce(daily_items.positive_conversations, 0) as positive_conversations

    from member_days
    left join daily_items
        on
            member_days.dimension = daily_items.dimension
            and member_days.dimension_value = daily_items.dimension_value
            and member_days.feedback_date = daily_items.feedback_date

),

windowed as (

    select
        -- keys
        feedback_date,
        dimension,
        dimension_value,

        -- NPS: the window of `nps_window_days` days ending on the day
        sum(nps_responses) over nps_window as nps_responses,
        sum(nps_promoters) over nps_window as nps_promoters,
        sum(nps_passives) over nps_window as nps_passives,
        sum(nps_detractors) over nps_window as nps_detractors,

        -- the others: the window of `feedback_window_days` days ending on the day
        sum(csat_ratings) over feedback_window as csat_ratings,
        sum(csat_satisfied_ratings) over feedback_window as csat_satisfied_ratings,
        sum(ces_responses) over feedback_window as ces_responses,
        sum(ces_score_sum) over feedback_window as ces_score_sum,
        sum(reviews) over feedback_window as reviews,
        sum(rated_reviews) over feedback_window as rated_reviews,
        sum(review_rating_sum) over feedback_window as review_rating_sum,
        sum(positive_reviews) over feedback_window as positive_reviews,
        sum(conversations) over feedback_window as conversations,
        sum(toned_conversations) over feedback_window as toned_conversations,
        sum(positive_conversations) over feedback_window as positive_conversations

    from daily
    window
        nps_window as (
            partition by dimension, dimension_value
            order by feedback_date
            rows between {{ nps_window_days - 1 }} preceding and current row
        ),
        feedback_window as (
            partition by dimension, dimension_value
            order by feedback_date
            rows between {{ feedback_window_days - 1 }} preceding and current row
        )

),

final as (

    select
        -- keys
        feedback_date,
        dimension,
        dimension_value,

        -- NPS, trailing `nps_window_days` days
        cast(nps_responses as {{ dbt.type_bigint() }}) as nps_responses_90d,
        cast(nps_promoters as {{ dbt.type_bigint() }}) as nps_promoters_90d,
        cast(nps_passives as {{ dbt.type_bigint() }}) as nps_passives_90d,
        cast(nps_detractors as {{ dbt.type_bigint() }}) as nps_detractors_90d,
        100 * cast(nps_promoters as {{ type_double() }})
        / nullif(nps_responses, 0) as nps_promoter_share_90d,
        100 * cast(nps_detractors as {{ type_double() }})
        / nullif(nps_responses, 0) as nps_detractor_share_90d,
        100 * cast(nps_promoters - nps_detractors as {{ type_double() }})
        / nullif(nps_responses, 0) as nps_90d,

        -- CSAT after support, tickets closed in the trailing `feedback_window_days` days
        cast(csat_ratings as {{ dbt.type_bigint() }}) as csat_ratings_30d,
        cast(csat_satisfied_ratings as {{ dbt.type_bigint() }}) as csat_satisfied_ratings_30d,
        100 * cast(csat_satisfied_ratings as {{ type_double() }})
        / nullif(csat_ratings, 0) as csat_30d,

        -- CES, tickets closed in the trailing `feedback_window_days` days
        cast(ces_responses as {{ dbt.type_bigint() }}) as ces_responses_30d,
        cast(ces_score_sum as {{ type_double() }}) / nullif(ces_responses, 0) as ces_30d,

        -- reviews published in the trailing `feedback_window_days` days
        cast(reviews as {{ dbt.type_bigint() }}) as review_count_30d,
        cast(rated_reviews as {{ dbt.type_bigint() }}) as rated_review_count_30d,
        cast(review_rating_sum as {{ type_double() }})
        / nullif(rated_reviews, 0) as review_rating_30d,
        cast(positive_reviews as {{ dbt.type_bigint() }}) as positive_review_count_30d,
        100 * cast(positive_reviews as {{ type_double() }})
        / nullif(rated_reviews, 0) as positive_review_share_30d,

        -- conversations held in the trailing `feedback_window_days` days
        cast(conversations as {{ dbt.type_bigint() }}) as conversation_count_30d,
        cast(toned_conversations as {{ dbt.type_bigint() }}) as toned_conversation_count_30d,
        cast(positive_conversations as {{ dbt.type_bigint() }})
            as positive_conversation_count_30d,
        100 * cast(positive_conversations as {{ type_double() }})
        / nullif(toned_conversations, 0) as positive_conversation_share_30d

    from windowed

)

select * from final
