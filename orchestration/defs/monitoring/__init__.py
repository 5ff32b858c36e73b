"""KPI evaluation (decline and flattening) and the alert sensor."""

import dagster as dg

from orchestration.defs.monitoring.alerts import kpi_alert_sensor, kpi_alerts

defs = dg.Definitions(assets=[kpi_alerts], sensors=[kpi_alert_sensor])
