"""Tables a test module prints in the terminal once its tests ran, past pytest's capture.

Under pytest-xdist a worker's terminal is not shown: a worker hands its tables to the
controller (``config.workeroutput``), which prints them after the tests, the rows of one
title from all workers in one table (conftest's terminal summary)."""

from collections.abc import Sequence

import pytest

TABLES = "report_tables"


def print_table(
    config: pytest.Config, title: str, rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> None:
    """``rows`` (the first is the header) in aligned columns under ``title``, then ``notes``."""
    if not rows and not notes:
        return
    if hasattr(config, "workeroutput"):
        table = [title, [list(row) for row in rows], list(notes)]
        config.workeroutput.setdefault(TABLES, []).append(table)
        return
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is None:
        return
    with config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        reporter.ensure_newline()
        write_table(reporter, title, rows, notes)


def print_lines(config: pytest.Config, title: str, lines: Sequence[str]) -> None:
    print_table(config, title, [], lines)


def write_table(reporter, title: str, rows: Sequence[Sequence[str]], notes: Sequence[str]) -> None:
    reporter.write_sep("-", title)
    widths = [max(len(row[at]) for row in rows) for at in range(len(rows[0]))] if rows else []
    for row in rows:
        cells = zip(row, widths, strict=True)
        reporter.write_line(" | ".join(cell.ljust(width) for cell, width in cells).rstrip())
    for note in notes:
        reporter.write_line(note)


def merged(tables: Sequence[Sequence]) -> dict[str, tuple[list, list]]:
    """The tables of several workers, one per title: the header once, then every row and note."""
    by_title: dict[str, tuple[list, list]] = {}
    for title, rows, notes in tables:
        kept, kept_notes = by_title.setdefault(title, ([], []))
        kept.extend(rows[1:] if kept else rows)
        kept_notes.extend(notes)
    return by_title
