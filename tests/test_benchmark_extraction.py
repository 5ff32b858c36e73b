"""The extraction benchmark's floor and summaries: the bulk copy lands the ERP's contract tables
as they are, and several runs are summed up by their medians."""

import sqlite3
from types import SimpleNamespace

import duckdb
import pytest
from benchmark_scripts import benchmark

from orchestration.lib.raw_contract import source_tables


@pytest.fixture(scope="module")
def bench():
    with benchmark("extraction") as module:
        yield module


def test_the_bulk_copy_lands_the_erps_contract_tables_it_finds_row_for_row(bench, tmp_path):
    columns = list(source_tables("erp")["customers"].columns)
    with sqlite3.connect(tmp_path / "erp.sqlite") as erp:
        erp.execute(f"create table customers ({', '.join(columns)}, extra)")
        row = [1, "Acme", "a@acme.example", "b2b", "smb", "EU", "DE", None, "2026-06-01"]
        erp.executemany(
            f"insert into customers values ({', '.join('?' * (len(columns) + 1))})",
            [[*row, "x"], [2, *row[1:], "y"]],
        )
    demo = SimpleNamespace(erp_db=tmp_path / "erp.sqlite")
    warehouse = tmp_path / "copy" / "warehouse.duckdb"
    assert bench.bulk_copy(demo, warehouse) == 2
    with duckdb.connect(str(warehouse), read_only=True) as db:
        copied = db.execute("select * from customers order by customer_id").fetchall()
        tables = [name for (name,) in db.execute("show tables").fetchall()]
    assert tables == ["customers"]  # the tables the ERP lacks are skipped
    assert [list(r) for r in copied] == [row, [2, *row[1:]]]  # contract columns only


def test_several_runs_are_summed_up_by_their_median_wall_and_cpu_seconds(bench):
    runs = [bench.Timed(3.0, 1.0, 10), bench.Timed(1.0, 5.0, 10), bench.Timed(2.0, 2.0, 10)]
    summary = bench.median(runs)
    assert (summary.wall, summary.cpu, summary.rows) == (2.0, 2.0, 10)
    assert summary.rate == 5.0
