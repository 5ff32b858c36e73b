"""The CEO dashboard: a web page generated from the marts after each evaluation of the KPIs."""

import dagster as dg

from orchestration.defs.dashboard.ceo import ceo_dashboard

defs = dg.Definitions(assets=[ceo_dashboard])
