"""A warehouse holds one company's raw rows: the demo's or the company's own, never both."""

import duckdb
import pytest

from orchestration.lib.raw_origin import DEMO, OWN, TABLE, MixedOrigins, claim, run_origin
from orchestration.lib.settings import load_settings
from orchestration.lib.source_check import check_sources


def test_a_run_loads_the_company_s_own_data_once_any_source_is_configured():
    assert run_origin(load_settings({})) == DEMO
    assert run_origin(load_settings({"ERP_DATABASE_URL": "demo", "CRM_API_URL": "off"})) == DEMO
    own = load_settings({"WEB_EVENTS_PATH": "/srv/web"})
    assert run_origin(own) == OWN


def test_the_demo_s_raw_rows_stop_a_run_of_the_company_s_own_before_it_loads(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    claim(warehouse, "erp", DEMO)
    claim(warehouse, "erp", DEMO)  # the demo's next day
    with pytest.raises(MixedOrigins) as raised:
        claim(warehouse, "erp", OWN)
    message = str(raised.value)
    assert f"raw_erp in {warehouse} holds the demo company's rows" in message
    assert "would load your company's own" in message
    assert "set WAREHOUSE_PATH to a new file" in message
    assert str(tmp_path / "dlt_pipelines" / "warehouse") in message
    # ... and the other way round; each source's schema answers for itself
    claim(warehouse, "crm", OWN)
    with pytest.raises(MixedOrigins, match=r"raw_crm .* holds your company's own rows"):
        claim(warehouse, "crm", DEMO)
    with duckdb.connect(str(warehouse)) as con:
        origins = con.execute(
            f"select 'erp', origin from raw_erp.{TABLE} union all "
            f"select 'crm', origin from raw_crm.{TABLE} order by 1"
        ).fetchall()
    assert origins == [("crm", OWN), ("erp", DEMO)]


def test_check_says_before_the_first_run_that_the_warehouse_holds_the_demo_s_rows(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    claim(warehouse, "web", DEMO)
    (tmp_path / "web").mkdir()
    own = {"WAREHOUSE_PATH": str(warehouse), "WEB_EVENTS_PATH": str(tmp_path / "web")}
    findings = check_sources(load_settings(own))
    [mix] = [f for f in findings if "demo company's rows" in f.message]
    assert (mix.source, mix.table, mix.level) == ("web", "warehouse", "error")
    assert mix.message.startswith(f"raw_web in {warehouse} holds the demo company's rows")
    # the demo's own next run is fine
    assert not [
        f
        for f in check_sources(load_settings({"WAREHOUSE_PATH": str(warehouse)}))
        if f.level == "error"
    ]
