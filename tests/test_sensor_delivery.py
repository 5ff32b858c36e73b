"""The alert sensor through a whole alert lifecycle, delivering to a webhook on loopback.

Each day the warehouse gains the day's marts, `kpi_alerts` is materialized as after a build,
and the sensor reads what that run recorded, resuming from the cursor of the previous tick.
"""

import json
from datetime import date, timedelta

import dagster as dg
import pytest
from radar_runs import project_instance
from samples import order_value_marts

from orchestration.defs.monitoring.alerts import kpi_alert_sensor, kpi_alerts
from orchestration.defs.reporting_day import ReportingDay

START = date(2025, 1, 6)
# The average order value from each day on (min effect 3 %, critical from 6 %): steady, 4 %
# down (warning), 8 % down (critical), back, then 4 % down again.
LEVELS = {
    START: 1000.0,
    START + timedelta(days=200): 960.0,
    START + timedelta(days=220): 920.0,
    START + timedelta(days=240): 1000.0,
    START + timedelta(days=270): 960.0,
}
DECLINING = START + timedelta(days=210)
WORSE = START + timedelta(days=230)
RECOVERED = START + timedelta(days=260)
FALLING_AGAIN = START + timedelta(days=280)
# The reference population of the monitor: the catalogue's minimum effect applies unscaled.
CUSTOMERS = 400
ORDERS = 1600
SECRET = "hook-token-5f3a"

# The as-of day comes from AS_OF, which each test sets.
RESOURCES = {"reporting_day": ReportingDay()}


def order_value_on(day: date) -> float:
    return LEVELS[max(start for start in LEVELS if start <= day)]


def publish_marts(warehouse, last_day: date) -> None:
    """The marts as a build through ``last_day`` leaves them; the alert states stay."""
    days = [START + timedelta(days=offset) for offset in range((last_day - START).days + 1)]
    order_value_marts(warehouse, days, CUSTOMERS, ORDERS, order_value_on)


class Radar:
    """A warehouse and a Dagster instance advanced one build at a time, and the sensor's cursor."""

    def __init__(self, warehouse, instance, received, monkeypatch):
        self.warehouse, self.instance, self.received = warehouse, instance, received
        self.monkeypatch = monkeypatch
        self.cursor = None

    def build(self, last_day: date, today: date | None = None) -> list[str]:
        """Marts through ``last_day``, then `kpi_alerts` on ``today``: the states it recorded."""
        publish_marts(self.warehouse, last_day)
        self.monkeypatch.setenv("AS_OF", (today or last_day).isoformat())
        result = dg.materialize([kpi_alerts], instance=self.instance, resources=RESOURCES)
        assert result.success
        (recorded,) = result.asset_materializations_for_node("monitoring__kpi_alerts")
        return [alert["state"] for alert in recorded.metadata["alerts"].value]

    def tick(self, cursor: str | None = None) -> list[tuple[str, str]]:
        """One tick from ``cursor`` (the last tick's by default): the title and text it sent."""
        before = len(self.received)
        context = dg.build_sensor_context(instance=self.instance, cursor=cursor or self.cursor)
        kpi_alert_sensor(context)
        self.cursor = context.cursor
        sent = self.received[before:]
        assert {path for path, _ in sent} <= {f"/alerts/{SECRET}"}
        return [(body["title"], body["message"]) for _, body in sent]


def only(sent: list[tuple[str, str]]) -> tuple[str, str]:
    assert len(sent) == 1, sent
    return sent[0]


@pytest.fixture
def radar(tmp_path, monkeypatch, webhook):
    # With every source on the demo, the evaluation's today is AS_OF.
    for name in ("ERP_DATABASE_URL", "CRM_API_URL", "WEB_EVENTS_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("ALERT_CHANNELS", webhook.url(f"/alerts/{SECRET}"))
    with project_instance() as instance:
        yield Radar(tmp_path / "warehouse.duckdb", instance, webhook.received, monkeypatch)


@pytest.mark.e2e
def test_each_change_of_an_alert_reaches_the_webhook_once(radar, capfd):
    assert radar.build(DECLINING) == ["new"]
    title, reason = only(radar.tick())
    assert title == "New: Average order value"
    assert "is 4.0 % below its baseline, falling since 25 July 2025" in reason

    assert radar.build(DECLINING + timedelta(days=1)) == ["ongoing"]
    assert radar.tick() == []
    assert radar.tick() == []
    before_worse = radar.cursor

    assert radar.build(WORSE) == ["escalated"]
    title, reason = only(radar.tick())
    assert title == "Escalated: Average order value"
    assert "is 8.0 % below its baseline, falling since 25 July 2025" in reason
    # The outbox, not the cursor, records what was sent: a tick from an older cursor (the
    # daemon keeps a cursor only once a tick has succeeded) or from none sends nothing again.
    assert radar.tick(before_worse) == []
    assert radar.tick(json.dumps({"after": None, "suppressed": False})) == []

    assert radar.build(RECOVERED) == ["recovered"]
    title, reason = only(radar.tick())
    assert title == "Recovered: Average order value"
    assert "back within its normal range" in reason
    # The same day built again records the same state and sends nothing more: the recovery
    # was sent once.
    assert radar.build(RECOVERED) == ["recovered"]
    assert radar.tick() == []

    # The data stops at FALLING_AGAIN: the decline is recorded as suppressed on two days, and
    # only the suppression itself is announced, once.
    stale = FALLING_AGAIN + timedelta(days=5)
    assert radar.build(FALLING_AGAIN, today=stale) == ["suppressed"]
    title, reason = only(radar.tick())
    assert title == "Suppressed: KPI alerts"
    assert "the data is stale: its latest day is 2025-10-13" in reason
    assert radar.build(FALLING_AGAIN, today=stale + timedelta(days=1)) == ["suppressed"]
    assert radar.tick() == []
    # Fresh data again: the decline, never sent while suppressed, is new now.
    assert radar.build(FALLING_AGAIN + timedelta(days=1)) == ["new"]
    assert only(radar.tick())[0] == "New: Average order value"

    # The log names each alert sent, never the channel, whose URL holds a secret.
    log = capfd.readouterr().err
    assert "KPI alert [NEW] Average order value: " in log
    assert SECRET not in log


def test_an_alert_sent_before_the_data_went_stale_is_not_sent_again(radar):
    assert radar.build(DECLINING) == ["new"]
    assert only(radar.tick())[0] == "New: Average order value"
    # The same data day, evaluated once it is stale: suppressed, which is announced.
    assert radar.build(DECLINING, today=DECLINING + timedelta(days=5)) == ["suppressed"]
    assert only(radar.tick())[0] == "Suppressed: KPI alerts"
    # The next day is fresh: the alert was sent before, so it is ongoing, not new.
    assert radar.build(DECLINING + timedelta(days=1)) == ["ongoing"]
    assert radar.tick() == []
