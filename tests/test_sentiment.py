"""Conversation tone from the logged outcome or the English and French lexicons."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from orchestration.lib import sentiment
from orchestration.lib.sentiment import (
    NEGATIVE_UP_TO,
    POSITIVE_FROM,
    SCORED_ENGAGEMENTS,
    conversation_tone,
    distinct_keys,
    score,
    score_engagements,
    tone,
    tone_of_score,
    without_names,
)

ENGLISH = [
    ("The customer loves the new range and is delighted with our service.", "positive"),
    ("Great call, they were very happy and want to order more.", "positive"),
    ("The client is angry: the order arrived broken and late.", "negative"),
    ("Terrible experience, they will cancel the contract.", "negative"),
    ("Sent the invoice and scheduled the next call for Tuesday.", "neutral"),
]
FRENCH = [
    ("Merci pour cet excellent travail, le client est très satisfait.", "positive"),
    ("Le client est très content de la qualité, une superbe collaboration.", "positive"),
    ("Le client est furieux : la commande est arrivée cassée.", "negative"),
    ("Très déçu par le service, une expérience horrible.", "negative"),
    ("Envoi de la facture et appel prévu mardi.", "neutral"),
]


@pytest.mark.parametrize(("text", "expected"), ENGLISH)
def test_english_notes_get_the_tone_a_reader_would_give_them(text, expected):
    assert tone(text, "en")[0] == expected


@pytest.mark.parametrize(("text", "expected"), FRENCH)
def test_french_notes_get_the_tone_a_reader_would_give_them(text, expected):
    assert tone(text, "fr")[0] == expected


@pytest.mark.parametrize(
    ("text", "language"), [(t, "en") for t, _ in ENGLISH] + [(t, "fr") for t, _ in FRENCH]
)
def test_scores_lie_between_minus_one_and_one(text, language):
    assert -1.0 <= score(text, language) <= 1.0


def test_a_name_that_is_also_a_lexicon_word_does_not_set_the_tone():
    # VADER's lexicon reads "mia" as "missing in action" (valence -1.2).
    assert tone("Call with Mia to confirm the delivery schedule for next month.", "en") == (
        "neutral",
        0.0,
    )


def test_only_capitalised_words_inside_a_sentence_are_taken_for_names():
    assert without_names("Call with Mia to confirm. Great news from Jean-Pierre!") == (
        "Call with to confirm. Great news from"
    )
    assert without_names("I spoke to the CEO: NOT happy.") == "I spoke to the CEO: NOT happy."


def test_the_thresholds_split_scores_into_three_tones_with_both_edges_polar():
    assert tone_of_score(POSITIVE_FROM) == "positive"
    assert tone_of_score(POSITIVE_FROM - 1e-9) == "neutral"
    assert tone_of_score(0.0) == "neutral"
    assert tone_of_score(NEGATIVE_UP_TO + 1e-9) == "neutral"
    assert tone_of_score(NEGATIVE_UP_TO) == "negative"


def test_a_logged_outcome_wins_over_the_lexicon():
    enthusiastic = "Great call, they were very happy and want to order more."
    assert conversation_tone("negative", enthusiastic, "en") == ("negative", "outcome", -1.0)
    assert conversation_tone(" Neutral ", enthusiastic, "en") == ("neutral", "outcome", 0.0)


def test_without_an_outcome_the_lexicon_decides():
    found, source, value = conversation_tone(None, "Très déçu par le service.", "fr")
    assert (found, source) == ("negative", "lexicon")
    assert value <= NEGATIVE_UP_TO
    assert conversation_tone("", "Great call, very happy.", "en")[:2] == ("positive", "lexicon")


def test_a_conversation_with_no_outcome_and_no_scorable_text_has_no_tone():
    assert conversation_tone(None, None, "en") == (None, None, None)
    assert conversation_tone(None, "   ", "fr") == (None, None, None)
    assert conversation_tone(None, "Sehr zufrieden mit der Lieferung.", "de") == (None, None, None)


def test_each_conversation_becomes_one_row_with_its_tone_and_the_lexicons_reading_not_its_text():
    enthusiastic = "Great call, they were very happy and want to order more."
    logged = {
        "engagement_id": "e1",
        "company_id": "c1",
        "contact_id": None,
        "engagement_type": "call",
        "language": "en",
        "outcome": "negative",
        "body_preview": enthusiastic,
        "occurred_at": datetime(2026, 6, 30, 23, 59),
    }
    unscorable = {**logged, "engagement_id": "e2", "language": "de", "outcome": None}

    table = score_engagements(pa.Table.from_pylist([logged, unscorable]))

    assert table.schema == SCORED_ENGAGEMENTS and "body_preview" not in table.column_names
    first, second = table.to_pylist()
    assert (first["tone"], first["tone_source"], first["tone_score"]) == ("negative", "outcome", -1)
    assert (first["lexicon_tone"], first["lexicon_score"]) == tone(enthusiastic, "en")
    assert first["occurred_date"] == date(2026, 6, 30)
    assert [second[c] for c in ("tone", "tone_source", "tone_score", "lexicon_tone")] == [None] * 4
    assert score_engagements(pa.Table.from_pylist([logged]).slice(0, 0)).num_rows == 0


def test_a_conversation_repeated_is_read_once_and_each_row_keeps_its_own_tone(monkeypatch):
    happy, cross = ENGLISH[0][0], "The client is furious about the late delivery."
    conversations = [
        # (outcome, text): three readings among five rows, in an order that mixes them
        (None, happy),
        ("negative", happy),
        (None, happy),
        ("negative", happy),
        (None, cross),
    ]
    engagements = pa.Table.from_pylist(
        [
            {
                "engagement_id": f"e{number}",
                "company_id": "c1",
                "contact_id": None,
                "engagement_type": "email",
                "language": "en",
                "outcome": outcome,
                "body_preview": text,
                "occurred_at": datetime(2026, 6, number + 1, 9),
            }
            for number, (outcome, text) in enumerate(conversations)
        ]
    )
    read, original = [], sentiment.reading
    monkeypatch.setattr(sentiment, "reading", lambda *key: read.append(key) or original(*key))

    rows = score_engagements(engagements).to_pylist()

    assert len(read) == 3
    assert [row["engagement_id"] for row in rows] == ["e0", "e1", "e2", "e3", "e4"]
    assert [row["tone"] for row in rows] == [
        "positive",
        "negative",
        "positive",
        "negative",
        "negative",
    ]
    assert [row["occurred_date"] for row in rows] == [date(2026, 6, day) for day in range(1, 6)]


def test_distinct_keys_tell_nulls_apart_and_number_the_keys_in_the_order_they_first_occur():
    table = pa.Table.from_pydict(
        {
            "outcome": [None, "negative", None, "negative", None, None],
            "text": ["a", "a", "a", None, None, "b"],
            "language": ["en", "en", "en", "en", "en", None],
        }
    )
    keys, positions = distinct_keys(table, ("outcome", "text", "language"))
    assert keys == [
        (None, "a", "en"),
        ("negative", "a", "en"),
        ("negative", None, "en"),
        (None, None, "en"),
        (None, "b", None),
    ]
    assert positions.to_pylist() == [0, 1, 0, 2, 3, 4]


def test_a_language_without_lexicon_is_refused_rather_than_scored_as_english():
    with pytest.raises(ValueError, match="no lexicon"):
        tone("Sehr zufrieden mit der Lieferung.", "de")


def test_an_outcome_outside_positive_neutral_negative_is_refused():
    with pytest.raises(ValueError, match="unknown outcome"):
        conversation_tone("won", "Great call.", "en")


def test_scoring_needs_no_network_and_no_downloaded_data(tmp_path: Path):
    # A fresh interpreter where any connection fails and NLTK finds no data: both lexicons
    # must come from the installed wheels.
    (tmp_path / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import socket

            def refuse(*args, **kwargs):
                raise OSError("network disabled for this test")

            socket.socket.connect = refuse
            socket.create_connection = refuse
            """
        )
    )
    script = (
        "from orchestration.lib.sentiment import tone\n"
        "print(tone('Great call, very happy.', 'en')[0], tone('Très déçu.', 'fr')[0])\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "NLTK_DATA": str(tmp_path / "no_nltk_data"),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["positive", "negative"]


def test_a_text_without_a_language_is_read_in_the_language_it_looks_like():
    from orchestration.lib.sentiment import conversation_tone

    assert conversation_tone(None, "Happy with the delivery, thanks", None)[:2] == (
        "positive",
        "lexicon",
    )
    assert conversation_tone(None, "Très satisfait du service", "")[:2] == ("positive", "lexicon")
    assert conversation_tone(None, "Le client est mécontent du retard", None)[0] == "negative"
    # a language the lexicons do not know, or a text of neither's common words: no tone
    assert conversation_tone(None, "Sehr zufrieden mit the service", "de") == (None, None, None)
    assert conversation_tone(None, "Call back next week", None) == (None, None, None)
