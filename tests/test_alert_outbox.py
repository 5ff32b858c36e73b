"""The alert outbox: every alert reaches every channel once, whoever delivers and whatever dies.

The warehouse holds the average order value of `test_sensor_delivery`, 4 % down (one alert).
Channels are real webhooks on loopback whose answers each test plans. The retries run on a
clock the test advances, so no test waits for a back-off.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from radar_runs import RUN_TIMEOUT, project_instance
from receivers import WAIT
from samples import order_value_marts

from orchestration.defs.monitoring.alerts import (
    KPI_ALERTS,
    cursor_at,
    kpi_alert_sensor,
    kpi_alerts,
    raise_alerts,
)
from orchestration.defs.reporting_day import ReportingDay
from orchestration.lib import outbox
from orchestration.lib.monitor import evaluate_warehouse, record_alerts
from orchestration.lib.run_lock import Owner, holding, lock_path
from orchestration.lib.settings import PROJECT_ROOT
from orchestration.recovery import owner_tags

START = date(2025, 1, 6)
DECLINE = START + timedelta(days=200)  # the average order value is 4 % lower from here
TODAY = START + timedelta(days=210)
ALERT_ID = "average_order_value|total|all|decline"
RESOURCES = {"reporting_day": ReportingDay()}


def publish_marts(warehouse: Path) -> None:
    days = [START + timedelta(days=offset) for offset in range((TODAY - START).days + 1)]
    order_value_marts(warehouse, days, 400, 1600, lambda day: 960.0 if day >= DECLINE else 1000.0)


@pytest.fixture
def radar(tmp_path, monkeypatch, receivers):
    """A warehouse with the declining KPI, the settings naming two channels, an instance."""
    for name in ("ERP_DATABASE_URL", "CRM_API_URL", "WEB_EVENTS_PATH"):
        monkeypatch.delenv(name, raising=False)
    warehouse = tmp_path / "warehouse.duckdb"
    publish_marts(warehouse)
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    channels = [receivers.url("/flaky"), receivers.url("/steady")]
    monkeypatch.setenv("ALERT_CHANNELS", ",".join(channels))
    monkeypatch.setenv("AS_OF", TODAY.isoformat())
    with project_instance() as instance:
        yield warehouse, channels, instance


def evaluate(warehouse: Path, channels: list[str]) -> None:
    with duckdb.connect(str(warehouse)) as con:
        record_alerts(con, evaluate_warehouse(con, today=TODAY), channels)


def outbox_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select channel_shown, state, status, attempts from monitoring.alert_outbox "
            "order by channel_shown, attempts"
        ).fetchall()


def materialize(instance: dg.DagsterInstance) -> None:
    assert dg.materialize([kpi_alerts], instance=instance, resources=RESOURCES).success


def tick(instance: dg.DagsterInstance, cursor: str | None = None) -> str:
    result = kpi_alert_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
    return result.skip_message


class Clock:
    """The deliverers' clock, from a second after the messages were recorded."""

    def __init__(self) -> None:
        self.now = outbox.utcnow() + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


def test_a_channel_that_fails_twice_gets_the_alert_once_after_backing_off_and_the_other_once(
    radar, receivers, caplog
):
    warehouse, channels, _ = radar
    receivers.plans["/flaky"] = [500, 503]
    evaluate(warehouse, channels)
    clock, log = Clock(), logging.getLogger("radar")
    start = clock.now

    first = outbox.deliver(warehouse, channels, log, now=clock)
    assert first.accepted == 2 and len(first.failures) == 1  # the log and /steady
    assert first.next_due == start + timedelta(seconds=15)
    # not before its back-off is over
    clock.now = start + timedelta(seconds=14)
    assert outbox.deliver(warehouse, channels, log, now=clock).accepted == 0
    clock.now = start + timedelta(seconds=15)
    second = outbox.deliver(warehouse, channels, log, now=clock)
    assert second.accepted == 0 and second.next_due == clock.now + timedelta(seconds=30)
    clock.now += timedelta(seconds=30)
    assert outbox.deliver(warehouse, channels, log, now=clock).accepted == 1
    clock.now += timedelta(hours=3)
    assert outbox.deliver(warehouse, channels, log, now=clock).accepted == 0

    assert len(receivers.to("/flaky", accepted=False)) == 3
    assert [body["title"] for body in receivers.to("/flaky")] == ["New: Average order value"]
    assert [body["title"] for body in receivers.to("/steady", accepted=False)] == [
        "New: Average order value"
    ]
    assert outbox_rows(warehouse) == [
        ("json://127.0.0.1/…", "new", "sent", 1),
        ("json://127.0.0.1/…", "new", "sent", 3),
        ("log", "new", "sent", 1),
    ]
    assert "(try 1 of 10); tried again in 15 s" in caplog.text
    assert "(try 2 of 10); tried again in 30 s" in caplog.text


def test_a_channel_that_never_accepts_is_given_up_after_its_tries_and_the_log_says_so(
    radar, receivers, caplog
):
    warehouse, channels, _ = radar
    receivers.plans["/flaky"] = [500] * 50
    evaluate(warehouse, channels)
    clock, log = Clock(), logging.getLogger("radar")
    start = clock.now
    delivery = outbox.deliver(warehouse, channels, log, now=clock)
    while delivery.next_due is not None:
        clock.now = delivery.next_due
        delivery = outbox.deliver(warehouse, channels, log, now=clock)
    assert len(delivery.gave_up) == 1
    assert len(receivers.to("/flaky", accepted=False)) == outbox.MAX_ATTEMPTS == 10
    # about two hours of tries, then nothing more
    assert clock.now - start == sum((outbox.retry_delay(n) for n in range(1, 10)), timedelta())
    clock.now += timedelta(days=1)
    assert outbox.deliver(warehouse, channels, log, now=clock).accepted == 0
    assert len(receivers.to("/flaky", accepted=False)) == 10
    assert len(receivers.to("/steady")) == 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        failed = con.execute(
            "select status, attempts, last_error from monitoring.alert_outbox "
            "where status <> 'sent'"
        ).fetchall()
    assert failed == [("failed", 10, "json://127.0.0.1/…: the notification was not delivered")]
    assert "([NEW] Average order value) FAILED for good after 10 tries" in caplog.text


def test_alerts_delivered_by_make_run_are_not_sent_again_by_the_sensor(radar, receivers):
    _, _, instance = radar
    before = instance.fetch_materializations(KPI_ALERTS, limit=1).records
    materialize(instance)
    # what `make run` does after its job
    sent, _ = raise_alerts(instance, cursor_at(before[0] if before else None), logging.getLogger())
    assert [alert["state"] for alert in sent] == ["new"]
    assert len(receivers.to("/flaky")) == len(receivers.to("/steady")) == 1

    # `make dev` then starts: its sensor has no cursor yet, then ticks again and again
    assert tick(instance) == "no KPI alert message to send"
    assert tick(instance, cursor_at(None)) == "no KPI alert message to send"
    # the same day run again records the same state: nothing more, by either
    materialize(instance)
    assert raise_alerts(instance, None, logging.getLogger())[0] == []
    tick(instance)
    assert len(receivers.requests) == 2


def test_two_deliverers_at_once_send_each_message_once(radar, receivers):
    _, _, instance = radar
    materialize(instance)
    receivers.hold = True
    run = threading.Thread(target=raise_alerts, args=(instance, None, logging.getLogger()))
    run.start()
    try:
        # the run's delivery is on its way to the first channel, not yet accepted ...
        assert receivers.holding.wait(WAIT)
        # ... while the sensor ticks: the messages are claimed, it sends none of them
        tick(instance)
        tick(instance)
    finally:
        receivers.release()
        run.join(WAIT)
    assert not run.is_alive()
    tick(instance)
    assert len(receivers.to("/flaky", accepted=False)) == 1
    assert len(receivers.to("/steady", accepted=False)) == 1


HOLD_THE_WAREHOUSE = """
import sys
from pathlib import Path
import duckdb
from orchestration.lib.run_lock import Owner, WarehouseLock
warehouse = Path(sys.argv[1])
lock = WarehouseLock(warehouse)
lock.acquire(Owner.current("daily-run"))
con = duckdb.connect(str(warehouse))
print("holding", flush=True)
sys.stdin.readline()
"""


def test_the_sensor_leaves_a_warehouse_a_run_holds_alone_and_delivers_once_it_ends(
    radar, receivers
):
    warehouse, _, instance = radar
    materialize(instance)
    run = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WAREHOUSE, str(warehouse)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout.readline() == "holding\n"
        message = tick(instance)
        assert "alerts wait in the outbox: the warehouse is in use by run daily-run" in message
        assert receivers.requests == []
    finally:
        run.communicate("done\n", timeout=WAIT)
    assert tick(instance) == "sent 3 KPI alert message(s)"
    assert len(receivers.to("/flaky")) == len(receivers.to("/steady")) == 1


EVALUATE_THEN_DIE = """
import os, signal
import dagster as dg
from orchestration.defs.monitoring.alerts import kpi_alerts
from orchestration.defs.reporting_day import ReportingDay
result = dg.materialize([kpi_alerts], instance=dg.DagsterInstance.get(),
                        resources={"reporting_day": ReportingDay()})
assert result.success
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.e2e
def test_alerts_of_a_run_killed_after_its_evaluation_are_sent_by_the_next_run(
    radar, receivers, tmp_path, monkeypatch
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    died = subprocess.run(
        [sys.executable, "-c", EVALUATE_THEN_DIE], cwd=PROJECT_ROOT, env=os.environ.copy()
    )
    assert died.returncode == -signal.SIGKILL
    assert receivers.requests == []

    # the next `make run`: its evaluation finds the alert ongoing, then it delivers
    with dg.DagsterInstance.get() as instance:
        before = instance.fetch_materializations(KPI_ALERTS, limit=1).records
        assert before  # the killed run had recorded its evaluation
        materialize(instance)
        sent, _ = raise_alerts(instance, cursor_at(before[0]), logging.getLogger())
        assert [alert["state"] for alert in sent] == ["new"]
        tick(instance)
    assert len(receivers.to("/flaky")) == len(receivers.to("/steady")) == 1


def test_each_message_carries_a_stable_id_for_its_alert_day_state_and_channel(
    radar, receivers, tmp_path, monkeypatch
):
    warehouse, channels, instance = radar
    jsonl = f"jsonl://{tmp_path / 'alerts.jsonl'}"
    monkeypatch.setenv("ALERT_CHANNELS", ",".join([*channels, jsonl]))
    evaluate(warehouse, [*channels, jsonl])
    evaluate(warehouse, [*channels, jsonl])  # the same day again: the same messages, once
    raise_alerts(instance, None, logging.getLogger())
    day = TODAY.isoformat()
    for path, channel in zip(("/flaky", "/steady"), channels, strict=True):
        (body,) = receivers.to(path)
        expected = outbox.message_id(ALERT_ID, day, "new", channel)
        assert body["message_id"] == expected
        assert body["message"].endswith(f"\n\nAlert message id: {expected}")
    (line,) = [json.loads(text) for text in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert line["message_id"] == outbox.message_id(ALERT_ID, day, "new", jsonl)
    # one id per channel, the same whichever process computes it
    ids = {body["message_id"] for _, body in receivers.accepted} | {line["message_id"]}
    assert len(ids) == 3
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from monitoring.alert_outbox").fetchone()[0] == 4


DELIVER = """
import logging, sys
from pathlib import Path
from orchestration.lib import outbox
outbox.deliver(Path(sys.argv[1]), sys.argv[2:], logging.getLogger())
"""


def test_messages_claimed_by_a_deliverer_that_died_are_sent_by_the_next_with_the_same_id(
    radar, receivers
):
    warehouse, channels, instance = radar
    evaluate(warehouse, channels)
    receivers.hold = True
    deliverer = subprocess.Popen(
        [sys.executable, "-c", DELIVER, str(warehouse), *channels], cwd=PROJECT_ROOT
    )
    try:
        # it claimed the messages and one is on its way: it dies before recording anything
        assert receivers.holding.wait(WAIT)
    finally:
        deliverer.kill()
        deliverer.wait(WAIT)
    receivers.release()  # the channel accepts what the dead deliverer sent
    held, _ = receivers.requests[0]

    # all three again (the log, the message on its way, the one not yet sent)
    assert tick(instance) == "sent 3 KPI alert message(s)"
    other = next(path for path in ("/flaky", "/steady") if not held.startswith(path))
    twice = receivers.to(held.split("?")[0])
    # the one message whose fate the dead deliverer never knew came twice, with one id
    assert len(twice) == 2 and twice[0]["message_id"] == twice[1]["message_id"]
    assert len(receivers.to(other)) == 1
    assert {status for _, _, status, _ in outbox_rows(warehouse)} == {"sent"}
    assert tick(instance) == "no KPI alert message to send"


def test_make_run_tries_a_failing_channel_again_after_its_back_off_before_it_ends(
    radar, receivers, monkeypatch
):
    _, _, instance = radar
    monkeypatch.setattr(outbox, "FIRST_RETRY", timedelta(seconds=1))
    receivers.plans["/flaky"] = [500]
    materialize(instance)
    sent, _ = raise_alerts(instance, None, logging.getLogger())
    assert [alert["state"] for alert in sent] == ["new"]
    assert len(receivers.to("/flaky", accepted=False)) == 2
    assert len(receivers.to("/flaky")) == len(receivers.to("/steady")) == 1


def test_make_run_delivers_under_the_warehouse_lock_its_job_ran_under(radar, receivers):
    warehouse, _, instance = radar
    materialize(instance)
    with holding(warehouse, Owner.current("daily-run")):
        sent, _ = raise_alerts(instance, None, logging.getLogger())
        assert lock_path(warehouse).read_text().startswith('{"run_id": "daily-run"')
    assert [alert["state"] for alert in sent] == ["new"]
    assert len(receivers.to("/flaky")) == len(receivers.to("/steady")) == 1
    assert {status for _, _, status, _ in outbox_rows(warehouse)} == {"sent"}


def test_the_sensor_does_not_open_the_warehouse_while_a_run_of_the_instance_is_at_work(
    radar, receivers
):
    _, _, instance = radar
    materialize(instance)
    started, finish = threading.Event(), threading.Event()

    @dg.op
    def write_the_warehouse():
        started.set()
        assert finish.wait(WAIT)

    @dg.job
    def daily_radar():
        write_the_warehouse()

    run = threading.Thread(
        target=daily_radar.execute_in_process,
        kwargs={"instance": instance, "tags": owner_tags()},
    )
    run.start()
    try:
        assert started.wait(WAIT)
        assert tick(instance).endswith("is at work")
        assert receivers.requests == []
    finally:
        finish.set()
        # the run's end is written to the instance after the op returns: on a busy machine
        # that takes a while, and the sensor must not find it at work any more
        run.join(RUN_TIMEOUT)
    assert not run.is_alive()
    assert tick(instance) == "sent 3 KPI alert message(s)"
    assert len(receivers.to("/flaky")) == len(receivers.to("/steady")) == 1


def test_messages_sent_while_a_run_started_meanwhile_are_recorded_by_the_next_pass(
    radar, receivers, monkeypatch
):
    warehouse, channels, _ = radar
    monkeypatch.setattr(outbox, "RECORD_PATIENCE_SECONDS", 0.0)
    evaluate(warehouse, channels)
    log = logging.getLogger("radar")
    # a run starts once the messages are claimed: the warehouse is not opened again meanwhile
    checks = iter([None])
    first = outbox.deliver(warehouse, channels, log, busy=lambda: next(checks, "a run is at work"))
    assert first.accepted == 3 and len(first.unrecorded) == 3
    assert {status for _, _, status, _ in outbox_rows(warehouse)} == {"attempting"}
    # while the run lasts, the outcomes wait; then the next pass records them, sends nothing
    waiting = outbox.deliver(
        warehouse, channels, log, busy=lambda: "a run is at work", unrecorded=first.unrecorded
    )
    assert waiting.unrecorded == first.unrecorded
    run = subprocess.Popen(  # then a `make run` holds the warehouse a while
        [sys.executable, "-c", HOLD_THE_WAREHOUSE, str(warehouse)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout.readline() == "holding\n"
        held = outbox.deliver(warehouse, channels, log, unrecorded=waiting.unrecorded)
        assert held.unrecorded == first.unrecorded
    finally:
        run.communicate("done\n", timeout=WAIT)
    json.dumps(waiting.unrecorded)  # it goes into the sensor's cursor
    after = outbox.deliver(warehouse, channels, log, unrecorded=waiting.unrecorded)
    assert after.accepted == 0 and after.unrecorded == [] and after.skipped is None
    assert {status for _, _, status, _ in outbox_rows(warehouse)} == {"sent"}
    assert len(receivers.requests) == 2
