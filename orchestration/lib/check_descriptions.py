"""What each dbt data test checks, in words, for its asset check in the Dagster UI.

dagster-dbt describes a check only by the test's `meta.description`, which none of this
project's tests set: a generic test is described from its arguments, a singular one by the
comment it opens with (the project's rule for tests written by hand).
"""

import re
from collections.abc import Mapping
from typing import Any

_FILTER = re.compile(r"^\s*(\{\{.*?\}\}|\{%.*?%\})\s*$")
_BLOCK = re.compile(r"^\s*\{#(.*?)#\}", re.DOTALL)
_REF = re.compile(r"""(ref|source)\(\s*(.*?)\s*\)""")


def describe(test: Mapping[str, Any]) -> str | None:
    """The description of the dbt test node ``test`` (a node of dbt's manifest), or None when
    there is nothing to say.

    >>> describe({"test_metadata": {"name": "unique", "kwargs": {"column_name": "kpi_name",
    ...     "model": "{{ get_where_subquery(ref('kpi_catalogue')) }}"}}, "config": {}})
    'Each `kpi_name` appears once in `kpi_catalogue`.'
    """
    metadata = test.get("test_metadata")
    if metadata is None:
        text = _opening_comment(test.get("raw_code", ""))
    else:
        kwargs = metadata.get("kwargs", {})
        model = _named(kwargs.get("model", ""))
        text = _GENERIC.get(metadata["name"], lambda _m, _k: None)(model, kwargs)
    where = test.get("config", {}).get("where")
    if text and where:
        text += f" Rows where `{' '.join(where.split())}`."
    return text


def _named(reference: str) -> str:
    """``ref('a')`` as `a`, ``source('crm', 'companies')`` as `crm.companies`."""
    found = _REF.search(reference)
    if found is None:
        return reference
    return ".".join(part.strip("'\" ") for part in found.group(2).split(","))


def _columns(names: list[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _listed(model: str, kwargs: Mapping[str, Any], end: str) -> str:
    return (
        f"Every `{kwargs['column_name']}` of `{model}` is a `{kwargs['field']}` of "
        f"`{_named(kwargs['to'])}`{end}"
    )


def _row_rules(model: str, kwargs: Mapping[str, Any]) -> str:
    rules = []
    if kwargs.get("not_null"):
        rules.append(f"{_columns(kwargs['not_null'])} never null")
    for column, values in kwargs.get("accepted_values", {}).items():
        rules.append(f"`{column}` one of {', '.join(str(value) for value in values)}")
    for column, bounds in kwargs.get("accepted_range", {}).items():
        strict = bounds.get("inclusive", True) is False
        if bounds.get("min_value") is not None:
            rules.append(f"`{column}` {'>' if strict else '>='} {bounds['min_value']}")
        if bounds.get("max_value") is not None:
            rules.append(f"`{column}` {'<' if strict else '<='} {bounds['max_value']}")
    rules += [f"`{' '.join(rule.split())}`" for rule in kwargs.get("expression_is_true", [])]
    return f"Every row of `{model}` keeps its rules: " + "; ".join(rules) + "."


_GENERIC = {
    "unique": lambda model, kwargs: f"Each `{kwargs['column_name']}` appears once in `{model}`.",
    "unique_combination_of_columns": lambda model, kwargs: (
        f"One row of `{model}` per {_columns(kwargs['combination_of_columns'])}."
    ),
    "relationships": lambda model, kwargs: _listed(model, kwargs, "."),
    "relationships_to_optional": lambda model, kwargs: _listed(
        model, kwargs, ", once it holds any row."
    ),
    "readable_as": lambda model, kwargs: (
        f"In the current version of each row of `{model}`, "
        + "; ".join(f"`{column}` reads as {kind}" for column, kind in kwargs["columns"].items())
        + " (or is empty): staging reads what does not as null."
    ),
    "row_rules": _row_rules,
}


def _opening_comment(sql: str) -> str | None:
    """The comment a test's SQL opens with (`--` lines or a `{# #}` block), past its config,
    as one paragraph."""
    lines = sql.strip().splitlines()
    while lines and (not lines[0].strip() or _FILTER.match(lines[0])):
        lines.pop(0)
    rest = "\n".join(lines)
    if block := _BLOCK.match(rest):
        words = block.group(1).split()
    else:
        comment = []
        for line in lines:
            if not line.lstrip().startswith("--"):
                break
            comment.append(line.lstrip()[2:])
        words = " ".join(comment).split()
    return " ".join(words) or None
