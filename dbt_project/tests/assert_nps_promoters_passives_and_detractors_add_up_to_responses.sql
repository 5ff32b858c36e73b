-- Every NPS response of a window is a promoter, a passive or a detractor, never two: the
-- three counts add up to the responses, and NPS is the promoter share minus the detractor
-- share (up to floating-point rounding).
with

feedback_daily as (

    select * from {{ ref('fct_feedback_daily') }}

),

final as (

    select
        feedback_date,
        dimension,
        dimension_value,
        nps_responses_90d,
        nps_promoters_90d,
        nps_passives_90d,
        nps_detractors_90d,
        nps_90d,
        nps_promoter_share_90d,
        nps_detractor_share_90d
    from feedback_daily
    where
        nps_promoters_90d + nps_passives_90d + nps_detractors_90d != nps_responses_90d
        or abs(nps_90d - (nps_promoter_share_90d - nps_detractor_share_90d)) > 1e-9
        or (nps_responses_90d = 0) != (nps_90d is null)

)

select * from final
