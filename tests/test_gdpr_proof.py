"""Proof by tests, on a PostgreSQL-backed Dagster instance:

- the register, rebuilt from the event log, matches what actually ran (which controller, which
  enrichments, how many uploads and rows);
- canary values run through the whole pipeline are found only in the intended data files, never
  in the Dagster database (event log, runs, tags, run config), the run output (what compute logs
  capture), manifests, records, keys or the register;
- after an erasure, and after the retention sweep (materialised as an asset), nothing of them is
  left in any store, and the uploads' dynamic partitions are gone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from unittest import mock
import uuid

import psycopg2
import pytest
import yaml
from dagster import DagsterInstance, materialize

from pipelines import controller_settings, dsr, instructions, register, retention
from resources.instruction_log import RecordsDB
from resources.keys import KeyStore
from resources.object_store import LocalObjectStore
from resources.uploads import UploadManifest
from tests.test_gdpr_support import (
    CANARY_EMAIL,
    canary_file,
    register_upload,
    run_pipeline,
    scan_bytes,
    scan_postgres,
    scan_tree,
)

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
# The only objects allowed to hold the canary: the data files themselves.
INTENDED = ("uploads/", "work/", "exports/", "controllers/acme/master/v/")
NOT_INTENDED = ("manifests/", "summary.json", "state.json", "model.json", "email_patterns", "compliance/")


@pytest.fixture(scope="module")
def proof(tmp_path_factory):
    try:
        admin = psycopg2.connect(dbname="postgres", **PG)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 ({exc})")
    admin.autocommit = True
    dbname = f"refinery_gdpr_{uuid.uuid4().hex[:10]}"
    admin.cursor().execute(f'CREATE DATABASE "{dbname}"')
    root = tmp_path_factory.mktemp("proof")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "storage": {"postgres": {"postgres_db": {"hostname": PG["host"], "port": PG["port"], "username": PG["user"],
                                                 "password": "", "db_name": dbname, "scheme": "postgresql+psycopg2"}}},
        "telemetry": {"enabled": False},
    }))
    env = {"REFINERY_LOCAL_STORE": str(root / "store"), "REFINERY_GDPR_DIR": str(root / "gdpr"),
           "REFINERY_KEYS_DIR": str(root / "keys")}
    store = LocalObjectStore(root / "store")
    db = RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite")
    keys = KeyStore(root / "keys", data_root=root / "store")
    # The assets open the records and keys from the environment, as in production.
    patched = mock.patch.dict(os.environ, env)
    patched.start()
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            ran = {}
            # acme: a sensor-style upload following the controller's standing settings (defaults)
            instructions.record_standing_settings(db, store, "acme")
            acme = register_upload(store, "acme", canary_file(root, rows=60, seed=7), options={"origin": "sensor"})
            # (raw_upload authorises the run itself and tags it with the instruction followed)
            result = run_pipeline(root / "store", acme, instance, tags={"refinery/origin": "sensor", "refinery/controller": "acme"})
            followed = instance.get_run_by_id(result.run_id).tags[instructions.INSTRUCTION_TAG]
            ran["acme"] = (acme, result.run_id, followed)
            # beta: a `refinery run` with the civility enrichment turned on by its instruction
            settings, sources = controller_settings.resolve(store, "beta", enable=["civility"])
            run_ins = instructions.authorise_cli_run(db, "beta", settings.to_dict(), sources, {"origin": "cli"})
            options = controller_settings.record({"origin": "cli", instructions.OPTION_KEY: run_ins.id}, settings, sources)
            beta_data = canary_file(root, rows=40, seed=11, canary={"Prénom": "Octave", "Nom": "Beta", "Société": "Beta SA",
                                                                   "E-mail": "octave.beta@beta.example"}, copies=1)
            beta = register_upload(store, "beta", beta_data, options=options)
            result = run_pipeline(root / "store", beta, instance, tags={"refinery/origin": "cli", "refinery/controller": "beta"})
            ran["beta"] = (beta, result.run_id, run_ins.id)
            yield {"root": root, "home": home, "dbname": dbname, "env": env, "store": store, "db": db, "keys": keys,
                   "instance": instance, "ran": ran}
    finally:
        patched.stop()
        db.close()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()


def test_register_matches_what_ran(proof, monkeypatch):
    store, db, instance = proof["store"], proof["db"], proof["instance"]
    facts, source = register.gather(store, db, instance)
    assert source.startswith("Dagster event log")
    acme_id, acme_run, _ = proof["ran"]["acme"]
    beta_id, _, _ = proof["ran"]["beta"]
    assert facts[acme_id].controller == "acme" and acme_run in facts[acme_id].runs
    assert facts[acme_id].rows == 62 and facts[beta_id].rows == 41
    regs = {c: register.build(store, db, c, facts=facts, source=source) for c in ("acme", "beta")}
    activities = {c: {p["activity"] for p in r["processing_categories"]} for c, r in regs.items()}
    civility = "optional enrichment enabled by the controller: inference of the civility (Mr/Mrs) from the first name"
    assert civility in activities["beta"] and civility not in activities["acme"]
    for c in ("acme", "beta"):
        assert "duplicate detection (record linkage), stable person ids across uploads" in activities[c]
        assert regs[c]["volume"]["uploads_processed"] == 1
        assert regs[c]["transfers_outside_eu"]["verdict"] == "none"
        assert {d["fideslang"] for d in regs[c]["data_subjects"]} == {"customer", "prospect", "supplier_vendor"}
        assert regs[c]["instructions"]["log_integrity"] == "verified"
    assert regs["acme"]["volume"]["rows_processed"] == 62 and regs["beta"]["volume"]["rows_processed"] == 41
    gender = {c: [d for d in r["data_categories"] if d["fideslang"] == "user.demographic.gender"] for c, r in regs.items()}
    assert gender["beta"][0]["inferred_by_enrichment"] and not gender["acme"][0]["inferred_by_enrichment"]
    emails = [d for d in regs["acme"]["data_categories"] if d["fideslang"] == "user.contact.email"][0]
    assert "email" in emails["columns"]
    # every column any asset published is classified in the catalogue
    from pipelines import register_catalog

    published = {c for f in facts.values() for asset, cols in f.columns.items() for c in cols
                 if register_catalog.ASSETS[asset].columns == "fixed"}
    assert register_catalog.unclassified(sorted(published)) == []
    client = [d for d in regs["acme"]["data_categories"] if d["fideslang"] == "user"]
    assert client and client[0]["columns"] == ["client-defined columns"]
    # the four formats, and the asset that publishes them
    for fmt in register.FORMATS:
        text = register.render(regs["beta"], fmt)
        assert "beta" in text
    assert json.loads(register.render(regs["beta"], "json"))["controller"]["id"] == "beta"
    assert register.render(regs["acme"], "csv").startswith("section,item,detail\n")
    assert "## (c) Transfers outside the EU: **none**" in register.render(regs["acme"], "md")
    for name, value in proof["env"].items():
        monkeypatch.setenv(name, value)
    from assets.gdpr import processing_register
    from dagster_project.definitions import build_resources
    from dagster_project.settings import Settings

    resources = {"object_store": build_resources(Settings.from_env(proof["env"]))["object_store"]}
    assert materialize([processing_register], instance=instance, resources=resources).success
    published_md = store.get_bytes("compliance/register/beta/register.md").decode()
    assert civility in published_md
    assert scan_bytes("register", store.get_bytes("compliance/register/acme/register.json")) == set()


def test_every_asset_of_the_code_location_is_declared_for_the_register():
    from dagster_project.definitions import defs
    from pipelines.register_catalog import ASSETS

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys <= set(ASSETS), keys - set(ASSETS)


def _scan_everything(proof, capture: str = "") -> dict[str, set[str]]:
    root = proof["root"]
    hits = {f"store/{k}": v for k, v in scan_tree(root / "store").items()}
    for folder in ("gdpr", "keys", "dagster_home"):
        hits |= {f"{folder}/{k}": v for k, v in scan_tree(root / folder).items()}
    found, dump = scan_postgres(proof["dbname"])
    if found:
        hits["postgres"] = found
    found = scan_bytes("run output", capture.encode())
    if found:
        hits["run output (compute logs)"] = found
    return hits


def test_canary_lives_only_in_data_files_and_is_gone_after_erasure_and_retention(proof, monkeypatch, capfd):
    store, db, keys, instance = proof["store"], proof["db"], proof["keys"], proof["instance"]
    acme_id, acme_run, _ = proof["ran"]["acme"]
    # 1. after the run: only the intended data files hold the canary
    output = capfd.readouterr()
    hits = _scan_everything(proof, output.out + output.err)
    assert hits, "the canary should be in the data files"
    for location in hits:
        assert location.startswith("store/"), f"personal data outside the data files: {location} {hits[location]}"
        key = location[len("store/"):]
        assert key.startswith(INTENDED) and not any(x in key for x in NOT_INTENDED), location
    _, dump = scan_postgres(proof["dbname"])
    assert acme_id in dump and acme_run in dump  # the dump really holds the runs

    # 2. erasure of the canary person: nothing anywhere
    out = dsr.erase(store, db, keys, "acme", dsr.Subject(email=CANARY_EMAIL))
    assert out.certificate["verification"]["passed"] and out.records == 2
    hits = _scan_everything(proof)
    assert hits == {}, hits

    # 3. a second upload with the canary again, then the retention sweep (the asset, on the
    #    instance) removes every upload of acme and their partitions: nothing anywhere
    second = register_upload(store, "acme", canary_file(proof["root"], rows=30, seed=8), options={"origin": "sensor"})
    run_pipeline(proof["root"] / "store", second, instance, tags={"refinery/origin": "sensor"})
    retention.record_export(db, "acme", second)
    assert _scan_everything(proof)
    for name, value in proof["env"].items():
        monkeypatch.setenv(name, value)
    from assets.gdpr import retention_sweep
    from dagster_project.definitions import build_resources
    from dagster_project.settings import Settings

    resources = {"object_store": build_resources(Settings.from_env(proof["env"]))["object_store"]}
    as_of = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = materialize([retention_sweep], instance=instance, resources=resources,
                         run_config={"ops": {"retention_sweep": {"config": {"as_of": as_of}}}})
    assert result.success
    meta = result.asset_materializations_for_node("retention_sweep")[0].metadata
    assert meta["verification_failures"].value == 0 and len(meta["certificates"].value) == 3  # acme x2, beta
    partitions = set(instance.get_dynamic_partitions("uploads"))
    assert not {acme_id, second, proof["ran"]["beta"][0]} & partitions
    output = capfd.readouterr()
    hits = _scan_everything(proof, output.out + output.err)
    assert hits == {}, hits
    certs = retention.certificates(db)
    assert all(c["verification"]["passed"] for c in certs)
    assert all(not scan_bytes("cert", json.dumps(c).encode()) for c in certs)
