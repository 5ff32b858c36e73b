"""The daily job and its schedule."""

import dagster as dg

# In one process, one step after another: DuckDB takes one writer, and the whole demo run is
# small enough that a process per step would cost more than the steps themselves.
daily_radar = dg.define_asset_job(
    name="daily_radar",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Extract every source, build and test the marts, evaluate the KPIs.",
)

daily_schedule = dg.ScheduleDefinition(
    job=daily_radar,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

defs = dg.Definitions(jobs=[daily_radar], schedules=[daily_schedule])
