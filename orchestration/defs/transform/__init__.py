"""The dbt project: staging, intermediate models and marts, with dbt tests as asset checks;
and the two tables computed in Python between its two builds."""

import sys
from pathlib import Path

import dagster as dg

from orchestration.defs.transform import python_models
from orchestration.defs.transform.dbt import DBT_BUILDS, DBT_PROJECT, DbtCli

defs = dg.Definitions.merge(
    python_models.defs,
    dg.Definitions(
        assets=DBT_BUILDS,
        resources={
            # The dbt of this environment, whether or not the environment is activated.
            "dbt": DbtCli(
                project_dir=DBT_PROJECT, dbt_executable=str(Path(sys.executable).with_name("dbt"))
            )
        },
    ),
)
