"""The ERP's rows typed a whole column at a time give what typing them one by one gives, and a
batch with a fault falls back to the row-by-row sorting that names it."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources import erp

LINES = source_tables("erp")["order_lines"]
READ_AT = datetime(2026, 6, 30, tzinfo=UTC)


def sorter(table=LINES):
    return erp._Sorter(table, erp.quarantine(table), READ_AT)


def line(line_id, updated_at="2026-06-01 10:00:00", unit_price=10.5):
    # order_line_id, order_id, product_id, quantity, unit_price, discount, tax, updated_at
    return (line_id, 1, 7, 2, unit_price, 0, 2.1, updated_at)


def test_doubles_within_binary_noise_of_cents_become_those_cents():
    numbers = pa.array([19.99, 0.1 + 0.2, -5, None, 1234567.891 - 0.001], pa.float64())
    typed = erp._decimals(numbers, pa.decimal128(18, 2))
    assert typed.to_pylist() == [
        Decimal("19.99"),
        Decimal("0.30"),
        Decimal("-5.00"),
        None,
        Decimal("1234567.89"),
    ]


@pytest.mark.parametrize("value", [2.675, 1e16, float("inf")])
def test_a_double_with_more_decimals_or_beyond_the_precision_is_left_to_row_by_row_typing(value):
    assert erp._decimals(pa.array([1.0, value]), pa.decimal128(18, 2)) is None


def test_columns_typed_whole_equal_the_rows_typed_one_by_one():
    rows = [line(1, unit_price=0.1 + 0.2), line(2, "2026-06-01T12:00:00+02:00"), line(3)]
    by_column = sorter()._columns(rows)
    by_row = sorter()._arrow([sorter()._typed(row) for row in rows])
    assert by_column is not None
    assert by_column.equals(by_row)
    assert by_column["updated_at"].to_pylist()[1] == datetime(2026, 6, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        line(2, updated_at=None),  # no cursor
        line(2, updated_at="2027-01-01 00:00:00"),  # in the future
        line(2, unit_price="ten"),  # text in a number column
        line(1),  # a copy of the key before it
    ],
)
def test_a_batch_with_a_fault_is_not_typed_whole(bad):
    assert sorter()._columns([line(1), bad, line(3, "2026-06-02 00:00:00")]) is None


def test_text_that_holds_the_contracts_values_is_typed_one_by_one_and_loads():
    table = sorter()._columns([line(1, unit_price="10.50"), line(2, unit_price=3)])
    assert table["unit_price"].to_pylist() == [Decimal("10.50"), Decimal("3.00")]


def test_copies_of_a_key_split_across_two_fetches_load_once_with_the_other_copy_in_quarantine():
    reader = sorter()
    # A quarantine batch comes wrapped with the hints of its table.
    items = [
        getattr(item, "data", item)
        for item in reader.batches([[line(1), line(2)], [line(2), line(3)]])
    ]
    loaded = [
        row for item in items if "order_line_id" in item.column_names for row in item.to_pylist()
    ]
    held = [row for item in items if "reason" in item.column_names for row in item.to_pylist()]
    assert sorted(row["order_line_id"] for row in loaded) == [1, 2, 3]
    assert [row["reason"].split(":")[0] for row in held] == ["duplicate key"]
    assert reader.latest == datetime(2026, 6, 1, 10, tzinfo=UTC)


def test_dates_and_whole_numbers_typed_whole_keep_their_values():
    orders = source_tables("erp")["orders"]
    row = (5, 9, "2026-06-01", "completed", "EUR", "web", None, "2026-06-01 10:00:00")
    table = sorter(orders)._columns([row])
    assert table.to_pylist()[0] | {"updated_at": None} == {
        "order_id": 5,
        "customer_id": 9,
        "order_date": date(2026, 6, 1),
        "status": "completed",
        "currency": "EUR",
        "channel": "web",
        "created_at": None,
        "updated_at": None,
    }
