"""The raw contract as a page for people: `docs/raw-contract.md`, written from the dbt sources.

The contract is written once, in `dbt_project/models/staging/<source>/_<source>__sources.yml`;
this renders it table by table (required or optional, key, cursor, every column with its type
and meaning) so the guide never disagrees with what extraction and dbt enforce. A test keeps
the page current: `python -m orchestration.lib.contract_doc > docs/raw-contract.md`.
"""

from __future__ import annotations

import yaml

from orchestration.lib.raw_contract import STAGING_DIR

SOURCES = ("erp", "crm", "web", "hr")


def _text(value: str | None) -> str:
    return " ".join((value or "").split()).replace("|", "\\|")


def contract_markdown() -> str:
    out = [
        "# The raw contract",
        "",
        "What each source must provide, table by table. Generated from the dbt sources files "
        "(`dbt_project/models/staging/<source>/_<source>__sources.yml`), which extraction and "
        "dbt read; regenerate with `.venv/bin/python -m orchestration.lib.contract_doc > "
        "docs/raw-contract.md`.",
        "",
        "A **required** table missing from its source stops the run with an error naming it; "
        "an **optional** one lands empty with a warning, and the marts it feeds are empty. "
        "Columns may be NULL unless a test says otherwise; every table also gets the columns "
        "extraction adds (`_dlt_load_id`, and `_file_name` for file sources).",
    ]
    for source in SOURCES:
        path = STAGING_DIR / source / f"_{source}__sources.yml"
        (spec,) = yaml.safe_load(path.read_text())["sources"]
        out += ["", f"## {source.upper()}: `{spec['schema']}`", "", _text(spec.get("description"))]
        for table in spec["tables"]:
            meta = table["config"]["meta"]
            kind = "required" if meta.get("required") else "optional"
            key = ", ".join(f"`{column}`" for column in meta["primary_key"])
            needs = " or ".join(f"`{column}`" for column in meta.get("needs", ()))
            held = needs and f" A row lacking {needs} is quarantined; it loads once filled in."
            out += [
                "",
                f"### `{table['name']}` ({kind})",
                "",
                _text(table.get("description")),
                "",
                f"Key: {key}. Read incrementally on `{meta['cursor']}`.{held}",
                "",
                "| column | type | meaning |",
                "|---|---|---|",
            ]
            out += [
                f"| `{column['name']}` | {column['data_type']} | "
                f"{_text(column.get('description'))} |"
                for column in table["columns"]
            ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(contract_markdown(), end="")
