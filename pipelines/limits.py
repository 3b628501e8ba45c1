"""Limits an operator sets on what an upload may be, so a hostile or broken file gets a clear
error instead of exhausting memory. Environment variables (documented in README):

REFINERY_MAX_FILE_MB      largest upload accepted (default 1024)
REFINERY_MAX_ROWS         most data rows (default 10,000,000)
REFINERY_MAX_COLUMNS      most columns (default 1,000)
REFINERY_MAX_CELL_CHARS   longest cell processed; a row with a longer cell is quarantined (default 32,767, Excel's own limit)
REFINERY_MAX_XLSX_EXPANSION  how many times larger a spreadsheet may grow when unzipped (default 100)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pipelines.env_settings import env_number


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 1024 * 1024 * 1024
    max_rows: int = 10_000_000
    max_columns: int = 1_000
    max_cell_chars: int = 32_767
    max_xlsx_expansion: int = 100

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Limits":
        env = dict(os.environ if env is None else env)

        def number(name: str, default: int) -> int:
            return int(env_number(env, name, default, whole=True, positive=True))

        d = cls()
        return cls(
            max_file_bytes=number("REFINERY_MAX_FILE_MB", d.max_file_bytes // 2**20) * 2**20,
            max_rows=number("REFINERY_MAX_ROWS", d.max_rows),
            max_columns=number("REFINERY_MAX_COLUMNS", d.max_columns),
            max_cell_chars=number("REFINERY_MAX_CELL_CHARS", d.max_cell_chars),
            max_xlsx_expansion=number("REFINERY_MAX_XLSX_EXPANSION", d.max_xlsx_expansion),
        )
