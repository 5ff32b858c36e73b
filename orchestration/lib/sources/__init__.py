"""dlt sources that land each system in its raw schema, shaped by the raw contract."""
