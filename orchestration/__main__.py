"""`python -m orchestration run`: the daily job, then the alerts and the radar.

`python -m orchestration backfill FIRST LAST` runs it for each day of a range, oldest first;
`python -m orchestration check` checks the configured sources against the raw contract;
`python -m orchestration dev` starts `dagster dev` so that Ctrl-C or SIGTERM stops all of it.

One run at a time writes a warehouse: a second waits, naming the first. A run that died leaves
nothing that blocks the next, which says what it recovered from. Each run logs to its own file.
"""

import argparse
import dataclasses
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.execution.api import execute_run
from dotenv import load_dotenv

from orchestration.lib.faults import Fault, error_text, explain
from orchestration.lib.radar import data_notes, load_radar, render_radar
from orchestration.lib.run_lock import Owner, holding
from orchestration.lib.serving import sql_literal
from orchestration.lib.settings import (
    PROJECT_ROOT,
    SOURCE_VARIABLES,
    Settings,
    SettingsError,
    load_settings,
)
from orchestration.lib.source_check import check_sources, exit_status
from orchestration.lib.supervise import supervise
from orchestration.recovery import owner_tags, recover_dead_runs


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


Result = dg.ExecuteInProcessResult | dg.JobExecutionResult


def summary(result: Result, seconds: float, kpi_alerts: dg.AssetKey) -> str:
    """The run in one line: the data tests that did not pass, by severity, apart from the KPIs
    in alert. A KPI's trend is an asset check of ``kpi_alerts`` that does not pass while the
    KPI declines or flattens: the radar below says why, the data is not at fault."""
    checks = result.get_asset_check_evaluations()
    tests = [check for check in checks if check.asset_key != kpi_alerts]
    failed = [check for check in tests if not check.passed]
    errors = [c.check_name for c in failed if c.severity == dg.AssetCheckSeverity.ERROR]
    warnings = [c.check_name for c in failed if c.severity == dg.AssetCheckSeverity.WARN]
    in_alert = [_in_alert(c) for c in checks if c.asset_key == kpi_alerts and not c.passed]
    parts = [f"{len(result.get_asset_materialization_events())} assets materialized"]
    if tests:
        parts.append(f"{len(tests) - len(failed)} of the {len(tests)} data tests run passed")
    for label, names in (("failed", errors), ("warned", warnings), ("KPIs in alert", in_alert)):
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    status = "succeeded" if result.success else "FAILED"
    return f"daily_radar {status} in {seconds:.0f} s (run {result.run_id[:8]}): " + "; ".join(parts)


def _in_alert(check: dg.AssetCheckEvaluation) -> str:
    """A KPI's check in alert, with the segments or regions in alert when some are."""
    members, status = (
        getattr(check.metadata.get(key), "value", None) for key in ("members_in_alert", "status")
    )
    if not members:
        return check.check_name
    where = f"total, {members}" if status in ("decline", "flattening") else members
    return f"{check.check_name} ({where})"


def _sources(settings: Settings) -> str:
    names = []
    for source in (settings.erp, settings.crm, settings.web, settings.hr):
        where = "the demo company" if source.mode == "demo" else source.mode
        if source.unset and source.mode == "off":
            where = f"off: {source.setting} beside a source of your own"
        names.append(f"{source.name.upper()} ({where})")
    return f"{', '.join(names)}, as of {settings.as_of}"


def run_config(as_of: date, full_refresh: bool = False) -> dict:
    """The launch config of a run that reports on ``as_of``, rebuilding the incremental marts
    over the whole history with ``full_refresh``."""
    from orchestration.defs.transform.dbt import DBT_BUILDS

    config: dict = {"resources": {"reporting_day": {"config": {"as_of": as_of.isoformat()}}}}
    if full_refresh:
        config["ops"] = {build.op.name: {"config": {"full_refresh": True}} for build in DBT_BUILDS}
    return config


# Errors that only carry another, whose first line says nothing ("Pipeline execution failed at
# step=extract ... with exception:"): the first failure is said by what they carry.
WRAPPERS = ("DagsterExecutionStepExecutionError", "PipelineStepFailed")


def _failure_text(result: Result) -> tuple[str, str]:
    """The first failed step with its error (a Failure's whole description, another error's
    first line), and every error message of the run."""
    first, texts = "", []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
        elif event.is_run_failure and event.event_specific_data is not None:
            error = event.job_failure_data.error
        else:
            continue
        if error is not None and not first:
            where = f"step {event.step_key}" if event.step_key else "the run"
            shown = error
            # Dagster's wrapper of the step's own error, dlt's of its resource's
            while shown.cls_name in WRAPPERS and shown.cause:
                shown = shown.cause
            if shown.cls_name == "Failure":  # the project's own account of what failed: all of it
                said = shown.message.strip().split(": ", 1)[-1]
            else:
                said = shown.message.strip().splitlines()[0]  # "Class: message"
            first = f"{where}: {said}"
        while error is not None:
            texts.append(error.message)
            error = error.cause or error.context
    return first, "\n".join(texts)


def _preflight(settings: Settings) -> Fault | None:
    """Opens the warehouse for writing and its log folder, as the run will, and looks for the
    folders of the file sources: a fault there is told before any step starts, not as a failed
    step in the log."""
    for source in (settings.web, settings.hr):
        path = Path(source.location or "")
        readable = path.is_dir() or (source.name == "hr" and path.is_file())
        if source.mode == "configured" and not readable:
            what = "a folder" if source.name == "web" else "a folder or a CSV file"
            return Fault("other", str(path), f"{source.setting} is not {what} (or set it to off)")
    try:
        (settings.warehouse_path.parent / "logs").mkdir(parents=True, exist_ok=True)
        duckdb.connect(str(settings.warehouse_path)).close()
    except (OSError, duckdb.Error) as error:
        return explain(error_text(error), settings.warehouse_path, settings.serving_path) or Fault(
            "other", str(settings.warehouse_path), f"{settings.warehouse_path}: {error}"
        )
    return None


def _log_file(settings: Settings, run_id: str) -> Path:
    """A log file of this run alone, and ``latest.log`` pointing at it."""
    folder = settings.warehouse_path.parent / "logs"
    path = folder / f"{datetime.now(UTC):%Y-%m-%d}-{run_id}.log"
    latest = folder / "latest.log"
    staged = folder / f".latest-{run_id}"
    try:
        staged.symlink_to(path.name)
        staged.replace(latest)  # atomic: a reader never finds latest.log missing
    except OSError:
        staged.unlink(missing_ok=True)
    return path


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _waiting(holder: Owner | None) -> None:
    who = holder.describe() if holder else "another run (it has not yet said which)"
    print(f"The warehouse is in use by {who}; waiting for it to finish (Ctrl-C to give up).")
    sys.stdout.flush()


def _on_postgres(instance: dg.DagsterInstance) -> bool:
    return type(instance.run_storage).__module__.startswith("dagster_postgres")


def _recovered(instance: dg.DagsterInstance, dead: Owner | None) -> None:
    """Clears what runs that died left behind and says so."""
    cleared = recover_dead_runs(instance, holds_warehouse=True)
    for item in cleared:
        print(f"Recovered from {item.describe()}.")
    if dead is not None and dead.run_id not in {item.run_id for item in cleared}:
        print(f"Recovered from {dead.describe()}: it died before finishing (its process is gone).")


def run(as_of: date | None = None, full_refresh: bool = False) -> int:
    settings = load_settings()
    if as_of is not None:
        settings = dataclasses.replace(settings, as_of=as_of)
    run_id = str(uuid.uuid4())
    try:
        with holding(settings.warehouse_path, Owner.current(run_id), _waiting) as dead:
            return _run(settings, run_id, dead, full_refresh)
    except (OSError, duckdb.Error) as error:
        fault = explain(error_text(error), settings.warehouse_path, settings.serving_path)
        if fault is None:
            raise
        print(f"daily_radar FAILED: {fault}")
        return 1


def _execute(
    settings: Settings, instance: dg.DagsterInstance, run_id: str, full_refresh: bool
) -> Result:
    """The daily job: on DuckDB in this process, one step after another; on Spark with the job's
    executor, a process per step, those that need no slot of the warehouse's pool side by side
    (defs/engine.py)."""
    # Imported once .env is loaded, so the definitions see the settings it holds.
    from orchestration.definitions import daily_radar_job

    config, tags = run_config(settings.as_of, full_refresh), owner_tags()
    if settings.engine == "duckdb":
        return daily_radar_job().execute_in_process(
            run_config=config, instance=instance, raise_on_error=False, run_id=run_id, tags=tags
        )
    # dg.execute_job names its run itself; created here, the run has the id the lock and the
    # log file already carry.
    job = dg.reconstructable(daily_radar_job)
    run = instance.create_run_for_job(
        job.get_definition(),
        run_id=run_id,
        run_config=config,
        tags=tags,
        job_code_origin=job.get_python_origin(),
    )
    return execute_run(job, run, instance)


def _run(settings: Settings, run_id: str, dead: Owner | None, full_refresh: bool) -> int:
    from orchestration.defs.monitoring.alerts import KPI_ALERTS, cursor_at, raise_alerts

    # The log channel of the alerts: the radar below prints them, once.
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    instance = dg.DagsterInstance.get()
    if settings.dagster_postgres_url and not _on_postgres(instance):
        print(
            f"DAGSTER_POSTGRES_URL is set, but the Dagster instance in {instance.root_directory} "
            "keeps its runs in local files: `make setup` installs the PostgreSQL one there."
        )
        return 2
    _recovered(instance, dead)
    fault = _preflight(settings)
    if fault is not None:
        print(f"daily_radar cannot start: {fault}")
        return 1
    before = instance.fetch_materializations(KPI_ALERTS, limit=1).records
    log_path = _log_file(settings, run_id)
    print(f"Running daily_radar on {_sources(settings)} (run {run_id})")
    latest = _shown(log_path.with_name("latest.log"))
    print(f"Run log: {_shown(log_path)} (the latest run's: {latest})")
    sys.stdout.flush()
    started = time.monotonic()
    try:
        with output_to(log_path):
            result = _execute(settings, instance, run_id, full_refresh)
    except Exception as error:
        fault = explain(error_text(error), settings.warehouse_path, settings.serving_path)
        print(f"daily_radar FAILED (run {run_id}): {fault or error_text(error)}")
        print(f"See {_shown(log_path)}.")
        return 1
    print(summary(result, time.monotonic() - started, KPI_ALERTS))
    if not result.success:
        first, text = _failure_text(result)
        fault = explain(text, settings.warehouse_path, settings.serving_path)
        if fault is not None:
            print(fault)
        elif first:
            print(f"The first failure, in {first}")
        print(f"See {_shown(log_path)}, or the run in `make dev` (Runs tab).")
        return 1
    sent, _ = raise_alerts(instance, cursor_at(before[0] if before else None), logging.getLogger())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        _attach_landing(con, settings)
        print(render_radar(load_radar(con), sent, settings.as_of, data_notes(con, settings.as_of)))
    print(f"CEO dashboard: {settings.dashboard_path.as_uri()}")
    print(f"BI tools read {settings.serving_path} (read-only; see README, Connecting a BI tool)")
    return 0


def _attach_landing(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The files the sources land in, when apart from the warehouse (on Spark): the radar
    counts the rows held in their quarantines."""
    for source in SOURCE_VARIABLES:
        landing = settings.landing_path(source)
        if landing != settings.warehouse_path and landing.exists():
            con.execute(f"attach {sql_literal(landing)} (read_only)")


def _dagster_home(settings: Settings) -> str | None:
    """DAGSTER_HOME as `make` sets it when unset, with the project's instance of local files
    installed in it when it has none (`make setup` installs the PostgreSQL one); else what is
    missing."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home")))
    if (home / "dagster.yaml").exists():
        return None
    if settings.dagster_postgres_url:
        return f"DAGSTER_HOME={home} has no dagster.yaml: `make setup` installs it."
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    print(f"Dagster instance: orchestration/dagster.yaml copied to {home / 'dagster.yaml'}")
    return None


def _recover_for_dev() -> None:
    with dg.DagsterInstance.get() as instance:
        for item in recover_dead_runs(instance, holds_warehouse=False):
            print(f"Recovered from {item.describe()}.", flush=True)


def dev(host: str, port: int) -> int:
    """`dagster dev` on ``host``:``port`` that stops, whole, within seconds of Ctrl-C or SIGTERM.

    Before it starts and every minute while it runs, the runs whose process died are marked
    failed and their pool slots freed: they would block the runs it launches.
    """
    _recover_for_dev()
    command = [sys.executable, "-m", "dagster", "dev", "--host", host, "--port", str(port)]
    return supervise(command, every=(60, _recover_for_dev))


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
    run_parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental marts over the whole history, not only the changed days",
    )
    backfill_parser = commands.add_parser(
        "backfill", help="run the daily job for each day of a range, oldest first"
    )
    backfill_parser.add_argument("first", type=_day, help="first day, YYYY-MM-DD")
    backfill_parser.add_argument("last", type=_day, help="last day, YYYY-MM-DD")
    commands.add_parser("check", help="check the configured sources against the raw contract")
    dev_parser = commands.add_parser(
        "dev", help="start dagster dev (webserver, daemon); Ctrl-C or SIGTERM stops all of it"
    )
    dev_parser.add_argument("--host", default="127.0.0.1")
    dev_parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    load_dotenv(PROJECT_ROOT / ".env")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Settings: {error}", file=sys.stderr)
        return 2
    if problem := _dagster_home(settings):
        print(problem, file=sys.stderr)
        return 2
    if args.command == "check":
        return check()
    if args.command == "dev":
        return dev(args.host, args.port)
    if args.command == "backfill":
        return backfill(args.first, args.last)
    return run(args.as_of, args.full_refresh)


if __name__ == "__main__":
    sys.exit(main())
