"""The serving copy that BI tools read, published after each build that passes its checks."""

import dagster as dg

from orchestration.defs.serving.publish import warehouse_copy

defs = dg.Definitions(assets=[warehouse_copy])
