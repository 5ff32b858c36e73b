"""`python -m orchestration run`: the daily job in this process, then the alerts and the radar.

`python -m orchestration backfill FIRST LAST` runs it for each day of a range, oldest first;
`python -m orchestration check` checks the configured sources against the raw contract.
"""

import argparse
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from dotenv import load_dotenv

from orchestration.lib.radar import data_notes, load_radar, render_radar
from orchestration.lib.settings import PROJECT_ROOT, Settings, SettingsError, load_settings
from orchestration.lib.source_check import check_sources, exit_status


@contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Sends this process's standard output and error, at the descriptor level, to ``path``.

    dbt, dlt and Dagster narrate every step, some through handlers that hold the terminal
    from before: the file keeps all of it, the terminal gets the radar.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("w") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def summary(result: dg.ExecuteInProcessResult, seconds: float) -> str:
    materialized = result.get_asset_materialization_events()
    checks = result.get_asset_check_evaluations()
    failed = [check.check_name for check in checks if not check.passed]
    status = "succeeded" if result.success else "FAILED"
    line = (
        f"daily_radar {status} in {seconds:.0f} s (run {result.run_id[:8]}): "
        f"{len(materialized)} assets materialized, "
        f"{len(checks) - len(failed)} of {len(checks)} checks passed"
    )
    return line + (f"; failed checks: {', '.join(failed)}" if failed else "")


def _sources(settings: Settings) -> str:
    names = []
    for source in (settings.erp, settings.crm, settings.web):
        where = "the demo company" if source.mode == "demo" else source.mode
        names.append(f"{source.name.upper()} ({where})")
    return f"{', '.join(names)}, as of {settings.as_of}"


def run_config(as_of: date) -> dict:
    """The launch config of a run that reports on ``as_of``."""
    return {"resources": {"reporting_day": {"config": {"as_of": as_of.isoformat()}}}}


def run(as_of: date | None = None) -> int:
    # Imported once .env is loaded, so the definitions see the settings it holds.
    from orchestration.definitions import defs
    from orchestration.defs.monitoring.alerts import KPI_ALERTS, cursor_at, raise_alerts

    # The log channel of the alerts: the radar below prints them, once.
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    instance = dg.DagsterInstance.get()
    before = instance.fetch_materializations(KPI_ALERTS, limit=1).records
    settings = load_settings()
    if as_of is not None:
        settings = dataclasses.replace(settings, as_of=as_of)
    log_path = settings.warehouse_path.parent / "logs" / "daily_radar.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"Running daily_radar on {_sources(settings)}; full log in {log_path}")
    started = time.monotonic()
    with output_to(log_path):
        result = defs.resolve_job_def("daily_radar").execute_in_process(
            run_config=run_config(settings.as_of), instance=instance, raise_on_error=False
        )
    print(summary(result, time.monotonic() - started))
    if not result.success:
        print(f"See {log_path}, or the run in `make dev` (Runs tab).")
        return 1
    sent, _ = raise_alerts(instance, cursor_at(before[0] if before else None), logging.getLogger())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        print(render_radar(load_radar(con), sent, settings.as_of, data_notes(con, settings.as_of)))
    print(f"CEO dashboard: {settings.dashboard_path.as_uri()}")
    print(f"BI tools read {settings.serving_path} (read-only; see README, Connecting a BI tool)")
    return 0


def check() -> int:
    """Prints what each configured source holds against the raw contract; 1 on an error."""
    findings = check_sources(load_settings())
    print("\n".join(str(finding) for finding in findings))
    return exit_status(findings)


def backfill(first: date, last: date) -> int:
    """The daily job for each day from ``first`` to ``last``, in order, as each day would have
    run: the alert states of every day are recorded, and the marts end on ``last``."""
    if last < first:
        print(f"Nothing to backfill: {last} is before {first}.")
        return 2
    for offset in range((last - first).days + 1):
        status = run(first + timedelta(days=offset))
        if status:
            return status
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-06-30") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the daily job and print the radar")
    run_parser.add_argument("--as-of", type=_day, help="the day to report on (default: AS_OF)")
    backfill_parser = commands.add_parser(
        "backfill", help="run the daily job for each day of a range, oldest first"
    )
    backfill_parser.add_argument("first", type=_day, help="first day, YYYY-MM-DD")
    backfill_parser.add_argument("last", type=_day, help="last day, YYYY-MM-DD")
    commands.add_parser("check", help="check the configured sources against the raw contract")
    args = parser.parse_args(argv)
    load_dotenv(PROJECT_ROOT / ".env")
    try:
        load_settings()
    except SettingsError as error:
        print(f"Settings: {error}", file=sys.stderr)
        return 2
    if args.command == "check":
        return check()
    if args.command == "backfill":
        return backfill(args.first, args.last)
    return run(args.as_of)


if __name__ == "__main__":
    sys.exit(main())
