"""How every DuckDB connection of the pipeline is bounded: memory, spill folder, threads.

Several uploads may run at once on one machine (the queued run coordinator allows it), and one
large upload must not take the machine's memory: DuckDB spills to `temp_directory` beyond
`memory_limit` instead of failing or swapping. Environment variables (docs/settings.md):

REFINERY_DUCKDB_MEMORY_LIMIT   memory one DuckDB connection may use before spilling (default 4GB)
REFINERY_DUCKDB_TEMP_DIR       where it spills (default: <system temp>/refinery-duckdb)
REFINERY_DUCKDB_THREADS        threads per connection (default 2)
REFINERY_PREDICT_CHUNK_ROWS    linkage scores candidate pairs in slices of about this many records
                               (default 1,000,000), so that a large upload never holds all its
                               candidate pairs at once
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.env_settings import env_number

_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DuckDBSettings:
    memory_limit: str = "4GB"
    temp_directory: str = str(Path(tempfile.gettempdir()) / "refinery-duckdb")
    threads: int = 2
    predict_chunk_rows: int = 1_000_000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "DuckDBSettings":
        env = dict(os.environ if env is None else env)
        d = cls()
        memory = (env.get("REFINERY_DUCKDB_MEMORY_LIMIT") or "").strip() or d.memory_limit
        if not _SIZE.match(memory):
            raise ValueError(f"REFINERY_DUCKDB_MEMORY_LIMIT={memory!r} is not a size such as 4GB or 800MB")
        temp = (env.get("REFINERY_DUCKDB_TEMP_DIR") or "").strip() or d.temp_directory

        def whole(name: str, default: int) -> int:
            return int(env_number(env, name, default, whole=True, positive=True))

        return cls(
            memory_limit=memory.replace(" ", ""),
            temp_directory=temp,
            threads=whole("REFINERY_DUCKDB_THREADS", d.threads),
            predict_chunk_rows=whole("REFINERY_PREDICT_CHUNK_ROWS", d.predict_chunk_rows),
        )


def configure(con: duckdb.DuckDBPyConnection, settings: DuckDBSettings | None = None,
              memory_limit: str | None = None) -> DuckDBSettings:
    """Apply the limits to a connection; `memory_limit` overrides the setting for this one."""
    settings = settings or DuckDBSettings.from_env()
    Path(settings.temp_directory).mkdir(parents=True, exist_ok=True)
    # Values are checked above (sizes, a path we created); quoted as SQL strings all the same.
    temp = settings.temp_directory.replace("'", "''")
    con.execute(f"SET memory_limit = '{memory_limit or settings.memory_limit}'")
    con.execute(f"SET temp_directory = '{temp}'")
    con.execute(f"SET threads = {settings.threads}")
    return settings


def connect(memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory connection with the pipeline's limits."""
    con = duckdb.connect()
    configure(con, memory_limit=memory_limit)
    return con


def remove_stale_spill(settings: DuckDBSettings | None = None, older_than_s: float = 86_400) -> int:
    """Folders that a run killed mid-export left in the spill folder (export-*: export files before
    they are published, personal data) and DuckDB spill files of dead processes, older than
    `older_than_s`; how many were removed."""
    import shutil
    import time

    folder = Path((settings or DuckDBSettings.from_env()).temp_directory)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for p in folder.iterdir():
        try:
            if p.stat().st_mtime >= cutoff:
                continue
            if p.is_dir() and p.name.startswith("export-"):
                shutil.rmtree(p, ignore_errors=True)
                removed += 1
            elif p.is_file() and p.name.startswith("duckdb_temp_") and not _process_alive(p.name):
                p.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _process_alive(spill_name: str) -> bool:
    """DuckDB names its spill files after its process (duckdb_temp_<pid>_...): is that one running?"""
    try:
        os.kill(int(spill_name.split("_")[2]), 0)
    except (ValueError, IndexError):
        return True  # not a name we understand: leave it
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
