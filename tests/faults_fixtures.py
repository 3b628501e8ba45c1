"""What the fault tests share: one generated contact file, a clean run's export of it (the
reference every faulted run must reproduce), and the comparison.

A faulted run is another upload (its upload id differs) or a re-execution of the same upload;
either way its files must equal the clean run's once the upload id is set aside: same rows, same
order, same person ids, nothing duplicated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dagster_project.cli import EXPORT_FILES
from tests.conftest import run_cli

ROWS = 3000
_UPLOAD_ID = re.compile(rb"up-\d{8}t\d{6}-[0-9a-f]{8}")
COMPARED = ("contacts.csv", "golden.csv", "duplicates.csv", "merge_audit.csv", "review.csv")


# Fixtures imported into several modules are separate fixtures to pytest, each with its own
# session cache: the clean run is made once here, whichever module asks first.
_ONCE: dict[str, object] = {}


@pytest.fixture()
def fault_input(tmp_path_factory) -> Path:
    """A messy French export (cp1252, ';'): big enough that a run spends a few seconds in its stages."""
    if "input" not in _ONCE:
        from bench.generator import generate, write_file

        messy, _ = generate(ROWS, seed=11, profile="fr")
        path = tmp_path_factory.mktemp("faults") / "crm.csv"
        write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
        _ONCE["input"] = path
    return _ONCE["input"]


@pytest.fixture()
def clean_export(fault_input, tmp_path_factory) -> dict[str, bytes]:
    """`refinery run` on the file with nothing going wrong: the reference export."""
    if "clean" not in _ONCE:
        base = tmp_path_factory.mktemp("clean")
        result = run_cli("run", str(fault_input), "--controller", "clean", "--out", str(base / "out"), store=base / "store")
        assert result.returncode == 0, result.stderr
        _ONCE["clean"] = export_files(base / "out")
    return _ONCE["clean"]


def rerun_upload(upload_id: str, home: Path) -> bool:
    """Re-execute one upload's partition on the instance configured in `home` (as the UI's
    re-execute, a run retry or the nightly catch-up do), with the resources of the environment."""
    from dagster import DagsterInstance, materialize

    from assets.checks import ALL_CHECKS
    from dagster_project.definitions import CONTACT_ASSETS, build_resources
    from dagster_project.settings import Settings

    with DagsterInstance.from_config(str(home)) as instance:
        result = materialize(
            [*CONTACT_ASSETS, *ALL_CHECKS], partition_key=upload_id, instance=instance,
            resources=build_resources(Settings.from_env()), raise_on_error=False,
        )
    return result.success


def published(store: Path, controller: str, upload_id: str) -> dict[str, bytes]:
    """The export files of an upload in a local store (temporary files are not published)."""
    folder = store / "exports" / controller / upload_id
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".tmp-")}


def export_files(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in EXPORT_FILES if (out / name).exists()}


def assert_same_export(files: dict[str, bytes], reference: dict[str, bytes]) -> None:
    """Every file there, the same rows, in the same order, with the same person ids."""
    assert set(files) == set(EXPORT_FILES), sorted(set(EXPORT_FILES) - set(files))
    summary = json.loads(files["summary.json"])
    assert summary["rows_in"] == summary["rows_out"] == ROWS
    for name in COMPARED:
        got, want = _UPLOAD_ID.sub(b"UPLOAD", files[name]), _UPLOAD_ID.sub(b"UPLOAD", reference[name])
        assert got == want, f"{name} differs from the clean run's"
    expected = {k: v for k, v in json.loads(reference["summary.json"]).items() if k != "upload_id"}
    assert {k: v for k, v in summary.items() if k != "upload_id"} == expected
