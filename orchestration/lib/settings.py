"""Runtime settings, read from the environment when asked for, never at import time.

Each source is configured on its own: the word ``off`` switches a source off (its marts then
build empty), ``demo`` reads the embedded demo company's, anything else points at the user's own
system. Unset means the demo company while no source points at the user's own system, and off
once one does, so that the demo's customers, surveys and visits never mix with a company's own
data unless asked for.

Every setting is checked when it is read: a bad value raises ``SettingsError`` naming the
variable, the value and an example of a good one, before any work starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Same default as `profiles.yml`, so dbt and Dagster open one file when nothing is set.
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
# The dbt target of each engine in `profiles.yml`: DuckDB by default, or a Spark cluster.
DBT_TARGETS = {"dev": "duckdb", "spark": "spark"}
# The CRM company property that holds the ERP customer number (a HubSpot custom property).
DEFAULT_CRM_ERP_LINK = "erp_customer_id"

Mode = Literal["demo", "off", "configured"]
# The variable that says where each source is.
SOURCE_VARIABLES = {
    "erp": "ERP_DATABASE_URL",
    "crm": "CRM_API_URL",
    "web": "WEB_EVENTS_PATH",
    "hr": "HR_SURVEY_PATH",
}
T = TypeVar("T")


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message says which and what would do."""

    def __init__(self, variable: str, value: str, problem: str, example: str) -> None:
        super().__init__(f"{variable}={value!r}: {problem}. Example of a good value: {example}")
        self.variable = variable


@dataclass(frozen=True)
class Source:
    """How one source is reached: the demo, switched off, or the user's own system."""

    name: str
    mode: Mode
    location: str | None = None
    # Left unset: the demo while no source is the company's own, off once one is.
    unset: bool = False

    @property
    def setting(self) -> str:
        """How its variable is set, as a message names it: ``CRM_API_URL unset``,
        ``CRM_API_URL=off``."""
        variable = SOURCE_VARIABLES[self.name]
        return f"{variable} unset" if self.unset else f"{variable}={self.location or self.mode}"

    @property
    def is_on(self) -> bool:
        return self.mode != "off"


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    serving_path: Path
    erp: Source
    crm: Source
    crm_token: str | None
    crm_erp_link: str
    # The HubSpot custom object holding online reviews; None when reviews are not in the CRM.
    crm_reviews_object: str | None
    # Bounds of a CRM read, in seconds: one request, one object type, the whole read.
    crm_request_timeout: float
    crm_object_deadline: float
    crm_run_deadline: float
    web: Source
    hr: Source
    # The day the whole job reports on: daily marts run to it, the radar and alerts state it.
    as_of: date
    reporting_timezone: str
    reporting_currency: str
    # The incremental marts also recompute the data loaded this long before the previous
    # build's latest load.
    incremental_lookback_minutes: int
    demo_dir: Path
    demo_seed: int
    demo_scale: float
    alert_channels: tuple[str, ...]
    dashboard_path: Path
    # Dagster's runs and events in this PostgreSQL database (orchestration/dagster_postgres.yaml)
    # rather than in local files; None for the local files.
    dagster_postgres_url: str | None
    # The dbt target (DBT_TARGET, which dbt reads too) and the engine it builds on.
    dbt_target: str
    # Where the raw tables and the Python tables lie as Parquet for a Spark cluster: a local or
    # mounted path, or an object-store URL; None on DuckDB.
    storage_location: str | None
    # The Spark Thrift server, which profiles.yml's spark target also reads.
    spark_thrift_host: str
    spark_thrift_port: int

    @property
    def engine(self) -> str:
        return DBT_TARGETS[self.dbt_target]

    @property
    def sources(self) -> tuple[Source, ...]:
        return (self.erp, self.crm, self.web, self.hr)

    def landing_path(self, source: str) -> Path:
        """The DuckDB file dlt lands ``source``'s raw tables in: the warehouse, or on Spark, where
        the warehouse file holds only the served copy of the marts, a file of the source's own
        beside it, so that the sources load side by side (lib/lake.py then writes each load to
        the storage location). Named after the source alone: a database named like the schema
        `raw_<source>` inside it would make DuckDB's names ambiguous."""
        if self.engine == "duckdb":
            return self.warehouse_path
        return self.warehouse_path.parent / "landing" / f"{source}.duckdb"

    def dbt_vars(self) -> dict[str, str | int]:
        """The settings dbt reads as vars, so the marts and the job agree on them. They change
        seldom: a changed var makes dbt parse the whole project again."""
        return {
            "reporting_timezone": self.reporting_timezone,
            "reporting_currency": self.reporting_currency,
            "incremental_lookback_minutes": self.incremental_lookback_minutes,
        }

    def dbt_env(self) -> dict[str, str]:
        """The settings dbt reads from its environment: the as-of day (macro as_of()), new each
        day, read only when dbt runs the SQL, so that it parses nothing again for it; the target
        and profiles.yml's connections (the warehouse's path as an absolute one)."""
        return {
            "DBT_AS_OF": self.as_of.isoformat(),
            "DBT_TARGET": self.dbt_target,
            "WAREHOUSE_PATH": str(self.warehouse_path),
            "SPARK_THRIFT_HOST": self.spark_thrift_host,
            "SPARK_THRIFT_PORT": str(self.spark_thrift_port),
        }


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads and checks the settings from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env

    def read(name: str, default: str, parse: Callable[[str], T], example: str) -> T:
        value = env.get(name, "").strip() or default
        try:
            return parse(value)
        except ValueError as error:
            raise SettingsError(name, value, str(error), example) from None

    timezone = read("REPORTING_TIMEZONE", "UTC", _timezone, "Europe/Paris")
    target = read("DBT_TARGET", "dev", _dbt_target, " or ".join(DBT_TARGETS))
    storage = read("STORAGE_LOCATION", "", _location, "s3://company-lake/radar or /mnt/lake")
    if DBT_TARGETS[target] == "spark" and storage is None:
        raise SettingsError(
            "STORAGE_LOCATION", "", "the Spark target reads the raw tables from it", "/mnt/lake"
        )
    warehouse = read("WAREHOUSE_PATH", DEFAULT_WAREHOUSE, _file, "data/warehouse.duckdb")
    # A warehouse's serving copy (lib/serving.py), dashboard and alert file are beside it, so
    # that a company's own warehouse in a folder of its own never shares them with the demo's.
    beside = warehouse.parent
    # relative to the project where it can be, so the default channel's URL, which each alert
    # message's id hashes, reads as it always has: jsonl://data/alerts.jsonl
    if beside.is_relative_to(PROJECT_ROOT):
        beside = beside.relative_to(PROJECT_ROOT)
    channels = _channels(env.get("ALERT_CHANNELS", f"jsonl://{beside / 'alerts.jsonl'}"))
    sources = _sources(env)
    return Settings(
        warehouse_path=warehouse,
        serving_path=read(
            "SERVING_PATH", str(beside / "serving.duckdb"), _file, "data/serving.duckdb"
        ),
        erp=sources["erp"],
        crm=sources["crm"],
        crm_token=env.get("CRM_API_TOKEN") or None,
        crm_erp_link=read("CRM_ERP_LINK", DEFAULT_CRM_ERP_LINK, _link, "erp_customer_id or domain"),
        crm_reviews_object=read("CRM_REVIEWS_OBJECT", "p_reviews", _object, "p_reviews or off"),
        crm_request_timeout=read("CRM_REQUEST_TIMEOUT_SECONDS", "30", _positive, "30"),
        crm_object_deadline=read("CRM_OBJECT_DEADLINE_SECONDS", "1800", _positive, "1800"),
        crm_run_deadline=read("CRM_RUN_DEADLINE_SECONDS", "7200", _positive, "7200"),
        web=sources["web"],
        hr=sources["hr"],
        as_of=read("AS_OF", "", lambda v: _day(v, timezone, sources.values()), "2026-06-30"),
        reporting_timezone=timezone,
        reporting_currency=read("REPORTING_CURRENCY", "EUR", _currency, "EUR"),
        incremental_lookback_minutes=read(
            "INCREMENTAL_LOOKBACK_MINUTES", "1440", _not_negative, "1440"
        ),
        demo_dir=read("DEMO_PATH", "data/demo", _path, "data/demo"),
        demo_seed=read("DEMO_SEED", "42", _whole, "42"),
        demo_scale=read("DEMO_SCALE", "1", _positive, "1 (or 0.25, 10, 40)"),
        alert_channels=channels,
        dashboard_path=read(
            "DASHBOARD_PATH",
            str(beside / "dashboard" / "index.html"),
            _file,
            "data/dashboard/index.html",
        ),
        dagster_postgres_url=read(
            "DAGSTER_POSTGRES_URL",
            "",
            _postgres_url,
            "postgresql+psycopg2://dagster:secret@db:5432/dagster",
        ),
        dbt_target=target,
        storage_location=storage,
        spark_thrift_host=read("SPARK_THRIFT_HOST", "127.0.0.1", str, "spark-thrift.internal"),
        spark_thrift_port=read("SPARK_THRIFT_PORT", "10000", _whole, "10000"),
    )


def _sources(env: Mapping[str, str]) -> dict[str, Source]:
    """Each source from its variable (SOURCE_VARIABLES); unset is the demo while no source is
    the company's own, off once one is."""
    values = {
        name: (env.get(variable) or "").strip() for name, variable in SOURCE_VARIABLES.items()
    }
    own = any(value.lower() not in ("", "off", "demo") for value in values.values())
    sources = {}
    for name, value in values.items():
        if value.lower() in ("off", "demo"):
            sources[name] = Source(name, value.lower())
        elif value:
            _check_location(name, value)
            sources[name] = Source(name, "configured", value)
        else:
            sources[name] = Source(name, "off" if own else "demo", unset=True)
    return sources


def _check_location(source: str, value: str) -> None:
    """The ERP's location is a database URL, the CRM's a web address; the folders of the web
    events and the HR exports are looked for when a run starts."""
    variable = SOURCE_VARIABLES[source]
    if source == "erp" and not re.match(r"[A-Za-z][\w+.-]*://", value):
        problem = "not a database URL (SQLAlchemy's dialect+driver://…)"
        if Path(value).suffix in (".sqlite", ".sqlite3", ".db"):
            problem += f"; for this SQLite file: sqlite:///{Path(value).resolve()}"
        raise SettingsError(
            variable,
            value,
            problem,
            "sqlite:////srv/erp/erp.sqlite or postgresql+psycopg://user:password@host/erp, or off",
        )
    if source == "crm" and not re.match(r"https?://", value):
        raise SettingsError(
            variable, value, "not an http:// or https:// address", "https://api.hubapi.com, or off"
        )


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _file(value: str) -> Path:
    path = _path(value)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; a file path is expected")
    return path


def any_own(sources: Iterable[Source]) -> bool:
    """Whether a source is the company's own system: then the data is the company's."""
    return any(source.mode == "configured" for source in sources)


def _day(value: str, timezone: str, sources: Iterable[Source]) -> date:
    """The day of ``AS_OF``; unset, the latest day whose data is whole in the reporting time
    zone: yesterday when a source is the company's own (today is still coming in), today for
    the demo company, which is generated whole up to its as-of day."""
    if not value:
        today = datetime.now(ZoneInfo(timezone)).date()
        return today - timedelta(days=1) if any_own(sources) else today
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a calendar day in the form YYYY-MM-DD") from None


def _channels(value: str) -> tuple[str, ...]:
    """The URLs of ``ALERT_CHANNELS``, each one a channel can be sent to: ``jsonl://PATH`` or a
    URL Apprise knows. A bad one is named by its scheme alone, as URLs hold secrets."""
    channels = tuple(channel.strip() for channel in value.split(",") if channel.strip())
    for channel in channels:
        if not _reachable(channel):
            scheme, found, _ = channel.partition("://")
            raise SettingsError(
                "ALERT_CHANNELS",
                f"{scheme}://…" if found else "…",
                "not a channel: jsonl://PATH or a notification URL Apprise knows, with all "
                "its parts (https://github.com/caronc/apprise/wiki)",
                "jsonl://data/alerts.jsonl,slack://TokenA/TokenB/TokenC/#radar",
            )
    return channels


def _reachable(channel: str) -> bool:
    if channel.startswith("jsonl://"):
        return bool(channel.removeprefix("jsonl://").strip("/"))
    import apprise  # loads its plugins: only when a channel needs them

    return apprise.Apprise().add(channel)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone name") from None
    return value


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise ValueError("not a three-letter ISO 4217 currency code")
    return value.upper()


def _link(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError("neither `domain` nor the internal name of a CRM company property")
    return value


def _object(value: str) -> str | None:
    if value.lower() == "off":
        return None
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ValueError("not a HubSpot object name or type id")
    return value


def _postgres_url(value: str) -> str | None:
    if not value:
        return None
    if not re.match(r"postgres(ql)?(\+\w+)?://[^/]+/\w", value):
        raise ValueError("not a PostgreSQL URL with a host and a database")
    # SQLAlchemy 2.1 reads a bare postgresql:// with psycopg 3, on which Dagster's storage
    # fails at its first event (it binds NOTIFY's payload as a server-side parameter).
    if not value.startswith("postgresql+psycopg2://"):
        raise ValueError("Dagster's storage needs the psycopg2 driver: postgresql+psycopg2://")
    return value


def _dbt_target(value: str) -> str:
    if value not in DBT_TARGETS:
        raise ValueError(f"not a target of profiles.yml ({', '.join(DBT_TARGETS)})")
    return value


def _location(value: str) -> str | None:
    """A URL as it is (s3://…, gs://…, abfs://…), a path made absolute; None when empty."""
    if not value:
        return None
    return value if "://" in value else str(_path(value))


def _whole(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError("not a whole number") from None


def _not_negative(value: str) -> int:
    number = _whole(value)
    if number < 0:
        raise ValueError("below 0")
    return number


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("not a number") from None
    if not number > 0:
        raise ValueError("not above 0")
    return number
