"""The KPI evaluation after each build, and the sensor that raises its alerts."""

import csv
import json
import logging

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.ingest.assets import WAREHOUSE_POOL
from orchestration.defs.reporting_day import ReportingDay
from orchestration.defs.transform.dbt import dbt_models, failed_dbt_checks
from orchestration.lib.alert_state import OPEN_STATES, notifications
from orchestration.lib.monitor import Evaluation, evaluate_warehouse, record_alerts
from orchestration.lib.notify import deliver
from orchestration.lib.settings import PROJECT_ROOT, load_settings

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
        "the Sen slope of weekly values, each with its reason. Each KPI's latest value is "
        "recorded as metadata (plotted over time) and its trend as a WARN asset check."
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
        record_alerts(con, evaluation)
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
        yield dg.AssetCheckResult(
            check_name=kpi["kpi_name"],
            passed=status not in ("decline", "flattening"),
            severity=dg.AssetCheckSeverity.WARN,
            description=finding.detail if finding else "no series for this KPI",
            metadata={
                "status": status,
                "since": str(finding.since) if finding and finding.since else "",
                "baseline": float(finding.baseline_value or 0.0) if finding else 0.0,
                "current": float(finding.current_value or 0.0) if finding else 0.0,
                "relative_change": float(finding.relative_change or 0.0) if finding else 0.0,
            },
        )


def raise_alerts(
    instance: dg.DagsterInstance, cursor: str | None, log: logging.Logger
) -> tuple[list[dict], str | None]:
    """Notifies the alerts that evaluations recorded after ``cursor``.

    Only new, escalated and recovered alerts are sent (ongoing ones were sent already), and a
    suppression is announced once when it starts. Returns what was sent and the cursor to
    resume from. The sensor and `make run` both raise alerts through here, reading the event
    log, never the warehouse a run may write.
    """
    state = json.loads(cursor) if cursor else {"after": None, "suppressed": False}
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=KPI_ALERTS, after_storage_id=state["after"]),
        limit=100,
        ascending=True,
    )
    sent: list[dict] = []
    for record in result.records:
        alerts, suppressed = _recorded(record)
        to_send = notifications(alerts, suppressed, announced=state["suppressed"])
        deliver(to_send, load_settings().alert_channels, log)
        sent.extend(to_send)
        state = {"after": record.storage_id, "suppressed": bool(suppressed)}
    return sent, json.dumps(state)


def cursor_at(record: dg.EventLogRecord | None) -> str | None:
    """The cursor of a consumer that has raised everything up to ``record``."""
    if record is None:
        return None
    return json.dumps({"after": record.storage_id, "suppressed": bool(_recorded(record)[1])})


def _recorded(record: dg.EventLogRecord) -> tuple[list[dict], str]:
    metadata = record.asset_materialization.metadata
    alerts = metadata["alerts"].value if "alerts" in metadata else []
    suppressed = metadata["suppressed_because"].value if "suppressed_because" in metadata else ""
    return alerts, suppressed


@dg.sensor(
    name="kpi_alert_sensor",
    description="Sends each new, escalated or recovered KPI alert once to the alert channels.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def kpi_alert_sensor(context: dg.SensorEvaluationContext):
    sent, cursor = raise_alerts(context.instance, context.cursor, context.log)
    if cursor != context.cursor:
        context.update_cursor(cursor)
    if not sent:
        return dg.SkipReason("no new, escalated or recovered KPI alert")
    return dg.SkipReason(f"sent {len(sent)} KPI alert(s)")
