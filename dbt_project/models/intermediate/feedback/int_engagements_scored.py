"""One row per logged conversation (not deleted) with its tone.

A Python model because the tone of a conversation without a logged outcome comes from a
sentiment lexicon (orchestration.lib.sentiment), which SQL cannot run. The text is read here
and never copied: only its tone and score leave this model.
"""

import pyarrow as pa

from orchestration.lib.sentiment import SUPPORTED_LANGUAGES, conversation_tone, tone

COLUMNS = [
    # ids
    ("engagement_id", pa.string()),
    ("company_id", pa.string()),
    ("contact_id", pa.string()),
    # dimensions
    ("engagement_type", pa.string()),
    ("language", pa.string()),
    ("outcome", pa.string()),
    ("tone", pa.string()),
    ("tone_source", pa.string()),
    # measures
    ("tone_score", pa.float64()),
    # the lexicon's reading of every text, even where an outcome decides, to measure how
    # often the two agree
    ("lexicon_tone", pa.string()),
    ("lexicon_score", pa.float64()),
    # timestamps
    ("occurred_at", pa.timestamp("us")),
    ("occurred_date", pa.date32()),
]


def model(dbt, session):
    dbt.config(materialized="table")

    engagements = (
        dbt.ref("stg_crm__engagements")
        # a conversation deleted in the CRM was logged by mistake or on the wrong record
        .filter("not is_deleted")
        .project(
            "engagement_id, company_id, contact_id, engagement_type, language, outcome,"
            " body_preview, occurred_at"
        )
        .order("engagement_id")
    )

    rows = {name: [] for name, _ in COLUMNS}
    for (
        engagement_id,
        company_id,
        contact_id,
        engagement_type,
        language,
        outcome,
        body,
        occurred_at,
    ) in engagements.fetchall():
        found, source, value = conversation_tone(outcome, body, language)
        lexicon_tone, lexicon_score = (
            tone(body, language)
            if body and body.strip() and language in SUPPORTED_LANGUAGES
            else (None, None)
        )
        for name, value_of_row in (
            ("engagement_id", engagement_id),
            ("company_id", company_id),
            ("contact_id", contact_id),
            ("engagement_type", engagement_type),
            ("language", language),
            ("outcome", outcome),
            ("tone", found),
            ("tone_source", source),
            ("tone_score", value),
            ("lexicon_tone", lexicon_tone),
            ("lexicon_score", lexicon_score),
            ("occurred_at", occurred_at),
            ("occurred_date", occurred_at.date() if occurred_at is not None else None),
        ):
            rows[name].append(value_of_row)

    return pa.table(rows, schema=pa.schema(COLUMNS))
