"""dbt models as assets; groups and owners come from dbt's own metadata, never from names."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.defs.ingest.assets import WAREHOUSE_POOL
from orchestration.lib.settings import PROJECT_ROOT

DBT_PROJECT = DbtProject(project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT)
# Under `dagster dev` the manifest is rebuilt from the models; elsewhere `make` builds it.
DBT_PROJECT.prepare_if_dev()


def group_of(props: Mapping[str, Any]) -> str:
    """The model's folder below its layer: marts/customer_value → customer_value.

    Staging is grouped as one layer; intermediate models join the mart area they serve;
    seeds are reference data.
    """
    if props["resource_type"] == "seed":
        return "reference"
    layer, *areas = props["fqn"][1:-1]
    if layer == "staging" or not areas:
        return layer
    return areas[0]


class RadarDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        owner = props.get("config", {}).get("meta", {}).get("owner")
        return spec.replace_attributes(
            group_name=group_of(props),
            owners=[f"team:{owner}"] if owner else [],
        ).merge_attributes(kinds={"duckdb"})


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    # Source tests check the raw tables extraction lands, so they show on those assets.
    dagster_dbt_translator=RadarDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
    ),
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
