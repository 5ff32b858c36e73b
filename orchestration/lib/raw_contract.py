"""The raw contract, read from the dbt sources YAML where it is written once.

Extraction takes its table names, column types and keys from here, so what lands in raw is
exactly what dbt's sources declare and test.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyarrow as pa
import yaml

from orchestration.lib.settings import PROJECT_ROOT

STAGING_DIR = PROJECT_ROOT / "dbt_project" / "models" / "staging"

# dbt data types of the contract → Arrow types of the batches handed to dlt, and dlt hints.
_ARROW_TYPES = {
    "varchar": pa.string(),
    "bigint": pa.int64(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}

_DLT_TYPES = {
    "varchar": "text",
    "bigint": "bigint",
    "integer": "bigint",
    "double": "double",
    "boolean": "bool",
    "date": "date",
    "timestamp": "timestamp",
}


@dataclass(frozen=True)
class RawTable:
    source: str
    name: str
    schema: str
    columns: dict[str, str]  # column name → dbt data type
    primary_key: tuple[str, ...]
    cursor: str
    description: str
    # A required table missing from its source is an error; an optional one lands empty.
    required: bool = False
    # Columns a row cannot count without (an order's customer and day): a row lacking one is
    # quarantined, as one lacking its key is.
    needs: tuple[str, ...] = ()

    def arrow_schema(self) -> pa.Schema:
        """The contract's columns as Arrow fields; the key's are not nullable, as dlt makes
        them in the warehouse (it would warn of the difference on every batch otherwise)."""
        return pa.schema(
            [
                pa.field(name, _arrow_type(t), nullable=name not in self.primary_key)
                for name, t in self.columns.items()
            ]
        )

    def to_arrow(self, rows: list[dict]) -> pa.Table:
        """A batch of rows as an Arrow table of the contract's types.

        Extraction hands dlt Arrow tables, which it loads as Parquet without normalising row
        by row (an order of magnitude faster). Keys outside the contract (a CRM property added
        by the user, say) are kept as text columns.
        """
        schema = self.arrow_schema()
        extra = sorted({key for row in rows for key in row} - set(schema.names))
        schema = pa.schema([*schema, *((name, pa.string()) for name in extra)])
        return pa.Table.from_pylist(rows, schema=schema)

    def dlt_columns(self) -> dict[str, dict]:
        """Column hints that make dlt create exactly the contract's columns and types."""
        return {name: _dlt_hint(name, data_type) for name, data_type in self.columns.items()}


def _arrow_type(data_type: str) -> pa.DataType:
    if data_type.startswith("decimal"):
        precision, scale = data_type[data_type.index("(") + 1 : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return _ARROW_TYPES[data_type]


def _dlt_hint(name: str, data_type: str) -> dict:
    hint: dict = {"name": name, "nullable": True}
    if data_type.startswith("decimal"):
        precision, scale = data_type[data_type.index("(") + 1 : -1].split(",")
        return hint | {"data_type": "decimal", "precision": int(precision), "scale": int(scale)}
    return hint | {"data_type": _DLT_TYPES[data_type]}


@functools.cache
def source_tables(source: str) -> dict[str, RawTable]:
    """The contract of one source (erp, crm or web), table name → RawTable."""
    path = STAGING_DIR / source / f"_{source}__sources.yml"
    (spec,) = yaml.safe_load(path.read_text())["sources"]
    return {
        table["name"]: RawTable(
            source=spec["name"],
            name=table["name"],
            schema=spec["schema"],
            columns={c["name"]: c["data_type"] for c in table["columns"]},
            primary_key=tuple(table["config"]["meta"]["primary_key"]),
            cursor=table["config"]["meta"]["cursor"],
            description=table.get("description", ""),
            required=table["config"]["meta"].get("required", False),
            needs=tuple(table["config"]["meta"].get("needs", ())),
        )
        for table in spec["tables"]
    }
