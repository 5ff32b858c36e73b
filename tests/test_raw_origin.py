"""A warehouse holds one company's raw rows: the demo's or the company's own, never both."""

import duckdb
import pytest

from orchestration.lib.raw_origin import DEMO, OWN, TABLE, MixedOrigins, claim, run_origin
from orchestration.lib.settings import load_settings


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
