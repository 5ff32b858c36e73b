"""The KPI evaluation after each build, and the sensor that raises its alerts."""

import logging

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.ingest.assets import WAREHOUSE_POOL
from orchestration.defs.transform.dbt import dbt_models
from orchestration.lib.alert_state import NOTIFY_STATES
from orchestration.lib.monitor import evaluate_warehouse, record_alerts
from orchestration.lib.notify import deliver
from orchestration.lib.settings import load_settings

KPI_ALERTS = dg.AssetKey(["monitoring", "kpi_alerts"])


@dg.asset(
    key=KPI_ALERTS,
    deps=[
        get_asset_key_for_model([dbt_models], "fct_kpi_daily"),
        get_asset_key_for_model([dbt_models], "fct_customer_value_daily"),
    ],
    description=(
        "One row per evaluation day per KPI series in alert (or just recovered), in "
        "`monitoring.kpi_alerts`: decline by CUSUM against a frozen baseline, flattening by "
        "the Sen slope of weekly values, each with its reason."
    ),
    group_name="monitoring",
    owners=["team:finance-analytics"],
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def kpi_alerts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    with duckdb.connect(str(load_settings().warehouse_path)) as con:
        evaluation = evaluate_warehouse(con)
        record_alerts(con, evaluation)
    rows = [alert.as_record() for alert in evaluation.alerts]
    context.log.info(
        "evaluated %d KPI series on %s: %d in alert",
        evaluation.series_evaluated,
        evaluation.evaluated_on,
        sum(row["state"] != "recovered" for row in rows),
    )
    return dg.MaterializeResult(
        metadata={
            "evaluated_on": str(evaluation.evaluated_on),
            "series_evaluated": evaluation.series_evaluated,
            "open_alerts": sum(row["state"] != "recovered" for row in rows),
            "alerts": dg.JsonMetadataValue(rows),
        }
    )


def raise_alerts(
    instance: dg.DagsterInstance, after_storage_id: int | None, log: logging.Logger
) -> tuple[list[dict], int | None]:
    """Notifies the alerts that evaluations recorded after ``after_storage_id``.

    Only new, escalated and recovered alerts are sent; ongoing ones were sent already.
    Returns what was sent and the storage id to resume after. The sensor and `make run` both
    raise alerts through here, reading the event log, never the warehouse a run may write.
    """
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=KPI_ALERTS, after_storage_id=after_storage_id),
        limit=100,
        ascending=True,
    )
    sent: list[dict] = []
    cursor = after_storage_id
    for record in result.records:
        metadata = record.asset_materialization.metadata
        alerts = metadata["alerts"].value if "alerts" in metadata else []
        to_send = [alert for alert in alerts if alert["state"] in NOTIFY_STATES]
        deliver(to_send, load_settings().alert_channels, log)
        sent.extend(to_send)
        cursor = record.storage_id
    return sent, cursor


@dg.sensor(
    name="kpi_alert_sensor",
    description="Sends each new, escalated or recovered KPI alert once to the alert channels.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def kpi_alert_sensor(context: dg.SensorEvaluationContext):
    after = int(context.cursor) if context.cursor else None
    sent, cursor = raise_alerts(context.instance, after, context.log)
    if cursor != after:
        context.update_cursor(str(cursor))
    if not sent:
        return dg.SkipReason("no new, escalated or recovered KPI alert")
    return dg.SkipReason(f"sent {len(sent)} KPI alert(s)")
