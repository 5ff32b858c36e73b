"""What each dbt build leaves on disk, and which days it asks the recount tests to check."""

import importlib.metadata
import json
import logging
import os
import subprocess

import dagster as dg
import pytest
from packaging.version import Version
from radar_runs import dbt_command

from orchestration.defs.transform.dbt import (
    DBT_PROJECT,
    DbtCli,
    copy_parse_state,
    dbt_models,
    environment,
    parse_state,
    recount_checks,
    recounts_passed,
    remove_older,
    source_check_results,
    source_test_notices_dropped,
    unknown_node,
)
from orchestration.lib.settings import load_settings


def test_the_dbt_version_is_the_installed_one_without_starting_dbt(tmp_path):
    started = tmp_path / "started"
    executable = tmp_path / "dbt"
    executable.write_text(f"#!/bin/sh\ntouch {started}\necho 'Core: 0.0.1'\n")
    executable.chmod(0o755)
    dbt = DbtCli(project_dir=DBT_PROJECT, dbt_executable=str(executable))
    assert dbt._cli_version == Version(importlib.metadata.version("dbt-core"))
    assert dbt._cli_version.major == 1 and not started.exists()


def test_only_the_latest_builds_target_folders_are_kept(tmp_path):
    for age, name in enumerate(["dbt_models-ccc", "dbt_models-aaa", "dbt_models-bbb"]):
        folder = tmp_path / name
        (folder / "compiled").mkdir(parents=True)
        (folder / "run_results.json").write_text("{}")
        os.utime(folder, (1_000_000 + age, 1_000_000 + age))  # ccc oldest, bbb newest
    (tmp_path / "manifest.json").write_text("{}")  # the project's own, never removed
    other = tmp_path / "dbt_models_after_python-ddd"  # the oldest, but another build's
    other.mkdir()
    os.utime(other, (999_000, 999_000))

    remove_older(tmp_path, "dbt_models", keep=2)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dbt_models-aaa",
        "dbt_models-bbb",
        "dbt_models_after_python-ddd",
        "manifest.json",
    ]


def test_the_next_build_starts_from_the_parsed_project_of_the_latest_one(tmp_path):
    state, build = tmp_path / "parse-aaa", tmp_path / "dbt_models-aaa"
    copy_parse_state(state, build)  # no state yet: dagster-dbt copies in the project's
    assert not build.exists()
    state.mkdir()
    (state / "partial_parse.msgpack").write_bytes(b"parsed by the last build")
    copy_parse_state(state, build)
    assert (build / "partial_parse.msgpack").read_bytes() == b"parsed by the last build"

    (build / "partial_parse.msgpack").unlink()
    copy_parse_state(build, state)  # a build that stopped before parsing leaves it be
    assert (state / "partial_parse.msgpack").read_bytes() == b"parsed by the last build"
    (build / "partial_parse.msgpack").write_bytes(b"parsed by the build")
    copy_parse_state(build, state)
    assert (state / "partial_parse.msgpack").read_bytes() == b"parsed by the build"
    assert [p.name for p in state.iterdir()] == ["partial_parse.msgpack"]


def test_each_warehouse_and_its_settings_keep_a_parse_state_the_next_day_shares():
    def state(**env: str) -> str:
        return parse_state(load_settings({"AS_OF": "2026-06-30", **env})).name

    assert state().startswith("parse-")
    assert state(AS_OF="2026-07-01") == state()
    assert state(WAREHOUSE_PATH="/elsewhere/warehouse.duckdb") != state()
    assert state(INCREMENTAL_LOOKBACK_MINUTES="0") != state()
    assert state(DBT_TARGET="spark", STORAGE_LOCATION="/tmp/lake") != state()


@pytest.mark.e2e
def test_a_new_day_or_recount_setting_makes_dbt_parse_no_file_again(tmp_path):
    def parse(**env: str) -> str:
        command = dbt_command("--debug", "parse", target=tmp_path / "target", logs=tmp_path)
        env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"), **env}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    parse(DBT_AS_OF="2026-06-29", DBT_RECOUNT="every")
    again = parse(DBT_AS_OF="2026-06-30", DBT_RECOUNT="changed")
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed" in again


def test_a_node_the_loaded_manifest_lacks_is_told_apart_from_other_errors():
    # dagster-dbt looks up each node dbt reports: one added after the definitions loaded
    missing = "test.radar.row_rules_fct_orders.1a2b"
    assert unknown_node(KeyError(missing), {"nodes": {}}) == missing
    known = "model.radar.fct_orders"
    assert unknown_node(KeyError(known), {"nodes": {known: {}}}) is None
    assert unknown_node(KeyError("reporting_day"), {"nodes": {}}) is None
    assert unknown_node(ValueError(missing), {"nodes": {}}) is None


def test_dbt_is_given_the_day_in_its_environment_which_is_as_it_was_afterwards(monkeypatch):
    monkeypatch.setenv("DBT_AS_OF", "2026-06-29")
    monkeypatch.delenv("DBT_OTHER", raising=False)
    with environment({"DBT_AS_OF": "2026-06-30", "DBT_OTHER": "x"}):
        assert (os.environ["DBT_AS_OF"], os.environ["DBT_OTHER"]) == ("2026-06-30", "x")
    assert os.environ["DBT_AS_OF"] == "2026-06-29" and "DBT_OTHER" not in os.environ


def recount_run(instance: dg.DagsterInstance, passed: dict[str, bool]) -> bool:
    """A run that plans the recount tests of ``dbt_models`` named in ``passed`` and records
    each one's result, as the daily job does; what ``recounts_passed`` said in it, before its
    results (its own executions are planned by then)."""
    keys = {key.name: key for key in dbt_models.check_keys if key.name in passed}
    assert len(keys) == len(passed), keys
    said = []

    @dg.multi_asset(
        specs=[dg.AssetSpec(key.asset_key) for key in keys.values()],
        check_specs=[dg.AssetCheckSpec(key.name, asset=key.asset_key) for key in keys.values()],
    )
    def recounted(context: dg.AssetExecutionContext):
        said.append(
            recounts_passed(context.instance, recount_checks(dbt_models), context.run.run_id)
        )
        for name, key in keys.items():
            yield dg.AssetCheckResult(check_name=name, asset_key=key.asset_key, passed=passed[name])
        for key in keys.values():
            yield dg.MaterializeResult(asset_key=key.asset_key)

    assert dg.materialize([recounted], instance=instance).success
    return said[0]


def test_the_days_the_build_changed_are_recounted_only_after_every_recount_passed():
    customer_value = "assert_customer_value_daily_matches_a_direct_recount"
    retention = "assert_retention_kpis_daily_match_a_direct_recount"
    both = {customer_value: True, retention: True}
    with dg.DagsterInstance.ephemeral() as instance:
        assert not recount_run(instance, {customer_value: True})  # never ran: every day
        assert not recount_run(instance, both)  # one of two never ran
        assert recount_run(instance, {retention: False})  # both passed last time
        assert not recount_run(instance, both)  # one failed last time
        assert recount_run(instance, both)
        assert recounts_passed(instance, recount_checks(dbt_models), run_id="a run to come")


def test_a_test_naming_a_python_table_is_reported_as_its_check_once_not_as_observations():
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    test = "test.customer_value_radar.assert_logged_outcome_decides_the_conversation_tone"
    other = "test.customer_value_radar.assert_lexicon_mostly_agrees_with_logged_outcomes"
    scored = dg.AssetKey(["intermediate", "int_engagements_scored"])
    key = dg.AssetCheckKey(scored, test.split(".")[-1])

    def observed(unique_id: str, table: list[str]) -> dg.AssetObservation:
        metadata = {"unique_id": unique_id, "status": "fail", "dagster_dbt/failed_row_count": 2}
        return dg.AssetObservation(asset_key=dg.AssetKey(table), metadata=metadata)

    events = [
        observed(test, ["intermediate", "int_engagements_scored"]),
        observed(test, ["staging", "stg_crm__engagements"]),
        observed(other, ["intermediate", "int_engagements_scored"]),  # not in the selection
    ]
    [result, passed_on] = source_check_results(events, manifest, {key})
    assert isinstance(result, dg.AssetCheckResult)
    assert (result.asset_key, result.check_name, result.passed) == (scored, key.name, False)
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["dagster_dbt/failed_row_count"].value == 2
    assert passed_on is events[2]


def test_dagster_dbts_notice_of_a_test_reported_as_its_check_is_left_out_of_the_log():
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    notice = "Logging an `AssetObservation` instead of an `AssetCheckResult` for dbt test `{}`."
    logged = []
    handler = logging.Handler()
    handler.emit = lambda record: logged.append(record.getMessage())
    logger = dg.get_dagster_logger()
    logger.addHandler(handler)
    try:
        with source_test_notices_dropped(manifest):
            logger.warning(notice.format("assert_logged_outcome_decides_the_conversation_tone"))
            logger.warning(notice.format("a_test_of_models_only"))
        logger.warning(notice.format("assert_logged_outcome_decides_the_conversation_tone"))
    finally:
        logger.removeHandler(handler)
    assert logged == [
        notice.format("a_test_of_models_only"),
        notice.format("assert_logged_outcome_decides_the_conversation_tone"),
    ]
