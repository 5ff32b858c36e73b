"""The dbt project: staging, intermediate models and marts, with dbt tests as asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.transform.dbt import DBT_PROJECT, dbt_models

defs = dg.Definitions(
    assets=[dbt_models],
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT)},
)
