"""Where a long stage says how far it has got, for whoever watches (the CLI's live line).

Stages call `note(stage, text)` between steps (a dictionary write: free next to the work) and may
hand over the DuckDB connection running their big query (`watch_query`), whose own progress
DuckDB reports. A watcher (dagster_project/cli.py) polls `snapshot()` from another thread. Texts
are counts and step names only, never a value from the file: they may end up in logs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

_lock = threading.Lock()
_notes: dict[str, tuple[float, str]] = {}
_queries: dict[str, Any] = {}
_started: dict[str, float] = {}  # stage -> when it first said something (monotonic)


@dataclass(frozen=True)
class Snapshot:
    stage: str
    text: str | None  # the stage's last note
    query_percent: float | None  # the watched DuckDB query's progress, 0-100, when one is running


def note(stage: str, text: str) -> None:
    """Record how far `stage` has got ("phones: 3 of 11 fields", "1,204,311 pairs scored")."""
    with _lock:
        now = time.monotonic()
        _notes[stage] = (now, text)
        _started.setdefault(stage, now)


def watch_query(con: Any, stage: str) -> None:
    """Let the watcher read DuckDB's progress of the query `con` is running for `stage`."""
    with _lock:
        _queries[stage] = con
        _started.setdefault(stage, time.monotonic())


def finish(stage: str) -> None:
    with _lock:
        _notes.pop(stage, None)
        _queries.pop(stage, None)
        _started.pop(stage, None)


def reset() -> None:
    """Forget every stage (a new run in this process, or a test)."""
    with _lock:
        _notes.clear()
        _queries.clear()
        _started.clear()


def current() -> tuple[str, float] | None:
    """The stage that most recently started and has not finished, with its start (monotonic)."""
    with _lock:
        if not _started:
            return None
        stage = max(_started, key=_started.__getitem__)
        return stage, _started[stage]


def snapshot(stage: str) -> Snapshot:
    with _lock:
        text = _notes.get(stage, (0.0, None))[1]
        con = _queries.get(stage)
    percent = None
    if con is not None:
        try:
            value = con.query_progress()  # -1 when no query is running
            percent = float(value) if value is not None and value >= 0 else None
        except Exception:  # noqa: BLE001 - a closed connection or no query: nothing to show
            percent = None
    return Snapshot(stage, text, percent)
