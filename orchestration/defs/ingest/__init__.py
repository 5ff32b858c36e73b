"""Extraction of the ERP, CRM, web and HR sources into the raw schemas."""

import dagster as dg
from dagster_dlt import DagsterDltResource

from orchestration.defs.ingest.assets import crm_raw, erp_raw, hr_raw, web_raw
from orchestration.defs.ingest.systems import SourceSystems

defs = dg.Definitions(
    assets=[erp_raw, crm_raw, web_raw, hr_raw],
    resources={"dlt": DagsterDltResource(), "systems": SourceSystems()},
)
