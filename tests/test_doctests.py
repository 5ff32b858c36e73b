"""The examples in the docstrings of the pure modules are run, so they stay true."""

import doctest
import importlib
import pkgutil

import pytest

import orchestration.lib

MODULES = [
    name
    for package in (orchestration.lib,)
    for _, name, _ in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
