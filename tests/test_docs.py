"""The guides say what the code does: the contract page is current and every setting listed."""

import re

from orchestration.lib.contract_doc import contract_markdown
from orchestration.lib.settings import PROJECT_ROOT, SOURCE_VARIABLES


def test_the_raw_contract_page_is_generated_from_the_current_contract():
    page = (PROJECT_ROOT / "docs" / "raw-contract.md").read_text()
    assert page == contract_markdown(), (
        "docs/raw-contract.md is out of date: "
        ".venv/bin/python -m orchestration.lib.contract_doc > docs/raw-contract.md"
    )


def test_every_contract_column_says_what_it_means():
    undocumented = [
        line
        for line in contract_markdown().splitlines()
        if re.fullmatch(r"\| `\w+` \| .+ \|  \|", line)
    ]
    assert undocumented == []


def test_every_setting_is_in_the_readme_and_the_example_env_file():
    source = (PROJECT_ROOT / "orchestration" / "lib" / "settings.py").read_text()
    variables = set(re.findall(r'(?:read|env\.get)\(\s*"([A-Z_]+)"', source))
    variables |= set(SOURCE_VARIABLES.values())
    assert {"AS_OF", "REPORTING_CURRENCY", "ERP_DATABASE_URL"} <= variables
    readme = (PROJECT_ROOT / "README.md").read_text()
    example = (PROJECT_ROOT / ".env.example").read_text()
    assert sorted(v for v in variables if f"`{v}`" not in readme) == []
    assert sorted(v for v in variables if f"{v}=" not in example) == []
