"""Sample records shared by the extraction tests."""

# One web event as the raw contract takes it (dbt_project/models/staging/web/_web__sources.yml).
WEB_EVENT = {
    "event_id": "e1",
    "event_type": "page_view",
    "occurred_at": "2026-06-30T10:00:00Z",
    "visitor_id": "v1",
    "session_id": "s1",
    "channel": "organic",
    "page_path": "/",
    "contact_id": None,
}


def order_value_marts(warehouse, days, customers, orders, order_value) -> None:
    """The marts a build leaves for one KPI, the average order value of the total: its
    catalogue row, `fct_customer_value_daily` and `fct_kpi_daily` over ``days``, each day's
    order value from ``order_value(day)``. Alert states already recorded stay."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            """create schema if not exists reference; create schema if not exists marts;
            create or replace table reference.kpi_catalogue as select * from (values
            ('average_order_value', 'Average order value', 'EUR', 'higher_is_better',
             0.03, 0.0, true, 'total', '')) as t(kpi_name, label, unit, direction, min_effect,
            expected_weekly_growth, enabled, alert_level, related_kpis);
            create or replace table marts.fct_customer_value_daily (value_date date,
            dimension varchar, dimension_value varchar, active_customers bigint,
            orders_in_window bigint, net_revenue_in_window double)"""
        )
        con.executemany(
            "insert into marts.fct_customer_value_daily values (?, 'total', 'all', ?, ?, ?)",
            [(day, customers, orders, orders * order_value(day)) for day in days],
        )
        con.execute(
            """create or replace table marts.fct_kpi_daily as
            select value_date as kpi_date, 'average_order_value' as kpi_name, dimension,
                   dimension_value, net_revenue_in_window / orders_in_window as value,
                   null::bigint as sample_size
            from marts.fct_customer_value_daily"""
        )
