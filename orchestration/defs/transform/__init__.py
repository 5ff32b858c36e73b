"""The dbt project: staging, intermediate models and marts, with dbt tests as asset checks."""

import sys
from pathlib import Path

import dagster as dg

from orchestration.defs.transform.dbt import DBT_PROJECT, DbtCli, dbt_models

defs = dg.Definitions(
    assets=[dbt_models],
    resources={
        # The dbt of this environment, whether or not the environment is activated.
        "dbt": DbtCli(
            project_dir=DBT_PROJECT, dbt_executable=str(Path(sys.executable).with_name("dbt"))
        )
    },
)
