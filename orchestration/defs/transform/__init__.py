"""The dbt project: staging, intermediate models and marts, with dbt tests as asset checks;
and the two tables computed in Python between its two builds."""

import dagster as dg

from orchestration.defs.transform import python_models
from orchestration.defs.transform.dbt import DBT_BUILDS, DBT_EXECUTABLE, DBT_PROJECT, DbtCli

defs = dg.Definitions.merge(
    python_models.defs,
    dg.Definitions(
        assets=DBT_BUILDS,
        # The resource checks that its dbt executable exists, though its builds run dbt in the
        # run's process: the environment's, found whether or not the environment is activated.
        resources={"dbt": DbtCli(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)},
    ),
)
