from datetime import date

from orchestration.lib.radar import RadarLine, render_radar

DAY = date(2026, 6, 30)


def line(unit, value, before, alert=None, label="KPI"):
    return RadarLine("kpi", label, unit, DAY, value, before, alert)


def test_a_money_kpi_changes_in_percent_and_a_share_in_points():
    assert line("EUR", 3035.0, 3075.0).change == "-1.3%"
    assert line("share", 0.022, 0.016).change == "+0.6 pts"
    assert line("points", 24.0, 10.0).change == "+14.0 pts"
    assert line("EUR", 10.0, None).change == ""


def test_the_radar_lists_each_kpi_with_its_status_and_then_the_alerts():
    alert = {
        "state": "new",
        "label": "Average customer value",
        "dimension": "total",
        "dimension_value": "all",
        "reason": "It fell 5.8 % since 13 March 2026.",
    }
    text = render_radar(
        [
            line("EUR", 3035.0, 3075.0, "decline new", "Average customer value"),
            line("share", 0.022, 0.016, None, "Churn rate"),
        ],
        [alert],
    )
    rows = text.splitlines()
    assert rows[0] == "KPI radar as of 2026-06-30 (change over 28 days)"
    assert "3,035 EUR" in rows[2] and "-1.3%" in rows[2] and rows[2].endswith("decline new")
    assert "2.2 %" in rows[3] and "+0.6 pts" in rows[3] and rows[3].endswith("ok")
    assert rows[-2] == "Alerts raised (1):"
    assert rows[-1] == "  [NEW] Average customer value: It fell 5.8 % since 13 March 2026."


def test_an_empty_warehouse_gives_an_empty_radar():
    assert render_radar([], []).splitlines()[0] == "KPI radar as of no data (change over 28 days)"
