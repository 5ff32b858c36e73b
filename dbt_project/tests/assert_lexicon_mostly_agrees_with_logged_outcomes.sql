{{ config(severity='warn') }}

-- Conversations with a logged outcome are labelled data for the lexicons: in each language
-- with enough of them, the lexicon's tone must match the logged outcome at least 85 % of the
-- time (the demo: 99.6 % in English, 88.6 % in French). A warning, not an error: a team that
-- writes its notes differently needs other thresholds or another lexicon, not a stopped
-- pipeline.
with

scored as (

    select * from {{ source('python', 'int_engagements_scored') }}

),

agreement as (

    select
        language,
        count(*) as labelled_conversations,
        avg(case when lexicon_tone = outcome then 1.0 else 0.0 end) as agreement
    from scored
    where outcome is not null and lexicon_tone is not null
    group by language

),

final as (

    select *
    from agreement
    where labelled_conversations >= 50 and agreement < 0.85

)

select * from final
