"""The operational faults a run meets most, told in words an operator can act on.

A full disk, a path the job may not write, a warehouse another program holds open: each shows
deep in a traceback as an errno or a DuckDB ``IO Error``. ``explain`` recognises them in the
text of an error (and its causes) and says what happened, to which path, and what to do.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fault:
    kind: str  # "disk full", "permission denied" or "warehouse locked"
    path: str | None
    message: str

    def __str__(self) -> str:
        return self.message


# The path an error names: DuckDB quotes it ("IO Error: Could not write file "/x": …"), Python's
# OSError ends with it ("[Errno 13] Permission denied: '/x'").
_QUOTED_PATH = re.compile(r"""(?:file|directory)\s+"([^"]+)"|:\s+'([^']+)'|"(/[^"]+)\"""")
_DISK_FULL = re.compile(r"No space left on device|\[Errno 28\]|database or disk is full", re.I)
_DENIED = re.compile(r"Permission denied|\[Errno 13\]|\[Errno 1\] Operation not permitted", re.I)
_READ_ONLY = re.compile(r"Read-only file system|\[Errno 30\]|readonly database", re.I)
_LOCKED = re.compile(r"Could not set lock on file", re.I)
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def _path_in(text: str, fault: re.Pattern) -> str | None:
    """The path named on the first line that shows ``fault`` (other lines may name files
    that have nothing to do with it)."""
    for line in text.splitlines():
        if fault.search(line) and (match := _QUOTED_PATH.search(line)):
            return next(group for group in match.groups() if group)
    return None


def _is_the_full_disk(named: Path, warehouse: Path) -> bool:
    """Whether the file an error names is on the disk that is full. A library may name a
    file of its own elsewhere (a temporary file on a disk with room): the message must then
    send the reader to the warehouse's disk instead."""

    def existing(path: Path) -> Path:
        return next(p for p in (path, *path.parents) if p.exists())

    on = existing(named)
    return on.stat().st_dev == existing(warehouse).stat().st_dev or (
        shutil.disk_usage(on).free < 2**30
    )


def explain(text: str, warehouse: Path, serving: Path | None = None) -> Fault | None:
    """The fault ``text`` (an error message, its causes appended) shows, or None."""
    if _LOCKED.search(text):
        path = _path_in(text, _LOCKED)
        holder = _LOCK_HOLDER.search(text)
        who = f"{holder.group(1)} (PID {holder.group(2)})" if holder else "another process"
        readers = f" BI tools and notebooks should read the serving copy {serving}." * bool(serving)
        return Fault(
            "warehouse locked",
            path or str(warehouse),
            f"The warehouse {path or warehouse} is locked by another program: {who}. DuckDB "
            "lets one process write a file; close that program's connection (e.g. quit the "
            f"DuckDB CLI or restart the notebook) and run again.{readers}",
        )
    if _DISK_FULL.search(text):
        named = _path_in(text, _DISK_FULL)
        where = named if named and _is_the_full_disk(Path(named), warehouse) else str(warehouse)
        return Fault(
            "disk full",
            where,
            f"The disk is full: writing {where} failed (No space left on device). Free space on "
            f"the disk holding it (see `df -h {Path(where).parent}`) or point WAREHOUSE_PATH at "
            "a disk with room, then run again. The serving copy and the dashboard are left as "
            "they were; the log of this run, on the same disk, may be cut short.",
        )
    if _DENIED.search(text) or _READ_ONLY.search(text):
        where = _path_in(text, _DENIED) or _path_in(text, _READ_ONLY) or str(warehouse)
        why = "is on a read-only file system" if _READ_ONLY.search(text) else "is not writable"
        return Fault(
            "permission denied",
            where,
            f"Permission denied: {where} {why} for the user running the job. Give that user "
            f"write access to {Path(where).parent} (e.g. `chown -R` or `chmod u+w`), or set "
            "WAREHOUSE_PATH (and SERVING_PATH, DASHBOARD_PATH) to a folder it can write.",
        )
    return None


def error_text(error: BaseException) -> str:
    """An exception's message with those of its causes and contexts, for ``explain``."""
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        parts.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    return "\n".join(parts)
