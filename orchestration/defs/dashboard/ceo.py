"""Writes the CEO dashboard page from the serving copy once it is published."""

import time

import dagster as dg
import duckdb

from orchestration.defs.serving.publish import WAREHOUSE_COPY
from orchestration.lib.alert_state import OPEN_STATES
from orchestration.lib.dashboard import (
    load_dashboard_data,
    publish_page,
    render_dashboard,
)
from orchestration.lib.settings import load_settings

CEO_DASHBOARD = dg.AssetKey(["dashboard", "ceo_dashboard"])
REFRESH_SECONDS = 300


@dg.asset(
    key=CEO_DASHBOARD,
    deps=[WAREHOUSE_COPY],
    description=(
        "The CEO dashboard, one self-contained web page (DASHBOARD_PATH, default "
        "`data/dashboard/index.html`) that works offline and reloads itself every "
        f"{REFRESH_SECONDS // 60} minutes: the average customer value first, with its trend, "
        "change, status and the reason of its alert; a tile per KPI of the catalogue; the open "
        "alerts with their reasons; the monthly revenue bridge, customers won and lost, cohort "
        "retention, the RFM segments, feedback, prospects and the employee pulse. Replaced "
        "as a whole (written aside, then renamed), so a browser never reads half a page."
    ),
    group_name="dashboard",
    owners=["team:finance-analytics"],
    kinds={"html"},
)
def ceo_dashboard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = load_settings()
    started = time.perf_counter()
    # The serving copy, like any BI tool: never the warehouse a run may be writing.
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        data = load_dashboard_data(con)
    data["sources_off"] = {
        source.name: source.setting
        for source in (settings.erp, settings.crm, settings.web, settings.hr)
        if not source.is_on
    }
    size = publish_page(render_dashboard(data, REFRESH_SECONDS), settings.dashboard_path)
    seconds = time.perf_counter() - started
    context.log.info("wrote %s (%d bytes) in %.2f s", settings.dashboard_path, size, seconds)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.dashboard_path)),
            "size_bytes": size,
            "build_seconds": round(seconds, 3),
            "as_of": str(data["as_of"]),
            "reporting_currency": data["currency"],
            "open_alerts": sum(alert["state"] in OPEN_STATES for alert in data["alerts"]),
        }
    )
