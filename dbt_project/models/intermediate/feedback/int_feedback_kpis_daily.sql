{#
    The feedback marts reshaped into the long KPI series of the radar, one row per KPI: the
    KPI mart and the alerts read this instead of repeating the definitions, so a KPI and its
    mart can never disagree. NPS is also given as its two shares: NPS itself can sit near 0
    or below, where a relative minimum effect means nothing, while the shares stay positive.
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
        cast(nps_90d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'nps_promoter_share' as kpi_name,
        dimension,
        dimension_value,
        cast(nps_promoter_share_90d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'nps_detractor_share' as kpi_name,
        dimension,
        dimension_value,
        cast(nps_detractor_share_90d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'csat' as kpi_name,
        dimension,
        dimension_value,
        cast(csat_30d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'ces' as kpi_name,
        dimension,
        dimension_value,
        cast(ces_30d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'review_count_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(review_count_30d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'review_rating_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(review_rating_30d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'positive_review_share_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(positive_review_share_30d as {{ type_double() }}) as value
    from feedback_daily

    union all

    select
        feedback_date as kpi_date,
        'positive_conversation_share_30d' as kpi_name,
        dimension,
        dimension_value,
        cast(positive_conversation_share_30d as {{ type_double() }}) as value
    from feedback_daily

)

select * from final
