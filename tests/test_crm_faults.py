"""The CRM reader under faults of the API: the real reader, through a fault proxy on loopback in
front of the demo CRM server. Each fault ends in a clear error within a bounded time, or in a
recovery; either way the next normal read lands every object once, none lost, none twice.

Each read runs under a guard: one still running after ``GUARD`` seconds fails its test
(without the bounds, a repeating cursor read for ever and a day-long Retry-After held the run
for 20 minutes). The outcome of every fault is printed as a table at the end of the module.
"""

import re
import shutil
import sqlite3
import threading
import time
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from report import print_table

from demo_company.crm_server import CrmServer
from demo_company.fault_proxy import Fault, FaultProxy
from orchestration.defs.ingest.assets import _crm, pipeline
from orchestration.lib.settings import SettingsError, load_settings
from orchestration.lib.sources.crm import (
    SEARCH_PAGE_SIZE,
    CrmReadError,
    HubSpot,
    crm_objects,
    crm_source,
)

GUARD = 120.0  # seconds: a read not over by then is taken for one that never ends
# Bounds small enough for a test, large enough for a slow shared machine to read the table.
LIMITS = {"request_timeout": 10.0, "object_deadline": 60.0, "run_deadline": 90.0}
SEARCH = "/crm/v3/objects/contacts/search"
ARCHIVED = "/crm/v3/objects/contacts?archived=true"
ASSOCIATIONS = "/crm/v4/associations/contacts/companies/batch/read"


@dataclass
class Outcome:
    error: BaseException | None
    seconds: float

    @property
    def message(self) -> str | None:
        """The reader's own error, wherever dlt wrapped it."""
        error = self.error
        while error is not None:
            if isinstance(error, CrmReadError):
                return str(error)
            error = error.__cause__ or error.__context__
        return None

    def summary(self) -> str:
        if self.error is None:
            return f"read in {self.seconds:.1f} s"
        return f"error in {self.seconds:.1f} s"

    def reason(self) -> str:
        return self.message or f"{type(self.error).__name__}: {self.error}"


@dataclass
class Rows:
    lost: int
    duplicated: int


@dataclass
class Row:
    fault: str
    faulty: Outcome
    recovery: str
    rows: Rows


TABLE: list[Row] = []


@pytest.fixture(scope="module", autouse=True)
def fault_table(request):
    """Prints the table of faults and their outcomes, then the errors the faulty reads
    raised, when the module's tests are done."""
    yield TABLE
    rows = [["fault", "faulty read", "next read", "lost", "twice"]] + [
        [row.fault, row.faulty.summary(), row.recovery, *map(str, astuple(row.rows))]
        for row in TABLE
    ]
    errors = [
        f"{row.fault}: {row.faulty.reason()[:400]}" for row in TABLE if row.faulty.error is not None
    ]
    print_table(request.config, "CRM faults", rows if TABLE else [], errors)


@pytest.fixture
def crm(small_demo):
    """The demo CRM server and, in front of it, the fault proxy the reader is pointed at."""
    with CrmServer(small_demo.crm_db) as server, FaultProxy(server.url) as proxy:
        yield proxy


def read(url, warehouse, table="contacts", lookback_days=3, **limits) -> Outcome:
    """Loads ``table`` from the CRM at ``url`` as the extraction does, under the guard."""
    source = crm_source(url, lookback_days=lookback_days, **(LIMITS | limits))
    return guarded(source, warehouse, table)


def guarded(source, warehouse, table="contacts") -> Outcome:
    """Loads ``table`` of ``source``; fails the test if the load is not over within GUARD."""
    caught: list[BaseException] = []

    def run():
        try:
            pipeline("crm", warehouse).run(source.with_resources(table))
        except Exception as error:
            caught.append(error)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(GUARD)
    if worker.is_alive():
        pytest.fail(f"the CRM read still runs after {GUARD:g} s: it is not bounded")
    return Outcome(caught[0] if caught else None, time.monotonic() - started)


def _epoch(moment) -> int:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return int(moment.timestamp())


def rows_of(crm_db, warehouse, table="contacts") -> Rows:
    """Raw against the CRM store: versions the store holds that raw lacks, rows twice in raw."""
    with sqlite3.connect(crm_db) as db:
        held = {(i, _epoch(u)) for i, u in db.execute(f"select id, updated_at from {table}")}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        raw = con.execute(f"select id, updated_at from raw_crm.{table}").fetchall()
    landed = [(i, _epoch(u)) for i, u in raw]
    return Rows(lost=len(held - set(landed)), duplicated=len(landed) - len(set(landed)))


def fault_then_recovery(crm, small_demo, warehouse, name, fault, **limits) -> Outcome:
    """Reads through ``fault`` (with ``limits``), then clears it and reads again with the
    usual limits: the second read must land the whole table once. Returns the faulty read's
    outcome; records both in the table."""
    crm.inject(fault)
    faulty = read(crm.url, warehouse, **limits)
    crm.clear()
    recovery = read(crm.url, warehouse)
    assert recovery.error is None, recovery.summary()
    rows = rows_of(small_demo.crm_db, warehouse)
    TABLE.append(Row(name, faulty, recovery.summary(), rows))
    assert (rows.lost, rows.duplicated) == (0, 0)
    return faulty


def test_a_burst_of_500s_is_retried_each_retry_logged_and_the_read_loses_and_repeats_nothing(
    crm, small_demo, warehouse, caplog
):
    crm.inject(Fault("status", path=SEARCH, skip=2, times=2))
    with caplog.at_level("WARNING", logger="orchestration.lib.sources.crm"):
        outcome = read(crm.url, warehouse)
    assert outcome.error is None, outcome.summary()
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2
    assert "CRM contacts" in retries[0] and "HTTP 500" in retries[0]
    assert f"{crm.url}{SEARCH}" in retries[0] and "retry 1 of 4 in 1 s" in retries[0]
    rows = rows_of(small_demo.crm_db, warehouse)
    TABLE.append(Row("500 twice, mid-read (retried)", outcome, "-", rows))
    assert (rows.lost, rows.duplicated) == (0, 0)


def test_500s_without_end_fail_after_five_tries_naming_the_request_and_the_answer(
    crm, small_demo, warehouse
):
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        "500 for ever, mid-read (back-off 0.1 s)",
        Fault("status", path=SEARCH, skip=2),
        backoff=0.1,
    )
    assert faulty.message is not None, faulty.summary()
    assert f"CRM contacts: POST {crm.url}{SEARCH} failed 5 times" in faulty.message
    assert "HTTP 500" in faulty.message and "Internal error, please retry." in faulty.message
    assert faulty.seconds < 0.1 + 0.2 + 0.4 + 0.8 + 30  # the back-off, and a slow machine


def test_500s_without_end_stop_at_the_object_deadline(crm, small_demo, warehouse):
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        "500 for ever, object deadline 2 s",
        Fault("status", path=SEARCH, skip=2),
        object_deadline=2.0,
    )
    assert faulty.message is not None, faulty.summary()
    assert "the deadline of 2 s for one object type" in faulty.message
    assert "CRM_OBJECT_DEADLINE_SECONDS" in faulty.message
    assert faulty.seconds < 2 + 30


def test_a_retry_after_of_a_day_fails_at_once_saying_when_to_run_again(crm, small_demo, warehouse):
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        "429 Retry-After: 86400, mid-read",
        Fault("rate_limit", path=SEARCH, skip=2, retry_after=86_400),
    )
    assert faulty.message is not None, faulty.summary()
    assert f"POST {crm.url}{SEARCH} answered HTTP 429 with Retry-After: 86400" in faulty.message
    when = re.search(r"Run again after (\S+ \S+) UTC", faulty.message)
    assert when, faulty.message
    retry_at = datetime.fromisoformat(when[1]).replace(tzinfo=UTC)
    assert abs(retry_at - (datetime.now(UTC) + timedelta(days=1))) < timedelta(minutes=5)
    assert faulty.seconds < 30


def test_a_hanging_crm_is_cut_by_the_request_timeout_and_the_object_deadline(
    crm, small_demo, warehouse
):
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        "hang, mid-read (timeout 1 s, deadline 4 s)",
        Fault("hang", path=SEARCH, skip=2),
        request_timeout=1.0,
        object_deadline=4.0,
    )
    assert faulty.message is not None, faulty.summary()
    assert f"CRM contacts: POST {crm.url}{SEARCH}" in faulty.message
    assert "no answer (ReadTimeout" in faulty.message
    assert "deadline of 4 s for one object type" in faulty.message
    assert crm.faulted("hang") >= 2  # timed out, retried, timed out
    assert faulty.seconds < 4 + 30


def test_a_slow_crm_stops_at_the_run_deadline(crm, small_demo, warehouse):
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        "0.5 s a request, run deadline 3 s",
        Fault("slow", delay=0.5),
        run_deadline=3.0,
    )
    assert faulty.message is not None, faulty.summary()
    assert "the run's deadline of 3 s (CRM_RUN_DEADLINE_SECONDS)" in faulty.message
    assert faulty.seconds < 3 + 30


@pytest.mark.parametrize(
    ("where", "path", "method"),
    [("search", SEARCH, "POST"), ("associations", ASSOCIATIONS, "POST")],
)
def test_an_answer_that_is_not_json_names_the_url_the_status_and_the_first_bytes(
    crm, small_demo, warehouse, where, path, method
):
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        f"malformed JSON, {where}",
        Fault("malformed", path=path, method=method, skip=1, times=1),
    )
    assert faulty.message is not None, faulty.summary()
    assert f"{method} {crm.url}{path} answered HTTP 200" in faulty.message
    assert "with a body that is not JSON; the body begins '{\"" in faulty.message
    assert faulty.seconds < 30


@pytest.mark.parametrize(
    ("where", "path", "method", "problem"),
    [
        ("search", SEARCH, "POST", "`results` that is not a list"),
        ("archived list", ARCHIVED, "GET", "`results` that is not a list"),
        ("associations", ASSOCIATIONS, "POST", "`results` that is not a list"),
    ],
)
def test_an_answer_of_the_wrong_shape_names_the_url_the_status_and_the_first_bytes(
    crm, small_demo, warehouse, where, path, method, problem
):
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        f"wrong shape, {where}",
        Fault("wrong_shape", path=path, method=method, times=1),
    )
    assert faulty.message is not None, faulty.summary()
    assert f"{method} {crm.url}{path} answered" in faulty.message
    assert f"answered HTTP 200 with {problem}" in faulty.message
    assert """the body begins '{"results": "unavailable", "paging": "none"}'""" in faulty.message
    assert faulty.seconds < 30


def test_a_repeating_paging_cursor_fails_naming_the_object_and_the_cursor(
    crm, small_demo, warehouse
):
    faulty = fault_then_recovery(
        crm, small_demo, warehouse, "repeating cursor, search", Fault("repeat_cursor", path=SEARCH)
    )
    assert faulty.message is not None, faulty.summary()
    assert faulty.message.startswith(f"CRM contacts: the API pages in a loop: POST {crm.url}")
    repeated = f"answered paging.next.after='{SEARCH_PAGE_SIZE}' on page 2, a cursor it had"
    assert repeated in faulty.message
    assert crm.faulted("repeat_cursor") == 2  # stopped at the first repeat
    assert faulty.seconds < 30


def test_a_search_that_ignores_its_filter_fails_instead_of_reading_back_for_ever(
    crm, small_demo, warehouse
):
    assert read(crm.url, warehouse).error is None
    faulty = fault_then_recovery(
        crm,
        small_demo,
        warehouse,
        "search ignoring its filter, next read",
        Fault("ignore_filter", path=SEARCH),
    )
    assert faulty.message is not None, faulty.summary()
    assert "CRM contacts: the search for lastmodifieddate >= " in faulty.message
    assert "answered objects modified before it" in faulty.message


def test_the_extractions_crm_reads_are_bounded_by_the_settings(crm, warehouse, monkeypatch):
    monkeypatch.setenv("CRM_REQUEST_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("CRM_OBJECT_DEADLINE_SECONDS", "3")
    crm.inject(Fault("hang", path=SEARCH))
    faulty = guarded(_crm(crm.url), warehouse)
    assert faulty.message is not None, faulty.summary()
    assert "read timeout=0.5" in faulty.message
    assert "the deadline of 3 s for one object type" in faulty.message


@pytest.mark.parametrize(
    "variable",
    ["CRM_REQUEST_TIMEOUT_SECONDS", "CRM_OBJECT_DEADLINE_SECONDS", "CRM_RUN_DEADLINE_SECONDS"],
)
@pytest.mark.parametrize("value", ["0", "-5", "an hour"])
def test_a_crm_bound_that_is_not_a_positive_number_of_seconds_is_refused(variable, value):
    with pytest.raises(SettingsError, match=rf"^{variable}=.*not (above 0|a number)"):
        load_settings({variable: value})


def test_retries_are_bounded_in_number_whatever_the_deadlines(crm):
    crm.inject(Fault("status", status=503))
    api = HubSpot(crm.url, None, backoff=0.01, object_deadline=600, run_deadline=600)
    started = time.monotonic()
    with pytest.raises(CrmReadError, match=r"failed 5 times, the last with HTTP 503"):
        list(api.read(crm_objects()["companies"][0], datetime(2026, 1, 1, tzinfo=UTC)))
    assert crm.faulted("status") == 5
    assert time.monotonic() - started < 30


def test_a_read_that_fails_midway_moves_no_cursor_and_the_next_read_loads_each_change_once(
    small_demo, warehouse, tmp_path
):
    store = tmp_path / "crm.sqlite"
    shutil.copy(small_demo.crm_db, store)
    with CrmServer(store) as server, FaultProxy(server.url) as proxy:
        assert read(proxy.url, warehouse, lookback_days=0).error is None
    cursor_before = cursor_of(warehouse)

    # 250 contacts change, a minute apart: three pages of changes in modified-date order
    with sqlite3.connect(store) as db:
        ids = [i for (i,) in db.execute("select id from contacts where not archived limit 250")]
        for minute, i in enumerate(ids):
            moment = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(minutes=minute)
            db.execute(
                "update contacts set updated_at = ? where id = ?",
                (moment.strftime("%Y-%m-%dT%H:%M:%SZ"), i),
            )
    with CrmServer(store) as server, FaultProxy(server.url) as proxy:
        # the first page of changes lands in dlt's extraction, then the API refuses for a day
        proxy.inject(Fault("rate_limit", path=SEARCH, skip=1, retry_after=86_400))
        faulty = read(proxy.url, warehouse, lookback_days=0)
        assert faulty.message is not None and "Retry-After: 86400" in faulty.message
        assert proxy.log[0][2] is None and proxy.log[0][1] == SEARCH  # a page was read
        assert cursor_of(warehouse) == cursor_before

        proxy.clear()
        recovery = read(proxy.url, warehouse, lookback_days=0)
    assert recovery.error is None, recovery.summary()
    assert cursor_of(warehouse) == datetime(2026, 7, 1, 4, 9, tzinfo=UTC)  # the last change
    rows = rows_of(store, warehouse)
    TABLE.append(Row("429 of a day, mid-read of 250 changes", faulty, recovery.summary(), rows))
    assert (rows.lost, rows.duplicated) == (0, 0)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        changed = con.execute(
            "select count(*) from raw_crm.contacts where updated_at >= '2026-07-01'"
        ).fetchone()
    assert changed == (250,)


def cursor_of(warehouse) -> datetime:
    """dlt's cursor of raw_crm.contacts, as the pipeline's saved state holds it."""
    state = pipeline("crm", warehouse).state
    incremental = state["sources"]["crm"]["resources"]["contacts"]["incremental"]
    return incremental["updated_at"]["last_value"]
