"""The two tables computed in Python: the CLV fit and the conversations' tone.

dbt runs Python models on some engines only, so these are Dagster assets: each reads its input
model through the engine of the dbt target (the DuckDB file, or Spark's Thrift server:
lib/warehouse.py), computes in this process (orchestration/lib) and writes its table back beside
the intermediate models. dbt declares the tables as the source `python`
(_python__sources.yml, with their descriptions and tests) and builds the marts on them in its
second build (dbt.AFTER_PYTHON).
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pyarrow as pa
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.engine import ENGINE, ENGINE_POOL
from orchestration.defs.reporting_day import ReportingDay
from orchestration.defs.transform.dbt import DBT_PROJECT, dbt_models
from orchestration.lib.clv_predictions import FITTED, predictions_table
from orchestration.lib.sentiment import score_engagements
from orchestration.lib.warehouse import Warehouse, warehouse_of

MANIFEST = json.loads(Path(DBT_PROJECT.manifest_path).read_text())


def _source(table: str) -> dict:
    return MANIFEST["sources"][f"source.{MANIFEST['metadata']['project_name']}.python.{table}"]


def _relation(model: str) -> str:
    node = MANIFEST["nodes"][f"model.{MANIFEST['metadata']['project_name']}.{model}"]
    return f"{node['schema']}.{node['alias']}"


def write(warehouse: Warehouse, table: str, rows: pa.Table) -> None:
    source = _source(table)
    warehouse.replace(source["schema"], source["identifier"], rows)


def python_table(table: str, reads: str, group: str):
    """The asset writing ``table`` of the source `python` from the model ``reads``: its key,
    description and owner are the source's."""
    source = _source(table)
    meta = source["config"]["meta"]
    return dg.asset(
        key=meta["dagster"]["asset_key"],
        deps=[get_asset_key_for_model([dbt_models], reads)],
        description=source["description"],
        group_name=group,
        owners=[f"team:{meta['owner']}"],
        kinds={"python", ENGINE},
        pool=ENGINE_POOL,
    )


@python_table("int_customer_clv_predictions", reads="int_orders_enriched", group="customer_value")
def int_customer_clv_predictions(
    context: dg.AssetExecutionContext, reporting_day: ReportingDay
) -> dg.MaterializeResult:
    settings = reporting_day.settings()
    warehouse, end = warehouse_of(settings), settings.as_of
    purchases = warehouse.read(
        "select customer_id, order_date, cast(net_revenue as double) as net_revenue"
        f" from {_relation('int_orders_enriched')}"
        f" where not is_cancelled and order_date <= date '{end.isoformat()}'",
    )
    rows = predictions_table(
        purchases["customer_id"].to_numpy(),
        purchases["order_date"].to_numpy(),
        purchases["net_revenue"].to_numpy(),
        end,
        float(_source("int_customer_clv_predictions")["config"]["meta"]["monthly_discount"]),
        datetime.now(UTC).replace(tzinfo=None),
    )
    status = rows["clv_fit_status"][0].as_py() if rows.num_rows else None
    if status not in (FITTED, None):
        context.log.warning("Predicted CLV unavailable: %s", rows["clv_fit_error"][0].as_py())
    write(warehouse, "int_customer_clv_predictions", rows)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows.num_rows, "clv_fit_status": str(status)}
    )


@python_table("int_engagements_scored", reads="stg_crm__engagements", group="feedback")
def int_engagements_scored(reporting_day: ReportingDay) -> dg.MaterializeResult:
    warehouse = warehouse_of(reporting_day.settings())
    engagements = warehouse.read(
        # a conversation deleted in the CRM was logged by mistake or on the wrong record
        "select engagement_id, company_id, contact_id, engagement_type, language, outcome,"
        f" body_preview, occurred_at from {_relation('stg_crm__engagements')}"
        " where not is_deleted order by engagement_id",
    )
    rows = score_engagements(engagements)
    write(warehouse, "int_engagements_scored", rows)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows.num_rows})


defs = dg.Definitions(assets=[int_customer_clv_predictions, int_engagements_scored])
