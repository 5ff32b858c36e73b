"""Tone of a logged conversation, in English or French, from sentiment lexicons.

The tone is the outcome the salesperson logged when there is one: a person who was in the
conversation knows better than any lexicon. Otherwise the text is scored with a lexicon that
ships inside its wheel, so scoring needs no download, no model and no network:

* English: VADER (Hutto & Gilbert 2014, package ``vaderSentiment``); the score is its
  ``compound`` valence in -1 … 1.
* French: the pattern lexicon of ``textblob-fr`` (``fr-sentiment.xml``); the score is its
  polarity in -1 … 1, the mean of the polarities of the known words.

Thresholds: a score of at least ``POSITIVE_FROM`` is positive, at most ``NEGATIVE_UP_TO``
negative, anything between neutral. ±0.05 is the cut-off VADER's authors publish for the
compound score; the pattern polarity is on the same -1 … 1 scale and gets the same band, so
one word of mild valence among many neutral ones still counts.

A text without a language (most accounts lack the ``conversation_language`` property) is read
in the language whose common words it holds more of (``guess_language``); one with a language
the lexicons do not know, or none of those words, gets no tone.

Capitalised words inside a sentence are left out before scoring: in CRM notes they are
almost always people's or companies' names, which carry no tone but can collide with lexicon
entries (VADER reads "Mia" as the slang for "missing in action", valence -1.2).
"""

from __future__ import annotations

import re
import warnings
from functools import cache, lru_cache
from typing import Literal, cast

import pyarrow as pa
import pyarrow.compute as pc

Tone = Literal["positive", "neutral", "negative"]
ToneSource = Literal["outcome", "lexicon"]

SUPPORTED_LANGUAGES = ("en", "fr")
POSITIVE_FROM = 0.05
NEGATIVE_UP_TO = -0.05
#: The score given to a logged outcome, so that tone_score is on the lexicons' -1 … 1 scale.
OUTCOME_SCORES: dict[str, float] = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}

# The table of scored conversations (intermediate/int_engagements_scored).
SCORED_ENGAGEMENTS = pa.schema(
    [
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
)

# Words common in any text of each language and rare in the other's, for guess_language.
# fmt: off
COMMON_WORDS = {
    "en": frozenset((
        "the", "and", "is", "are", "was", "with", "for", "not", "very", "this", "that", "you",
        "we", "i", "it", "to", "of", "in", "on", "our", "your", "thanks", "thank", "happy",
        "but", "have", "has", "will", "would",
    )),
    "fr": frozenset((
        "le", "la", "les", "de", "des", "du", "et", "est", "sont", "était", "avec", "pour",
        "pas", "très", "ce", "cette", "vous", "nous", "je", "il", "un", "une", "au", "aux",
        "notre", "votre", "merci", "mais", "avons", "sera",
    )),
}
# fmt: on

# The columns a conversation's tone is read from, and those the reading fills.
READ_FROM = ("outcome", "body_preview", "language")
READ_INTO = ("tone", "tone_source", "tone_score", "lexicon_tone", "lexicon_score")

_WORD = re.compile(r"\S+")
_SENTENCE_END = (".", "!", "?", "…")
_PUNCTUATION = ".,;:!?…()[]{}\"'«»“”‘’"


@cache
def _english_analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@cache
def _french_analyzer():
    # Imported on first use only: textblob-fr imports NLTK (a few seconds) and parses its
    # lexicon on the first call. It has regular expressions in plain strings, which today's
    # Python flags while compiling it; harmless, and its authors' to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        from textblob_fr.fr import sentiment

    return sentiment


def _is_name(word: str) -> bool:
    """A word written like a name: each hyphenated part capitalised, the rest lower case."""
    core = word.strip(_PUNCTUATION)
    parts = core.split("-")
    return bool(core) and all(
        len(part) > 1 and part[0].isupper() and part[1:].islower() for part in parts
    )


def without_names(text: str) -> str:
    """The text less its capitalised words, except the first word of each sentence.

    >>> without_names("Call with Mia to confirm. Mia agreed")
    'Call with to confirm. Mia agreed'
    """
    kept: list[str] = []
    sentence_start = True
    for match in _WORD.finditer(text):
        word = match.group(0)
        if sentence_start or not _is_name(word):
            kept.append(word)
        sentence_start = word.rstrip("\"')»”’").endswith(_SENTENCE_END)
    return " ".join(kept)


# CRM notes repeat (templates, copied e-mails): a text already scored is not scored again.
@lru_cache(maxsize=65_536)
def score(text: str, language: str) -> float:
    """Lexicon valence of ``text`` in ``language`` ('en' or 'fr'), from -1 to 1."""
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(f"no lexicon for language {language!r}; supported: {SUPPORTED_LANGUAGES}")
    text = without_names(text)
    if not text.strip():
        return 0.0
    if language == "en":
        return float(_english_analyzer().polarity_scores(text)["compound"])
    return float(_french_analyzer()(text)[0])


def guess_language(text: str | None) -> str | None:
    """The supported language whose common words ``text`` holds more of; None on a tie.

    >>> guess_language("Happy with the delivery, thanks")
    'en'
    >>> guess_language("Très satisfait du service")
    'fr'
    >>> guess_language("OK") is None
    True
    """
    words = [word.strip(_PUNCTUATION).lower() for word in _WORD.findall(text or "")]
    counts = {lang: sum(word in common for word in words) for lang, common in COMMON_WORDS.items()}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] > min(counts.values()) else None


def _language(text: str | None, language: str | None) -> str | None:
    """The language ``text`` is read in: its own when given, else the one it looks like."""
    given = (language or "").strip().lower()
    return given if given else guess_language(text)


def tone_of_score(value: float) -> Tone:
    if value >= POSITIVE_FROM:
        return "positive"
    if value <= NEGATIVE_UP_TO:
        return "negative"
    return "neutral"


def tone(text: str, language: str) -> tuple[Tone, float]:
    """(tone, score) of ``text`` by the lexicon of ``language`` ('en' or 'fr')."""
    value = score(text, language)
    return tone_of_score(value), value


def conversation_tone(
    outcome: str | None, text: str | None, language: str | None
) -> tuple[Tone | None, ToneSource | None, float | None]:
    """(tone, source, score) of a logged conversation: the outcome first, else the lexicon.

    A conversation with neither an outcome nor a text in a supported language (its own, or
    without one the language it looks like) has no tone: (None, None, None).
    """
    if outcome is not None and outcome.strip():
        logged = outcome.strip().lower()
        if logged not in OUTCOME_SCORES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {list(OUTCOME_SCORES)}")
        return cast(Tone, logged), "outcome", OUTCOME_SCORES[logged]
    language = _language(text, language)
    if text is None or not text.strip() or language not in SUPPORTED_LANGUAGES:
        return None, None, None
    found, value = tone(text, language)
    return found, "lexicon", value


def reading(
    outcome: str | None, text: str | None, language: str | None
) -> tuple[Tone | None, ToneSource | None, float | None, Tone | None, float | None]:
    """(tone, source, score, lexicon's tone, lexicon's score) of a logged conversation."""
    found, source, value = conversation_tone(outcome, text, language)
    language = _language(text, language)
    lexicon_tone, lexicon_score = (
        tone(text, language)
        if text and text.strip() and language in SUPPORTED_LANGUAGES
        else (None, None)
    )
    return found, source, value, lexicon_tone, lexicon_score


def score_engagements(engagements: pa.Table) -> pa.Table:
    """One row of SCORED_ENGAGEMENTS per conversation (a row of ``engagements``, with the ids,
    dimensions, ``body_preview`` and ``occurred_at``): its tone and the lexicon's reading.
    The text itself is not copied.

    Conversations repeat a few templates: each (outcome, text, language) is read once, and
    every column, the readings included, goes through as Arrow arrays, never row by row as
    Python objects.
    """
    keys, readings = distinct_keys(engagements, READ_FROM)
    read = list(zip(*(reading(*key) for key in keys), strict=True)) or [[]] * len(READ_INTO)
    occurred_at = engagements["occurred_at"].cast(pa.timestamp("us"))
    columns = {
        **{name: engagements[name] for name in SCORED_ENGAGEMENTS.names[:6]},
        **{
            name: pa.array(values, SCORED_ENGAGEMENTS.field(name).type).take(readings)
            for name, values in zip(READ_INTO, read, strict=True)
        },
        "occurred_at": occurred_at,
        "occurred_date": occurred_at.cast(pa.date32()),
    }
    return pa.table(
        [columns[field.name].cast(field.type) for field in SCORED_ENGAGEMENTS],
        schema=SCORED_ENGAGEMENTS,
    )


def distinct_keys(table: pa.Table, columns: tuple[str, ...]) -> tuple[list[tuple], pa.Array]:
    """The distinct values of ``columns`` in ``table`` (nulls included), as tuples in the
    order they first occur, and for each row the position of its own among them."""
    dictionaries, codes = [], pa.array([0] * table.num_rows, pa.int64())
    for name in columns:
        # each column's values numbered, the row's numbers combined into one code
        encoded = pc.dictionary_encode(table[name].combine_chunks(), null_encoding="encode")
        dictionaries.append(encoded.dictionary.to_pylist())
        codes = pc.add(
            pc.multiply(codes, len(encoded.dictionary)), encoded.indices.cast(pa.int64())
        )
    combined = pc.dictionary_encode(codes)
    keys = []
    for code in combined.dictionary.to_pylist():
        key = []
        for dictionary in reversed(dictionaries):
            code, at = divmod(code, len(dictionary))
            key.append(dictionary[at])
        keys.append(tuple(reversed(key)))
    return keys, combined.indices
