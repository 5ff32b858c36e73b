"""The KPI evaluation after each build, and the delivery of its alerts from the outbox.

The evaluation records its alert states and the messages they call for in the warehouse's
alert outbox (`orchestration.lib.outbox`). The sensor, each tick, and `make run`, after its job,
deliver from that outbox, so whichever comes first sends a message and the other finds it sent.
"""

import csv
import json
import logging
import time

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.engine import WAREHOUSE_POOL
from orchestration.defs.reporting_day import ReportingDay
from orchestration.defs.transform.dbt import dbt_models, failed_dbt_checks
from orchestration.lib.alert_state import OPEN_STATES
from orchestration.lib.monitor import Evaluation, evaluate_warehouse, record_alerts
from orchestration.lib.outbox import Pass, deliver, utcnow
from orchestration.lib.settings import PROJECT_ROOT, load_settings
from orchestration.recovery import live_runs

KPI_ALERTS = dg.AssetKey(["monitoring", "kpi_alerts"])


def _enabled_kpis() -> list[dict[str, str]]:
    # The catalogue seed is a file of the repository, read once to declare one check per KPI.
    with (PROJECT_ROOT / "seeds" / "kpi_catalogue.csv").open(newline="") as catalogue:
        return [
            row
            for row in csv.DictReader(catalogue)
            if row["enabled"].lower() == "true" and row["alert_level"] != "none"
        ]


KPIS = _enabled_kpis()


@dg.asset(
    key=KPI_ALERTS,
    deps=[
        get_asset_key_for_model([dbt_models], "fct_kpi_daily"),
        get_asset_key_for_model([dbt_models], "fct_customer_value_daily"),
        get_asset_key_for_model([dbt_models], "fct_orders"),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            name=kpi["kpi_name"],
            asset=KPI_ALERTS,
            description=f"{kpi['label']} neither declines nor flattens (overall).",
            blocking=False,
        )
        for kpi in KPIS
    ],
    description=(
        "One row per evaluation day per KPI series in alert (or just recovered), in "
        "`monitoring.kpi_alerts`: decline by CUSUM against a frozen baseline, flattening by "
        "the Sen slope of weekly values, each with its reason. The messages they call for "
        "(new, escalated, recovered, a suppression) go, in the same transaction, to "
        "`monitoring.alert_outbox`, one row per channel until it accepted it. Each KPI's "
        "latest value is recorded as metadata (plotted over time) and its trend as a WARN "
        "asset check."
    ),
    group_name="monitoring",
    owners=["team:finance-analytics"],
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def kpi_alerts(context: dg.AssetExecutionContext, reporting_day: ReportingDay):
    settings = reporting_day.settings()
    today = settings.as_of
    with duckdb.connect(str(settings.warehouse_path)) as con:
        evaluation = evaluate_warehouse(
            con, today=today, failed_checks=failed_dbt_checks(context.instance)
        )
        record_alerts(con, evaluation, settings.alert_channels)
    rows = [alert.as_record() for alert in evaluation.alerts]
    open_alerts = sum(row["state"] in OPEN_STATES for row in rows)
    context.log.info(
        "evaluated %d KPI series on %s: %d in alert%s",
        evaluation.series_evaluated,
        evaluation.evaluated_on,
        open_alerts,
        f"; suppressed because {evaluation.suppressed_because}"
        if evaluation.suppressed_because
        else "",
    )
    yield dg.MaterializeResult(
        metadata={
            "evaluated_on": str(evaluation.evaluated_on),
            "series_evaluated": evaluation.series_evaluated,
            "open_alerts": open_alerts,
            "suppressed_because": evaluation.suppressed_because or "",
            "alerts": dg.JsonMetadataValue(rows),
            # numbers, so the UI plots each KPI's latest value run after run
            **{
                f"value/{name}": float(finding.current_value)
                for name, finding in evaluation.totals.items()
                if finding.current_value is not None
            },
        }
    )
    yield from _check_results(evaluation)


def _check_results(evaluation: Evaluation):
    for kpi in KPIS:
        finding = evaluation.totals.get(kpi["kpi_name"])
        status = finding.status if finding else "no_data"
        # a KPI is in alert too where only a segment or region of it is
        members = sorted(
            f"{alert.dimension_value} {alert.dimension}"
            for alert in evaluation.alerts
            if alert.kpi_name == kpi["kpi_name"]
            and alert.dimension != "total"
            and alert.state in OPEN_STATES
        )
        detail = finding.detail if finding else "no series for this KPI"
        # in alert, the check reads as the alert does; the test's numbers stay in its metadata
        reason = next(
            (
                alert.reason
                for alert in evaluation.alerts
                if alert.kpi_name == kpi["kpi_name"]
                and alert.dimension == "total"
                and alert.state in OPEN_STATES
            ),
            detail,
        )
        yield dg.AssetCheckResult(
            check_name=kpi["kpi_name"],
            passed=status not in ("decline", "flattening") and not members,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{reason} In alert: {', '.join(members)}." if members else reason,
            metadata={
                "test": detail,
                "members_in_alert": ", ".join(members),
                "status": status,
                "since": str(finding.since) if finding and finding.since else "",
                "baseline": float(finding.baseline_value or 0.0) if finding else 0.0,
                "current": float(finding.current_value or 0.0) if finding else 0.0,
                "relative_change": float(finding.relative_change or 0.0) if finding else 0.0,
            },
        )


# How long `make run` waits, after its job, for the retries of a channel that failed; the
# sensor, or the next run, tries the later ones.
RUN_PATIENCE_SECONDS = 60.0


def raise_alerts(
    instance: dg.DagsterInstance, cursor: str | None, log: logging.Logger
) -> tuple[list[dict], str | None]:
    """Delivers what the alert outbox holds for the channels, as `make run` does after its job:
    the messages of every evaluation so far that no deliverer has sent yet, whoever recorded
    them. A channel that fails is tried again for up to ``RUN_PATIENCE_SECONDS``.

    Returns the alerts raised (sent to the log) and the cursor to resume from. The outbox, not
    the cursor, knows what was sent; the cursor only carries the outcomes of messages sent while
    another was at work on the warehouse, for the next call to record.
    """
    deadline = time.monotonic() + RUN_PATIENCE_SECONDS
    raised: list[dict] = []
    unrecorded = _unrecorded(cursor)
    while True:
        outcome = deliver_alerts(instance, log, unrecorded)
        unrecorded = outcome.unrecorded
        raised.extend(outcome.raised)
        if outcome.skipped:
            log.error(
                "KPI alerts not sent now (%s): they wait in the outbox for the sensor or the "
                "next run",
                outcome.skipped,
            )
            break
        if outcome.next_due is None:
            break
        wait = (outcome.next_due - utcnow()).total_seconds()
        if time.monotonic() + wait > deadline:
            log.error(
                "alert messages still to send are left to the sensor or the next run "
                "(the next try is due at %s UTC)",
                f"{outcome.next_due:%H:%M:%S}",
            )
            break
        time.sleep(max(wait, 0.5))
    return raised, json.dumps({"unrecorded": unrecorded}) if unrecorded else cursor


def cursor_at(record: dg.EventLogRecord | None) -> str | None:
    """The cursor of a consumer that has raised everything up to ``record`` (kept for callers
    of `raise_alerts`; the outbox records what was sent)."""
    if record is None:
        return None
    return json.dumps({"after": record.storage_id, "suppressed": bool(_recorded(record)[1])})


def deliver_alerts(
    instance: dg.DagsterInstance, log: logging.Logger, unrecorded: list[dict] | None = None
) -> Pass:
    """One pass over the outbox, never opening the warehouse while a run of the instance is at
    work: its steps open the warehouse whenever they need it."""

    def busy() -> str | None:
        live = live_runs(instance)
        return f"{live[0].describe()} is at work" if live else None

    settings = load_settings()
    return deliver(
        settings.warehouse_path,
        settings.alert_channels,
        log,
        busy=busy,
        unrecorded=unrecorded or [],
    )


def _unrecorded(cursor: str | None) -> list[dict]:
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        return []
    return state.get("unrecorded", []) if isinstance(state, dict) else []


def _recorded(record: dg.EventLogRecord) -> tuple[list[dict], str]:
    metadata = record.asset_materialization.metadata
    alerts = metadata["alerts"].value if "alerts" in metadata else []
    suppressed = metadata["suppressed_because"].value if "suppressed_because" in metadata else ""
    return alerts, suppressed


@dg.sensor(
    name="kpi_alert_sensor",
    description=(
        "Sends each new, escalated or recovered KPI alert once to each alert channel from the "
        "alert outbox, trying a failed channel again with back-off; waits while a run is at "
        "work on the warehouse."
    ),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def kpi_alert_sensor(context: dg.SensorEvaluationContext):
    outcome = deliver_alerts(context.instance, context.log, _unrecorded(context.cursor))
    cursor = json.dumps({"unrecorded": outcome.unrecorded}) if outcome.unrecorded else None
    if cursor != context.cursor:
        context.update_cursor(cursor)
    if outcome.skipped:
        return dg.SkipReason(f"alerts wait in the outbox: {outcome.skipped}")
    if not outcome.accepted and not outcome.failures:
        return dg.SkipReason("no KPI alert message to send")
    failed = f", {len(outcome.failures)} failed try(ies)" if outcome.failures else ""
    return dg.SkipReason(f"sent {outcome.accepted} KPI alert message(s){failed}")
