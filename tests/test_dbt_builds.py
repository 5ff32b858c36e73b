"""What each dbt build leaves on disk."""

import importlib.metadata
import os

from packaging.version import Version

from orchestration.defs.transform.dbt import DBT_PROJECT, DbtCli, remove_older_builds


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

    remove_older_builds(tmp_path, keep=2)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dbt_models-aaa",
        "dbt_models-bbb",
        "manifest.json",
    ]
