"""An ERP with gaps a real one has: no products table, an order of a customer it does not list,
a line of an order it has not given, a row it fixes after a bad version loaded. Each warns or
stops the build naming its rows, and every mart builds again once the ERP is right."""

import contextlib
import io
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from radar_runs import project_instance

from orchestration.definitions import defs
from orchestration.lib.radar import data_notes

AS_OF = date(2026, 6, 30)
UNLISTED_CUSTOMER = 990_001
MISSING_ORDER = 990_002


def copy_of(small_demo, root: Path) -> Path:
    """The small demo's ERP without its products table, with one more completed order, on the
    as-of day, of a customer the ERP does not list."""
    erp = root / "erp.sqlite"
    shutil.copy(small_demo.erp_db, erp)
    with contextlib.closing(sqlite3.connect(erp)) as db, db:
        db.execute("drop table products")
        db.execute(
            "insert into orders (order_id, customer_id, order_date, status, currency, channel, "
            "created_at, updated_at) values (990000, ?, ?, 'completed', 'EUR', 'web', ?, ?)",
            [UNLISTED_CUSTOMER, AS_OF.isoformat(), f"{AS_OF} 09:00:00", f"{AS_OF} 09:00:00"],
        )
        db.execute(
            "insert into order_lines (order_line_id, order_id, product_id, quantity, unit_price, "
            "discount_amount, tax_amount, updated_at) values (9900000, 990000, 1, 2, 50.00, 0, "
            "20.00, ?)",
            [f"{AS_OF} 09:00:00"],
        )
    return erp


def run(erp: Path, root: Path):
    """The daily job on ``erp``, every other source off (left unset beside the ERP), and its
    log."""
    env = {
        "ERP_DATABASE_URL": f"sqlite:///{erp}",
        "AS_OF": AS_OF.isoformat(),
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DASHBOARD_PATH": str(root / "dashboard.html"),
        "ALERT_CHANNELS": "",
    }
    with pytest.MonkeyPatch.context() as patch, project_instance() as instance:
        for name in ("CRM_API_URL", "CRM_API_TOKEN", "WEB_EVENTS_PATH", "HR_SURVEY_PATH"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(io.StringIO()):  # dbt's log, through dagster-dbt
            result = defs.resolve_job_def("daily_radar").execute_in_process(
                instance=instance, raise_on_error=False
            )
        log = "\n".join(record.user_message for record in instance.all_logs(result.run_id))
    return result, log


def read(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.e2e
def test_an_unlisted_customer_warns_and_the_order_counts_in_unknown_without_products(
    small_demo, tmp_path
):
    result, log = run(copy_of(small_demo, tmp_path), tmp_path)
    assert result.success
    warned = {
        check.check_name
        for check in result.get_asset_check_evaluations()
        if not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    }
    assert {
        "relationships_stg_erp__orders_customer_id__customer_id__ref_stg_erp__customers_",
        "relationships_fct_orders_customer_id__customer_id__ref_stg_erp__customers_",
    } <= warned
    # an ERP that lists no product is not told on every line that it lists none
    (products,) = [
        check
        for check in result.get_asset_check_evaluations()
        if check.check_name.startswith("relationships_to_optional_stg_erp__order_lines_product")
    ]
    assert products.passed
    assert (
        "test relationships_stg_erp__orders_customer_id__customer_id__ref_stg_erp__customers_: "
        "Got 1 result, configured to warn if != 0. The first rows it found: "
        f"from_field={UNLISTED_CUSTOMER}"
    ) in log
    serving = tmp_path / "serving.duckdb"
    assert read(
        serving,
        "select segment, region, net_revenue from marts.fct_orders "
        f"where customer_id = {UNLISTED_CUSTOMER}",
    ) == [("unknown", "unknown", 100)]
    assert read(serving, "select count(*) from marts.dim_products") == [(0,)]
    (segments,) = read(
        serving,
        "select list(dimension_value order by dimension_value) from marts.fct_customer_value_daily "
        f"where value_date = '{AS_OF}' and dimension = 'segment'",
    )[0]
    assert "unknown" in segments


def notes(root: Path) -> list[str]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return data_notes(con, AS_OF)


@pytest.mark.e2e
def test_a_line_of_an_order_the_erp_has_not_given_waits_for_it_named(small_demo, tmp_path):
    erp = copy_of(small_demo, tmp_path)
    with contextlib.closing(sqlite3.connect(erp)) as db, db:
        db.execute(
            "update order_lines set order_id = ? where order_line_id = 9900000", [MISSING_ORDER]
        )
    result, log = run(erp, tmp_path)
    assert result.success
    assert (
        "test relationships_stg_erp__order_lines_order_id__order_id__ref_stg_erp__orders_: Got 1 "
        f"result, configured to warn if != 0. The first rows it found: from_field={MISSING_ORDER}"
    ) in log
    assert (
        f"1 order line waits for an order the ERP has not given (order {MISSING_ORDER}: held in "
        "quarantine, or not written yet), counted in no mart until it loads."
    ) in notes(tmp_path)
    serving = tmp_path / "serving.duckdb"
    assert read(
        serving, f"select count(*) from marts.fct_orders where order_id = {MISSING_ORDER}"
    ) == [(0,)]

    # The order arrives: its line counts, and the note is gone.
    with contextlib.closing(sqlite3.connect(erp)) as db, db:
        db.execute(
            "insert into orders (order_id, customer_id, order_date, status, currency, channel, "
            "created_at, updated_at) values (?, ?, ?, 'completed', 'EUR', 'web', ?, ?)",
            [
                MISSING_ORDER,
                UNLISTED_CUSTOMER,
                AS_OF.isoformat(),
                f"{AS_OF} 10:00:00",
                f"{AS_OF} 10:00:00",
            ],
        )
    result, _ = run(erp, tmp_path)
    assert result.success
    assert read(
        serving, f"select net_revenue from marts.fct_orders where order_id = {MISSING_ORDER}"
    ) == [(100,)]
    assert not [note for note in notes(tmp_path) if "waits for an order" in note]


@pytest.mark.e2e
def test_a_row_fixed_in_the_erp_no_longer_stops_the_build_for_its_old_version(small_demo, tmp_path):
    erp = copy_of(small_demo, tmp_path)
    with contextlib.closing(sqlite3.connect(erp)) as db, db:
        ((order_id, status),) = db.execute(
            "select order_id, status from orders order by order_id limit 1"
        ).fetchall()
        db.execute(
            "update orders set status = 'on hold', updated_at = ? where order_id = ?",
            [f"{AS_OF} 10:00:00", order_id],
        )
    result, _ = run(erp, tmp_path)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "test row_rules_stg_erp__orders: " in message
    assert f"rule=accepted_values status, failing_rows=1, first_order_id={order_id}" in message

    # Fixed in the ERP with a newer updated_at: raw keeps the bad version, the build passes.
    with contextlib.closing(sqlite3.connect(erp)) as db, db:
        db.execute(
            "update orders set status = ?, updated_at = ? where order_id = ?",
            [status, f"{AS_OF} 11:00:00", order_id],
        )
    result, _ = run(erp, tmp_path)
    assert result.success
    assert read(
        tmp_path / "warehouse.duckdb",
        f"select count(*) from raw_erp.orders where order_id = {order_id} and status = 'on hold'",
    ) == [(1,)]
