"""The upload sensor's tick: nothing skipped (equal timestamps, pagination), nothing repeated,
re-uploads processed again, bounded work, ignored objects logged without their names, and the
same sensor on the local folder (embedded mode) and on S3."""

from __future__ import annotations

import json
import os

import pytest
from dagster import build_sensor_context, instance_for_test

from dagster_project.definitions import build_definitions, build_resources
from dagster_project.settings import Settings
from dagster_project.upload_scan import SensorCursor, object_ref, parse_cursor, run_tick
from resources.layout import SENSOR_STATE_PREFIX, UPLOAD_ID_RE
from resources.object_store import LocalObjectStore
from resources.s3_store import S3ObjectStore
from resources.s3_target import check_s3_target
from resources.uploads import UploadManifest
from tests.s3_fixtures import REGION, bucket, moto_endpoint, s3_client  # noqa: F401

SECRET_NAME = "jean-dupont_prospects_2026"  # a file name that must never reach a log or a tag


def drain(store, cursor=None, max_files=25, ticks=100):
    """Tick until nothing new; returns (registrations, cursor, log lines, ticks used)."""
    registrations, lines = [], []
    for n in range(1, ticks + 1):
        outcome = run_tick(store, cursor, max_files)
        assert len(outcome.registrations) <= max_files
        registrations += outcome.registrations
        lines += outcome.log_lines
        cursor = outcome.cursor
        if not outcome.registrations:
            return registrations, cursor, lines, n
    raise AssertionError("the sensor never caught up")


@pytest.fixture()
def local(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


def test_new_files_become_uploads_with_manifests_and_nothing_personal_in_logs(local):
    local.put_bytes(f"uploads/acme/{SECRET_NAME}.csv", b"email\na@b.fr\n")
    local.put_bytes("uploads/acme/sub/folder/second.XLSX", b"PK\x03\x04 not really")
    local.put_bytes("uploads/globex/crm.csv", b"email\nc@d.fr\n")
    # Not contact files, or not where a controller's files go:
    local.put_bytes(f"uploads/acme/{SECRET_NAME}.pdf", b"%PDF")
    local.put_bytes("uploads/acme/empty.csv", b"")
    local.put_bytes(f"uploads/{SECRET_NAME}.csv", b"email\n")
    local.put_bytes(f"uploads/Not A Controller/{SECRET_NAME}.csv", b"email\n")
    # Placed and registered by `refinery run` itself:
    local.put_bytes("uploads/acme/up-20261126t101547-b393bb9f.csv", b"email\n")

    outcome = run_tick(local, None, 25)
    assert sorted(r.controller for r in outcome.registrations) == ["acme", "acme", "globex"]
    for r in outcome.registrations:
        assert UPLOAD_ID_RE.match(r.upload_id) and r.run_key == f"{r.upload_id}:{r.etag}"
        manifest = UploadManifest.load(local, r.upload_id)
        assert manifest.controller == r.controller and manifest.source_etag == r.etag
        assert manifest.options == {"origin": "sensor"}
        assert manifest.source_key.startswith(f"uploads/{r.controller}/")
    text = "\n".join(outcome.log_lines)
    assert SECRET_NAME not in text and "crm" not in text and "second" not in text
    assert "ignored 4 object(s)" in text
    assert "not a contact file type (.pdf) x1" in text and "empty file x1" in text
    assert object_ref(f"uploads/acme/{SECRET_NAME}.pdf") in text
    # Keys the pipeline created hold no file name.
    created = [o.key for o in local.list("") if not o.key.startswith("uploads/")]
    assert created and not any(SECRET_NAME in k or "crm" in k for k in created)

    # The next tick: nothing new, nothing logged again, no new ledger generation.
    again = run_tick(local, outcome.cursor, 25)
    assert again.registrations == [] and again.log_lines == [] and again.cursor == outcome.cursor


def test_a_reupload_to_the_same_key_is_processed_again(local):
    local.put_bytes("uploads/acme/list.csv", b"email\na@b.fr\n")
    first = run_tick(local, None, 25)
    local.put_bytes("uploads/acme/list.csv", b"email\na@b.fr\nc@d.fr\n")  # new content
    second = run_tick(local, first.cursor, 25)
    (a,), (b,) = first.registrations, second.registrations
    assert a.upload_id != b.upload_id and a.run_key != b.run_key and b.etag in b.run_key
    stat = os.stat(local.local_path("uploads/acme/list.csv"))
    os.utime(local.local_path("uploads/acme/list.csv"), ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = run_tick(local, second.cursor, 25)  # same content written again: a re-upload too
    assert len(third.registrations) == 1
    assert UploadManifest.load(local, a.upload_id).source_etag != UploadManifest.load(local, b.upload_id).source_etag


def test_equal_timestamps_and_a_bound_per_tick_neither_skip_nor_repeat(local):
    stamp = 1_790_000_000
    for i in range(50):
        local.put_bytes(f"uploads/big/file{i:03d}.csv", b"email\nx@y.fr\n")
    for i in range(5):
        local.put_bytes(f"uploads/small/file{i}.csv", b"email\nz@y.fr\n")
    for obj in local.list("uploads/"):
        os.utime(local.local_path(obj.key), (stamp, stamp))  # all at the same second

    first = run_tick(local, None, 7)
    assert len(first.registrations) == 7
    assert {r.controller for r in first.registrations} == {"big", "small"}  # round-robin, not 7 x big
    assert any("48 more new file(s) wait" in line for line in first.log_lines)
    registrations, _, _, ticks = drain(local, first.cursor, max_files=7)
    everything = first.registrations + registrations
    assert len(everything) == 55 and len({r.upload_id for r in everything}) == 55
    assert ticks == 8  # 48 left at 7 a tick: 7 ticks with work, then one finding nothing


def test_a_lost_tick_is_replayed_with_the_same_partitions_and_run_keys(local):
    for i in range(3):
        local.put_bytes(f"uploads/acme/f{i}.csv", b"email\na@b.fr\n")
    lost = run_tick(local, None, 25)  # the daemon died before Dagster saved this tick
    replay = run_tick(local, None, 25)
    assert [r.run_key for r in replay.registrations] == [r.run_key for r in lost.registrations]
    assert replay.cursor == lost.cursor


def test_ledger_tracks_the_bucket_and_old_generations_are_removed(local):
    local.put_bytes("uploads/acme/a.csv", b"email\na@b.fr\n")
    local.put_bytes("uploads/acme/b.csv", b"email\nb@b.fr\n")
    c1 = run_tick(local, None, 25).cursor
    local.delete("uploads/acme/a.csv")
    c2 = run_tick(local, c1, 25).cursor  # pruned: a new generation without a.csv's digest
    assert parse_cursor(c2) == SensorCursor(2, stale=True)
    assert len(local.list(SENSOR_STATE_PREFIX)) == 2  # generation 1 stays until 2 is committed
    c3 = run_tick(local, c2, 25).cursor
    assert parse_cursor(c3) == SensorCursor(2) and run_tick(local, c3, 25).cursor == c3
    ledgers = [o.key for o in local.list(SENSOR_STATE_PREFIX)]
    assert ledgers == [f"{SENSOR_STATE_PREFIX}ledger-000000000002.json"]
    assert len(json.loads(local.get_bytes(ledgers[0]))["accepted"]) == 1


def test_a_lost_ledger_is_rebuilt_without_new_upload_ids(local):
    local.put_bytes("uploads/acme/a.csv", b"email\na@b.fr\n")
    first = run_tick(local, None, 25)
    local.delete_prefix(SENSOR_STATE_PREFIX)
    again = run_tick(local, first.cursor, 25)
    assert "ledger generation 1 is missing" in again.log_lines[0]
    assert [r.run_key for r in again.registrations] == [r.run_key for r in first.registrations]
    with pytest.raises(ValueError, match="cursor"):
        parse_cursor("not json")
    assert parse_cursor(SensorCursor(7, stale=True).dump()) == SensorCursor(7, stale=True)


def test_pagination_on_s3_misses_nothing(moto_endpoint, bucket):
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    store = S3ObjectStore(bucket, check_s3_target(REGION, moto_endpoint), credentials=credentials, page_size=4)
    raw = s3_client(moto_endpoint)
    for controller in ("acme", "globex", "initech"):
        for i in range(9):
            raw.put_object(Bucket=bucket, Key=f"uploads/{controller}/f{i}.csv", Body=b"email\na@b.fr\n")
    raw.put_object(Bucket=bucket, Key="uploads/acme/", Body=b"")  # a console's folder marker: silent
    registrations, cursor, lines, _ = drain(store, max_files=10)
    assert len(registrations) == 27 and len({r.upload_id for r in registrations}) == 27
    assert not any("ignored" in line for line in lines)
    # Manifests pin the object's version in the versioned bucket.
    manifest = UploadManifest.load(store, registrations[0].upload_id)
    assert manifest.source_version_id
    raw.put_object(Bucket=bucket, Key=manifest.source_key, Body=b"email\nnew@b.fr\n")  # re-upload
    assert manifest.read_source(store) == b"email\na@b.fr\n"  # the run reads what was registered
    (again,) = run_tick(store, cursor, 10).registrations
    assert UploadManifest.load(store, again.upload_id).source_key == manifest.source_key


def test_the_dagster_sensor_requests_partitions_and_runs_in_embedded_mode(tmp_path):
    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(tmp_path / "store")})
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("upload_sensor")
    store = LocalObjectStore(settings.local_store)
    store.put_bytes(f"uploads/acme/{SECRET_NAME}.csv", b"email\na@b.fr\n")
    with instance_for_test() as instance:
        resources = {"object_store": build_resources(settings)["object_store"]}
        result = sensor(build_sensor_context(instance=instance, cursor=None, resources=resources))
        (request,) = result.run_requests
        (partitions,) = result.dynamic_partitions_requests
        assert partitions.partition_keys == [request.partition_key]
        assert request.tags == {"refinery/controller": "acme", "refinery/origin": "sensor"}
        assert SECRET_NAME not in json.dumps([request.run_key, request.tags, request.partition_key])
        assert parse_cursor(result.cursor).generation == 1
        empty = sensor(build_sensor_context(instance=instance, cursor=result.cursor, resources=resources))
        assert not empty.run_requests and empty.skip_reason
    assert sensor.minimum_interval_seconds == 15
    assert sensor.default_status.value == "STOPPED"  # embedded mode: an operator turns it on


def test_interval_and_bound_come_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {"REFINERY_SENSOR_INTERVAL_SECONDS": "60", "REFINERY_SENSOR_MAX_FILES": "3", "REFINERY_LOCAL_STORE": str(tmp_path)}
    )
    sensor = build_definitions(settings).resolve_sensor_def("upload_sensor")
    assert sensor.minimum_interval_seconds == 60 and "at most 3 files per tick" in sensor.description


def test_a_large_file_runs_each_stage_in_a_process_of_its_own(tmp_path, monkeypatch):
    # From REFINERY_PROCESS_PER_STAGE_MB (300 MB; 1 MB here) the run asks for the multiprocess
    # executor, one stage at a time; smaller files keep the job's in-process default.
    from dagster_project.stage_processes import STAGE_PROCESSES_RUN_CONFIG

    monkeypatch.setenv("REFINERY_PROCESS_PER_STAGE_MB", "1")
    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(tmp_path / "store")})
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("upload_sensor")
    store = LocalObjectStore(settings.local_store)
    store.put_bytes("uploads/acme/small.csv", b"email\na@b.fr\n")
    store.put_bytes("uploads/globex/large.csv", b"email\n" + b"a@b.fr\n" * 160_000)  # 1.1 MB
    with instance_for_test() as instance:
        resources = {"object_store": build_resources(settings)["object_store"]}
        result = sensor(build_sensor_context(instance=instance, cursor=None, resources=resources))
    configs = {r.tags["refinery/controller"]: r.run_config for r in result.run_requests}
    assert configs == {"acme": {}, "globex": STAGE_PROCESSES_RUN_CONFIG}
    job = defs.resolve_job_def("process_upload")
    assert job.executor_def.name == "multi_or_in_process_executor"
    # The job's default (a run without run config: small files, the UI): in one process.
    assert job.get_run_config_for_partition_key("any")["execution"] == {"config": {"in_process": {}}}
