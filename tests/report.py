"""Tables a test module prints in the terminal once its tests ran, past pytest's capture."""

from collections.abc import Sequence

import pytest


def print_table(
    config: pytest.Config, title: str, rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> None:
    """``rows`` (the first is the header) in aligned columns under ``title``, then ``notes``."""
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if not rows or reporter is None:
        return
    widths = [max(len(row[at]) for row in rows) for at in range(len(rows[0]))]
    with config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_sep("-", title)
        for row in rows:
            cells = zip(row, widths, strict=True)
            reporter.write_line(" | ".join(cell.ljust(width) for cell, width in cells).rstrip())
        for note in notes:
            reporter.write_line(note)
