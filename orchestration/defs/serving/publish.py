"""Publishes the served schemas to the file BI tools read, once the build is trusted."""

import dagster as dg

from orchestration.defs.engine import WAREHOUSE_POOL
from orchestration.defs.monitoring.alerts import KPI_ALERTS
from orchestration.defs.reporting_day import ReportingDay
from orchestration.defs.transform.dbt import DBT_BUILDS, failed_dbt_checks
from orchestration.lib.serving import SERVED_SCHEMAS, STORAGE_VERSION, publish

WAREHOUSE_COPY = dg.AssetKey(["serving", "warehouse_copy"])


def _schema_of(spec: dg.AssetSpec) -> str | None:
    relation = spec.metadata.get("dagster/table_name")  # database.schema.table
    return str(relation).split(".")[-2] if relation else None


# The dbt models and seeds that build a served schema, known by the relation each writes.
SERVED_DBT_ASSETS = sorted(
    (
        spec.key
        for build in DBT_BUILDS
        for spec in build.specs
        if _schema_of(spec) in SERVED_SCHEMAS
    ),
    key=lambda key: key.to_user_string(),
)


@dg.asset(
    key=WAREHOUSE_COPY,
    deps=[*SERVED_DBT_ASSETS, KPI_ALERTS],
    description=(
        "The file BI tools read (SERVING_PATH, default `data/serving.duckdb`): the schemas "
        f"{', '.join(f'`{schema}`' for schema in SERVED_SCHEMAS)} of the warehouse, copied "
        "after the marts and the KPI evaluation into a new DuckDB file that is then renamed "
        "over the previous one, so a reader never blocks the pipeline and never sees half a "
        "build. Not published while a dbt test of error severity fails. Row counts per table "
        "are recorded as metadata."
    ),
    group_name="serving",
    owners=["team:data-engineering"],
    kinds={"duckdb", "python"},
    # It reads the warehouse, which a writer in another process must not change meanwhile.
    pool=WAREHOUSE_POOL,
)
def warehouse_copy(
    context: dg.AssetExecutionContext, reporting_day: ReportingDay
) -> dg.MaterializeResult:
    failed = failed_dbt_checks(context.instance)
    if failed:
        raise dg.Failure(
            description=(
                f"Not publishing the serving copy: {len(failed)} dbt test(s) of error severity "
                f"failed on their latest run ({', '.join(sorted(failed))}); BI tools keep "
                "reading the previous build."
            ),
            metadata={"failed_checks": sorted(failed)},
        )
    settings = reporting_day.settings()
    publication = publish(settings.warehouse_path, settings.serving_path)
    context.log.info("published %d tables to %s", len(publication.row_counts), publication.path)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(publication.path)),
            "storage_version": STORAGE_VERSION,
            "tables": len(publication.row_counts),
            # numbers, so the UI plots each table's size run after run
            **{f"rows/{table}": rows for table, rows in publication.row_counts.items()},
        }
    )
