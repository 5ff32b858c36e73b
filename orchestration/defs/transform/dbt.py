"""dbt models as assets; groups and owners come from dbt's own metadata, never from names."""

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import signal
import sys
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_UNIQUE_ID_METADATA_KEY,
    extract_runtime_selection_from_args,
    get_manifest_and_translator_from_dbt_assets,
    get_updated_cli_invocation_params_for_context,
)
from packaging.version import Version
from pydantic import Field

from orchestration.defs.engine import WAREHOUSE_POOL
from orchestration.defs.reporting_day import ReportingDay
from orchestration.lib.check_descriptions import describe
from orchestration.lib.dbt_results import build_failure, warnings
from orchestration.lib.dbt_thread import DbtThread
from orchestration.lib.lake import mirror, served_tables
from orchestration.lib.settings import PROJECT_ROOT, Settings
from orchestration.lib.warehouse import Warehouse, warehouse_of

DBT_PROJECT = DbtProject(project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT)
# The dbt of this environment, whether or not the environment is activated.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
TARGET = PROJECT_ROOT / "target"
# Each build writes its own target folder (its log, compiled SQL and run_results.json, about
# 9 to 14 MB): the latest few are kept to look into, older ones removed; so are the parse
# states of the latest few warehouses (parse_state).
KEPT_BUILDS = 7
PARSE_STATE = "parse"
# What a build runs: the first word of each of its nodes' unique ids.
NODE_TYPES = ("model", "seed", "snapshot", "test")


def copy_parse_state(source: Path, destination: Path) -> None:
    """The parsed project (partial_parse.msgpack) of the folder ``source``, if it has one,
    into ``destination``. It only saves parsing: should another build remove either folder
    meanwhile (remove_older), nothing is copied and the build goes on."""
    state = source / "partial_parse.msgpack"
    if not state.exists():
        return
    with contextlib.suppress(FileNotFoundError):
        destination.mkdir(parents=True, exist_ok=True)
        staged = destination / f".partial_parse-{source.name}"
        shutil.copy(state, staged)
        staged.replace(destination / state.name)  # atomic: a build starting now reads it whole


def parse_under_dev() -> None:
    """Under `dagster dev`, dbt's manifest parsed again from the models as the definitions
    load; elsewhere `make` parses it. dbt writes its files in place: parsed in a folder of its
    own, from the last parse, and moved in whole, so that a run starting meanwhile (`make run`
    beside `make dev`) reads the manifest before or after, never half of it."""
    if not os.getenv("DAGSTER_IS_DEV_CLI"):  # set by `dagster dev` for its processes
        return
    staged = TARGET / f".dev-parse-{os.getpid()}"
    copy_parse_state(TARGET, staged)
    dbt = DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)
    dbt.cli(["parse", "--quiet"], target_path=staged).wait()
    copy_parse_state(staged, TARGET)
    (staged / "manifest.json").replace(TARGET / "manifest.json")
    shutil.rmtree(staged)


parse_under_dev()


def group_of(props: Mapping[str, Any]) -> str:
    """The model's folder below its layer: marts/customer_value → customer_value.

    Staging is grouped as one layer; intermediate models join the mart area they serve;
    seeds are reference data.
    """
    if props["resource_type"] == "seed":
        return "reference"
    layer, *areas = props["fqn"][1:-1]
    if layer == "staging" or not areas:
        return layer
    return areas[0]


class DbtCli(DbtCliResource):
    """Dagster's dbt resource, with dbt run in this process (DbtThread) rather than in one of
    its own, about 3 s less a build, and without what the job does not use of it: asking the
    dbt executable for its version in a process of its own (the dbt-core installed beside the
    project is that executable's), opening a dbt adapter to read columns' metadata."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(importlib.metadata.version("dbt-core"))

    def cli(
        self,
        args: Sequence[str],
        *,
        context: dg.AssetExecutionContext,
        target_path: Path,
        raise_on_error: bool = True,
    ) -> DbtCliInvocation:
        """`dbt <args>` on the dbt nodes of ``context``'s selection, writing ``target_path``.
        dbt reads the environment as it runs: it must hold dbt's settings until it ends."""
        args, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context,
            {},
            DagsterDbtTranslator(),
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        project = params.dbt_project
        options = {
            "--project-dir": project.project_dir,
            "--profiles-dir": self.profiles_dir,
            "--target-path": target_path,
            "--log-path": target_path,
            "--indirect-selection": params.indirect_selection,
        }
        return DbtCliInvocation(
            process=DbtThread(
                [
                    *self.global_config_flags,
                    *args,
                    *params.selection_args,
                    *(f"{name}={value}" for name, value in options.items() if value),
                ]
            ),
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=Path(project.project_dir),
            target_path=target_path,
            raise_on_error=raise_on_error,
            cli_version=self._cli_version,
            project=project,
            context=context,
        )


class RadarDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        owner = props.get("config", {}).get("meta", {}).get("owner")
        return spec.replace_attributes(
            group_name=group_of(props),
            owners=[f"team:{owner}"] if owner else [],
        ).merge_attributes(kinds={"duckdb"})

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        """Also a check on a table of the source `python` that a test reading other tables as
        well names in `meta.dagster.source` (`python.<table>`): dagster-dbt attaches such a
        test to the node its `meta.dagster.ref` names, and a ref finds only models."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        test = manifest["nodes"][unique_id]
        if spec is not None:
            return spec._replace(description=spec.description or describe(test))
        key = self.source_check_key(manifest, unique_id, project)
        if key is None or key.asset_key != asset_spec.key:
            return None
        source_id = self.source_of(manifest, unique_id)
        others = set(manifest["parent_map"][unique_id]) - {source_id}
        return dg.AssetCheckSpec(
            name=key.name,
            asset=key.asset_key,
            description=describe(test),
            additional_deps=[self.get_asset_spec(manifest, i, project).key for i in others],
            metadata={DAGSTER_DBT_UNIQUE_ID_METADATA_KEY: unique_id},
            blocking=test["config"]["severity"].lower() == "error",
        )

    @staticmethod
    def source_of(manifest: Mapping[str, Any], unique_id: str) -> str | None:
        """The unique id of the source table a test names in `meta.dagster.source`, or None."""
        meta = manifest["nodes"][unique_id]["config"]["meta"]
        source = meta.get("dagster", {}).get("source")
        return source and f"source.{manifest['metadata']['project_name']}.{source}"

    def source_check_key(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetCheckKey | None:
        """The check a test naming a source table in `meta.dagster.source` is, or None."""
        source_id = self.source_of(manifest, unique_id)
        if source_id is None:
            return None
        asset_key = self.get_asset_spec(manifest, source_id, project).key
        return dg.AssetCheckKey(asset_key, manifest["nodes"][unique_id]["name"])


def source_check_results(
    events: list, manifest: Mapping[str, Any], selected: Collection[dg.AssetCheckKey]
) -> list:
    """The events, with the results of the tests naming a source table in `meta.dagster.source`
    as the checks they are: dagster-dbt knows only the checks of `meta.dagster.ref` while dbt
    runs, and logs any other test as an observation of each table it reads."""
    out, seen = [], set()
    for event in events:
        unique_id = getattr(event.metadata.get("unique_id"), "value", None)
        key = (
            unique_id
            and unique_id.startswith("test.")
            and TRANSLATOR.source_check_key(manifest, unique_id, DBT_PROJECT)
        )
        if not isinstance(event, dg.AssetObservation) or not key or key not in selected:
            out.append(event)
            continue
        if unique_id in seen:
            continue
        seen.add(unique_id)
        status = event.metadata["status"].value
        out.append(
            dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=status == "pass",
                severity=dg.AssetCheckSeverity.WARN
                if status == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata=dict(event.metadata),
            )
        )
    return out


@contextmanager
def source_test_notices_dropped(manifest: Mapping[str, Any]) -> Iterator[None]:
    """dagster-dbt's warning that it logs a test naming a Python table in `meta.dagster.source`
    as observations, left out of the run's log: source_check_results reports the test as its
    check."""
    names = {
        node["name"]
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "test" and RadarDbtTranslator.source_of(manifest, unique_id)
    }

    def keep(record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("Logging an `AssetObservation` instead of an `AssetCheckResult`")
            and any(f"`{name}`" in message for name in names)
        )

    dagster_dbt_logger = dg.get_dagster_logger()
    dagster_dbt_logger.addFilter(keep)
    try:
        yield
    finally:
        dagster_dbt_logger.removeFilter(keep)


class BuildConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental marts over the whole history, not only the days "
        "the new data changes (dbt build --full-refresh).",
    )
    recount_every_day: bool = Field(
        default=False,
        description="Recount the sampled days of the whole history (the tests tagged "
        "`recount`), not only those of the days the build changed.",
    )


# The tables the Python assets write (python_models.py, declared as the dbt source `python`)
# and every node after them: built by a second dbt invocation once those assets have run on the
# first's models. A test reading both sides runs in the second, on the day's data.
AFTER_PYTHON = "source:python+"
TRANSLATOR = RadarDbtTranslator(
    # Source tests check the raw tables extraction lands, so they show on those assets.
    settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
)


def dbt_build(name: str, **selection: str) -> dg.AssetsDefinition:
    """The dbt models and tests of ``selection`` as the assets of one `dbt build`."""

    @dbt_assets(
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        dagster_dbt_translator=TRANSLATOR,
        name=name,
        # It writes the DuckDB file: the marts, or on Spark the copy of those it serves.
        pool=WAREHOUSE_POOL,
        **selection,
    )
    def build(
        context: dg.AssetExecutionContext,
        dbt: DbtCli,
        reporting_day: ReportingDay,
        config: BuildConfig,
    ):
        # The daily marts run to the run's as-of day, days without orders included. dbt's unit
        # tests check the models' logic on fixed rows, not the day's data: `make test` runs them.
        settings = reporting_day.settings()
        dbt_vars = json.dumps(settings.dbt_vars())
        args = ["build", "--exclude-resource-type", "unit_test", "--vars", dbt_vars]
        # The recount tests check the days the build changed (macro recounted_day), or every
        # day when asked or when one of them did not pass last time (failed, or never ran
        # after its build wrote): the days it did not vouch for may not change again.
        recounts = recount_checks(context.assets_def)
        every_day = config.recount_every_day or not recounts_passed(
            context.instance, recounts, context.run.run_id
        )
        if recounts:
            context.log.info(
                "The recount tests check "
                + ("every day." if every_day else "the days this build changes.")
            )
        recount = {"DBT_RECOUNT": "every" if every_day else "changed"}
        folder = TARGET / f"{name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
        state = parse_state(settings)
        # A new warehouse has none: dbt parses the whole project (the parse `make` leaves in
        # the target was made without the run's vars and connection, which dbt would not reuse).
        copy_parse_state(state, folder)
        with environment({**settings.dbt_env(), **recount}):
            invocation = dbt.cli(
                [*args, "--full-refresh"] if config.full_refresh else args,
                context=context,
                target_path=folder,
                raise_on_error=False,
            )
            # Row counts are read once dbt has ended: counting as each model lands would read
            # the warehouse while dbt writes it.
            try:
                with source_test_notices_dropped(invocation.manifest):
                    events = list(invocation.stream())
                succeeded = invocation.is_successful()
            except BaseException as error:
                # Left alone, dbt would go on writing the warehouse after its step failed.
                invocation.process.send_signal(signal.SIGINT)
                invocation.process.wait()
                if unknown := unknown_node(error, invocation.manifest):
                    raise dg.Failure(
                        f"dbt ran {unknown}, which this run's definitions do not hold: the dbt "
                        "project changed after they loaded. Run again (under `make dev`, reload "
                        "the code location first: Deployment, Reload)."
                    ) from error
                raise
        events = source_check_results(
            events, invocation.manifest, context.selected_asset_check_keys
        )
        built = built_tables(events, invocation.manifest)
        warehouse = warehouse_of(settings)
        yield from with_row_counts(events, built, warehouse)
        if settings.engine == "spark":
            # The alerts, the serving copy and the dashboard read the marts from the DuckDB file.
            mirror(warehouse, settings.warehouse_path, served_tables(built, invocation.manifest))
        copy_parse_state(folder, state)
        remove_older(TARGET, name, KEPT_BUILDS)
        remove_older(TARGET, PARSE_STATE, KEPT_BUILDS)
        results = folder / "run_results.json"
        if not succeeded:
            if not results.exists():  # dbt stopped before running any node
                raise invocation.get_error()
            raise dg.Failure(build_failure(json.loads(results.read_text()), warehouse.read))
        for warning in warnings(json.loads(results.read_text()), warehouse.read):
            context.log.warning(warning)

    return build


dbt_models = dbt_build("dbt_models", exclude=AFTER_PYTHON)
dbt_models_after_python = dbt_build("dbt_models_after_python", select=AFTER_PYTHON)
DBT_BUILDS = [dbt_models, dbt_models_after_python]


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with ``values`` set, then as it was: dbt, running in this process, reads
    them as long as it runs."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


def parse_state(settings: Settings) -> Path:
    """The folder keeping the parsed project that the next build on ``settings``' warehouse
    starts from. With it dbt parses again only the files changed since, but the whole project
    when the connection or the vars it is given differ from those of that parse: each
    warehouse with its settings keeps its own, so that builds on several warehouses (tests,
    benchmarks, a second company) do not undo each other's."""
    env = {name: value for name, value in settings.dbt_env().items() if name != "DBT_AS_OF"}
    key = json.dumps([str(settings.warehouse_path), env, settings.dbt_vars()], sort_keys=True)
    return TARGET / f"{PARSE_STATE}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def remove_older(target: Path, name: str, keep: int) -> None:
    """Removes all but the ``keep`` latest folders ``name``-* of ``target``: the builds of the
    dbt assets ``name``, or the parse states."""
    builds = sorted(target.glob(f"{name}-*"), key=lambda folder: folder.stat().st_mtime)
    for folder in builds[:-keep]:
        shutil.rmtree(folder, ignore_errors=True)


def unknown_node(error: BaseException, manifest: Mapping[str, Any]) -> str | None:
    """The dbt node that ``error`` says is missing from ``manifest``, if that is what it says:
    dagster-dbt looks up each node dbt reports in the manifest the definitions loaded."""
    key = error.args[0] if isinstance(error, KeyError) and error.args else None
    if isinstance(key, str) and key.split(".")[0] in NODE_TYPES and key not in manifest["nodes"]:
        return key
    return None


def built_tables(events: list, manifest: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """(schema, table) of each model or seed table the build's outputs wrote, by unique id."""
    built = {}
    for event in events:
        if not isinstance(event, dg.Output) or "unique_id" not in event.metadata:
            continue
        unique_id = event.metadata["unique_id"].value
        node = manifest["nodes"].get(unique_id, {})
        if node.get("resource_type") in ("model", "seed") and (
            node["config"].get("materialized") != "view"
        ):
            built[unique_id] = (node["schema"], node["alias"])
    return built


def with_row_counts(
    events: list, built: Mapping[str, tuple[str, str]], warehouse: Warehouse
) -> list:
    """The events, each output of ``built`` with its table's row count as metadata, counted in
    one query."""
    if not built:
        return events
    counts = warehouse.read(
        " union all ".join(
            f"select '{uid}' as unique_id, count(*) as row_count from {schema}.{table}"
            for uid, (schema, table) in built.items()
        )
    ).to_pydict()
    count_of = dict(zip(counts["unique_id"], counts["row_count"], strict=True))
    return [
        event.with_metadata({**event.metadata, "dagster/row_count": count_of[uid]})
        if isinstance(event, dg.Output)
        and (uid := getattr(event.metadata.get("unique_id"), "value", None)) in count_of
        else event
        for event in events
    ]


def recount_checks(build: dg.AssetsDefinition) -> list[dg.AssetCheckKey]:
    """The checks of ``build`` that are tests tagged `recount`."""
    manifest = get_manifest_and_translator_from_dbt_assets([build])[0]
    recounts = {
        test["name"]
        for test in manifest["nodes"].values()
        if test["resource_type"] == "test" and "recount" in test["tags"]
    }
    return [key for key in build.check_keys if key.name in recounts]


def recounts_passed(
    instance: dg.DagsterInstance, recounts: list[dg.AssetCheckKey], run_id: str
) -> bool:
    """Whether the latest execution of each check of ``recounts`` by a run other than
    ``run_id`` passed: a run records its own as planned when it starts."""
    for key in recounts:
        earlier = [
            record
            for record in instance.event_log_storage.get_asset_check_execution_history(key, 2)
            if record.run_id != run_id
        ]
        if not earlier or earlier[0].status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            return False
    return True


def failed_dbt_checks(instance: dg.DagsterInstance) -> list[str]:
    """dbt tests of error severity whose latest execution failed.

    The latest execution, not this run's: an asset materialized alone after a failed build
    must not trust the data those tests rejected.
    """
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [key for build in DBT_BUILDS for key in build.check_keys]
    )
    failed = []
    for key, record in records.items():
        if record.status != AssetCheckExecutionRecordStatus.FAILED or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        if getattr(evaluation, "severity", None) == dg.AssetCheckSeverity.ERROR:
            failed.append(key.to_user_string())
    return failed
