"""Load the bundled vocabularies in ``pipelines/data`` (read once per process)."""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources
from typing import Any

import yaml


def _read_text(name: str) -> str:
    return resources.files("pipelines").joinpath("data", name).read_text(encoding="utf-8")


@cache
def load_yaml(name: str) -> Any:
    return yaml.safe_load(_read_text(name))


@cache
def load_csv(name: str) -> tuple[dict[str, str], ...]:
    """Rows as dicts; lines starting with '#' are comments (used for provenance notes)."""
    lines = [line for line in _read_text(name).splitlines() if not line.startswith("#")]
    return tuple(csv.DictReader(io.StringIO("\n".join(lines))))
