"""The line `make run` prints after its job: data tests apart from the KPIs in alert."""

import dagster as dg

from orchestration.__main__ import summary

KPI_ALERTS = dg.AssetKey(["monitoring", "kpi_alerts"])
ORDERS = dg.AssetKey(["marts", "fct_orders"])


@dg.asset(
    key=ORDERS,
    check_specs=[
        dg.AssetCheckSpec(name, asset=ORDERS) for name in ("unique", "row_rules", "fresh")
    ],
)
def orders():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="unique", passed=True)
    yield dg.AssetCheckResult(check_name="row_rules", passed=False)
    yield dg.AssetCheckResult(check_name="fresh", passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(
    key=KPI_ALERTS,
    deps=[ORDERS],
    check_specs=[
        dg.AssetCheckSpec(name, asset=KPI_ALERTS)
        for name in ("churn_rate", "nps", "average_order_value", "window_revenue")
    ],
)
def kpi_alerts():
    yield dg.MaterializeResult()
    for name, status, members in (
        ("churn_rate", "decline", ""),
        ("nps", "ok", ""),
        ("average_order_value", "ok", "consumer segment"),
        ("window_revenue", "decline", "north region, smb segment"),
    ):
        yield dg.AssetCheckResult(
            check_name=name,
            passed=status == "ok" and not members,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"status": status, "members_in_alert": members},
        )


def test_the_summary_names_failed_and_warned_data_tests_apart_from_the_kpis_in_alert():
    result = dg.materialize([orders, kpi_alerts], raise_on_error=False)
    assert summary(result, 12.4, KPI_ALERTS) == (
        f"daily_radar succeeded in 12 s (run {result.run_id[:8]}): 2 assets materialized; 1 of "
        "the 3 data tests run passed; failed: row_rules; warned: fresh; KPIs in alert: "
        "churn_rate, average_order_value (consumer segment), window_revenue (total, north "
        "region, smb segment)"
    )


@dg.asset
def bad_export():
    raise FileNotFoundError("HR_SURVEY_PATH /exports/pulse is neither a folder nor a CSV file")


@dg.asset
def failed_build():
    raise dg.Failure("dbt's build stopped: 1 failed.\ntest row_rules_orders: Got 2 results")


class PipelineStepFailed(Exception):
    """dlt's error of the same name: a first line that says nothing, the cause chained."""


@dg.asset
def failed_extraction():
    try:
        raise ValueError("400 on GET /crm/v3/objects/p_reviews: Unable to infer object type")
    except ValueError as error:
        raise PipelineStepFailed("Pipeline execution failed at `step=extract` with") from error


def test_the_first_failure_is_the_steps_own_error_and_a_failure_is_said_whole():
    from orchestration.__main__ import _failure_text

    result = dg.materialize([bad_export], raise_on_error=False)
    assert _failure_text(result)[0] == (
        "step bad_export: FileNotFoundError: "
        "HR_SURVEY_PATH /exports/pulse is neither a folder nor a CSV file"
    )
    result = dg.materialize([failed_build], raise_on_error=False)
    assert _failure_text(result)[0] == (
        "step failed_build: dbt's build stopped: 1 failed.\ntest row_rules_orders: Got 2 results"
    )
    result = dg.materialize([failed_extraction], raise_on_error=False)
    assert _failure_text(result)[0] == (
        "step failed_extraction: ValueError: 400 on GET /crm/v3/objects/p_reviews: Unable to "
        "infer object type"
    )
