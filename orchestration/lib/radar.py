"""The KPI radar as text: each KPI's latest value, its change, and the alerts with reasons."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from orchestration.lib.explain import format_value
from orchestration.lib.notify import headline

CHANGE_DAYS = 28

RADAR_SQL = f"""
with latest as (select max(kpi_date) as kpi_date from marts.fct_kpi_daily),
total as (
    select kpi.kpi_date, kpi.kpi_name, kpi.value
    from marts.fct_kpi_daily as kpi
    where kpi.dimension = 'total'
),
alerts as (
    select kpi_name, string_agg(distinct kind || ' ' || state, ', ') as alert
    from monitoring.kpi_alerts
    where dimension = 'total'
      and evaluated_on = (select max(evaluated_on) from monitoring.kpi_alerts)
      and state <> 'recovered'
    group by kpi_name
)
select
    catalogue.kpi_name,
    catalogue.label,
    catalogue.unit,
    latest.kpi_date,
    now_.value as value,
    before.value as value_before,
    alerts.alert
from reference.kpi_catalogue as catalogue
cross join latest
left join total as now_
    on now_.kpi_name = catalogue.kpi_name and now_.kpi_date = latest.kpi_date
left join total as before
    on before.kpi_name = catalogue.kpi_name
    and before.kpi_date = latest.kpi_date - interval {CHANGE_DAYS} day
left join alerts on alerts.kpi_name = catalogue.kpi_name
where catalogue.enabled
order by catalogue.kpi_name <> 'average_customer_value', catalogue.label
"""


@dataclass(frozen=True)
class RadarLine:
    kpi_name: str
    label: str
    unit: str
    as_of: date | None
    value: float | None
    value_before: float | None
    alert: str | None

    @property
    def change(self) -> float | None:
        if self.value is None or not self.value_before:
            return None
        return self.value / self.value_before - 1


def load_radar(con: duckdb.DuckDBPyConnection) -> list[RadarLine]:
    return [RadarLine(*row) for row in con.execute(RADAR_SQL).fetchall()]


def render_radar(lines: Iterable[RadarLine], alerts: Iterable[Mapping[str, Any]]) -> str:
    lines = list(lines)
    as_of = next((line.as_of for line in lines if line.as_of), None)
    out = [f"KPI radar as of {as_of or 'no data'} (change over {CHANGE_DAYS} days)", ""]
    width = max((len(line.label) for line in lines), default=10)
    for line in lines:
        change = "" if line.change is None else f"{line.change:+.1%}"
        status = line.alert or "ok"
        value = format_value(line.value, line.unit)
        out.append(f"  {line.label:<{width}}  {value:>14}  {change:>7}  {status}")
    alerts = list(alerts)
    out += ["", f"Alerts raised ({len(alerts)}):" if alerts else "No new alert."]
    out += [f"  {headline(alert)}" for alert in alerts]
    return "\n".join(out)
