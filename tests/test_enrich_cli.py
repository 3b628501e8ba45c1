"""`refinery run` with settings: the instruction recorded, privacy by default end to end."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dagster_project.cli import main
from pipelines.controller_settings import settings_hash
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def small_export(french_export, tmp_path_factory):
    path, _, _ = french_export
    small = tmp_path_factory.mktemp("small") / "export.csv"
    small.write_bytes(b"\r\n".join(path.read_bytes().split(b"\r\n")[:301]) + b"\r\n")
    return small


def _manifest(store) -> dict:
    (manifest,) = (store / "manifests").glob("up-*.json")
    return json.loads(manifest.read_text("utf-8"))


def _contacts(out) -> pd.DataFrame:
    return pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_default_run_outputs_no_inferred_field(small_export, tmp_path):
    result = run_cli("run", str(small_export), "--controller", "acme", "--out", str(tmp_path / "o"), store=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    contacts = _contacts(tmp_path / "o")
    ok = contacts[contacts["status"] == "ok"]
    for column in ("job_level", "job_function", "email_found", "email_confidence", "naf_code", "company_address"):
        assert (ok[column] == "").all(), column
    assert set(ok["email_source"]) <= {"", "input", "normalised"}
    assert "provenance" not in contacts.columns
    parquet = pq.read_table(tmp_path / "o" / "contacts.parquet")
    provenance = parquet.column("provenance").to_pylist()
    used = {entry["source"] for row in provenance if row for entry in row.values() if entry}
    assert used <= {"input", "normalised"}
    manifest = _manifest(tmp_path / "s")["options"]
    assert manifest["settings"]["enrichments"] == []
    assert manifest["settings_hash"] == settings_hash(manifest["settings"])
    assert not (tmp_path / "s" / "controllers" / "acme" / "email_patterns.parquet").exists()


def test_settings_file_and_enable_are_recorded(small_export, tmp_path):
    settings = tmp_path / "acme.yaml"
    settings.write_text("language: en\nenrichments: [job_classification]\n", "utf-8")
    out, store = tmp_path / "o", tmp_path / "s"
    result = run_cli(
        "run", str(small_export), "--controller", "acme", "--out", str(out), "--settings", str(settings),
        "--enable", "civility,email_finding", "--provenance", store=store,
    )
    assert result.returncode == 0, result.stderr
    options = _manifest(store)["options"]
    assert options["settings"]["enrichments"] == ["civility", "email_finding", "job_classification"]
    assert options["settings"]["language"] == "en" and options["settings"]["provenance_in_csv"] is True
    assert options["settings_hash"] == settings_hash(options["settings"])
    assert options["settings_sources"][-1] == "--enable civility,email_finding"
    contacts = _contacts(out)
    ok = contacts[contacts["status"] == "ok"]
    assert set(ok["civility"]) <= {"", "Mr", "Mrs"} and (ok["civility"] != "").mean() > 0.8
    assert (ok["job_level"] != "").mean() > 0.5
    assert (ok["email_found"] != "").sum() > 0
    assert contacts.columns[-1] == "provenance" and ok["provenance"].str.contains("inferred").any()
    assert (store / "controllers" / "acme" / "email_patterns.parquet").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--enable", "civility,telepathy"], "refinery: error: --enable: unknown enrichment 'telepathy'"),
        (["--country", "France"], "key 'default_country': expected an ISO 3166 alpha-2 code"),
        (["--enable", "company_reference"], "key 'reference.path': company_reference is enabled but no reference file"),
    ],
)
def test_bad_instructions_fail_before_anything_is_uploaded(tmp_path, capsys, monkeypatch, args, expected):
    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(tmp_path / "s"))
    f = tmp_path / "c.csv"
    f.write_text("Email\na@b.fr\n")
    assert main(["run", str(f), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert not (tmp_path / "s" / "uploads").exists()


def test_bad_settings_file_is_one_line_naming_file_and_key(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(tmp_path / "s"))
    f = tmp_path / "c.csv"
    f.write_text("Email\na@b.fr\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("email_finding:\n  min_confidence: high\n", "utf-8")
    assert main(["run", str(f), "--settings", str(bad)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"refinery: error: {bad}: key 'email_finding.min_confidence': expected a number, got 'high'"


def test_dagster_metadata_carries_only_the_hash_and_names(small_export, tmp_path):
    from dagster import DagsterInstance, materialize

    from assets.checks import ALL_CHECKS
    from assets.uploads import uploads_partitions
    from dagster_project.definitions import CONTACT_ASSETS, build_resources
    from dagster_project.settings import Settings
    from pipelines import controller_settings as cs
    from resources.object_store import LocalObjectStore
    from resources.uploads import UploadManifest, new_upload_id

    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(tmp_path / "store")})
    store = LocalObjectStore(settings.local_store)
    upload_id = new_upload_id()
    store.put_bytes(f"uploads/acme/{upload_id}.csv", small_export.read_bytes())
    # An upload that did not come through `refinery run`: the controller's stored settings apply.
    store.put_bytes("controllers/acme/settings.yaml", b"enrichments: [civility]\ndefault_country: FR\n")
    UploadManifest(upload_id, "acme", f"uploads/acme/{upload_id}.csv", "2026-11-26T00:00:00Z").save(store)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [upload_id])
        result = materialize([*CONTACT_ASSETS, *ALL_CHECKS], partition_key=upload_id, instance=instance,
                             resources=build_resources(settings))
        assert result.success
        events = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    recorded = UploadManifest.load(store, upload_id).options
    assert recorded["settings"]["enrichments"] == ["civility"]
    for name in ("standardised_contacts", "enriched_contacts"):
        meta = events[name]
        assert meta["settings_hash"].value == recorded["settings_hash"] == cs.settings_hash(recorded["settings"])
        assert meta["enrichments"].value == ["civility"]
        text = json.dumps({k: str(v) for k, v in meta.items()})
        assert "controllers/acme" not in text and "min_confidence" not in text
