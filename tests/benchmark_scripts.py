"""The scripts of benchmarks/ loaded as modules, for the tests of their pure parts."""

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from orchestration.lib.settings import PROJECT_ROOT


@contextmanager
def benchmark(name: str) -> Iterator[ModuleType]:
    """``benchmarks/<name>.py`` as a module, registered while in use: dataclasses look their
    module up while a class is made."""
    path = PROJECT_ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]
