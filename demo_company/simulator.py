"""The demo company: a deterministic, seeded simulation of customers, products and orders.

``simulate(config)`` builds a :class:`World` (customers, products, order headers, refunds) from
which the ERP tables, the CRM objects (``crm_objects``) and the web events (``web_events``) are
derived. Everything is a pure function of the configuration.

Determinism across days: every random draw is keyed by what it is about, never by the
"as of" day: a customer's order schedule by its customer number, a day's new customers,
baskets and support tickets by that day. Generating as of a later day therefore only adds the
rows of the new days and updates the rows whose change (a cancellation, an e-mail change, an
archiving) falls on them; earlier rows stay identical. Switching a story on or off only changes
what the story touches.

Dates are calendar days of the reporting time zone (UTC); timestamps are seconds since the
Unix epoch until they are written out.
"""

from __future__ import annotations

import functools
import itertools
import math
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum

import numpy as np

from demo_company import vocabulary as vocab

DAY = 86_400
EPOCH = date(1970, 1, 1)
HISTORY_YEARS = 3
TAX_RATE = 0.20
CURRENCY = "EUR"
# The ERP's reference rates, as the ECB publishes them: units of each currency per euro, on
# TARGET business days only. The demo's customers all pay in euros, so no amount converts;
# the rates are there as a user's ERP would hold them. Levels are a random walk from these.
RATE_CURRENCIES = {"USD": 1.10, "GBP": 0.86, "PLN": 4.30, "CHF": 0.96}
RATE_DAILY_VOLATILITY = 0.004
RATE_PUBLICATION_HOUR = 15  # 16:00 CET, in UTC
# Leads are created up to this many days before their customer's first order, so customers are
# simulated this far beyond "as of" to know today's leads.
LEAD_HORIZON_DAYS = 120


class Stream(IntEnum):
    """Independent random streams; part of a draw's key together with the seed."""

    BASE_CUSTOMERS = 1
    NEW_CUSTOMERS = 2
    SCHEDULE = 3
    ORDERS = 4
    LINES = 5
    CONTRACTION = 6
    PRODUCTS = 7
    PRICES = 8
    LEADS = 9
    SUPPORT = 10
    REVIEWS = 11
    WEB = 12
    CHURN = 13
    HR = 14
    RATES = 15


@dataclass(frozen=True)
class Segment:
    """How the customers of one commercial segment behave (counts at scale 1)."""

    name: str
    customer_type: str
    base_customers: int  # customers at history start
    lifetime_days: float  # mean time until a customer stops buying for good
    interval_days: tuple[float, float]  # range of a customer's mean days between orders
    regularity: float  # gamma shape of the gaps between orders: 1 random, higher regular
    basket_spread: float  # gamma shape of the customer's basket size: higher is more alike
    lines: float  # mean lines per order
    quantity: float  # mean units per line
    discount_share: float  # share of lines with a discount
    discount_range: tuple[float, float]
    channels: dict[str, float]
    hours: tuple[int, int]  # when orders are placed
    tickets_per_month: float
    engagements_per_month: float
    engagement_types: dict[str, float]


SEGMENTS = (
    Segment(
        "enterprise", "b2b", 75, 6000, (25, 35), 12.0, 12.0, 7.0, 10.5, 0.5, (0.05, 0.12),
        {"sales": 0.8, "web": 0.2}, (8, 18), 0.12, 2.0,
        {"CALL": 0.35, "EMAIL": 0.4, "MEETING": 0.25},
    ),
    Segment(
        "smb", "b2b", 330, 3000, (21, 42), 4.0, 5.0, 3.2, 4.7, 0.25, (0.03, 0.10),
        {"web": 0.6, "sales": 0.4}, (8, 18), 0.05, 0.4,
        {"CALL": 0.45, "EMAIL": 0.45, "MEETING": 0.1},
    ),
    Segment(
        "consumer", "b2c", 650, 2000, (40, 110), 2.0, 4.0, 1.6, 1.2, 0.08, (0.10, 0.20),
        {"web": 0.75, "store": 0.25}, (7, 23), 0.02, 0.02,
        {"CALL": 0.5, "EMAIL": 0.5, "MEETING": 0.0},
    ),
)  # fmt: skip
SEGMENT_INDEX = {s.name: i for i, s in enumerate(SEGMENTS)}
REGION_NAMES = tuple(vocab.REGIONS)
REGION_WEIGHTS = (0.25, 0.25, 0.2, 0.3)
COUNTRIES = tuple(c for countries in vocab.REGIONS.values() for c in countries)
LEAD_SOURCES = ("organic", "paid_search", "social", "referral", "email")
LEAD_SOURCE_WEIGHTS = (0.35, 0.25, 0.15, 0.15, 0.10)
REFUND_REASONS = ("damaged", "late_delivery", "wrong_item", "not_as_described", "goodwill")
ACQUISITION_GROWTH = 0.05  # yearly growth of the customer base
GROWTH_PER_DAY = math.log(1 + ACQUISITION_GROWTH) / 365.25
CANCEL_SHARE = 0.03
REFUND_SHARE = 0.04
PREFERRED_PRODUCTS = 8  # products a customer usually buys
INITIAL_PRODUCTS = sum(len(line[3]) for line in vocab.PRODUCT_LINES)
LAUNCH_EVERY_DAYS = 75
MAX_PRODUCTS = INITIAL_PRODUCTS + 160  # enough launches for decades of "as of" days


@dataclass(frozen=True)
class Stories:
    """Planted stories, each switchable; onsets are days before the anchor.

    - segment contraction: from the onset, customers of ``contraction_segment`` who bought
      before it buy smaller baskets (units per line), as often as before;
    - region churn: from the onset, ``churn_share`` of the customers of ``churn_region`` stop
      buying for good, within ``churn_spread_days``;
    - CSAT drop: from the onset (a change of the support organisation) the share of 4-5 CSAT
      ratings falls to ``csat_satisfied_after``; NPS follows ``nps_lag_days`` later.
    The quiet stretch, from ``quiet_start_days`` after history start to ``quiet_margin_days``
    before the first enabled onset, has only noise and seasonality.
    """

    segment_contraction: bool = True
    contraction_segment: str = "smb"
    contraction_effect: float = -0.40
    contraction_onset_days: int = 120
    region_churn: bool = True
    churn_region: str = "south"
    churn_share: float = 0.5
    churn_onset_days: int = 200
    churn_spread_days: int = 60
    csat_drop: bool = True
    csat_onset_days: int = 90
    csat_satisfied_after: float = 0.60
    nps_lag_days: int = 30
    nps_promoters_after: float = 0.36
    nps_detractors_after: float = 0.30
    quiet_start_days: int = 400
    quiet_margin_days: int = 30


@dataclass(frozen=True)
class DemoConfig:
    """What to simulate: the day it is (``as_of``), the seed, the size and the stories."""

    as_of: date
    seed: int = 42
    scale: float = 1.0
    anchor: date | None = None  # story onsets are relative to it; None means as_of
    stories: Stories = field(default_factory=Stories)

    @property
    def anchor_date(self) -> date:
        return self.anchor or self.as_of

    @property
    def history_start(self) -> date:
        anchor = self.anchor_date
        try:
            return anchor.replace(year=anchor.year - HISTORY_YEARS)
        except ValueError:  # 29 February
            return anchor.replace(year=anchor.year - HISTORY_YEARS, day=28)


# Satisfaction before any story: CSAT 1-5 and NPS 0-10 probabilities.
CSAT_BASE = np.array([0.03, 0.04, 0.08, 0.30, 0.55])
NPS_BASE = np.array([0.01, 0.01, 0.01, 0.01, 0.02, 0.04, 0.06, 0.16, 0.20, 0.22, 0.26])
CES_BASE = np.array([0.02, 0.04, 0.08, 0.14, 0.22, 0.28, 0.22])  # 7 = very easy


def csat_distribution(satisfied: float) -> np.ndarray:
    """CSAT 1-5 probabilities with the given share of 4-5 ratings (shape of the baseline)."""
    base_satisfied = CSAT_BASE[3:].sum()
    return np.concatenate(
        [
            CSAT_BASE[:3] * (1 - satisfied) / (1 - base_satisfied),
            CSAT_BASE[3:] * satisfied / base_satisfied,
        ]
    )


def nps_distribution(promoters: float, detractors: float) -> np.ndarray:
    """NPS 0-10 probabilities with the given promoter and detractor shares."""
    base = NPS_BASE
    return np.concatenate(
        [
            base[:7] * detractors / base[:7].sum(),
            base[7:9] * (1 - promoters - detractors) / base[7:9].sum(),
            base[9:] * promoters / base[9:].sum(),
        ]
    )


def planted_stories(config: DemoConfig) -> list[dict]:
    """The planted stories as data: what moves, where, from when, by how much.

    ``effect`` is the change of the quantity the story drives: relative for money (basket
    value), the share of customers lost for churn, the absolute change of the share of 4-5
    ratings for CSAT, and of NPS in hundredths for NPS (-0.26 is 26 points down).
    """
    stories = config.stories
    anchor = config.anchor_date
    planted: list[dict] = []
    if stories.segment_contraction:
        planted.append(
            {
                "story": "segment_contraction",
                "kind": "contraction",
                "dimension": "segment",
                "member": stories.contraction_segment,
                "start": anchor - timedelta(days=stories.contraction_onset_days),
                "end": None,
                "effect": stories.contraction_effect,
                "kpis": ["average_customer_value", "average_order_value", "window_revenue"],
                "description": (
                    f"Existing {stories.contraction_segment} customers buy "
                    f"{abs(stories.contraction_effect):.0%} smaller baskets, as often as before."
                ),
            }
        )
    if stories.region_churn:
        planted.append(
            {
                "story": "region_churn",
                "kind": "churn",
                "dimension": "region",
                "member": stories.churn_region,
                "start": anchor - timedelta(days=stories.churn_onset_days),
                "end": None,
                "effect": -stories.churn_share,
                "kpis": [
                    "active_customers",
                    "window_revenue",
                    "average_customer_value",
                    "orders_per_active_customer",
                ],
                "description": (
                    f"{stories.churn_share:.0%} of the {stories.churn_region} region's "
                    "customers stop buying for good."
                ),
            }
        )
    if stories.csat_drop:
        onset = anchor - timedelta(days=stories.csat_onset_days)
        base_nps = NPS_BASE[9:].sum() - NPS_BASE[:7].sum()
        after_nps = stories.nps_promoters_after - stories.nps_detractors_after
        planted += [
            {
                "story": "csat_drop",
                "kind": "satisfaction_drop",
                "dimension": "total",
                "member": "all",
                "start": onset,
                "end": None,
                "effect": round(stories.csat_satisfied_after - CSAT_BASE[3:].sum(), 4),
                "kpis": ["csat"],
                "description": "After a support change fewer customers rate support 4-5.",
            },
            {
                "story": "csat_drop",
                "kind": "satisfaction_drop",
                "dimension": "total",
                "member": "all",
                "start": onset + timedelta(days=stories.nps_lag_days),
                "end": None,
                "effect": round(after_nps - base_nps, 4),
                "kpis": ["nps", "nps_promoter_share", "nps_detractor_share"],
                "description": f"NPS follows the CSAT drop {stories.nps_lag_days} days later.",
            },
        ]
    onsets = [story["start"] for story in planted]
    planted.append(
        {
            "story": "quiet",
            "kind": "quiet",
            "dimension": "total",
            "member": "all",
            "start": config.history_start + timedelta(days=stories.quiet_start_days),
            "end": min(onsets) - timedelta(days=stories.quiet_margin_days) if onsets else None,
            "effect": 0.0,
            "kpis": [
                "average_customer_value",
                "active_customers",
                "window_revenue",
                "orders_per_active_customer",
                "average_order_value",
                "csat",
                "nps",
            ],
            "description": "Only noise and seasonality: no alert wanted.",
        }
    )
    return planted


# ---------------------------------------------------------------------------------------------
# Calendar


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


def day_of(epoch_days: int) -> date:
    return EPOCH + timedelta(days=int(epoch_days))


def _circular_bump(day_of_year: np.ndarray, centre: int, width: float) -> np.ndarray:
    distance = np.abs(day_of_year - centre)
    distance = np.minimum(distance, 365 - distance)
    return np.exp(-0.5 * (distance / width) ** 2)


def _raw_intensity(days: np.ndarray, yearly: bool = True) -> np.ndarray:
    """Unnormalised buying intensity per segment (rows) and epoch day (columns)."""
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 is Monday
    stamp = days.astype("datetime64[D]")
    day_of_year = (stamp - stamp.astype("datetime64[Y]")).astype(int)
    month = stamp.astype("datetime64[M]").astype(int) % 12 + 1
    day_of_month = (stamp - stamp.astype("datetime64[M]")).astype(int) + 1
    b2b_week = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.06, 0.0])[weekday]
    b2c_week = np.array([0.85, 0.85, 0.9, 0.95, 1.05, 1.25, 1.15])[weekday]
    b2b_year = 1 + yearly * (
        0.15 * _circular_bump(day_of_year, 340, 12) - 0.35 * _circular_bump(day_of_year, 224, 14)
    )
    b2c_year = 1 + yearly * (
        0.6 * _circular_bump(day_of_year, 345, 10) - 0.25 * _circular_bump(day_of_year, 224, 14)
    )
    # B2B customers are closed from Christmas to New Year; shops are closed on those two days.
    closed = ((month == 12) & (day_of_month >= 25)) | ((month == 1) & (day_of_month == 1))
    public_holiday = ((month == 12) & (day_of_month == 25)) | ((month == 1) & (day_of_month == 1))
    b2b = b2b_week * b2b_year * ~closed
    b2c = b2c_week * b2c_year * np.where(public_holiday, 0.3, 1.0)
    return np.stack([b2b, b2b, b2c])


_REFERENCE_DAYS = np.arange(epoch_day(date(2001, 1, 1)), epoch_day(date(2005, 1, 1)))
_INTENSITY_MEAN = {
    yearly: _raw_intensity(_REFERENCE_DAYS, yearly).mean(axis=1, keepdims=True)
    for yearly in (True, False)
}


def intensity(days: np.ndarray, yearly: bool = True) -> np.ndarray:
    """Buying intensity per segment and day, averaging 1 over the years.

    Without the yearly rhythm it is the pace at which new customers arrive: an even inflow
    keeps the share of customers in their first months, and so the trailing average
    customer value, free of a seasonal wobble.
    """
    return _raw_intensity(np.asarray(days), yearly) / _INTENSITY_MEAN[yearly]


@dataclass(frozen=True)
class Calendar:
    """Days from history start to "as of" plus the lead horizon, as indexes from 0."""

    day0: int  # epoch day of history start
    as_of: int  # index of "as of"
    anchor: int  # index of the anchor
    factor: np.ndarray  # (segment, day) buying intensity
    arrival: np.ndarray  # (segment, day) pace of new customers
    cumulative: np.ndarray  # (segment, day) intensity summed to the end of the day

    @property
    def days(self) -> int:
        return self.factor.shape[1]

    def index(self, day: date) -> int:
        return epoch_day(day) - self.day0


def make_calendar(config: DemoConfig) -> Calendar:
    day0 = epoch_day(config.history_start)
    as_of = epoch_day(config.as_of) - day0
    days = np.arange(day0, day0 + as_of + LEAD_HORIZON_DAYS + 1)
    factor = intensity(days)
    return Calendar(
        day0=day0,
        as_of=as_of,
        anchor=epoch_day(config.anchor_date) - day0,
        factor=factor,
        arrival=intensity(days, yearly=False),
        cumulative=np.cumsum(factor, axis=1),
    )


def to_seconds(calendar: Calendar, day_index: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Epoch seconds of a time ``hours`` into day ``day_index``."""
    seconds = np.minimum(np.round(np.asarray(hours) * 3600), DAY - 1).astype(np.int64)
    return (calendar.day0 + np.asarray(day_index, dtype=np.int64)) * DAY + seconds


def rng_for(config: DemoConfig, stream: Stream, *key: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, int(stream), *(int(k) for k in key)])


def pick(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Indexes drawn with the given weights (inverse CDF of uniforms: one draw per item)."""
    if size == 0:
        return np.zeros(0, dtype=int)
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(size), side="right"), len(cdf) - 1)


def places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Region, country (index into COUNTRIES) and whether the person writes French."""
    region = pick(rng, REGION_WEIGHTS, n)
    u = rng.random((n, 2)).T
    country = np.empty(n, dtype=int)
    for r, name in enumerate(REGION_NAMES):
        weights = np.array(list(vocab.REGIONS[name].values()))
        cdf = np.cumsum(weights) / weights.sum()
        inside = np.minimum(np.searchsorted(cdf, u[0], side="right"), len(cdf) - 1)
        first_country = COUNTRIES.index(next(iter(vocab.REGIONS[name])))
        country = np.where(region == r, first_country + inside, country)
    french_share = np.array([vocab.FRENCH_SHARE.get(c, 0.0) for c in COUNTRIES])[country]
    return region, country, u[1] < french_share


# ---------------------------------------------------------------------------------------------
# Products


@dataclass(frozen=True)
class Products:
    """The catalogue: products launched over time; list prices rise every 1 January."""

    name: list[str]
    category: list[str]
    customer_type: np.ndarray  # 0 b2b, 1 b2c
    launch: np.ndarray  # epoch seconds the product was created
    popularity: np.ndarray
    price: np.ndarray  # (product, year since history start) list price net of tax
    first_year: int


def make_products(config: DemoConfig) -> Products:
    rng = rng_for(config, Stream.PRODUCTS)
    lines = vocab.PRODUCT_LINES
    names, categories, types, typical = [], [], [], []
    for number in range(MAX_PRODUCTS):
        if number < INITIAL_PRODUCTS:
            line = lines[number // 4]
            noun = line[3][number % 4]
        else:
            launch = number - INITIAL_PRODUCTS
            line = lines[launch % len(lines)]
            noun = line[3][(launch // len(lines)) % 4]
            adjective = vocab.PRODUCT_ADJECTIVES[(launch // (4 * len(lines))) % 8]
            noun = f"{adjective} {noun}"
        names.append(noun)
        categories.append(line[0])
        types.append(0 if line[1] == "b2b" else 1)
        typical.append(line[2])
    base_price = np.round(np.array(typical) * rng.lognormal(0.0, 0.35, MAX_PRODUCTS), 2)
    popularity = rng.gamma(2.0, 0.5, MAX_PRODUCTS)
    launch_hour = rng.uniform(9, 17, MAX_PRODUCTS)
    day0 = epoch_day(config.history_start)
    launch_day = np.where(
        np.arange(MAX_PRODUCTS) < INITIAL_PRODUCTS,
        day0 - 730,
        day0 + (np.arange(MAX_PRODUCTS) - INITIAL_PRODUCTS + 1) * LAUNCH_EVERY_DAYS,
    )
    first_year = config.history_start.year
    years = 60
    increases = np.stack(
        [
            rng_for(config, Stream.PRICES, first_year + y).uniform(0.005, 0.025, MAX_PRODUCTS)
            for y in range(1, years)
        ],
        axis=1,
    )
    price = np.round(
        base_price[:, None]
        * np.concatenate([np.ones((MAX_PRODUCTS, 1)), np.cumprod(1 + increases, axis=1)], axis=1),
        2,
    )
    return Products(
        name=names,
        category=categories,
        customer_type=np.array(types),
        launch=launch_day.astype(np.int64) * DAY + np.round(launch_hour * 3600).astype(np.int64),
        popularity=popularity,
        price=price,
        first_year=first_year,
    )


def year_index(products: Products, epoch_days: np.ndarray) -> np.ndarray:
    years = np.asarray(epoch_days).astype("datetime64[D]").astype("datetime64[Y]").astype(int)
    return np.clip(years + 1970 - products.first_year, 0, products.price.shape[1] - 1)


# ---------------------------------------------------------------------------------------------
# Customers


@dataclass(frozen=True)
class Customers:
    """Every customer simulated, in customer-number order (ids are positions + 1)."""

    segment: np.ndarray
    region: np.ndarray
    country: np.ndarray  # index into COUNTRIES
    french: np.ndarray  # writes in French
    created: np.ndarray  # epoch seconds the ERP account was opened (the first order's day)
    acquired: np.ndarray  # day index of the first order; negative before history start
    end: np.ndarray  # day index (fractional) from which the customer no longer buys
    mean_interval: np.ndarray
    basket: np.ndarray  # multiplier of the segment's units per line
    lead_lag: np.ndarray  # days from lead creation to first order
    lead_hour: np.ndarray
    lead_source: np.ndarray
    marketing_qualified: np.ndarray
    web_sign_up: np.ndarray
    email_change: np.ndarray  # day index of a billing e-mail change (inf: never)
    archive_after: np.ndarray  # days after the end the CRM record is deleted (inf: never)
    nps_offset: np.ndarray  # day of the quarter the customer is surveyed
    first_name: np.ndarray
    last_name: np.ndarray
    company_word: np.ndarray
    company_trade: np.ndarray
    preferred: np.ndarray  # (customer, PREFERRED_PRODUCTS) product indexes

    @property
    def count(self) -> int:
        return len(self.segment)

    @property
    def ids(self) -> np.ndarray:
        return np.arange(1, self.count + 1)

    def known_by(self, day_index: int) -> int:
        """How many customers have an account on that day (a prefix of the ids)."""
        return int(np.searchsorted(self.acquired, day_index, side="right"))


def _draw_customers(
    rng: np.random.Generator,
    config: DemoConfig,
    products: Products,
    counts: np.ndarray,
    earlier: np.ndarray,
    acquired_day: int | None,
) -> dict[str, np.ndarray]:
    """Attributes of a batch of customers; ``acquired_day`` None is the base at history start.

    ``earlier`` counts the customers of each segment drawn before this batch.
    """
    segment = np.repeat(np.arange(len(SEGMENTS)), counts)
    n = len(segment)
    rank = np.concatenate([earlier[s] + np.arange(c) for s, c in enumerate(counts)])
    lifetime_u, basket_u, interval_u = _stratified(config, segment, rank)
    lifetime = np.array([s.lifetime_days for s in SEGMENTS])[segment]
    b2b = segment < 2
    hours = np.where(b2b, 8 + 8 * rng.random(n), 7 + 14 * rng.random(n))
    if acquired_day is None:
        # The base is in its steady state of a population growing at ACQUISITION_GROWTH:
        # exponential ages and (memoryless) remaining lives.
        age = rng.exponential(1 / (GROWTH_PER_DAY + 1 / lifetime))
        acquired = -np.ceil(np.minimum(age, 4000)).astype(int)
        end = -lifetime * np.log1p(-lifetime_u)
    else:
        acquired = np.full(n, acquired_day)
        end = acquired_day - lifetime * np.log1p(-lifetime_u)
    region, country, french = places(rng, n)
    low = np.array([s.interval_days[0] for s in SEGMENTS])[segment]
    high = np.array([s.interval_days[1] for s in SEGMENTS])[segment]
    mean_interval = low + (high - low) * interval_u
    spread = np.array([s.basket_spread for s in SEGMENTS])[segment]
    basket = np.clip(_gamma_quantile(basket_u, spread), 0.4, 2.5)
    lead_lag = np.where(
        b2b,
        np.minimum(7 + rng.exponential(30, n), LEAD_HORIZON_DAYS - 10),
        np.minimum(1 + rng.exponential(12, n), 60),
    )
    lead_hour = 6.5 + 16 * rng.random(n)
    lead_source = pick(rng, LEAD_SOURCE_WEIGHTS, n)
    marketing_qualified = rng.random(n) < np.where(b2b, 0.8, 0.4)
    web_sign_up = rng.random(n) < 0.7
    changes = rng.random(n) < 0.25
    email_change = np.where(changes, acquired + 60 + 1000 * rng.random(n), np.inf)
    archived = rng.random(n) < np.where(b2b, 0.4, 0.2)
    archive_after = np.where(archived, 60 + 340 * rng.random(n), np.inf)
    nps_offset = rng.integers(0, 91, n)
    first_name = rng.integers(0, len(vocab.FIRST_NAMES), n)
    last_name = rng.integers(0, len(vocab.LAST_NAMES), n)
    company_word = rng.integers(0, len(vocab.COMPANY_WORDS), n)
    company_trade = rng.integers(0, len(vocab.COMPANY_TRADES), n)
    day0 = epoch_day(config.history_start)
    created = (day0 + acquired) * DAY + np.round(hours * 3600).astype(np.int64)
    preferred = np.zeros((n, PREFERRED_PRODUCTS), dtype=int)
    for customer_type in (0, 1):
        rows = np.flatnonzero(b2b == (customer_type == 0))
        available = np.flatnonzero(
            (products.customer_type == customer_type)
            & (products.launch <= (day0 + max(acquired_day or 0, 0)) * DAY)
        )
        # Distinct products, more popular ones more likely (Gumbel top-k sampling).
        keys = np.log(products.popularity[available]) - np.log(
            -np.log(rng.random((len(rows), len(available))))
        )
        preferred[rows] = available[np.argsort(-keys, axis=1)[:, :PREFERRED_PRODUCTS]]
    order = np.argsort(created, kind="stable")
    batch = {
        "segment": segment, "region": region, "country": country, "french": french,
        "created": created, "acquired": acquired, "end": end, "mean_interval": mean_interval,
        "basket": basket, "lead_lag": lead_lag, "lead_hour": lead_hour,
        "lead_source": lead_source, "marketing_qualified": marketing_qualified,
        "web_sign_up": web_sign_up, "email_change": email_change,
        "archive_after": archive_after, "nps_offset": nps_offset, "first_name": first_name,
        "last_name": last_name, "company_word": company_word, "company_trade": company_trade,
        "preferred": preferred,
    }  # fmt: skip
    return {key: value[order] for key, value in batch.items()}


# Customers' lifetimes, basket sizes and buying rhythms are drawn as quantiles of
# low-discrepancy (Weyl) sequences over their rank in the segment, and new customers arrive at
# a jittered but steady pace: the mix of the customer base stays even at small scales, so
# that quiet stretches are quiet and planted stories stand out, while each customer still
# looks random.
WEYL = np.array([0.6180339887498949, 0.4142135623730951, 0.7320508075688772])


def _stratified(
    config: DemoConfig, segment: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    phase = np.random.default_rng([config.seed, int(Stream.BASE_CUSTOMERS), 0]).random((3, 3))
    u = (phase[:, segment] + np.outer(WEYL, rank + 1)) % 1.0
    return u[0], u[1], u[2]


def _gamma_quantile(u: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Quantiles of gamma(shape, 1/shape) laws (mean 1), read off large fixed samples."""
    result = np.empty(len(u))
    for value in np.unique(shape):
        result[shape == value] = np.quantile(_gamma_sample(float(value)), u[shape == value])
    return result


@functools.cache
def _gamma_sample(shape: float) -> np.ndarray:
    return np.sort(np.random.default_rng(0).gamma(shape, 1 / shape, 20_000))


def _arrivals(config: DemoConfig, calendar: Calendar) -> np.ndarray:
    """New customers per segment (rows) and day: a steady, slightly jittered stream.

    The inflow makes every segment grow at the same pace from its base, so the mix of
    segments, and with it the average customer value, stays steady.
    """
    rate = np.array([s.base_customers * (GROWTH_PER_DAY + 1 / s.lifetime_days) for s in SEGMENTS])
    growth = np.exp(GROWTH_PER_DAY * np.arange(calendar.days))
    expected = np.cumsum(rate[:, None] * config.scale * growth * calendar.arrival, axis=1)
    phase = np.random.default_rng([config.seed, int(Stream.NEW_CUSTOMERS), 0]).random(3)
    jitter = np.array(
        [
            rng_for(config, Stream.NEW_CUSTOMERS, calendar.day0 + day).random(3) - 0.5
            for day in range(calendar.days)
        ]
    ).T
    counts = np.zeros(expected.shape, dtype=int)
    for s in range(len(SEGMENTS)):
        open_days = np.flatnonzero(calendar.arrival[s] > 0)
        level = np.floor(expected[s, open_days] + phase[s] + 0.6 * jitter[s, open_days])
        reached = np.maximum.accumulate(np.maximum(level, 0)).astype(int)
        counts[s, open_days] = np.diff(reached, prepend=0)
    return counts


def make_customers(config: DemoConfig, calendar: Calendar, products: Products) -> Customers:
    base = np.array([round(s.base_customers * config.scale) for s in SEGMENTS])
    rng = rng_for(config, Stream.BASE_CUSTOMERS)
    earlier = np.zeros(len(SEGMENTS), dtype=int)
    batches = [_draw_customers(rng, config, products, base, earlier, None)]
    earlier = earlier + base
    arrivals = _arrivals(config, calendar)
    for index in np.flatnonzero(arrivals.sum(axis=0)):
        rng = rng_for(config, Stream.NEW_CUSTOMERS, calendar.day0 + index, 1)
        counts = arrivals[:, index]
        batches.append(_draw_customers(rng, config, products, counts, earlier, int(index)))
        earlier = earlier + counts
    columns = {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}
    stories = config.stories
    if stories.region_churn:
        # Leavers are drawn from their own stream so the story changes nothing else.
        onset = calendar.anchor - stories.churn_onset_days
        # Drawn per customer number ((n, 2) fills row by row) so later customers change nothing.
        leaving = rng_for(config, Stream.CHURN).random((len(columns["end"]), 2)).T
        region = REGION_NAMES.index(stories.churn_region)
        leaves = (
            (columns["region"] == region)
            & (columns["acquired"] < onset)
            & (columns["end"] > onset)
            & (leaving[0] < stories.churn_share)
        )
        leave_day = onset + leaving[1] * stories.churn_spread_days
        columns["end"] = np.where(leaves, np.minimum(columns["end"], leave_day), columns["end"])
    return Customers(**columns)


# ---------------------------------------------------------------------------------------------
# Orders


@dataclass(frozen=True)
class Orders:
    """Order headers up to "as of", in order-number order (ids are positions + 1)."""

    customer: np.ndarray  # customer index (id - 1)
    day: np.ndarray  # day index
    created: np.ndarray  # epoch seconds
    first: np.ndarray  # the customer's first order
    channel: np.ndarray
    net: np.ndarray  # net of tax, after discounts, before refunds
    lines: np.ndarray  # number of lines
    first_line: np.ndarray  # id of its first line
    cancelled_at: np.ndarray  # epoch seconds, -1 when not cancelled (by "as of")
    refunded_at: np.ndarray  # epoch seconds, -1 when not refunded (by "as of")
    refund_amount: np.ndarray
    refund_reason: np.ndarray

    @property
    def count(self) -> int:
        return len(self.customer)


def _schedule(
    config: DemoConfig, calendar: Calendar, customers: Customers, index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Day indexes and hours of one customer's orders up to "as of" (and before its end).

    Gaps between orders are gamma draws in "buying time", the intensity summed over days,
    mapped back to calendar days: orders follow the weekly and yearly rhythm and never fall
    on a closed day.
    """
    segment = SEGMENTS[customers.segment[index]]
    cumulative = calendar.cumulative[customers.segment[index]]
    factor = calendar.factor[customers.segment[index]]
    stop = min(calendar.as_of + 1, math.ceil(customers.end[index]))
    acquired = int(customers.acquired[index])
    if stop <= max(acquired, 0):
        return np.zeros(0, dtype=int), np.zeros(0)
    rng = rng_for(config, Stream.SCHEDULE, index + 1)
    shape = segment.regularity
    gap_scale = customers.mean_interval[index] / shape
    if acquired >= 0:
        # The first order follows the opening of the account by a few minutes to two hours.
        opened = (customers.created[index] % DAY) / 3600
        days = [np.array([acquired])]
        hours = [np.array([min(opened + 0.08 + 1.9 * rng.random(), 23.99)])]
        position, pending = cumulative[acquired], np.zeros(0)
    else:
        # Stationary start: the time to the first order is a share of a length-biased gap.
        position = rng.random() * rng.gamma(shape + 1, gap_scale)
        days, hours, pending = [], [], np.array([position])
    while True:
        taus = np.concatenate([pending, position + np.cumsum(rng.gamma(shape, gap_scale, 32))])
        pending = np.zeros(0)
        found = np.searchsorted(cumulative, taus, side="right")
        keep = found < stop
        within = (taus[keep] - cumulative[found[keep]] + factor[found[keep]]) / factor[found[keep]]
        days.append(found[keep])
        hours.append(segment.hours[0] + within * (segment.hours[1] - segment.hours[0]))
        if not keep.all():
            break
        position = taus[-1]
    return np.concatenate(days), np.concatenate(hours)


def _day_orders(
    config: DemoConfig,
    calendar: Calendar,
    customers: Customers,
    products: Products,
    day: int,
    customer: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Header attributes and lines of the orders of one day (orders in order-number order)."""
    epoch = calendar.day0 + day
    n = len(customer)
    segment = customers.segment[customer]
    rng = rng_for(config, Stream.ORDERS, epoch)
    u = rng.random((9, n))
    channel = np.empty(n, dtype=object)
    for s, profile in enumerate(SEGMENTS):
        names = list(profile.channels)
        cdf = np.cumsum(list(profile.channels.values()))
        chosen = np.minimum(np.searchsorted(cdf, u[0], side="right"), len(names) - 1)
        channel[segment == s] = np.array(names, dtype=object)[chosen[segment == s]]
    header = {
        "channel": channel,
        "cancel": u[1] < CANCEL_SHARE,
        "cancel_after": 1 + np.floor(u[2] * 4) + (8 + 10 * u[3]) / 24,
        "refund": (u[4] < REFUND_SHARE / (1 - CANCEL_SHARE)) & (u[1] >= CANCEL_SHARE),
        "refund_after": 3 + np.floor(u[5] * 28) + (9 + 8 * u[6]) / 24,
        "refund_share": np.where(u[7] < 0.4, 1.0, 0.15 + 0.55 * u[7]),
        "refund_reason": np.floor(u[8] * len(REFUND_REASONS)).astype(int),
    }

    rng = rng_for(config, Stream.LINES, epoch)
    # An order is a selection of the customer's usual products, each at most once, as
    # reorders are: baskets vary around the customer's usual size.
    draws = rng.random((n, PREFERRED_PRODUCTS))
    chosen = draws < (np.array([s.lines for s in SEGMENTS]) / PREFERRED_PRODUCTS)[segment, None]
    chosen[np.arange(n), draws.argmin(axis=1)] = True  # at least one line
    order, slot = np.nonzero(chosen)
    count = chosen.sum(axis=1)
    owner = customer[order]
    line_segment = segment[order]
    product = customers.preferred[owner, slot]
    units = np.array([s.quantity for s in SEGMENTS])[line_segment] * customers.basket[owner]
    quantity = 1 + rng.poisson(np.maximum(units - 1, 0))
    discount_u = rng.random((2, len(order)))
    stories = config.stories
    onset = calendar.anchor - stories.contraction_onset_days
    if stories.segment_contraction and day >= onset:
        # Binomial thinning of the units above one keeps the expected basket at exactly
        # (1 + effect) times its level; its own stream leaves every other draw unchanged.
        contracting = (line_segment == SEGMENT_INDEX[stories.contraction_segment]) & (
            customers.acquired[owner] < onset
        )
        if contracting.any():
            target = units * (1 + stories.contraction_effect)
            keep = np.clip((target - 1) / np.maximum(units - 1, 1e-9), 0, 1)
            thinned = 1 + rng_for(config, Stream.CONTRACTION, epoch).binomial(quantity - 1, keep)
            quantity = np.where(contracting, thinned, quantity)
    unit_price = products.price[product, year_index(products, np.array([epoch]))[0]]
    low = np.array([s.discount_range[0] for s in SEGMENTS])[line_segment]
    high = np.array([s.discount_range[1] for s in SEGMENTS])[line_segment]
    share = np.array([s.discount_share for s in SEGMENTS])[line_segment]
    rate = np.where(discount_u[0] < share, low + (high - low) * discount_u[1], 0.0)
    gross = np.round(quantity * unit_price, 2)
    discount = np.round(gross * rate, 2)
    net = gross - discount
    lines = {
        "order": order,
        "product": product,
        "quantity": quantity,
        "unit_price": unit_price,
        "discount_amount": discount,
        "tax_amount": np.round(net * TAX_RATE, 2),
        "net": net,
    }
    header["lines"] = count
    header["net"] = np.round(np.bincount(order, weights=net, minlength=n), 2)
    return header, lines


def make_orders(
    config: DemoConfig, calendar: Calendar, customers: Customers, products: Products
) -> Orders:
    days, hours, owners = [], [], []
    for index in range(customers.known_by(calendar.as_of)):
        d, h = _schedule(config, calendar, customers, index)
        days.append(d)
        hours.append(h)
        owners.append(np.full(len(d), index))
    day = np.concatenate(days).astype(np.int64)
    customer = np.concatenate(owners)
    created = to_seconds(calendar, day, np.concatenate(hours))
    first = (day == customers.acquired[customer]) & (np.diff(customer, prepend=-1) != 0)
    order = np.lexsort((customer, created))
    customer, day, created, first = customer[order], day[order], created[order], first[order]

    n = len(customer)
    channel = np.empty(n, dtype=object)
    net = np.zeros(n)
    lines = np.zeros(n, dtype=np.int64)
    cancelled_at = np.full(n, -1, dtype=np.int64)
    refunded_at = np.full(n, -1, dtype=np.int64)
    refund_amount = np.zeros(n)
    refund_reason = np.zeros(n, dtype=int)
    as_of_end = (calendar.day0 + calendar.as_of + 1) * DAY
    bounds = np.searchsorted(day, np.arange(calendar.as_of + 2))
    for d in np.unique(day):
        at = slice(bounds[d], bounds[d + 1])
        header, _ = _day_orders(config, calendar, customers, products, int(d), customer[at])
        channel[at] = header["channel"]
        net[at] = header["net"]
        lines[at] = header["lines"]
        day_start = (calendar.day0 + d) * DAY
        cancel = header["cancel"] & ~first[at]
        cancel_time = day_start + np.round(header["cancel_after"] * DAY).astype(np.int64)
        cancelled_at[at] = np.where(cancel & (cancel_time < as_of_end), cancel_time, -1)
        refund_time = day_start + np.round(header["refund_after"] * DAY).astype(np.int64)
        refund = header["refund"] & ~cancel & (refund_time < as_of_end)
        refunded_at[at] = np.where(refund, refund_time, -1)
        refund_amount[at] = np.where(refund, np.round(header["net"] * header["refund_share"], 2), 0)
        refund_reason[at] = header["refund_reason"]
    first_line = np.concatenate([[1], 1 + np.cumsum(lines)[:-1]]) if n else lines
    return Orders(
        customer=customer,
        day=day,
        created=created,
        first=first,
        channel=channel,
        net=net,
        lines=lines,
        first_line=first_line,
        cancelled_at=cancelled_at,
        refunded_at=refunded_at,
        refund_amount=refund_amount,
        refund_reason=refund_reason,
    )


# ---------------------------------------------------------------------------------------------
# The world and its ERP tables


@dataclass(frozen=True)
class World:
    config: DemoConfig
    calendar: Calendar
    products: Products
    customers: Customers
    orders: Orders

    def day(self, index: int) -> date:
        """The calendar day of a day index."""
        return day_of(self.calendar.day0 + index)

    @property
    def as_of_end(self) -> int:
        """Epoch seconds of the end of the "as of" day: nothing happens from then on."""
        return (self.calendar.day0 + self.calendar.as_of + 1) * DAY


def simulate(config: DemoConfig) -> World:
    calendar = make_calendar(config)
    products = make_products(config)
    customers = make_customers(config, calendar, products)
    orders = make_orders(config, calendar, customers, products)
    return World(config, calendar, products, customers, orders)


def erp_timestamps(seconds: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' texts: UTC without its zone, as the raw contract reads them."""
    text = np.datetime_as_string(np.asarray(seconds).astype("datetime64[s]"), unit="s")
    return np.char.replace(text, "T", " ")


def iso_timestamps(seconds: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC texts with a trailing Z, as HubSpot writes them."""
    return np.char.add(
        np.datetime_as_string(np.asarray(seconds).astype("datetime64[s]"), unit="s"), "Z"
    )


def iso_dates(epoch_days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(epoch_days).astype("datetime64[D]"), unit="D")


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by dashes, for e-mail addresses and domains."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "-" for c in ascii_text.lower()).strip("-")


def company_name(word: int, trade: int, country: int) -> str:
    legal_form = vocab.LEGAL_FORM[COUNTRIES[country]]
    return f"{vocab.COMPANY_WORDS[word]} {vocab.COMPANY_TRADES[trade]} {legal_form}"


def company_domain(word: int, trade: int, number: str) -> str:
    return f"{slug(vocab.COMPANY_WORDS[word])}-{slug(vocab.COMPANY_TRADES[trade])}-{number}.example"


def customer_company(customers: Customers, index: int) -> tuple[str, str]:
    """Name and web domain of a b2b customer."""
    word, trade = customers.company_word[index], customers.company_trade[index]
    return (
        company_name(word, trade, customers.country[index]),
        company_domain(word, trade, str(index + 1)),
    )


def person_name(customers: Customers, index: int) -> tuple[str, str]:
    return (
        vocab.FIRST_NAMES[customers.first_name[index]],
        vocab.LAST_NAMES[customers.last_name[index]],
    )


def person_email(customers: Customers, index: int, changed: bool = False) -> str:
    first, last = person_name(customers, index)
    if customers.segment[index] < 2:
        mailbox = "billing" if changed else "accounts"
        return f"{mailbox}@{customer_company(customers, index)[1]}"
    provider = "mail.example" if changed else "post.example"
    return f"{slug(first)}.{slug(last).replace('-', '')}{index + 1}@{provider}"


def _customers_table(world: World) -> dict[str, list]:
    customers, calendar = world.customers, world.calendar
    known = customers.known_by(calendar.as_of)
    changed = customers.email_change[:known] < calendar.as_of + 1
    change_time = to_seconds(
        calendar, np.where(changed, np.floor(customers.email_change[:known]), 0), 10.5
    )
    updated = np.where(
        changed, np.maximum(change_time, customers.created[:known]), customers.created[:known]
    )
    names = [
        customer_company(customers, i)[0]
        if customers.segment[i] < 2
        else " ".join(person_name(customers, i))
        for i in range(known)
    ]
    return {
        "customer_id": customers.ids[:known].tolist(),
        "customer_name": names,
        "email": [person_email(customers, i, bool(changed[i])) for i in range(known)],
        "customer_type": [SEGMENTS[s].customer_type for s in customers.segment[:known]],
        "segment": [SEGMENTS[s].name for s in customers.segment[:known]],
        "region": [REGION_NAMES[r] for r in customers.region[:known]],
        "country": [COUNTRIES[c] for c in customers.country[:known]],
        "created_at": erp_timestamps(customers.created[:known]).tolist(),
        "updated_at": erp_timestamps(updated).tolist(),
    }


def _products_table(world: World) -> dict[str, list]:
    products, calendar = world.products, world.calendar
    launched = np.flatnonzero(products.launch < world.as_of_end)
    as_of_epoch = calendar.day0 + calendar.as_of
    year = year_index(products, np.array([as_of_epoch]))[0]
    # Prices change every 1 January at 06:00 after history start.
    new_year = epoch_day(date(day_of(as_of_epoch).year, 1, 1)) * DAY + 6 * 3600
    repriced = (year > 0) & (products.launch[launched] < new_year)
    updated = np.where(repriced, new_year, products.launch[launched])
    return {
        "product_id": (launched + 1).tolist(),
        "product_name": [products.name[i] for i in launched],
        "category": [products.category[i] for i in launched],
        "list_price": products.price[launched, year].tolist(),
        "updated_at": erp_timestamps(updated).tolist(),
    }


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm).

    >>> easter_sunday(2026), easter_sunday(2024)
    (datetime.date(2026, 4, 5), datetime.date(2024, 3, 31))
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * ell) // 433
    month = (h + ell - 7 * m + 90) // 25
    return date(year, month, (h + ell - 7 * m + 33 * month + 19) % 32)


def is_rate_day(day: date) -> bool:
    """A TARGET business day, when the ECB publishes reference rates: not a weekend, New
    Year's Day, Good Friday, Easter Monday, 1 May, 25 or 26 December."""
    easter = easter_sunday(day.year)
    holidays = {(1, 1), (5, 1), (12, 25), (12, 26)}
    return (
        day.weekday() < 5
        and (day.month, day.day) not in holidays
        and day not in (easter - timedelta(days=2), easter + timedelta(days=1))
    )


def _exchange_rates_table(world: World) -> dict[str, list]:
    calendar = world.calendar
    epoch_days = [
        d
        for d in range(calendar.day0, calendar.day0 + calendar.as_of + 1)
        if is_rate_day(day_of(d))
    ]
    # One draw per publication day, keyed by the day: a later "as of" only adds days.
    moves = np.array(
        [
            rng_for(world.config, Stream.RATES, d).normal(
                0, RATE_DAILY_VOLATILITY, len(RATE_CURRENCIES)
            )
            for d in epoch_days
        ]
    ).reshape(len(epoch_days), len(RATE_CURRENCIES))
    levels = np.round(np.array(list(RATE_CURRENCIES.values())) * np.exp(moves.cumsum(axis=0)), 4)
    days = np.repeat(np.array(epoch_days, dtype=np.int64), len(RATE_CURRENCIES))
    return {
        "rate_date": iso_dates(days).tolist(),
        "base_currency": [CURRENCY] * len(days),
        "currency": list(RATE_CURRENCIES) * len(epoch_days),
        "rate": levels.ravel().tolist(),
        "updated_at": erp_timestamps(days * DAY + RATE_PUBLICATION_HOUR * 3600).tolist(),
    }


def erp_tables(world: World, chunk_days: int = 60) -> Iterator[tuple[str, dict[str, list]]]:
    """The ERP tables as of the world's day, as (table, columns) chunks.

    Order lines are rebuilt day by day (the same draws as for the headers) so that memory
    stays bounded at any scale.
    """
    yield "customers", _customers_table(world)
    yield "products", _products_table(world)
    orders, calendar = world.orders, world.calendar
    order_ids = np.arange(1, orders.count + 1)
    cancelled = orders.cancelled_at >= 0
    bounds = np.searchsorted(orders.day, np.arange(0, calendar.as_of + chunk_days + 1, chunk_days))
    for start, stop in itertools.pairwise(bounds):
        if start == stop:
            continue
        at = slice(start, stop)
        yield (
            "orders",
            {
                "order_id": order_ids[at].tolist(),
                "customer_id": (orders.customer[at] + 1).tolist(),
                "order_date": iso_dates(calendar.day0 + orders.day[at]).tolist(),
                "status": np.where(cancelled[at], "cancelled", "completed").tolist(),
                "currency": [CURRENCY] * (stop - start),
                "channel": orders.channel[at].tolist(),
                "created_at": erp_timestamps(orders.created[at]).tolist(),
                "updated_at": erp_timestamps(
                    np.where(cancelled[at], orders.cancelled_at[at], orders.created[at])
                ).tolist(),
            },
        )
        yield "order_lines", _lines_chunk(world, start, stop)
    refunded = np.flatnonzero(orders.refunded_at >= 0)
    refunded = refunded[np.lexsort((refunded, orders.refunded_at[refunded]))]
    refunded_at = orders.refunded_at[refunded]
    yield (
        "refunds",
        {
            "refund_id": np.arange(1, len(refunded) + 1).tolist(),
            "order_id": (refunded + 1).tolist(),
            "refund_date": iso_dates(refunded_at // DAY).tolist(),
            "amount": orders.refund_amount[refunded].tolist(),
            "currency": [CURRENCY] * len(refunded),
            "reason": [REFUND_REASONS[r] for r in orders.refund_reason[refunded]],
            "updated_at": erp_timestamps(refunded_at).tolist(),
        },
    )
    yield "exchange_rates", _exchange_rates_table(world)


def _lines_chunk(world: World, start: int, stop: int) -> dict[str, list]:
    orders, calendar = world.orders, world.calendar
    parts = []
    day_bounds = np.flatnonzero(np.diff(orders.day[start:stop])) + 1 + start
    for a, b in zip(np.r_[start, day_bounds], np.r_[day_bounds, stop], strict=True):
        _, lines = _day_orders(
            world.config,
            calendar,
            world.customers,
            world.products,
            int(orders.day[a]),
            orders.customer[a:b],
        )
        lines["order"] = lines["order"] + a
        parts.append(lines)
    order = np.concatenate([p["order"] for p in parts])
    first_line = orders.first_line[order]
    position = np.arange(len(order)) - np.searchsorted(order, order)
    return {
        "order_line_id": (first_line + position).tolist(),
        "order_id": (order + 1).tolist(),
        "product_id": (np.concatenate([p["product"] for p in parts]) + 1).tolist(),
        "quantity": np.concatenate([p["quantity"] for p in parts]).tolist(),
        "unit_price": np.concatenate([p["unit_price"] for p in parts]).tolist(),
        "discount_amount": np.concatenate([p["discount_amount"] for p in parts]).tolist(),
        "tax_amount": np.concatenate([p["tax_amount"] for p in parts]).tolist(),
        "updated_at": erp_timestamps(orders.created[order]).tolist(),
    }


def collect(chunks: Iterable[tuple[str, dict[str, list]]]) -> dict[str, dict[str, list]]:
    """Chunks of (table, columns) joined into one columns dict per table."""
    tables: dict[str, dict[str, list]] = {}
    for name, columns in chunks:
        table = tables.setdefault(name, {key: [] for key in columns})
        for key, values in columns.items():
            table[key].extend(values)
    return tables
