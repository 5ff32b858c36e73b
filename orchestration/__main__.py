"""`python -m orchestration run`: the daily job in this process, then the alerts and the radar."""

import argparse
import logging
import sys

import dagster as dg
import duckdb
from dotenv import load_dotenv

from orchestration.lib.radar import load_radar, render_radar
from orchestration.lib.settings import PROJECT_ROOT, load_settings


def run() -> int:
    # Imported after .env is loaded so nothing sees a half-set environment.
    from orchestration.definitions import defs
    from orchestration.defs.monitoring.alerts import KPI_ALERTS, raise_alerts

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log = logging.getLogger("radar")
    instance = dg.DagsterInstance.get()
    before = instance.fetch_materializations(KPI_ALERTS, limit=1).records
    result = defs.resolve_job_def("daily_radar").execute_in_process(
        instance=instance, raise_on_error=False
    )
    if not result.success:
        log.error("the daily job failed; see the run %s in `make dev`", result.run_id)
        return 1
    sent, _ = raise_alerts(instance, before[0].storage_id if before else None, log)
    settings = load_settings()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        print(render_radar(load_radar(con), sent))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration")
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    load_dotenv(PROJECT_ROOT / ".env")
    return run()


if __name__ == "__main__":
    sys.exit(main())
