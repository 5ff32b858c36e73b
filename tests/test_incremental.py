"""Day after day, the incremental marts end where a full rebuild of the same raw data does.

Four daily runs of the job on the small demo company, its ERP fed day by day as a real one is:
each day's orders arrive that day, and some rows arrive late or change after the fact (a
customer moved to another segment, a cancellation, an order dated days back, a corrected
quantity, a refund of an old order, web visits in a later day's file, one through a channel
never seen before). The last run must recompute only the days its changes reach. After it, a
copy of the warehouse is rebuilt by ``dbt build --full-refresh``: every intermediate and mart
table must equal the incremental one row for row (EXCEPT ALL both ways). The recount test
of the customer-value mart, which the daily job runs on the days its build changed, and that
of the feedback mart, which it runs on a sample of days, must then miss a wrong count on an
older day that a recount of every day finds, and find one on the last.
"""

import json
import shutil
import sqlite3
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from radar_runs import Run, dbt_command, radar_env

from demo_company.writer import ensure_demo
from orchestration.lib.settings import load_settings

LAST_DAY = date(2026, 6, 30)
DAYS = [LAST_DAY - timedelta(days=back) for back in range(3, -1, -1)]
LATE_ORDER_DATE = DAYS[0] - timedelta(days=1)
LAST_CHANGE_DAYS_BACK = 40
# Which build computed a row, not what it computed: the CLV fit's time, and the load watermark
# an incremental mart's row was computed with (a full rebuild stamps every row with the last).
BUILD_TIME_COLUMNS = ("model_fitted_at", "_loaded_at")


class FedErp:
    """An ERP database that receives the demo company's orders and refunds day by day."""

    def __init__(self, full: Path, path: Path) -> None:
        shutil.copy(full, path)
        self.full, self.path = full, path
        with self._connect() as con:
            (self.late_order,) = con.execute(
                "select min(order_id) from orders where order_date = ? and status = 'completed' "
                "and order_id not in (select order_id from refunds)",
                [LATE_ORDER_DATE.isoformat()],
            ).fetchone()
            con.execute(
                "delete from refunds where refund_date > ? or order_id = ?",
                [DAYS[0].isoformat(), self.late_order],
            )
            withheld = "(select order_id from orders where order_date > ? or order_id = ?)"
            con.execute(
                f"delete from order_lines where order_id in {withheld}",
                [DAYS[0].isoformat(), self.late_order],
            )
            con.execute(
                "delete from orders where order_date > ? or order_id = ?",
                [DAYS[0].isoformat(), self.late_order],
            )
            # The demo holds each customer as last updated, maybe after the first day: such a
            # customer would reach raw only then, and move all their orders out of 'unknown'.
            # Here they are as they were written when created, and move only when a change says.
            con.execute(
                "update customers set updated_at = created_at where updated_at > ?",
                [f"{DAYS[0]} 23:59:59"],
            )

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, isolation_level=None)
        con.execute("attach database ? as full", [str(self.full)])
        return con

    def receive(self, day: date) -> None:
        """The day's orders, lines and refunds, as the demo company has them."""
        with self._connect() as con:
            con.execute(
                "insert into orders select * from full.orders where order_date = ?", [str(day)]
            )
            con.execute(
                "insert into order_lines select * from full.order_lines where order_id in "
                "(select order_id from full.orders where order_date = ?)",
                [str(day)],
            )
            con.execute(
                "insert into refunds select * from full.refunds where refund_date = ? "
                "and order_id in (select order_id from orders)",
                [str(day)],
            )

    def change(self, day: date, sql: str, *params) -> None:
        """A change made on ``day``: the rows it touches, at least one, are stamped updated
        that morning."""
        with self._connect() as con:
            changed = con.execute(sql.format(updated_at=f"'{day} 09:00:00'"), params).rowcount
        assert changed >= 1, sql


def late_web_visit(web: Path, day: date, when: date, channel: str) -> None:
    """A landing file of ``day`` holding a visit, with a sign-up, made on ``when``."""
    lines = [
        json.dumps(
            {
                "event_id": f"late-{day}-{step}",
                "event_type": event_type,
                "occurred_at": f"{when}T10:0{step}:00Z",
                "visitor_id": f"late-visitor-{day}",
                "session_id": f"late-session-{day}",
                "channel": channel,
                "page_path": "/",
                "contact_id": "",
            }
        )
        for step, event_type in enumerate(("session_start", "sign_up"))
    ]
    # `.json`, not `.jsonl`: the demo removes the `.jsonl` files it did not write. The name
    # sorts after the files of earlier days, so the reader's file-name cursor reaches it.
    (web / f"events_{day}-late.json").write_text("\n".join(lines) + "\n")


def changes_of(erp: FedErp, web: Path, day: date) -> None:
    """What arrives late or changes after the fact, on each day after the first. The last
    day's changes reach 40 days back at most, so its run recomputes only those days."""
    if day == DAYS[1]:
        # A recent customer: the reader reads a changed row again for three days, and each
        # read of a customer recomputes the days from their first order.
        erp.change(
            day,
            "update customers set segment = 'enterprise', updated_at = {updated_at} "
            "where customer_id = (select min(customer_id) from customers where segment = 'smb' "
            "and customer_id in (select customer_id from orders group by customer_id "
            "having min(order_date) > ?))",
            (LAST_DAY - timedelta(days=LAST_CHANGE_DAYS_BACK)).isoformat(),
        )
        late_web_visit(web, day, day - timedelta(days=2), "podcast")
    if day == DAYS[2]:
        erp.change(
            day,
            "update orders set status = 'cancelled', updated_at = {updated_at} where order_id = "
            "(select max(order_id) from orders where order_date = ? and status = 'completed')",
            (day - timedelta(days=10)).isoformat(),
        )
        erp.change(
            day,
            "insert into orders select order_id, customer_id, order_date, status, currency, "
            "channel, created_at, {updated_at} from full.orders where order_id = ?",
            erp.late_order,
        )
        erp.change(
            day,
            "insert into order_lines select order_line_id, order_id, product_id, quantity, "
            "unit_price, discount_amount, tax_amount, {updated_at} from full.order_lines "
            "where order_id = ?",
            erp.late_order,
        )
    if day == DAYS[3]:
        erp.change(
            day,
            "update order_lines set quantity = quantity + 2, updated_at = {updated_at} "
            "where order_line_id = (select min(order_line_id) from order_lines where order_id = "
            "(select min(order_id) from orders where order_date = ?))",
            (day - timedelta(days=20)).isoformat(),
        )
        erp.change(
            day,
            "insert into refunds select (select max(refund_id) + 1 from full.refunds), "
            "orders.order_id, ?, 25.00, orders.currency, 'goodwill', {updated_at} from orders "
            "where orders.order_id = (select min(order_id) from orders where order_date = ? "
            "and status = 'completed')",
            day.isoformat(),
            (day - timedelta(days=LAST_CHANGE_DAYS_BACK)).isoformat(),
        )
        late_web_visit(web, day, day - timedelta(days=3), "organic")


def recomputed_by_the_last_run(warehouse: Path) -> dict[str, date]:
    """The first day each incremental mart's last build wrote: rows keep the watermark they
    were computed with, and the last build's is the latest."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            table: con.execute(
                f"select min({day}) from marts.{table} "
                f"where _loaded_at = (select max(_loaded_at) from marts.{table})"
            ).fetchone()[0]
            for table, day in (
                ("fct_customer_value_daily", "value_date"),
                ("fct_web_channels_daily", "activity_date"),
            )
        }


def dbt(env: dict, warehouse: Path, target: Path, *args: str, recount: str = "every"):
    """dbt ``args`` on ``warehouse``, with the vars and environment the job gives dbt and the
    recount tests' days (macro recounted_day)."""
    settings = load_settings({**env, "AS_OF": LAST_DAY.isoformat()})
    dbt_vars = json.dumps(settings.dbt_vars())
    command = dbt_command(
        *["--quiet", *args, "--exclude-resource-type", "unit_test", "--vars", dbt_vars],
        target=target,
        logs=target,
    )
    return subprocess.run(
        command,
        env={**env, **settings.dbt_env(), "WAREHOUSE_PATH": str(warehouse), "DBT_RECOUNT": recount},
        capture_output=True,
        text=True,
    )


def differences(incremental: Path, rebuilt: Path) -> dict[str, tuple[int, int]]:
    """Per table of the intermediate and mart schemas, the rows only the incremental build
    has and those only the rebuild has, leaving out which build computed them."""
    found = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        con.execute(f"attach '{rebuilt}' as rebuilt (read_only)")
        tables = con.execute(
            "select table_schema || '.' || table_name, "
            "string_agg(column_name, ', ' order by ordinal_position) "
            "filter (where column_name not in ?) "
            "from information_schema.tables join information_schema.columns "
            "using (table_catalog, table_schema, table_name) "
            "where table_catalog = 'incremental' and table_type = 'BASE TABLE' "
            "and table_schema in ('intermediate', 'marts') group by 1 order by 1",
            [list(BUILD_TIME_COLUMNS)],
        ).fetchall()
        assert len(tables) > 20, tables
        for table, columns in tables:
            only = [
                con.execute(
                    f"select count(*) from (select {columns} from {one}.{table} "
                    f"except all select {columns} from {other}.{table})"
                ).fetchone()[0]
                for one, other in (("incremental", "rebuilt"), ("rebuilt", "incremental"))
            ]
            if any(only):
                found[table] = tuple(only)
    return found


@pytest.mark.e2e
@pytest.mark.longest
def test_daily_runs_with_late_and_corrected_rows_end_where_a_full_rebuild_does(tmp_path):
    full = ensure_demo(tmp_path / "full", LAST_DAY, seed=42, scale=0.2)
    erp = FedErp(full.erp_db, tmp_path / "erp.sqlite")
    demo = ensure_demo(tmp_path / "demo", DAYS[0], seed=42, scale=0.2)
    # The runs are a minute apart, not a day: no look-back, or each would recompute it all.
    env = radar_env(tmp_path, demo) | {
        "ERP_DATABASE_URL": f"sqlite:///{erp.path}",
        **dict.fromkeys(("CRM_API_URL", "WEB_EVENTS_PATH", "HR_SURVEY_PATH"), "demo"),
        "INCREMENTAL_LOOKBACK_MINUTES": "0",
    }
    for day in DAYS:
        if day != DAYS[0]:
            erp.receive(day)
            changes_of(erp, demo.directory / "web", day)
        run = Run({**env, "AS_OF": day.isoformat()}, tmp_path / f"{day}.out")
        assert run.finish() == 0, run.text()
        assert "daily_radar succeeded" in run.text(), run.text()
        # Every day on the first run; then the days each build changes, the last one passed.
        log = (Path(env["WAREHOUSE_PATH"]).parent / "logs" / "latest.log").read_text()
        recounted = "every day." if day == DAYS[0] else "the days this build changes."
        assert f"The recount tests check {recounted}" in log, log[-3000:]

    warehouse = Path(env["WAREHOUSE_PATH"])
    # The last run recomputed from the earliest day its changes reach (an order of 40 days
    # back refunded, a web visit of 3 days back), not the whole history.
    last_build = recomputed_by_the_last_run(warehouse)
    assert last_build == {
        "fct_customer_value_daily": LAST_DAY - timedelta(days=LAST_CHANGE_DAYS_BACK),
        "fct_web_channels_daily": LAST_DAY - timedelta(days=3),
    }
    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(warehouse, rebuilt)
    done = dbt(env, rebuilt, tmp_path / "target", "build", "--full-refresh")
    assert done.returncode == 0, done.stdout + done.stderr
    assert differences(warehouse, rebuilt) == {}

    # The recount tests check the days the last build changed (from 40 days back), or a sample
    # of the feedback mart's days, or every day: a wrong count on an older day is found only by
    # the last.
    recounts = {
        "assert_customer_value_daily_matches_a_direct_recount": (
            "fct_customer_value_daily set active_customers = active_customers + 1",
            "value_date",
            date(2026, 4, 1),  # the first of a quarter, sampled, but not changed
        ),
        "assert_feedback_daily_matches_a_direct_recount": (
            "fct_feedback_daily set nps_responses_90d = nps_responses_90d + 1",
            "feedback_date",
            date(2026, 4, 2),  # not sampled
        ),
    }

    def failing(mode: str) -> set[str]:
        target = tmp_path / "target"
        done = dbt(env, warehouse, target, "test", "--select", *recounts, recount=mode)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        results = json.loads((target / "run_results.json").read_text())["results"]
        assert len(results) == len(recounts)
        return {r["unique_id"].split(".")[2] for r in results if r["status"] != "pass"}

    def miscount(on: str) -> None:
        with duckdb.connect(str(warehouse)) as con:
            for update, day_column, older_day in recounts.values():
                day = LAST_DAY if on == "last day" else older_day
                con.execute(
                    f"update marts.{update} where {day_column} = ? and dimension = 'total'",
                    [day],
                )

    assert failing("changed") == failing("every") == set()
    miscount("an older day")
    assert failing("changed") == set()
    assert failing("every") == set(recounts)
    miscount("last day")
    assert failing("changed") == set(recounts)
