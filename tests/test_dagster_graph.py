"""The code location loads, and the asset graph materialises one upload partition on a real
PostgreSQL-backed Dagster instance without leaving personal data in the event log or runs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
import yaml
from dagster import AssetKey, DagsterInstance, materialize

from assets.checks import ALL_CHECKS
from assets.uploads import uploads_partitions
from dagster_project.definitions import CONTACT_ASSETS, build_resources, defs
from dagster_project.settings import Settings
from resources.object_store import LocalObjectStore
from resources.uploads import UploadManifest, new_upload_id

REPO = Path(__file__).resolve().parents[1]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
EXPECTED_ASSETS = {
    "raw_upload", "validated_rows", "quarantined_rows", "standardised_contacts", "enriched_contacts",
    "linked_contacts", "master_records", "merge_audit", "review_pairs", "golden_records", "contact_export",
    "controller_master",
}
# Values that must never leave the data files.
CANARIES = ["Zéphyrine", "Canarywood", "zephyrine.canarywood@canary-corp.fr", "+33 6 98 76 54 32", "Canary Corp",
            # the client's own column headers may be personal too: never in the event log
            "Notes internes", "Propriétaire"]


def test_definitions_load_with_the_whole_graph():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == EXPECTED_ASSETS | {"retention_sweep", "processing_register", "mailbox_signals", "mailbox_updates"}
    assert defs.resolve_job_def("process_upload") is not None
    assert defs.resolve_job_def("mailbox_scan") is not None
    checks = {k.name for k in graph.asset_check_keys}
    assert {"raw_upload_expectations", "validated_rows_expectations", "standardised_expectations"} <= checks


def test_dagster_definitions_validate_passes():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.fixture()
def postgres_instance(tmp_path):
    """A Dagster instance on a fresh database of the local PostgreSQL (dropped afterwards)."""
    db = f"refinery_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(dbname="postgres", **PG)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 ({exc})")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{db}"')
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "hostname": PG["host"], "port": PG["port"], "username": PG["user"], "password": "",
                    "db_name": db, "scheme": "postgresql+psycopg2",
                }
            }
        },
        "telemetry": {"enabled": False},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            yield instance, db
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()


def test_materialise_one_upload_on_postgres_instance(tmp_path, postgres_instance, french_export):
    instance, db = postgres_instance
    src, _, _ = french_export
    # The canary contact is appended to a real messy file, twice (a duplicate).
    content = src.read_bytes().rstrip(b"\r\n")
    header = src.read_bytes().split(b"\r\n", 1)[0].decode("cp1252").split(";")
    values = {
        "ID CRM": "CANARY-1", "Civilité": "Mme", "Prénom": "Zéphyrine", "Nom": "Canarywood",
        "Société": "Canary Corp SAS", "Fonction": "Directrice", "E-mail": "zephyrine.canarywood@canary-corp.fr",
        "Téléphone": "+33 6 98 76 54 32", "Pays": "France",
    }
    assert set(values) <= set(header)
    canary = ";".join(values.get(h, "") for h in header)
    data = content + ("\r\n" + canary + "\r\n" + canary + "\r\n").encode("cp1252")

    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(tmp_path / "store")})
    store = LocalObjectStore(settings.local_store)
    upload_id = new_upload_id()
    store.put_bytes(f"uploads/acme/{upload_id}.csv", data)
    # The controller's standing instruction: without it the run is refused (next test).
    store.put_bytes("controllers/acme/settings.yaml", b"language: fr\n")
    UploadManifest(upload_id, "acme", f"uploads/acme/{upload_id}.csv", "2026-11-26T00:00:00Z").save(store)
    instance.add_dynamic_partitions(uploads_partitions.name, [upload_id])

    result = materialize(
        [*CONTACT_ASSETS, *ALL_CHECKS], partition_key=upload_id, instance=instance, resources=build_resources(settings)
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    blocking = [e for e in evaluations if e.check_name != "quarantine_rate"]
    assert blocking and all(e.passed for e in blocking)

    # Every stage published counts, schema and timings; the linked stage its column lineage.
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    assert set(mats) == EXPECTED_ASSETS
    for name, event in mats.items():
        meta = event.materialization.metadata
        assert "dagster/row_count" in meta and "duration_s" in meta, name
    assert mats["contact_export"].materialization.metadata["rows_out"].value == 3002
    lineage = instance.get_latest_materialization_event(AssetKey("standardised_contacts")).asset_materialization.metadata
    assert "dagster/column_lineage" in lineage

    # The canary reached the export...
    export = (tmp_path / "store" / "exports" / "acme" / upload_id / "contacts.csv").read_text("utf-8-sig")
    assert "Canarywood" in export
    # ...and nothing personal reached the Dagster database (event log, runs, tags, config).
    conn = psycopg2.connect(dbname=db, **PG)
    try:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        tables = [r[0] for r in cur.fetchall()]
        dump = []
        for table in tables:
            cur.execute(f'SELECT * FROM "{table}"')
            dump.extend(str(row) for row in cur.fetchall())
    finally:
        conn.close()
    text = "\n".join(dump)
    assert upload_id in text  # the dump really holds this run
    for value in CANARIES:
        assert value not in text, f"personal data in the Dagster database: {value!r}"


def test_a_run_without_an_instruction_is_refused(tmp_path, postgres_instance):
    instance, _ = postgres_instance
    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(tmp_path / "store")})
    store = LocalObjectStore(settings.local_store)
    upload_id = new_upload_id()
    store.put_bytes(f"uploads/nobody/{upload_id}.csv", b"Email\na@b.fr\n")
    UploadManifest(upload_id, "nobody", f"uploads/nobody/{upload_id}.csv", "2026-11-26T00:00:00Z").save(store)
    instance.add_dynamic_partitions(uploads_partitions.name, [upload_id])
    result = materialize(
        [*CONTACT_ASSETS, *ALL_CHECKS], partition_key=upload_id, instance=instance,
        resources=build_resources(settings), raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no recorded instruction" in failure.step_failure_data.user_failure_data.description
    assert not store.exists(f"exports/nobody/{upload_id}/contacts.csv")
