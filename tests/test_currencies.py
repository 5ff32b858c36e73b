"""Orders and refunds in several currencies, from a small hand-made ERP (SQLite) through
extraction and dbt: the marts hold the reporting currency at the rate of each day, and a
missing rate stops the build with a finding that names the currency and the days."""

import json
import os
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from radar_runs import dbt_command

from orchestration.defs.ingest.assets import pipeline
from orchestration.lib.settings import PROJECT_ROOT
from orchestration.lib.sources.erp import erp_source

AS_OF = "2026-06-30"
MISSING_RATE_TEST = "assert_every_order_and_refund_has_an_exchange_rate"

# The ERP as a user's would hold it: two customers, one order in euros on Friday 12 June 2026,
# one in dollars on Saturday 13 June (no rate is published on a Saturday) with a dollar credit
# note on Monday 15 June; rates as the ECB publishes them (dollars per euro, business days).
TABLES = {
    "customers": (
        "customer_id INTEGER, customer_name TEXT, email TEXT, customer_type TEXT, segment TEXT, "
        "region TEXT, country TEXT, created_at TIMESTAMP, updated_at TIMESTAMP",
        [
            (1, "Ada", "ada@example.com", "b2c", "consumer", "west", "FR", "2026-01-05 09:00:00",
             "2026-01-05 09:00:00"),
            (2, "Bob", "bob@example.com", "b2c", "consumer", "west", "US", "2026-01-06 09:00:00",
             "2026-01-06 09:00:00"),
        ],
    ),
    "products": (
        "product_id INTEGER, product_name TEXT, category TEXT, list_price NUMERIC(18, 2), "
        "updated_at TIMESTAMP",
        [(1, "Lamp", "home", 50.00, "2026-01-01 06:00:00")],
    ),
    "orders": (
        "order_id INTEGER, customer_id INTEGER, order_date DATE, status TEXT, currency TEXT, "
        "channel TEXT, created_at TIMESTAMP, updated_at TIMESTAMP",
        [
            (1, 1, "2026-06-12", "completed", "EUR", "web", "2026-06-12 10:00:00",
             "2026-06-12 10:00:00"),
            (2, 2, "2026-06-13", "completed", "USD", "web", "2026-06-13 11:00:00",
             "2026-06-13 11:00:00"),
        ],
    ),
    "order_lines": (
        "order_line_id INTEGER, order_id INTEGER, product_id INTEGER, quantity INTEGER, "
        "unit_price NUMERIC(18, 2), discount_amount NUMERIC(18, 2), tax_amount NUMERIC(18, 2), "
        "updated_at TIMESTAMP",
        [
            (11, 1, 1, 2, 50.00, 0.00, 20.00, "2026-06-12 10:00:00"),
            (21, 2, 1, 1, 125.00, 0.00, 0.00, "2026-06-13 11:00:00"),
        ],
    ),
    "refunds": (
        "refund_id INTEGER, order_id INTEGER, refund_date DATE, amount NUMERIC(18, 2), "
        "currency TEXT, reason TEXT, updated_at TIMESTAMP",
        [(101, 2, "2026-06-15", 25.00, "USD", "damaged", "2026-06-15 09:00:00")],
    ),
    "exchange_rates": (
        "rate_date DATE, base_currency TEXT, currency TEXT, rate DOUBLE, updated_at TIMESTAMP",
        [
            ("2026-06-12", "EUR", "USD", 1.25, "2026-06-12 15:00:00"),
            ("2026-06-15", "EUR", "USD", 2.00, "2026-06-15 15:00:00"),
        ],
    ),
}  # fmt: skip


def write_erp(path: Path, drop_rates: tuple[str, ...] = ()) -> str:
    with sqlite3.connect(path) as db:
        for table, (columns, rows) in TABLES.items():
            db.execute(f"create table {table} ({columns})")
            db.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
        db.executemany("delete from exchange_rates where rate_date = ?", [(d,) for d in drop_rates])
    return f"sqlite:///{path}"


def build(tmp_path: Path, reporting_currency: str = "EUR") -> dict[str, dict]:
    """dbt build of the order marts and everything they read, on the landed ERP; the result
    of each node by name (its status and, for tests, severity)."""
    dbt_vars = {"as_of": AS_OF, "reporting_currency": reporting_currency}
    target = tmp_path / "target"
    subprocess.run(
        dbt_command(
            *["build", "--select", "+fct_orders +fct_customer_value_daily"],
            # only the tests whose every input is built (the CRM is not)
            *["--indirect-selection", "cautious", "--vars", json.dumps(dbt_vars)],
            target=target,
            logs=tmp_path / "logs",
        ),
        env=os.environ | {"WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb")},
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        manifest[r["unique_id"]]["name"]: {
            "status": r["status"],
            "severity": str(manifest[r["unique_id"]]["config"].get("severity")).upper(),
        }
        for r in results
        if r["unique_id"] in manifest
    }


def extract_and_build(tmp_path, reporting_currency="EUR", drop_rates=()):
    url = write_erp(tmp_path / "erp.sqlite", drop_rates)
    pipeline("erp", tmp_path / "warehouse.duckdb").run(erp_source(url))
    return build(tmp_path, reporting_currency)


def query(tmp_path, sql):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def marts(tmp_path):
    orders = dict(query(tmp_path, "select order_id, net_revenue from marts.fct_orders"))
    (window,) = query(
        tmp_path,
        "select net_revenue_in_window, average_customer_value from marts.fct_customer_value_daily "
        f"where value_date = '{AS_OF}' and dimension = 'total'",
    )
    return orders, window


@pytest.mark.parametrize(
    ("reporting_currency", "expected_orders", "expected_window"),
    [
        # EUR, the rates' base: order 1 as it is (2 x 50.00); order 2 (Saturday) at Friday's
        # 1 / 1.25: 125.00 → 100.00, less its refund at the same rate of the order day (not
        # Monday's 1 / 2.00): 25.00 → 20.00. Window revenue 100.00 + 80.00 = 180.00 over 2
        # active customers → 90.00.
        ("EUR", {1: Decimal("100.00"), 2: Decimal("80.00")}, (Decimal("180.00"), 90.0)),
        # USD, not the base: order 1 at Friday's 1.25 → 125.00; order 2 and its refund need
        # no rate: 125.00 - 25.00 = 100.00. Window revenue 225.00 → 112.50 a customer.
        ("USD", {1: Decimal("125.00"), 2: Decimal("100.00")}, (Decimal("225.00"), 112.5)),
    ],
)
@pytest.mark.e2e
def test_orders_in_two_currencies_reach_the_marts_in_the_reporting_currency(
    tmp_path, reporting_currency, expected_orders, expected_window
):
    nodes = extract_and_build(tmp_path, reporting_currency)
    orders, window = marts(tmp_path)
    assert orders == expected_orders
    assert window == expected_window
    failed = {n: r["status"] for n, r in nodes.items() if r["status"] not in ("pass", "success")}
    assert failed == {}


@pytest.mark.e2e
def test_a_missing_rate_stops_the_build_with_an_error_naming_the_currency_and_the_days(tmp_path):
    # Without Friday's rate, Saturday's dollar order has none within the allowed age (Monday's
    # is later), and neither has its refund, which converts at the order day's rate.
    nodes = extract_and_build(tmp_path, drop_rates=("2026-06-12",))
    assert nodes[MISSING_RATE_TEST] == {"status": "fail", "severity": "ERROR"}
    # Nothing is built from unconverted amounts: the marts are skipped, not built with gaps.
    assert nodes["int_orders_enriched"]["status"] == "skipped"
    assert nodes["fct_orders"]["status"] == "skipped"
    # The finding's rows (stored with the test) name the currency and the day.
    ((relation,),) = query(
        tmp_path,
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_name = '{MISSING_RATE_TEST}'",
    )
    rows = query(
        tmp_path,
        "select currency, days_without_rate, orders_without_rate, refunds_without_rate, "
        f"missing_days from {relation}",
    )
    assert rows == [("USD", 1, 1, 1, "2026-06-13")]
