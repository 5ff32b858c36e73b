"""The demo company's employee pulse surveys: determinism, growth by day, realism, CSV files."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from demo_company.hr_pulse import PULSE_KEYS, pulse_responses, survey_closes, survey_opens
from demo_company.simulator import DemoConfig
from demo_company.writer import ensure_demo, hr_file_name, read_manifest

AS_OF = date(2026, 6, 30)
SMALL = DemoConfig(as_of=AS_OF, seed=42, scale=0.2)
SOURCES = Path(__file__).parents[1] / "dbt_project/models/staging/hr/_hr__sources.yml"


def responses(config: DemoConfig) -> dict[date, list[dict]]:
    """Responses by survey month, one dict each."""
    return {
        month: [
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]
        for month, columns in pulse_responses(config)
    }


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def small():
    return responses(SMALL)


def test_same_seed_gives_identical_surveys_and_another_seed_others(small):
    assert responses(SMALL) == small
    assert responses(DemoConfig(as_of=AS_OF, seed=7, scale=0.2)) != small


def test_advancing_as_of_by_a_day_only_adds_the_responses_submitted_that_day():
    # 2026-06-01 is a Monday: the June survey is open from the 1st to the 12th.
    day = date(2026, 6, 3)
    before = responses(DemoConfig(as_of=day, scale=0.2, anchor=AS_OF))
    after = responses(DemoConfig(as_of=day + timedelta(days=1), scale=0.2, anchor=AS_OF))
    assert set(after) == set(before)
    for month, rows in after.items():
        new = [r for r in rows if r["submitted_at"][:10] == (day + timedelta(days=1)).isoformat()]
        assert sorted(r["response_id"] for r in rows) == sorted(
            [r["response_id"] for r in before[month]] + [r["response_id"] for r in new]
        )
        assert [r for r in rows if r not in new] == before[month]
    assert any(r["submitted_at"].startswith("2026-06-04") for r in after[date(2026, 6, 1)])


def test_nothing_is_submitted_after_as_of_nor_before_its_survey_opens(small):
    assert max(small) == date(2026, 6, 1)
    for month, rows in small.items():
        for row in rows:
            submitted = date.fromisoformat(row["submitted_at"][:10])
            assert survey_opens(month) <= submitted <= min(survey_closes(month), AS_OF)
            assert submitted.weekday() < 5
            assert row["survey_month"] == month.isoformat()


def test_one_survey_a_month_over_the_three_years_of_history(small):
    months = sorted(small)
    assert len(months) == 36 and all(m.day == 1 for m in months)
    assert {r["survey_id"] for r in small[months[0]]} == {"pulse-2023-07"}
    assert len({r["response_id"] for rows in small.values() for r in rows}) == sum(
        len(rows) for rows in small.values()
    )


@pytest.mark.parametrize(("scale", "low", "high"), [(0.1, 30, 100), (1, 80, 150), (40, 200, 350)])
def test_headcount_is_a_few_dozen_to_a_couple_hundred_and_grows_mildly_with_scale(scale, low, high):
    config = DemoConfig(as_of=AS_OF, scale=scale)
    for month, rows in responses(config).items():
        invited = {r["department"]: r["invited_count"] for r in rows}
        assert low <= sum(invited.values()) <= high, (scale, month)


def test_each_department_reports_one_headcount_a_month_and_fewer_responses(small):
    for rows in small.values():
        invited, answered = defaultdict(set), defaultdict(int)
        for row in rows:
            invited[row["department"]].add(row["invited_count"])
            answered[row["department"]] += 1
        assert set(invited) == {"sales", "support", "operations", "product", "finance", "marketing"}
        assert all(len(counts) == 1 for counts in invited.values())
        assert all(answered[d] <= next(iter(invited[d])) for d in invited)


def test_response_rate_is_60_to_80_percent_and_enps_around_plus_20():
    # Full months of a whole-company survey at the default size: the sampling noise of a
    # single month is about ±9 points, so the averages are what the demo promises.
    months = responses(DemoConfig(as_of=AS_OF, scale=1))
    rates, enps = [], []
    for rows in months.values():
        invited = {r["department"]: r["invited_count"] for r in rows}
        scores = np.array([r["score"] for r in rows])
        rates.append(len(rows) / sum(invited.values()))
        enps.append(100 * ((scores >= 9).mean() - (scores <= 6).mean()))
        assert scores.min() >= 0 and scores.max() <= 10
    assert 0.6 <= np.mean(rates) <= 0.8 and min(rates) >= 0.5 and max(rates) <= 0.9
    assert 10 <= np.mean(enps) <= 30
    assert np.std(enps) > 3  # noisy from month to month, as real pulses are


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return ensure_demo(tmp_path_factory.mktemp("demo"), AS_OF, seed=42, scale=0.2)


def test_written_exports_have_one_csv_per_survey_month_with_the_contract_columns(written, small):
    (source,) = yaml.safe_load(SOURCES.read_text())["sources"]
    (table,) = source["tables"]
    contract = [c["name"] for c in table["columns"] if c["name"] != "_file_name"]
    files = sorted(p.name for p in written.hr_dir.iterdir())
    assert files == [hr_file_name(m) for m in sorted(small)]
    rows = read_csv(written.hr_dir / hr_file_name(date(2026, 6, 1)))
    assert list(rows[0]) == list(PULSE_KEYS) == contract
    assert rows == [{k: str(v) for k, v in r.items()} for r in small[date(2026, 6, 1)]]
    manifest = read_manifest(written)
    assert manifest["rows"]["hr_files"] == 36
    assert manifest["rows"]["hr_responses"] == sum(len(rows) for rows in small.values())


def test_advancing_rewrites_only_the_surveys_still_open(tmp_path):
    as_of = date(2026, 6, 3)
    paths = ensure_demo(tmp_path, as_of, scale=0.1)
    closed = paths.hr_dir / hr_file_name(date(2026, 5, 1))
    closed_at = closed.stat().st_mtime_ns
    june = paths.hr_dir / hr_file_name(date(2026, 6, 1))
    before = read_csv(june)

    ensure_demo(tmp_path, as_of + timedelta(days=1), scale=0.1)
    assert closed.stat().st_mtime_ns == closed_at
    after = read_csv(june)
    assert after[: len(before)] == before and len(after) > len(before)
    assert {r["submitted_at"][:10] for r in after[len(before) :]} == {"2026-06-04"}

    # A demo written before it had HR exports gets them without a new anchor.
    shutil.rmtree(paths.hr_dir)
    ensure_demo(tmp_path, as_of + timedelta(days=1), scale=0.1)
    assert read_csv(june) == after
    assert read_manifest(paths)["anchor"] == as_of.isoformat()
