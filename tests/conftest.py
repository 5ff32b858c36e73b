"""Fixtures shared by the extraction tests."""

from datetime import date

import pytest

from demo_company.writer import ensure_demo


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """The demo company at a fifth of its size, as of the tests' day, written once."""
    return ensure_demo(tmp_path_factory.mktemp("demo"), date(2026, 6, 30), seed=42, scale=0.2)


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"
