import duckdb

from orchestration.lib.dbt_results import build_failure, warnings


def read(sql):
    with duckdb.connect() as con:
        con.execute(
            "create table orders as select * from (values (1, 999), (2, 7)) as t(id, customer_id)"
        )
        return con.sql(sql).to_arrow_table()


def node(unique_id, status, message=None, sql=None):
    return {"unique_id": unique_id, "status": status, "message": message, "compiled_code": sql}


def test_a_failed_test_is_named_with_dbt_message_and_the_first_rows_it_found():
    results = {
        "results": [
            node("model.p.stg_orders", "success"),
            node(
                "test.p.relationships_orders_customer_id.4812e3506e",
                "fail",
                "Got 1 result, configured to fail if != 0",
                "select customer_id as from_field from orders where customer_id = 999\n",
            ),
            node("model.p.fct_orders", "skipped"),
            node("test.p.not_null_fct_orders_id", "skipped"),
        ]
    }
    assert build_failure(results, read) == (
        "dbt's build stopped: 1 failed, and 2 models and tests after it did not run.\n"
        "test relationships_orders_customer_id: Got 1 result, configured to fail if != 0. "
        "The first rows it found: from_field=999"
    )


def test_a_model_error_is_named_and_a_test_whose_rows_cannot_be_read_says_so():
    results = {
        "results": [
            node("model.p.fct_orders", "error", "Binder Error: column x not found"),
            node("test.p.row_rules_orders", "fail", "Got 3 results", "select * from nowhere"),
        ]
    }
    text = build_failure(results, read)
    assert text.splitlines()[:2] == [
        "dbt's build stopped: 2 failed.",
        "model fct_orders: Binder Error: column x not found",
    ]
    assert text.splitlines()[2].startswith(
        "test row_rules_orders: Got 3 results (its rows could not be read: Catalog Error"
    )


def test_a_warning_is_named_with_the_first_rows_its_test_found():
    results = {
        "results": [
            node("test.p.unique_orders_id", "pass"),
            node(
                "test.p.row_rules_orders_warn",
                "warn",
                "Got 1 result, configured to warn if != 0",
                "select 'channel in (web, sales, store)' as rule, 2 as rows_breaking_it",
            ),
        ]
    }
    assert warnings(results, read) == [
        "test row_rules_orders_warn: Got 1 result, configured to warn if != 0. The first rows "
        "it found: rule=channel in (web, sales, store), rows_breaking_it=2"
    ]
