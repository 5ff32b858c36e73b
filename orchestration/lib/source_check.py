"""Checks the user's sources against the raw contract before the first run.

`python -m orchestration check` prints, source by source and table by table, what is there,
what is missing and what to do, without loading anything. A required table or column that is
missing is an error (the run would stop on it); a missing optional table is a warning (its
marts build empty).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests
import sqlalchemy as sa

from orchestration.lib.raw_contract import source_tables
from orchestration.lib.raw_origin import mixed, recorded, run_origin
from orchestration.lib.settings import SOURCE_VARIABLES, Settings
from orchestration.lib.sources.crm import absent, crm_objects
from orchestration.lib.sources.erp import ErpUnreachable, check_database_url
from orchestration.lib.sources.hr import SUFFIX as HR_SUFFIX
from orchestration.lib.sources.web import SUFFIXES as WEB_SUFFIXES

Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    source: str
    table: str
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper():<8} {self.source:<4} {self.table:<16} {self.message}"


def check_sources(settings: Settings) -> list[Finding]:
    """Every finding, source by source; the demo and switched-off sources are only named."""
    findings: list[Finding] = []
    for source, check in (
        (settings.erp, _check_erp),
        (settings.crm, _check_crm),
        (settings.web, _check_folder),
        (settings.hr, _check_folder),
    ):
        if source.mode == "configured":
            findings += check(source.name, source.location or "", settings)
        else:
            what = {
                "demo": "the embedded demo company",
                "off": "off, unset beside a source of your own" if source.unset else "switched off",
            }[source.mode]
            findings.append(Finding(source.name, "-", "ok", f"{what}; nothing to check"))
    origin = run_origin(settings)
    for name in SOURCE_VARIABLES:
        landing = settings.landing_path(name)
        held = recorded(landing, name)
        if held not in (None, origin):
            findings.append(Finding(name, "warehouse", "error", mixed(landing, name, held, origin)))
    return findings


def _check_erp(name: str, url: str, settings: Settings) -> Iterator[Finding]:
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    try:
        check_database_url(url)
    except ErpUnreachable as error:
        yield Finding(name, "-", "error", str(error))
        return
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        present = set(inspector.get_table_names()) | set(inspector.get_view_names())
    except sa.exc.SQLAlchemyError as error:
        yield Finding(name, "-", "error", f"cannot connect to {shown}: {error.__class__.__name__}")
        return
    try:
        with engine.connect() as connection:
            for table in source_tables(name).values():
                if table.name != "exchange_rates" or table.name in present:
                    yield from _check_table(connection, inspector, present, table)
            yield from _rates(connection, inspector, present, settings.reporting_currency)
    finally:
        engine.dispose()


def _rates(connection, inspector, present: set[str], currency: str) -> Iterator[Finding]:
    """Whether the exchange rates convert every order to ``currency``: an ERP without them is
    fine while every order is in it; one with them must give each other currency of an order,
    or the first build stops on those orders."""
    columns = {
        name: {column["name"] for column in inspector.get_columns(name)}
        for name in ("orders", "exchange_rates")
        if name in present
    }
    rates = columns.get("exchange_rates")
    if rates is not None and not {"currency", "base_currency"} <= rates:
        return  # _check_table names the missing columns
    query = (
        "select distinct upper(trim(currency)) from orders where trim(currency) <> '' "
        "and upper(trim(currency)) <> :currency"
    )
    if rates is not None:
        query += (
            " and upper(trim(currency)) not in (select upper(currency) from exchange_rates "
            "where currency is not null union select upper(base_currency) from exchange_rates "
            "where base_currency is not null)"
        )
    foreign = []
    if "currency" in columns.get("orders", ()):
        rows = connection.execute(sa.text(query), {"currency": currency})
        foreign = sorted(code for (code,) in rows)
    if rates is None and not foreign:
        yield Finding("erp", "exchange_rates", "ok", f"not needed: every order is in {currency}")
    elif rates is None:
        yield Finding(
            "erp",
            "exchange_rates",
            "error",
            f"missing, and orders are in {', '.join(foreign[:5])}: their amounts need its "
            f"rates to {currency} (or set REPORTING_CURRENCY)",
        )
    elif foreign:
        yield Finding(
            "erp",
            "exchange_rates",
            "error",
            f"no rate of {', '.join(foreign[:5])}, the currency of some orders: the build "
            f"stops on them (they cannot convert to {currency}); add its rates, or correct the "
            "orders' currency",
        )


def _check_table(connection, inspector, present: set[str], table) -> Iterator[Finding]:
    if table.name not in present:
        if table.required:
            what = (
                "required table missing: create it, or a view of that name mapping your "
                f"tables to its columns ({', '.join(table.columns)})"
            )
            yield Finding(table.source, table.name, "error", what)
        else:
            what = "optional table missing: it lands empty and the marts it feeds are empty"
            yield Finding(table.source, table.name, "warning", what)
        return
    columns = {column["name"] for column in inspector.get_columns(table.name)}
    missing = [column for column in table.columns if column not in columns]
    if missing:
        yield Finding(
            table.source, table.name, "error", f"missing contract columns: {', '.join(missing)}"
        )
        return
    source = sa.table(table.name, *(sa.column(name) for name in table.columns))
    needed = (table.cursor, *table.needs)
    rows, *lacking = connection.execute(
        sa.select(
            sa.func.count(),
            *(sa.func.count().filter(source.c[name].is_(None)) for name in needed),
        )
    ).one()
    yield Finding(table.source, table.name, "ok", f"{rows:,} rows")
    for name, count in zip(needed, lacking, strict=True):
        if count:
            what = f"{count:,} of {rows:,} rows lack {name}: quarantined, not loaded"
            yield Finding(table.source, table.name, "warning", what)


def _check_crm(name: str, url: str, settings: Settings) -> Iterator[Finding]:
    """One request per HubSpot object type the reader uses: readable, absent or refused."""
    headers = {"Authorization": f"Bearer {settings.crm_token}"} if settings.crm_token else {}
    objects = crm_objects(settings.crm_erp_link, settings.crm_reviews_object)
    with requests.Session() as session:
        session.headers.update(headers)
        for table, sources in objects.items():
            for source in sources:
                endpoint = f"{url.rstrip('/')}/crm/v3/objects/{source.object_type}"
                try:
                    response = session.get(endpoint, params={"limit": 1}, timeout=30)
                except requests.RequestException as error:
                    yield Finding(name, table, "error", f"cannot reach {endpoint}: {error}")
                    return
                status = 404 if absent(response) else response.status_code
                level, meaning = _CRM_STATUS.get(status, ("error", f"answered HTTP {status}"))
                if table == "reviews" and status == 404:
                    meaning += " (CRM_REVIEWS_OBJECT names it: set it to yours, or to off)"
                elif status == 404 and len(sources) > 1:
                    others = ", ".join(o.object_type for o in sources if o is not source)
                    meaning = f"is not in this account: the table gets its rows from {others}"
                yield Finding(name, table, level, f"HubSpot object {source.object_type} {meaning}")


_CRM_STATUS: dict[int, tuple[Level, str]] = {
    200: ("ok", "is readable"),
    404: ("warning", "is not in this account: the table lands empty, its marts are empty"),
    401: ("error", "refused (401): check CRM_API_TOKEN"),
    403: ("error", "refused (403): give the private app its read scope"),
    # the run waits and retries a rate limit; a check only says so
    429: ("warning", "answered 429, the API's rate limit: the run waits for it; check again later"),
}


def _check_folder(name: str, location: str, settings: Settings) -> Iterator[Finding]:
    """The web events' folder, or the HR exports' folder or file, and the files it reads."""
    path = Path(location)
    (table,) = source_tables(name).values()
    suffixes = WEB_SUFFIXES if name == "web" else (HR_SUFFIX,)
    if not path.exists():
        yield Finding(name, table.name, "error", f"{path} does not exist")
        return
    if path.is_file() and name == "web":
        yield Finding(name, table.name, "error", f"{path} is a file: give its folder")
        return
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    readable = [p for p in files if p.suffix.lower() in suffixes]
    level: Level = "ok" if readable else "warning"
    kinds = " or ".join(suffixes)
    yield Finding(name, table.name, level, f"{len(readable)} {kinds} files in {path}")


def exit_status(findings: list[Finding]) -> int:
    """1 when a finding would stop the run, else 0."""
    return int(any(finding.level == "error" for finding in findings))
