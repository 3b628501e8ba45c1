"""Retention and deletion with proof: deadlines that re-processing cannot extend, the sweep over
every location (every object version included), certificates without personal data, off-boarding
down to the controller's key, and the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from dagster import DagsterInstance

from pipelines import retention
from pipelines.instructions import InstructionRefused
from resources.instruction_log import RecordsDB
from resources.keys import KeyDestroyed, KeyStore
from resources.object_store import LocalObjectStore
from tests.s3_fixtures import REGION, bucket, moto_endpoint  # noqa: F401 (fixtures)
from tests.test_gdpr_support import copy_world, gdpr_world, scan_bytes, scan_tree, world_env  # noqa: F401

UTC = dt.timezone.utc


def test_one_month_after_the_end_of_the_contract():
    assert retention.add_one_month(dt.date(2026, 1, 31)) == dt.date(2026, 2, 28)
    assert retention.add_one_month(dt.date(2028, 1, 31)) == dt.date(2028, 2, 29)
    assert retention.add_one_month(dt.date(2026, 12, 15)) == dt.date(2027, 1, 15)
    assert retention.purge_time(dt.date(2026, 12, 15), None) == dt.datetime(2027, 1, 15, tzinfo=UTC)
    assert retention.purge_time(dt.date(2026, 12, 15), 7) == dt.datetime(2026, 12, 22, tzinfo=UTC)


def test_deadline_runs_from_the_first_export_and_reprocessing_never_extends_it(tmp_path):
    with RecordsDB(sqlite_path=tmp_path / "r.sqlite") as db:
        first = retention.record_export(db, "acme", "up-20261101t090000-00000001", exported_at=dt.datetime(2026, 11, 1, 10, tzinfo=UTC))
        later = retention.record_export(db, "acme", "up-20261101t090000-00000001", exported_at=dt.datetime(2026, 11, 20, 10, tzinfo=UTC))
        assert later == first == "2026-11-01T10:00:00Z"
        store = LocalObjectStore(tmp_path / "store")
        [state] = retention.upload_states(store, db, "acme")
        assert state.deadline == dt.datetime(2026, 12, 1, 10, tzinfo=UTC) and "after its export" in state.reason
        retention.set_retention(db, "acme", 7)
        [state] = retention.upload_states(store, db, "acme")
        assert state.deadline == dt.datetime(2026, 11, 8, 10, tzinfo=UTC)
        with pytest.raises(retention.RetentionError, match="between 0 and 365"):
            retention.set_retention(db, "acme", 400)
        # the end of the contract caps every deadline: never beyond one month after it
        retention.set_retention(db, "acme", 365)
        retention.offboard(db, "acme", dt.date(2026, 11, 10))
        [state] = retention.upload_states(store, db, "acme")
        assert state.deadline == dt.datetime(2026, 12, 10, tzinfo=UTC) and "end of the contract" in state.reason
        with pytest.raises(retention.RetentionError, match="at most one month"):
            retention.offboard(db, "acme", dt.date(2026, 11, 10), delete_after_days=45)


def test_sweep_deletes_an_expired_upload_everywhere_and_certifies_it(gdpr_world, tmp_path):
    src, upload_id = gdpr_world
    root = copy_world(src, tmp_path / "world")
    store = LocalObjectStore(root / "store")
    keys = KeyStore(root / "keys")
    # leftovers the local listing skips: an interrupted atomic write, a crashed DuckDB spill
    (root / "store" / "work" / "acme" / upload_id / ".tmp-linked_contacts.parquet").write_bytes(b"Canarywood")
    cache = root / "cache"
    (cache / upload_id).mkdir(parents=True)
    (cache / upload_id / "scratch.bin").write_bytes(b"x")
    with DagsterInstance.ephemeral() as instance, RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        instance.add_dynamic_partitions("uploads", [upload_id])
        exported = retention.parse_time(db.one("SELECT first_exported_at FROM uploads")["first_exported_at"])
        early = retention.sweep(store, db, keys, as_of=exported + dt.timedelta(days=29), instance=instance, cache_dirs=[cache])
        assert early.certificates == [] and early.uploads_checked == 1
        dry = retention.sweep(store, db, keys, as_of=exported + dt.timedelta(days=31), dry_run=True)
        assert [p["upload_id"] for p in dry.planned] == [upload_id] and store.exists(f"manifests/{upload_id}.json")
        report = retention.sweep(store, db, keys, as_of=exported + dt.timedelta(days=31), instance=instance, cache_dirs=[cache])
        assert upload_id not in instance.get_dynamic_partitions("uploads")
    [cert] = report.certificates
    assert cert["kind"] == "upload_retention" and cert["upload_ids"] == [upload_id]
    assert cert["verification"]["passed"] and cert["verification"]["found"] == 0
    assert cert["rows_removed"]["upload_rows"] == 62 and cert["rows_removed"]["master_records"] >= 60
    assert cert["partitions_removed"] == 1 and cert["local_files_removed"] >= 2
    assert cert["key_fingerprint"].startswith("kf:")
    # nothing of the upload is left, in the store or next to it; the master has no row of it
    assert scan_tree(root / "store") == {}
    assert not (root / "store" / "work" / "acme" / upload_id).exists() and not (cache / upload_id).exists()
    assert not store.exists(f"manifests/{upload_id}.json") and store.list(f"uploads/acme/") == []
    # the certificate itself holds no personal data, and neither does any record kept about it
    assert scan_bytes("cert", json.dumps(cert).encode()) == set()
    assert scan_tree(root / "gdpr") == {} and scan_tree(root / "keys") == {}
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        assert db.one("SELECT deleted_at, certificate_id FROM uploads")["certificate_id"] == cert["id"]
        assert retention.certificates(db, "acme")[0]["body_hash"].startswith("sha256:")
        again = retention.sweep(store, db, keys, as_of=exported + dt.timedelta(days=60))
        assert again.certificates == []  # nothing twice


def test_offboarding_deletes_everything_then_the_key_and_refuses_processing(gdpr_world, tmp_path, monkeypatch, capsys):
    from dagster_project.cli import main

    src, upload_id = gdpr_world
    root = copy_world(src, tmp_path / "world")
    for name, value in world_env(root).items():
        monkeypatch.setenv(name, value)
    KeyStore(root / "keys").key("acme")
    assert main(["offboard", "--controller", "acme", "--end-date", "2026-11-30", "--delete-after-days", "3"]) == 0
    assert "deleted by the sweep on 2026-12-03" in capsys.readouterr().err
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        with pytest.raises(InstructionRefused, match="contract ended"):
            from pipelines import instructions

            instructions.check_contract(db, "acme", dt.datetime(2026, 12, 1, tzinfo=UTC))
    assert main(["retention", "run", "--as-of", "2026-12-02"]) == 0
    assert (root / "store" / "controllers" / "acme").exists()  # not yet due
    assert main(["retention", "run", "--as-of", "2026-12-03"]) == 0
    err = capsys.readouterr().err
    assert "every upload, master data, models and key" in err and "verification passed" in err
    assert scan_tree(root / "store") == {}
    assert not any((root / "store" / p / "acme").exists() for p in ("uploads", "work", "exports", "controllers"))
    with pytest.raises(KeyDestroyed):
        KeyStore(root / "keys").hasher("acme")
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        [cert] = [c for c in retention.certificates(db, "acme") if c["kind"] == "controller_offboarding"]
        assert cert["key_destroyed"] and cert["verification"]["passed"]
        assert db.one("SELECT purged_at FROM contracts WHERE controller = 'acme'")["purged_at"]
    assert main(["offboard", "--controller", "acme", "--end-date", "2026-12-31"]) == 1
    assert "already off-boarded" in capsys.readouterr().err
    # a file the client drops after the purge is deleted by the next sweep, with a throw-away key
    store = LocalObjectStore(root / "store")
    store.put_bytes("uploads/acme/late.csv", b"E-mail\r\nzephyrine.canarywood@canary-corp.fr\r\n")
    assert main(["retention", "run", "--as-of", "2026-12-05"]) == 0
    assert store.list("uploads/acme/") == []


def test_retention_cli_errors_are_one_line(tmp_path, monkeypatch, capsys):
    from dagster_project.cli import main

    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(tmp_path / "store"))
    assert main(["retention", "run", "--as-of", "31/12/2026"]) == 2
    assert capsys.readouterr().err.strip() == "refinery: error: --as-of '31/12/2026': expected a date YYYY-MM-DD or an ISO time"
    assert main(["offboard", "--controller", "acme", "--end-date", "tomorrow"]) == 2
    assert main(["retention", "set", "--controller", "acme", "--days", "-1"]) == 1


def test_versioned_s3_deletion_removes_every_version(moto_endpoint, bucket, tmp_path):  # noqa: F811
    from resources.s3_store import S3ObjectStore
    from resources.s3_target import check_s3_target
    from resources.uploads import UploadManifest

    store = S3ObjectStore(bucket, check_s3_target(REGION, moto_endpoint, ()),
                          credentials={"aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
    upload_id, older = "up-20261101t090000-0000000a", "up-20261001t090000-0000000b"
    for uid in (upload_id, older):
        store.put_bytes(f"uploads/acme/{uid}.csv", b"Canarywood v1")
        store.put_bytes(f"uploads/acme/{uid}.csv", b"Canarywood v2")  # a second version
        UploadManifest(uid, "acme", f"uploads/acme/{uid}.csv", "2026-11-01T09:00:00Z").save(store)
        store.put_bytes(f"work/acme/{uid}/raw_upload.parquet", b"Canarywood")
        store.put_bytes(f"exports/acme/{uid}/contacts.csv", b"Canarywood")
    store.delete(f"exports/acme/{upload_id}/contacts.csv")
    store.put_bytes(f"exports/acme/{upload_id}/contacts.csv", b"Canarywood again")  # versions behind a rewrite
    import pyarrow as pa

    from pipelines.master import parquet_bytes

    records = pa.table({"record_key": [f"{upload_id}:1", f"{older}:1"], "upload_id": [upload_id, older],
                        "person_id": ["P0000001", "P0000002"], "first_name": ["Zéphyrine", "Other"]})
    store.put_bytes("controllers/acme/master/records.parquet", parquet_bytes(records))
    store.put_bytes("controllers/acme/master/state.json", b'{"next_person": 3, "version": 1}')
    with RecordsDB(sqlite_path=tmp_path / "r.sqlite") as db:
        retention.record_export(db, "acme", upload_id, exported_at=dt.datetime(2026, 11, 1, tzinfo=UTC))
        retention.record_export(db, "acme", older, exported_at=dt.datetime(2026, 12, 20, tzinfo=UTC))
        report = retention.sweep(store, db, KeyStore(tmp_path / "keys"), as_of=dt.datetime(2026, 12, 5, tzinfo=UTC))
    [cert] = report.certificates
    assert cert["verification"]["passed"], cert["verification"]
    assert cert["versions_removed"] >= 6  # 2 + 1 + 1 + 1 for the upload, 1 older master version
    for prefix in (f"uploads/acme/{upload_id}", f"work/acme/{upload_id}/", f"exports/acme/{upload_id}/", f"manifests/{upload_id}"):
        assert store.list_versions(prefix) == [], prefix
    # the master was rewritten without the upload's record, and its older version (which had it) purged
    versions = [v for v in store.list_versions("controllers/acme/master/records.parquet")]
    assert len(versions) == 1
    import io

    import pyarrow.parquet as pq

    kept = pq.read_table(io.BytesIO(store.get_bytes("controllers/acme/master/records.parquet")))
    assert kept.column("upload_id").to_pylist() == [older]
    assert store.list_versions(f"uploads/acme/{older}") != []  # the other upload is untouched
