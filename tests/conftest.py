"""Shared fixtures: generated messy files (never committed) and an isolated object store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.generator import generate, write_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Every test gets its own local object store and no DAGSTER_HOME (ephemeral instance)."""
    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # A Dagster instance a test left open keeps itself as the process's current "defs state
    # storage" (a context variable DagsterInstance sets); Definitions built by a later test then
    # reach that instance's database, dropped since ("too many retries for DB connection") or its
    # dead weakref. Each test starts without one.
    from dagster._core.storage.defs_state.base import _current_storage

    _current_storage.set(None)


@pytest.fixture(scope="session")
def french_export(tmp_path_factory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """A messy French Excel export: Windows-1252, ';', French headers, duplicates and junk rows."""
    messy, truth = generate(3000, seed=5, profile="fr")
    path = tmp_path_factory.mktemp("files") / "export_crm.csv"
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    return path, messy, truth


def run_cli(*args: str, store: Path, dagster_home: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, **(env or {})}
    env["REFINERY_LOCAL_STORE"] = str(store)
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )


@pytest.fixture(scope="session")
def french_run(french_export, tmp_path_factory):
    """`refinery run` on the French export, once for the session; returns (result, out dir, store)."""
    path, _, _ = french_export
    base = tmp_path_factory.mktemp("run")
    out, store = base / "out", base / "store"
    result = run_cli("run", str(path), "--controller", "acme", "--out", str(out), store=store)
    return result, out, store
