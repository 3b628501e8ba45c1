"""SQL run by DuckDB, kept as data: one file per statement, loaded by name."""

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load_sql(name: str) -> str:
    return resources.files("sql").joinpath(f"{name}.sql").read_text("utf-8")
