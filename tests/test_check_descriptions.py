"""Each dbt data test's asset check says in words what it checks."""

from orchestration.lib.check_descriptions import describe


def generic(name: str, config: dict | None = None, **kwargs) -> dict:
    kwargs.setdefault("model", "{{ get_where_subquery(ref('fct_orders')) }}")
    return {"test_metadata": {"name": name, "kwargs": kwargs}, "config": config or {}}


def test_a_key_test_names_its_columns_and_table():
    assert describe(generic("unique", column_name="order_id")) == (
        "Each `order_id` appears once in `fct_orders`."
    )
    assert (
        describe(
            generic(
                "unique_combination_of_columns",
                combination_of_columns=["kpi_date", "kpi_name", "dimension"],
                model="{{ get_where_subquery(source('crm', 'companies')) }}",
            )
        )
        == "One row of `crm.companies` per `kpi_date`, `kpi_name` and `dimension`."
    )
    assert (
        describe(
            generic(
                "relationships", column_name="customer_id", to="ref('dim_customers')", field="id"
            )
        )
        == "Every `customer_id` of `fct_orders` is a `id` of `dim_customers`."
    )
    assert (
        describe(
            generic(
                "relationships_to_optional", column_name="product_id", to="ref('p')", field="id"
            )
        )
        == "Every `product_id` of `fct_orders` is a `id` of `p`, once it holds any row."
    )


def test_the_rules_of_a_table_are_listed_in_the_order_the_test_counts_them():
    test = generic(
        "row_rules",
        config={"where": "is_cancelled\n  = false"},
        not_null=["order_id", "order_date"],
        accepted_values={"status": ["open", "done"], "score": [1, 2]},
        accepted_range={
            "net_revenue": {"min_value": 0},
            "share": {"min_value": 0, "max_value": 1, "inclusive": False},
        },
        expression_is_true=["net_revenue\n  <= gross_revenue"],
        key="order_id",
    )
    assert describe(test) == (
        "Every row of `fct_orders` keeps its rules: `order_id` and `order_date` never null; "
        "`status` one of open, done; `score` one of 1, 2; `net_revenue` >= 0; `share` > 0; "
        "`share` < 1; `net_revenue <= gross_revenue`. Rows where `is_cancelled = false`."
    )


def test_a_test_written_by_hand_is_described_by_the_comment_it_opens_with():
    dashes = (
        "{{ config(meta={'dagster': {'ref': {'name': 'fct_orders'}}}) }}\n\n"
        "-- Every customer has one cohort:\n--   the sizes add up.\nwith a as (select 1)\n"
        "-- not this\nselect * from a\n"
    )
    assert describe({"raw_code": dashes}) == "Every customer has one cohort: the sizes add up."
    block = "{#\n    Rates share one base\n    currency.\n#}\nselect 1 -- not this\n"
    assert describe({"raw_code": block}) == "Rates share one base currency."
    assert describe({"raw_code": "select 1\n"}) is None
    assert describe(generic("a_test_of_another_package")) is None
