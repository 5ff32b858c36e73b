"""One asset per raw table, keyed like the dbt source that reads it (``[source, table]``)."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract.source import DltSource

from orchestration.defs.engine import ENGINE_POOL
from orchestration.defs.ingest.systems import SourceSystems
from orchestration.defs.reporting_day import ReportingDay
from orchestration.lib import sources
from orchestration.lib.lake import publish_raw
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.raw_origin import MixedOrigins, claim, run_origin
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.crm import crm_source
from orchestration.lib.sources.erp import erp_source
from orchestration.lib.sources.hr import hr_source
from orchestration.lib.sources.web import web_source
from orchestration.lib.warehouse import warehouse_of

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
    """The dlt pipeline of one source; its state lives beside the DuckDB file it loads."""
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
        pool=ENGINE_POOL,
    )
    def _assets(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        systems: SourceSystems,
        reporting_day: ReportingDay,
    ):
        settings = reporting_day.settings()
        landing = settings.landing_path(source)
        landing.parent.mkdir(parents=True, exist_ok=True)
        try:
            claim(landing, source, run_origin(settings))
        except MixedOrigins as error:
            raise dg.Failure(str(error)) from None
        raw = pipeline(source, landing)
        with (
            systems.location(source, context.log, settings) as location,
            _readers_logged_to(context.log),
        ):
            for result in dlt.run(
                context=context, dlt_source=make_source(location), dlt_pipeline=raw
            ):
                yield _with_quarantine_count(result, raw, context.log)
        if settings.engine == "spark":
            lake = warehouse_of(settings)
            for table in publish_raw(landing, raw.dataset_name, lake):
                if table.files:
                    context.log.info(
                        "%s.%s: %d rows written to %s (%d files written or removed)",
                        raw.dataset_name,
                        table.table,
                        table.rows,
                        lake.storage,
                        table.files,
                    )

    return _assets


@contextmanager
def _readers_logged_to(log: logging.Logger) -> Iterator[None]:
    """What the source readers log (a missing optional table, the reasons rows were
    quarantined) in the run's log: they are plain modules that log to Python's logging."""
    handler = _Forward(log)
    readers = logging.getLogger(sources.__name__)
    level = readers.level
    readers.addHandler(handler)
    readers.setLevel(logging.INFO)
    try:
        yield
    finally:
        readers.removeHandler(handler)
        readers.setLevel(level)


class _Forward(logging.Handler):
    def __init__(self, log: logging.Logger) -> None:
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log.log(record.levelno, record.getMessage())


def _with_quarantine_count(
    result: dg.MaterializeResult, raw: dlt.Pipeline, log: logging.Logger
) -> dg.MaterializeResult:
    """``result`` with the number of rows of this run sent to the table's quarantine, when it
    has one, and a warning when there are any: those rows are not in the table."""
    table = result.asset_key.path[-1]
    quarantine = f"{table}_quarantine"
    if quarantine not in raw.default_schema.tables:
        return result
    count = raw.last_trace.last_normalize_info.row_counts.get(quarantine, 0)
    if count:
        log.warning(
            "%s.%s: %d rows read this run were not loaded; they are in %s.%s with the reason.",
            raw.dataset_name,
            table,
            count,
            raw.dataset_name,
            quarantine,
        )
    return dg.MaterializeResult(
        asset_key=result.asset_key,
        metadata={**(result.metadata or {}), "quarantined_rows": dg.MetadataValue.int(count)},
        check_results=result.check_results,
        data_version=result.data_version,
        tags=result.tags,
    )


def _crm(api_url: str | None) -> DltSource:
    if api_url is None:  # definition time, or the source is off: no setting is needed
        return crm_source(None)
    settings = load_settings()
    # HubSpot's rate limits (the source's defaults, or dlt's configuration) bind HubSpot; the
    # demo's server on loopback has none, and answers at once: its tables are read in turn.
    unlimited = {"requests_per_10_seconds": 0, "searches_per_second": 0, "parallel": False}
    return crm_source(
        api_url,
        settings.crm_token,
        erp_link=settings.crm_erp_link,
        reviews_object=settings.crm_reviews_object,
        request_timeout=settings.crm_request_timeout,
        object_deadline=settings.crm_object_deadline,
        run_deadline=settings.crm_run_deadline,
        **(unlimited if settings.crm.mode == "demo" else {}),
    )


erp_raw = _raw_assets("erp", erp_source)
crm_raw = _raw_assets("crm", _crm)
web_raw = _raw_assets("web", web_source)
hr_raw = _raw_assets("hr", hr_source)
