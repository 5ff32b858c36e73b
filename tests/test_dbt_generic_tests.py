"""The project's own generic dbt tests: what they find, run by dbt on rows given inline, and
how the project's tables use them (read from dbt's parsed manifest)."""

import json
from collections import Counter, defaultdict

import pytest
from radar_runs import dbt_show

from orchestration.lib.settings import PROJECT_ROOT

# A unique column that may be null: a customer without a CRM company has none.
NULLABLE_UNIQUE = {("dim_customers", "crm_company_id")}


def rows(values: str) -> str:
    return f"(select * from (values {values}) as given (a, b, c))"


@pytest.mark.e2e
def test_the_row_rules_of_a_table_name_each_rule_some_rows_break_with_their_count(tmp_path):
    rules = (
        "not_null=['a', 'b'], accepted_values={'c': ['x', 'y'], 'a': [1, 2]}, "
        "accepted_range={'a': {'min_value': 1}, 'b': {'min_value': 0, 'max_value': 3, "
        "'inclusive': false}}, expression_is_true=['a < b', \"c <> 'z'\"]"
    )
    cases = {
        # a null fails not_null and an expression, and passes accepted values and ranges
        "some broken": rows("(1, null, 'x'), (2, 3, 'y'), (null, 2, 'z'), (0, 1, 'x')"),
        "none broken": rows("(1, 2, 'x'), (2, 2.5, 'y')"),
        "no rows": rows("(1, 2, 'x')") + " where false",
    }
    sql = " union all ".join(
        f"select '{case}' as case_name, * from ({{{{ test_row_rules(model={model!r}, {rules}) }}}})"
        for case, model in cases.items()
    )
    found = sorted(
        (row["case_name"], row["rule"], row["failing_rows"]) for row in dbt_show(sql, tmp_path)
    )
    assert found == [
        ("some broken", "accepted_range a", 1),  # 0 < 1
        ("some broken", "accepted_range b", 1),  # 3 is not below 3
        ("some broken", "accepted_values a", 1),  # 0
        ("some broken", "accepted_values c", 1),  # 'z'
        ("some broken", "expression_is_true a < b", 2),  # (1, null) and (null, 2)
        ("some broken", "expression_is_true c <> z", 1),
        ("some broken", "not_null a", 1),
        ("some broken", "not_null b", 1),
    ]
    # given the table's key, each rule names the first row that breaks it
    model = rows("(1, null, 'x'), (2, 3, 'y'), (5, 2, 'z'), (4, null, 'x')")
    arguments = "not_null=['b'], accepted_values={'c': ['x', 'y']}, key='a'"
    keyed = f"{{{{ test_row_rules(model={model!r}, {arguments}) }}}}"
    assert sorted(
        (row["rule"], row["failing_rows"], row["first_a"]) for row in dbt_show(keyed, tmp_path)
    ) == [("accepted_values c", 1, 5), ("not_null b", 2, 1)]


def data_tests() -> list[tuple[str, str, dict, dict]]:
    """(table, generic test, its arguments, its config) of each generic data test, the table
    named as dbt names it (model, seed or source table)."""
    manifest = json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())
    tables = {**manifest["nodes"], **manifest["sources"]}
    return [
        (tables[node["attached_node"]]["name"], meta["name"], meta["kwargs"], node["config"])
        for node in manifest["nodes"].values()
        if (meta := node.get("test_metadata")) and node.get("attached_node")
    ]


def test_every_key_column_is_in_its_tables_not_null_rule():
    not_null, keys = defaultdict(set), set()
    for table, test, arguments, config in data_tests():
        if test == "row_rules" and not config.get("where") and config["severity"] == "ERROR":
            not_null[table] |= set(arguments.get("not_null", []))
        elif test == "unique_combination_of_columns":
            keys |= {(table, column) for column in arguments["combination_of_columns"]}
        elif test == "unique":
            keys.add((table, arguments["column_name"]))
    assert len(keys) > 60
    assert {(t, c) for t, c in keys if c not in not_null[t]} == NULLABLE_UNIQUE


def test_each_table_checks_its_rows_in_one_test_per_severity_and_filter():
    """A test per rule cost dbt a node and Dagster an asset check each, 20 to 30 ms of every
    build (README, Speed): the rules on single rows of a table are in its row_rules tests."""
    tests = [(table, test, config) for table, test, _, config in data_tests()]
    assert {test for _, test, _ in tests} == {
        "row_rules",
        "unique",
        "unique_combination_of_columns",
        "relationships",
        "relationships_to_optional",
    }
    groups = Counter(
        (table, config["severity"], config.get("where"))
        for table, test, config in tests
        if test == "row_rules"
    )
    assert len(groups) > 50 and max(groups.values()) == 1


@pytest.mark.e2e
def test_crm_text_reads_as_its_type_or_is_named_and_read_as_null(tmp_path):
    # versions of CRM objects as raw holds them: id 1's 'N/A' was fixed by a newer version;
    # '4.5' is no integer (try_cast would round it to 5), 'soon' no time
    raw = (
        "(select *, '1700000000.0' as _dlt_load_id from (values "
        "('1', timestamp '2026-01-01', 'N/A', ''), ('1', timestamp '2026-02-01', '8', ''), "
        "('2', timestamp '2026-01-01', '4.5', '1752228000000'), "
        "('3', timestamp '2026-01-01', ' 7 ', '2024-03-01T10:00:00.000Z'), "
        "('4', timestamp '2026-01-01', '', 'soon'), "
        "('5', timestamp '2026-01-01', '', '99999999999999999999'), "
        "('6', timestamp '2026-01-01', '', '20261118')) as raw (id, updated_at, score, seen_at))"
    )
    columns = "{'score': 'integer', 'seen_at': 'timestamp'}"
    test = f"{{{{ test_readable_as(model={raw!r}, columns={columns}) }}}}"
    found = sorted((r["id"], r["column_name"], r["text"]) for r in dbt_show(test, tmp_path))
    # digits that are no epoch milliseconds (too many, a yyyymmdd date) are no time either
    assert found == [
        ("2", "score", "4.5"),
        ("4", "seen_at", "soon"),
        ("5", "seen_at", "99999999999999999999"),
        ("6", "seen_at", "20261118"),
    ]
    read = (
        "select {{ read_as(\"'4.0'\", 'integer') }} as whole, {{ read_as(\"'4.5'\", 'integer') }} "
        "as fraction, {{ read_as(\"' N/A '\", 'bigint') }} as text, "
        "{{ read_as(\"'1752228000000'\", 'timestamp') }} as millis, "
        "{{ read_as(\"'2024-03-01T10:00:00.000Z'\", 'timestamp') }} as iso"
    )
    (row,) = dbt_show(read, tmp_path)
    # times in the reporting time zone, UTC by default
    assert (row["whole"], row["fraction"], row["text"]) == (4, None, None)
    assert row["millis"].startswith("2025-07-11T10:00:00")
    assert row["iso"].startswith("2024-03-01T10:00:00")


@pytest.mark.e2e
def test_a_reference_to_an_optional_table_is_checked_once_it_holds_a_row(tmp_path):
    lines = rows("(1, 7, 'x'), (2, 8, 'x'), (3, null, 'x')")

    def unlisted(products: str) -> list:
        test = (
            f"{{{{ test_relationships_to_optional(model={lines!r}, column_name='b', "
            f"to={products!r}, field='a') }}}}"
        )
        return sorted(row["from_field"] for row in dbt_show(test, tmp_path))

    # a product list without 8: the line of product 8 is named, the line without one is not
    assert unlisted(rows("(7, 0, 'p'), (9, 0, 'q')")) == [8]
    # no product listed at all: nothing to tell every line
    assert unlisted("(select * from " + rows("(7, 0, 'p')") + " as listed where false)") == []
