"""What each dbt build leaves on disk."""

import os

from orchestration.defs.transform.dbt import remove_older_builds


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
