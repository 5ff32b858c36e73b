"""The project's dbt macros that compute a value, compiled and run by dbt."""

import pytest
from radar_runs import dbt_show


@pytest.mark.e2e
def test_the_weekday_counts_from_monday_on_either_side_of_its_reference_monday(tmp_path):
    # 3 January 2000, the Monday the macro counts from; the days before it count back to 6.
    days = {
        "1999-12-27": 0,  # a Monday, a week before
        "1999-12-31": 4,  # a Friday
        "2000-01-02": 6,  # a Sunday, the day before
        "2000-01-03": 0,
        "2000-01-09": 6,
        "2026-12-07": 0,
    }
    sql = " union all ".join(
        f"select '{day}' as day, {{{{ weekday(\"cast('{day}' as date)\") }}}} as weekday, "
        f"isodow(cast('{day}' as date)) - 1 as iso_weekday"
        for day in days
    )
    shown = {row["day"]: (row["weekday"], row["iso_weekday"]) for row in dbt_show(sql, tmp_path)}
    assert shown == {day: (weekday, weekday) for day, weekday in days.items()}
