"""One asset per raw table, keyed like the dbt source that reads it (``[source, table]``)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract.source import DltSource

from orchestration.defs.ingest.systems import SourceSystems
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.crm import crm_source
from orchestration.lib.sources.erp import erp_source
from orchestration.lib.sources.hr import hr_source
from orchestration.lib.sources.web import web_source

WAREHOUSE_POOL = "duckdb_warehouse"
SYSTEM_KIND = {"erp": "sqlalchemy", "crm": "hubspot", "web": "json", "hr": "csv"}


@dataclass
class RawTableTranslator(DagsterDltTranslator):
    """Keys, descriptions and column schemas from the raw contract."""

    source: str = ""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        table = source_tables(self.source)[data.resource.name]
        columns = dg.TableSchema(
            columns=[dg.TableColumn(name, type_) for name, type_ in table.columns.items()]
        )
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=dg.AssetKey([table.source, table.name]),
                deps=[],
                description=f"{table.description} Raw, in `{table.schema}.{table.name}`.",
                group_name="ingest",
                owners=["team:data-engineering"],
                kinds={"dlt", "duckdb", SYSTEM_KIND[self.source]},
                metadata={"dagster/column_schema": columns, "primary_key": list(table.primary_key)},
            )
        )


def pipeline(source: str, warehouse: Path | None = None) -> dlt.Pipeline:
    """The dlt pipeline of one source; its state lives beside the warehouse it loads."""
    # Extraction hands dlt Arrow batches; staging orders versions by the load id dlt stamps.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    if warehouse is None:  # at definition time only the pipeline's shape is needed
        return dlt.pipeline(f"raw_{source}", destination="duckdb", dataset_name=f"raw_{source}")
    return dlt.pipeline(
        f"raw_{source}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=f"raw_{source}",
        pipelines_dir=str(warehouse.parent / "dlt_pipelines" / warehouse.stem),
    )


def _raw_assets(source: str, make_source: Callable[[str | None], DltSource]):
    @dlt_assets(
        dlt_source=make_source(None),
        dlt_pipeline=pipeline(source),
        name=f"extract_{source}",
        dagster_dlt_translator=RawTableTranslator(source=source),
        pool=WAREHOUSE_POOL,
    )
    def _assets(context: dg.AssetExecutionContext, dlt: DagsterDltResource, systems: SourceSystems):
        warehouse = load_settings().warehouse_path
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        with systems.location(source, context.log) as location:
            yield from dlt.run(
                context=context,
                dlt_source=make_source(location),
                dlt_pipeline=pipeline(source, warehouse),
            )

    return _assets


def _crm(api_url: str | None) -> DltSource:
    if api_url is None:  # definition time, or the source is off: no setting is needed
        return crm_source(None)
    settings = load_settings()
    return crm_source(api_url, settings.crm_token, erp_link=settings.crm_erp_link)


erp_raw = _raw_assets("erp", erp_source)
crm_raw = _raw_assets("crm", _crm)
web_raw = _raw_assets("web", web_source)
hr_raw = _raw_assets("hr", hr_source)
