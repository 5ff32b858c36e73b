{#
    The feedback marts reshaped into the long KPI series of the radar, one row per KPI: the
    KPI mart and the alerts read this instead of repeating the definitions, so a KPI and its
    mart can never disagree. NPS is also given as its two shares, which tell a fall of
    promoters from a rise of detractors.
    Each value comes with its sample size: the responses, ratings, rated reviews or
    conversations it is a share or mean of (null for a count).
#}

with

feedback_daily as (

    select * from {{ ref('fct_feedback_daily') }}

),

final as (

    select
        feedback_date as kpi_date,
        'nps' as kpi_name,
        dimension,
        dimension_value,
        cast(nps_90d as {{ type_double() }}) as value,
        nps_responses_90d as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'nps_promoter_share' as kpi_name,
        dimension,
        dimension_value,
        cast(nps_promoter_share_90d as {{ type_double() }}) as value,
        nps_responses_90d as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'nps_detractor_share' as kpi_name,
        dimension,
        dimension_value,
        cast(nps_detractor_share_90d as {{ type_double() }}) as value,
        nps_responses_90d as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'csat' as kpi_name,
        dimension,
        dimension_value,
        cast(csat_30d as {{ type_double() }}) as value,
        csat_ratings_30d as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'ces' as kpi_name,
        dimension,
        dimension_value,
        cast(ces_30d as {{ type_double() }}) as value,
        ces_responses_30d as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'review_count_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(review_count_30d as {{ type_double() }}) as value,
        cast(null as {{ dbt.type_bigint() }}) as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'review_rating_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(review_rating_30d as {{ type_double() }}) as value,
        rated_review_count_30d as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'positive_review_share_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(positive_review_share_30d as {{ type_double() }}) as value,
        rated_review_count_30d as sample_size
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'positive_conversation_share_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(positive_conversation_share_30d as {{ type_double() }}) as value,
        toned_conversation_count_30d as sample_size
    from feedback_daily

)

select * from final
