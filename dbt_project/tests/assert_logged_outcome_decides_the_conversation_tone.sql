{{ config(meta={'dagster': {'source': 'python.int_engagements_scored'}}) }}

-- Every conversation not deleted in the CRM is scored once, and the outcome a salesperson
-- logged always wins over the lexicon: where there is one, the tone is that outcome; where
-- there is none, the tone is the lexicon's reading of the text.
with

engagements as (

    select * from {{ ref('stg_crm__engagements') }}

),

scored as (

    select * from {{ source('python', 'int_engagements_scored') }}

),

final as (

    select
        coalesce(engagements.engagement_id, scored.engagement_id) as engagement_id,
        engagements.is_deleted,
        engagements.outcome,
        scored.tone,
        scored.tone_source,
        scored.lexicon_tone
    from engagements
    full outer join scored
        on engagements.engagement_id = scored.engagement_id
    where
        -- deleted conversations are left out, all others are in
        (engagements.is_deleted and scored.engagement_id is not null)
        or (not engagements.is_deleted and scored.engagement_id is null)
        or engagements.engagement_id is null
        -- a logged outcome decides
        or (
            engagements.outcome is not null
            and (scored.tone != engagements.outcome or scored.tone_source != 'outcome')
        )
        -- without one, the lexicon does
        or (
            engagements.outcome is null
            and scored.tone is not null
            and (scored.tone_source != 'lexicon' or scored.tone != scored.lexicon_tone)
        )

)

select * from final
