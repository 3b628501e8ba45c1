"""Documented instructions: the log (SQLite and PostgreSQL), its hash chain, and the refusal of
runs without a valid instruction."""

from __future__ import annotations

import json
import sqlite3
import uuid

import psycopg2
import pytest

from pipelines import instructions
from pipelines.controller_settings import ControllerSettings
from pipelines.instructions import InstructionRefused
from resources.instruction_log import RecordsDB, RecordsError, check_dsn_tls
from resources.object_store import LocalObjectStore
from resources.uploads import UploadManifest, new_upload_id

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    if request.param == "sqlite":
        with RecordsDB(sqlite_path=tmp_path / "records.sqlite") as database:
            yield database
        return
    try:
        admin = psycopg2.connect(dbname="postgres", **PG)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable ({exc})")
    admin.autocommit = True
    name = f"refinery_ins_{uuid.uuid4().hex[:10]}"
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        with RecordsDB(dsn=f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as database:
            yield database
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _sensor_upload(store, controller="acme", options=None) -> UploadManifest:
    upload_id = new_upload_id()
    key = f"uploads/{controller}/export.csv"
    store.put_bytes(key, b"E-mail\r\na@b.fr\r\n")
    manifest = UploadManifest(upload_id, controller, key, "2026-11-26T09:00:00Z", options=options or {"origin": "sensor"})
    manifest.save(store)
    return manifest


SENSOR_TAGS = {"refinery/origin": "sensor", "dagster/sensor_name": "upload_sensor"}


def test_log_is_hash_chained_and_settings_are_recorded_once_per_change(db):
    settings = ControllerSettings().to_dict() | {"verification": {"mail_from": "jean.dupont@acme.fr"}}
    first = instructions.record_settings(db, "acme", settings, ["defaults", "--settings clients/jean_dupont.yaml"], "operator")
    again = instructions.record_settings(db, "acme", settings, ["defaults"], "operator")
    assert again.id == first.id  # unchanged settings: no new instruction
    changed = instructions.record_settings(db, "acme", settings | {"language": "en"}, ["defaults"], "operator")
    assert changed.id != first.id and changed.prev_hash == first.row_hash
    assert first.content_hash == instructions.settings_hash(settings)
    # nothing personal in the log: free text reduced to "set", file names dropped
    text = json.dumps([i.as_dict() for i in instructions.history(db)])
    assert "jean.dupont" not in text and "jean_dupont" not in text
    assert instructions.verify_chain(db).ok


def test_verify_chain_detects_an_altered_or_deleted_row(db):
    for lang in ("fr", "en", "fr"):
        instructions.record_settings(db, "acme", {"language": lang}, ["defaults"], "operator")
    assert instructions.verify_chain(db) == instructions.ChainCheck(True, 3)
    db.run("UPDATE instructions SET origin = 'forged' WHERE seq = 2")
    check = instructions.verify_chain(db)
    assert not check.ok and "altered" in check.problem
    db.run("DELETE FROM instructions WHERE seq = 2")
    assert "sequence gap" in instructions.verify_chain(db).problem


def test_sensor_upload_follows_the_stored_settings_and_is_linked(db, tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    store.put_bytes("controllers/acme/settings.yaml", b"language: en\n")
    manifest = _sensor_upload(store)
    ins, updated = instructions.authorise_run(db, store, manifest, run_id="run-1", run_tags=SENSOR_TAGS)
    assert ins.kind == "settings" and ins.origin == "stored settings"
    stored = UploadManifest.load(store, manifest.upload_id)
    assert stored.options[instructions.OPTION_KEY] == ins.id
    assert stored.options["settings_hash"] == ins.content_hash  # the run's settings are the instruction's
    assert instructions.run_instruction(db, "run-1") == ins.id
    # a second run of the same upload follows the same instruction, records nothing new
    again, _ = instructions.authorise_run(db, store, stored, run_id="run-2", run_tags=SENSOR_TAGS)
    assert again.id == ins.id and len(instructions.history(db, "acme")) == 1


def test_run_for_a_controller_without_instruction_is_refused_with_a_clear_message(db, tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    manifest = _sensor_upload(store, "newco")
    with pytest.raises(InstructionRefused, match=r"controller newco has no recorded instruction.*refinery instructions record --controller newco"):
        instructions.authorise_run(db, store, manifest, run_id="r", run_tags=SENSOR_TAGS)
    ins = instructions.record_standing_settings(db, store, "newco")
    followed, _ = instructions.authorise_run(db, store, manifest, run_id="r", run_tags=SENSOR_TAGS)
    assert followed.id == ins.id


def test_cli_run_records_a_run_instruction_and_an_altered_manifest_is_refused(db, tmp_path):
    from pipelines import controller_settings

    store = LocalObjectStore(tmp_path / "store")
    settings, sources = controller_settings.resolve(store, "acme", enable=["civility"])
    run = instructions.authorise_cli_run(db, "acme", settings.to_dict(), sources, {"origin": "cli", "keep_input_format": True})
    assert run.kind == "run" and run.origin == "cli" and run.based_on is not None
    assert run.summary["settings_hash"] == settings.content_hash()
    options = controller_settings.record({"origin": "cli", instructions.OPTION_KEY: run.id}, settings, sources)
    manifest = _sensor_upload(store, options=options)
    followed, _ = instructions.authorise_run(db, store, manifest, run_id="cli-run", run_tags={"refinery/origin": "cli"})
    assert followed.id == run.id
    # someone edits the recorded settings (and their hash) in the manifest: not what was instructed
    tampered_settings = settings.to_dict() | {"enrichments": ["civility", "email_finding"]}
    tampered = dict(options, settings=tampered_settings, settings_hash=controller_settings.settings_hash(tampered_settings))
    bad = UploadManifest(manifest.upload_id, "acme", manifest.source_key, manifest.received_at, options=tampered)
    bad.save(store)
    with pytest.raises(InstructionRefused, match="no longer match instruction"):
        instructions.authorise_run(db, store, bad, run_id="x", run_tags={"refinery/origin": "cli"})


def test_a_manual_run_from_the_ui_is_itself_an_instruction(db, tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    base = instructions.record_standing_settings(db, store, "acme")
    manifest = _sensor_upload(store)
    ins, _ = instructions.authorise_run(db, store, manifest, run_id="ui-run", run_tags={"dagster/from_ui": "true"})
    assert ins.kind == "run" and ins.origin == "ui" and ins.based_on == base.id
    assert ins.summary["run_id"] == "ui-run" and ins.summary["upload_id"] == manifest.upload_id
    assert instructions.origin_from_tags({"dagster/parent_run_id": "x", "refinery/origin": "sensor"}) == "reexecution"


def test_no_processing_after_the_end_of_the_contract(db, tmp_path):
    import datetime as dt

    from pipelines import retention

    store = LocalObjectStore(tmp_path / "store")
    instructions.record_standing_settings(db, store, "acme")
    retention.offboard(db, "acme", dt.date(2026, 11, 1))
    with pytest.raises(InstructionRefused, match="contract ended on 2026-11-01"):
        instructions.authorise_run(db, store, _sensor_upload(store), run_id="r", run_tags=SENSOR_TAGS)
    with pytest.raises(InstructionRefused, match="contract ended"):
        instructions.authorise_cli_run(db, "acme", ControllerSettings().to_dict(), ["defaults"], {})


def test_remote_records_database_needs_tls():
    with pytest.raises(RecordsError, match="without TLS"):
        check_dsn_tls("host=db.example.eu dbname=records user=refinery", env={})
    check_dsn_tls("host=db.example.eu dbname=records sslmode=verify-full", env={})
    check_dsn_tls("host=127.0.0.1 dbname=records", env={})


def test_cli_instructions_record_list_verify(tmp_path, monkeypatch, capsys):
    from dagster_project.cli import main

    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(tmp_path / "store"))
    assert main(["instructions", "record", "--controller", "acme"]) == 0
    assert main(["instructions", "list", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)[0]["kind"] == "settings"
    assert main(["instructions", "verify"]) == 0
    assert main(["instructions", "record", "--controller", "Bad Name"]) == 2
    assert "controller id must be" in capsys.readouterr().err
    # the embedded store is a SQLite file next to the object store, not inside it
    assert (tmp_path / "gdpr" / "records.sqlite").is_file()
    con = sqlite3.connect(tmp_path / "gdpr" / "records.sqlite")
    assert con.execute("SELECT COUNT(*) FROM instructions").fetchone()[0] == 1
