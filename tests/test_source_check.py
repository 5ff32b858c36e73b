"""`python -m orchestration check`: the user's sources against the raw contract, before a run."""

import sqlite3

import pytest

from demo_company.crm_server import CrmServer
from orchestration.__main__ import main
from orchestration.lib.settings import load_settings
from orchestration.lib.source_check import check_sources, exit_status

# a warehouse no run wrote: what a run left in the project's own is not these tests' business
OFF = {
    "ERP_DATABASE_URL": "off",
    "CRM_API_URL": "off",
    "WEB_EVENTS_PATH": "off",
    "WAREHOUSE_PATH": "/nonexistent/warehouse.duckdb",
}
ORDERS = (
    "create table orders (order_id integer, customer_id integer, order_date date, "
    "status text, currency text, channel text, created_at timestamp, updated_at timestamp)"
)


def findings(env):
    return {(f.source, f.table): (f.level, f.message) for f in check_sources(load_settings(env))}


@pytest.fixture
def erp(tmp_path):
    """An ERP with orders (one lacking updated_at), customers lacking columns, no lines."""
    path = tmp_path / "erp.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table customers (customer_id integer, updated_at timestamp)")
        con.execute(ORDERS)
        con.execute(
            "insert into orders values (1, 1, '2026-06-01', 'completed', 'EUR', 'web', "
            "'2026-06-01', '2026-06-01'), (2, 1, '2026-06-02', 'completed', 'EUR', 'web', "
            "'2026-06-02', null)"
        )
    return path


def test_each_erp_table_is_found_missing_or_lacking_columns(erp):
    found = findings({**OFF, "ERP_DATABASE_URL": f"sqlite:///{erp}", "HR_SURVEY_PATH": "off"})
    level, message = found["erp", "customers"]
    assert level == "error" and message.startswith("missing contract columns: customer_name")
    level, message = found["erp", "order_lines"]
    assert level == "error" and message.startswith("required table missing")
    assert found["erp", "refunds"][0] == "warning"
    assert found["erp", "orders"] == (
        "warning",
        "1 of 2 rows lack updated_at: quarantined, not loaded",
    )


def test_exchange_rates_are_needed_only_for_orders_in_another_currency(erp):
    env = {**OFF, "ERP_DATABASE_URL": f"sqlite:///{erp}", "HR_SURVEY_PATH": "off"}
    assert findings(env)["erp", "exchange_rates"] == ("ok", "not needed: every order is in EUR")
    with sqlite3.connect(erp) as con:
        con.execute("update orders set currency = 'usd ' where order_id = 2")
    level, message = findings(env)["erp", "exchange_rates"]
    assert level == "error" and message.startswith("missing, and orders are in USD")


def test_rows_the_first_run_would_hold_or_stop_on_are_named_before_it(erp):
    env = {**OFF, "ERP_DATABASE_URL": f"sqlite:///{erp}", "HR_SURVEY_PATH": "off"}
    with sqlite3.connect(erp) as con:
        con.execute("update orders set customer_id = null, currency = 'XBT' where order_id = 1")
        con.execute(
            "create table exchange_rates (rate_date date, base_currency text, currency text, "
            "rate real, updated_at timestamp)"
        )
        con.execute("insert into exchange_rates values ('2026-06-01', 'EUR', 'USD', 1.1, null)")
    found = {(f.table, f.level, f.message) for f in check_sources(load_settings(env))}
    assert ("orders", "warning", "1 of 2 rows lack customer_id: quarantined, not loaded") in found
    stops = {(table, message) for table, level, message in found if level == "error"}
    assert (
        "exchange_rates",
        "no rate of XBT, the currency of some orders: the build stops on them (they cannot "
        "convert to EUR); add its rates, or correct the orders' currency",
    ) in stops
    with sqlite3.connect(erp) as con:
        con.execute("update orders set customer_id = 1, currency = 'usd' where order_id = 1")
    found = check_sources(load_settings(env))
    assert not [f for f in found if f.table == "exchange_rates" and f.level == "error"]
    assert not [f for f in found if "customer_id" in f.message]


def test_a_missing_sqlite_file_is_an_error_and_nothing_is_created(tmp_path):
    missing = tmp_path / "nowhere.sqlite"
    found = findings({**OFF, "ERP_DATABASE_URL": f"sqlite:///{missing}"})
    level, message = found["erp", "-"]
    assert level == "error" and f"the SQLite file {missing} does not exist" in message
    assert not missing.exists()


def test_each_crm_object_is_readable_absent_or_refused(small_demo):
    disabled = ("feedback_submissions", "meetings")
    with CrmServer(small_demo.crm_db, token="secret", disabled=disabled) as crm:
        settings = load_settings({**OFF, "CRM_API_URL": crm.url, "CRM_API_TOKEN": "secret"})
        checked = check_sources(settings)
        found = {(f.source, f.table): (f.level, f.message) for f in checked}
        refused = findings({**OFF, "CRM_API_URL": crm.url, "CRM_API_TOKEN": "wrong"})
    assert found["crm", "companies"] == ("ok", "HubSpot object companies is readable")
    level, message = found["crm", "feedback"]
    assert level == "warning" and "feedback_submissions is not in this account" in message
    # engagements come from calls, e-mails, meetings and notes: without meetings, from the rest
    meetings = next(f.message for f in checked if "object meetings" in f.message)
    assert meetings == (
        "HubSpot object meetings is not in this account: the table gets its rows from calls, "
        "emails, notes"
    )
    level, message = refused["crm", "companies"]
    assert level == "error" and "CRM_API_TOKEN" in message


def test_the_command_prints_the_findings_and_fails_on_an_error(erp, monkeypatch, capsys):
    for name, value in {**OFF, "ERP_DATABASE_URL": f"sqlite:///{erp}"}.items():
        monkeypatch.setenv(name, value)
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "ERROR    erp  order_lines" in out and "WARNING  erp  refunds" in out
    assert exit_status(check_sources(load_settings(OFF))) == 0
