"""Writes the demo company to a folder, the way its source systems would hold it.

- ``erp.sqlite``: the ERP tables of the raw contract (one row per key, its latest version);
- ``crm.sqlite``: the store the CRM API serves, one table per object type;
- ``web/events_YYYY-MM-DD.jsonl``: one file of web events per day;
- ``hr/pulse_YYYY-MM.csv``: one export of employee pulse responses per survey month;
- ``stories.json``: the planted stories; ``demo.json``: what was generated (seed, scale,
  anchor, "as of", row counts), written last.

Files are written in a temporary folder and moved into place, so a reader sees a whole file,
old or new, never half of one. ``ensure_demo`` serialises writers with a lock file.
"""

from __future__ import annotations

import csv
import dataclasses
import fcntl
import json
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from demo_company.crm_objects import OBJECT_TYPES, Crm, CrmObject, build_crm, crm_objects
from demo_company.hr_pulse import PULSE_KEYS, pulse_responses, survey_closes, survey_months
from demo_company.simulator import (
    DemoConfig,
    Stories,
    World,
    erp_tables,
    planted_stories,
    simulate,
)
from demo_company.web_events import EVENT_KEYS, web_days, web_events

ERP_SCHEMA = {
    "customers": {
        "customer_id": "INTEGER PRIMARY KEY", "customer_name": "TEXT", "email": "TEXT",
        "customer_type": "TEXT", "segment": "TEXT", "region": "TEXT", "country": "TEXT",
        "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP NOT NULL",
    },
    "products": {
        "product_id": "INTEGER PRIMARY KEY", "product_name": "TEXT", "category": "TEXT",
        "list_price": "NUMERIC(18, 2)", "updated_at": "TIMESTAMP NOT NULL",
    },
    "orders": {
        "order_id": "INTEGER PRIMARY KEY", "customer_id": "INTEGER NOT NULL",
        "order_date": "DATE NOT NULL", "status": "TEXT", "currency": "TEXT", "channel": "TEXT",
        "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP NOT NULL",
    },
    "order_lines": {
        "order_line_id": "INTEGER PRIMARY KEY", "order_id": "INTEGER NOT NULL",
        "product_id": "INTEGER", "quantity": "INTEGER", "unit_price": "NUMERIC(18, 2)",
        "discount_amount": "NUMERIC(18, 2)", "tax_amount": "NUMERIC(18, 2)",
        "updated_at": "TIMESTAMP NOT NULL",
    },
    "refunds": {
        "refund_id": "INTEGER PRIMARY KEY", "order_id": "INTEGER NOT NULL", "refund_date": "DATE",
        "amount": "NUMERIC(18, 2)", "currency": "TEXT", "reason": "TEXT",
        "updated_at": "TIMESTAMP NOT NULL",
    },
    "exchange_rates": {
        "rate_date": "DATE NOT NULL", "base_currency": "TEXT NOT NULL",
        "currency": "TEXT NOT NULL", "rate": "DOUBLE NOT NULL",
        "updated_at": "TIMESTAMP NOT NULL",
    },
}  # fmt: skip
MANIFEST = "demo.json"


@dataclass(frozen=True)
class DemoPaths:
    """Where a written demo company lives."""

    directory: Path

    @property
    def erp_db(self) -> Path:
        return self.directory / "erp.sqlite"

    @property
    def erp_url(self) -> str:
        """SQLAlchemy URL of the ERP database."""
        return f"sqlite:///{self.erp_db.resolve()}"

    @property
    def crm_db(self) -> Path:
        return self.directory / "crm.sqlite"

    @property
    def web_dir(self) -> Path:
        return self.directory / "web"

    @property
    def hr_dir(self) -> Path:
        return self.directory / "hr"

    @property
    def stories(self) -> Path:
        return self.directory / "stories.json"

    @property
    def manifest(self) -> Path:
        return self.directory / MANIFEST


def web_file_name(day: date) -> str:
    return f"events_{day.isoformat()}.jsonl"


def hr_file_name(month: date) -> str:
    return f"pulse_{month:%Y-%m}.csv"


def write_demo(directory: Path, config: DemoConfig) -> DemoPaths:
    """Generates the demo company for ``config`` and writes it to ``directory``."""
    return _write(Path(directory), config, known_until=None)


def ensure_demo(
    directory: Path,
    as_of: date,
    seed: int = 42,
    scale: float = 1.0,
    stories: Stories | None = None,
) -> DemoPaths:
    """The demo company as of ``as_of`` in ``directory``, generating it only when needed.

    Already there with the same seed, scale and stories: as is. There as of an earlier day:
    regenerated for the new day with the recorded anchor, so stories keep their dates and only
    the new days' web files and the surveys still open are written (a demo written before it
    had HR exports gets them the same way). Otherwise generated with the anchor on ``as_of``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stories = stories or Stories()
    with _locked(directory):
        paths = DemoPaths(directory)
        recorded = read_manifest(paths)
        same = (
            recorded is not None
            and recorded["seed"] == seed
            and float(recorded["scale"]) == float(scale)
            and recorded["stories"] == dataclasses.asdict(stories)
            and paths.erp_db.exists()
            and paths.crm_db.exists()
        )
        if same:
            recorded_as_of = date.fromisoformat(recorded["as_of"])
            if recorded_as_of == as_of and paths.hr_dir.is_dir():
                return paths
            if recorded_as_of <= as_of:
                config = DemoConfig(
                    as_of=as_of,
                    seed=seed,
                    scale=scale,
                    anchor=date.fromisoformat(recorded["anchor"]),
                    stories=stories,
                )
                return _write(directory, config, known_until=recorded_as_of)
        config = DemoConfig(as_of=as_of, seed=seed, scale=scale, stories=stories)
        return _write(directory, config, known_until=None)


def read_manifest(paths: DemoPaths) -> dict | None:
    try:
        return json.loads(paths.manifest.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    # Extraction steps may ask for the demo from several processes at once.
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(directory: Path, config: DemoConfig, known_until: date | None) -> DemoPaths:
    directory.mkdir(parents=True, exist_ok=True)
    paths = DemoPaths(directory)
    world = simulate(config)
    crm = build_crm(world)
    counts: Counter[str] = Counter()
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=directory))
    try:
        counts.update(_write_erp(staging / "erp.sqlite", world))
        counts.update(write_crm_store(staging / "crm.sqlite", crm_objects(crm)))
        (staging / "web").mkdir()
        expected = {web_file_name(world.day(d)) for d in web_days(world)}
        # Past days' events never change: advancing writes only the files of the new days.
        days = [
            d
            for d in web_days(world)
            if known_until is None
            or world.day(d) > known_until
            or not (paths.web_dir / web_file_name(world.day(d))).exists()
        ]
        counts["web_files"] = len(expected)
        counts["web_events_written"] = _write_web(staging / "web", world, crm, days)
        (staging / "hr").mkdir()
        # A closed survey's export never changes: only the surveys open since the last
        # generation (and missing files) are written again.
        months = {
            m
            for m in survey_months(config)
            if known_until is None
            or survey_closes(m) > known_until
            or not (paths.hr_dir / hr_file_name(m)).exists()
        }
        counts.update(_write_hr(staging / "hr", config, months))
        _dump_json(staging / "stories.json", _stories_json(config))

        for name in ("erp.sqlite", "crm.sqlite", "stories.json"):
            os.replace(staging / name, directory / name)
        paths.web_dir.mkdir(exist_ok=True)
        for file in sorted((staging / "web").iterdir()):
            os.replace(file, paths.web_dir / file.name)
        for stale in paths.web_dir.glob("events_*.jsonl"):
            if stale.name not in expected:
                stale.unlink()
        paths.hr_dir.mkdir(exist_ok=True)
        for file in sorted((staging / "hr").iterdir()):
            os.replace(file, paths.hr_dir / file.name)
        surveys = {hr_file_name(m) for m in survey_months(config)}
        for stale in paths.hr_dir.glob("pulse_*.csv"):
            if stale.name not in surveys:
                stale.unlink()
        manifest = {
            "seed": config.seed,
            "scale": config.scale,
            "anchor": config.anchor_date.isoformat(),
            "as_of": config.as_of.isoformat(),
            "history_start": config.history_start.isoformat(),
            "stories": dataclasses.asdict(config.stories),
            "rows": dict(counts),
        }
        _dump_json(staging / MANIFEST, manifest)
        os.replace(staging / MANIFEST, paths.manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths


def _stories_json(config: DemoConfig) -> list[dict]:
    return [
        {key: value.isoformat() if isinstance(value, date) else value for key, value in s.items()}
        for s in planted_stories(config)
    ]


def _dump_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _fast(db: sqlite3.Connection) -> None:
    # A file written once into a temporary folder needs no journal.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")


def _write_erp(path: Path, world: World) -> Counter[str]:
    counts: Counter[str] = Counter()
    with closing(sqlite3.connect(path)) as db:
        _fast(db)
        for table, columns in ERP_SCHEMA.items():
            spec = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            db.execute(f"CREATE TABLE {table} ({spec})")
        for table, columns in erp_tables(world):
            names = list(ERP_SCHEMA[table])
            db.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                zip(*(columns[name] for name in names), strict=True),
            )
            counts[table] += len(columns[names[0]])
        for table in ERP_SCHEMA:
            db.execute(f"CREATE INDEX {table}_updated_at ON {table} (updated_at)")
        db.execute("CREATE INDEX order_lines_order ON order_lines (order_id)")
        db.commit()
    return counts


def write_crm_store(path: Path, chunks: Iterable[tuple[str, list[CrmObject]]]) -> Counter[str]:
    """The store the CRM API serves: per object type (id, created_at, updated_at, archived,
    properties as JSON), timestamps as ISO 8601 UTC texts that sort in time order."""
    counts: Counter[str] = Counter()
    with closing(sqlite3.connect(path)) as db:
        _fast(db)
        for name in OBJECT_TYPES:
            db.execute(
                f"CREATE TABLE {name} (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
                "updated_at TEXT NOT NULL, archived INTEGER NOT NULL, properties TEXT NOT NULL)"
            )
        for name, rows in chunks:
            db.executemany(
                f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?)",
                (
                    (i, created, updated, int(archived), json.dumps(props, ensure_ascii=False))
                    for i, created, updated, archived, props in rows
                ),
            )
            counts[name] += len(rows)
        for name in OBJECT_TYPES:
            # The API lists objects by (updatedAt, id), live and archived ones apart.
            db.execute(f"CREATE INDEX {name}_listing ON {name} (archived, updated_at, id)")
        db.commit()
    return counts


# Web event values are ids, paths and timestamps without quotes or backslashes: a format
# string writes valid JSON several times faster than json.dumps.
EVENT_LINE = "{" + ", ".join(f'"{key}": "%s"' for key in EVENT_KEYS) + "}\n"


def _write_web(folder: Path, world: World, crm: Crm, days: list[int]) -> int:
    total = 0
    for day, events in web_events(world, crm, days):
        rows = zip(*(events[key] for key in EVENT_KEYS), strict=True)
        (folder / web_file_name(day)).write_text("".join(EVENT_LINE % row for row in rows))
        total += len(events["event_id"])
    return total


def _write_hr(folder: Path, config: DemoConfig, months: set[date]) -> Counter[str]:
    """Writes the exports of ``months``; counts the files and responses of every survey."""
    counts: Counter[str] = Counter()
    for month, responses in pulse_responses(config):
        counts["hr_files"] += 1
        counts["hr_responses"] += len(responses["response_id"])
        if month not in months:
            continue
        with (folder / hr_file_name(month)).open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(PULSE_KEYS)
            writer.writerows(zip(*(responses[key] for key in PULSE_KEYS), strict=True))
    return counts
