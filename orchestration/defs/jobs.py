"""The daily job and its schedule."""

import dagster as dg

from orchestration.defs.engine import EXECUTOR

daily_radar = dg.define_asset_job(
    name="daily_radar",
    selection=dg.AssetSelection.all(),
    executor_def=EXECUTOR,
    description="Extract every source, build and test the marts, evaluate the KPIs.",
)

daily_schedule = dg.ScheduleDefinition(
    job=daily_radar,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

defs = dg.Definitions(jobs=[daily_radar], schedules=[daily_schedule])
