"""The nightly batches, written by hand over dynamic partitions: the catch-up picks up exactly the
uploads whose runs failed or never started, and the maintenance job runs per controller."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dagster import AssetMaterialization, build_schedule_context, instance_for_test

from dagster_project import schedules
from dagster_project.definitions import build_definitions, build_resources
from dagster_project.schedules import MAX_ATTEMPTS, nightly_maintenance_job
from dagster_project.settings import Settings
from dagster_project.upload_scan import run_tick
from resources.object_store import LocalObjectStore
from resources.uploads import UploadManifest
from tests.s3_fixtures import pg_database, pg_instance  # noqa: F401

PARIS = ZoneInfo("Europe/Paris")


def test_catch_up_requests_failed_and_never_run_uploads_only(tmp_path, pg_instance):
    instance = pg_instance
    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(tmp_path / "store")})
    defs = build_definitions(settings)
    store = LocalObjectStore(settings.local_store)
    for name in ("exported", "failed_once", "never_ran", "failed_thrice"):
        store.put_bytes(f"uploads/acme/{name}.csv", b"not a contact file at all \x00\x01")
    outcome = run_tick(store, None, 25)
    ids = {UploadManifest.load(store, r.upload_id).source_key.split("/")[-1][:-4]: r.upload_id for r in outcome.registrations}
    # Not sensor uploads, or too old, or without data: never caught up.
    cli_upload = "up-20261126t000000-0000c11a"
    UploadManifest(cli_upload, "acme", f"uploads/acme/{cli_upload}.csv", "2026-11-26T00:00:00Z", {"origin": "cli"}).save(store)
    old_upload = "up-20200101t000000-000001d0"
    UploadManifest(old_upload, "acme", "uploads/acme/old.csv", "2020-01-01T00:00:00Z", {"origin": "sensor"}).save(store)
    gone = "up-20261126t000000-00000000"  # a partition whose data was deleted
    instance.add_dynamic_partitions("uploads", [*ids.values(), cli_upload, old_upload, gone])

    instance.report_runless_asset_event(AssetMaterialization("contact_export", partition=ids["exported"]))
    job = defs.resolve_job_def("process_upload")
    for name, times in (("failed_once", 1), ("failed_thrice", MAX_ATTEMPTS)):
        for _ in range(times):  # the file is not readable: the run fails in raw_upload
            assert not job.execute_in_process(partition_key=ids[name], instance=instance, raise_on_error=False).success

    schedule = defs.resolve_schedule_def("nightly_catch_up")
    assert schedule.cron_schedule == "15 1 * * *" and schedule.execution_timezone == "Europe/Paris"
    night = dt.datetime.now(PARIS).replace(hour=1, minute=15, second=0, microsecond=0)
    context = build_schedule_context(
        instance=instance,
        scheduled_execution_time=night,
        resources={"object_store": build_resources(settings)["object_store"]},
        repository_def=defs.get_repository_def(),
    )
    requests = schedule.evaluate_tick(context).run_requests
    names = {v: k for k, v in ids.items()}
    assert sorted(names.get(r.partition_key, r.partition_key) for r in requests) == ["failed_once", "never_ran"]
    for request in requests:
        assert {"refinery/controller": "acme", "refinery/origin": "nightly"}.items() <= request.tags.items()
        assert request.run_key.startswith(request.partition_key + ":nightly-")
        assert "multiprocess" in request.run_config["execution"]["config"]  # a retry: a process per stage

    # An upload that failed MAX_ATTEMPTS times is left to the operator.
    for _ in range(MAX_ATTEMPTS - 1):
        job.execute_in_process(partition_key=ids["failed_once"], instance=instance, raise_on_error=False)
    again = schedule.evaluate_tick(context)
    assert [r.partition_key for r in again.run_requests] == [ids["never_ran"]]


def test_maintenance_runs_the_controller_hooks(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(schedules, "CONTROLLER_HOOKS", [*schedules.CONTROLLER_HOOKS, lambda store, c: seen.append(c) or "ok"])
    store = LocalObjectStore(tmp_path / "store")
    store.put_bytes("uploads/acme/a.csv", b"x")
    store.put_bytes("controllers/globex/settings.yaml", b"language: en\n")
    store.put_bytes("uploads/Bad Name/a.csv", b"x")
    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(store.root)})
    # Its own instance: Definitions read the current instance's state storage, which must not be
    # one an earlier test opened on a database dropped since.
    with instance_for_test() as instance:
        result = nightly_maintenance_job.execute_in_process(
            instance=instance, resources={"object_store": build_resources(settings)["object_store"]})
        assert result.success
        assert seen == ["acme", "globex"]  # with uploads, or with settings/master data; never an invalid folder
        schedule = build_definitions(settings).resolve_schedule_def("nightly_maintenance")
    assert schedule.cron_schedule == "30 3 * * *" and schedule.execution_timezone == "Europe/Paris"
    assert schedule.default_status.value == "STOPPED"  # embedded mode


def test_maintenance_removes_what_killed_runs_left_behind(tmp_path, monkeypatch):
    # A SIGKILL mid-write leaves a .tmp- file in the store, and mid-export a folder of export files
    # in the spill folder; a day later the nightly maintenance removes them, and nothing newer.
    import os
    import time

    spill = tmp_path / "spill"
    monkeypatch.setenv("REFINERY_DUCKDB_TEMP_DIR", str(spill))
    store = LocalObjectStore(tmp_path / "store")
    store.put_bytes("work/acme/up-1/raw_upload.parquet", b"kept")
    old, fresh = store.root / "work/acme/up-1/.tmp-abc123", store.root / "work/acme/up-1/.tmp-def456"
    (spill / "export-old").mkdir(parents=True)
    (spill / "export-old" / "contacts.csv").write_text("Hélène;Lefèvre\n")
    (spill / "export-running").mkdir()
    dead_spill, live_spill = spill / "duckdb_temp_999999999_0_storage_S32K-0.tmp", spill / f"duckdb_temp_{os.getpid()}_0_owner"
    for path in (old, fresh, dead_spill, live_spill):
        path.write_bytes(b"partial")
    day_ago = time.time() - 2 * 86_400
    for path in (old, spill / "export-old", dead_spill, live_spill):
        os.utime(path, (day_ago, day_ago))
    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(store.root)})
    with instance_for_test() as instance:
        result = nightly_maintenance_job.execute_in_process(
            instance=instance, resources={"object_store": build_resources(settings)["object_store"]})
    assert result.success
    assert not old.exists() and fresh.exists() and store.get_bytes("work/acme/up-1/raw_upload.parquet") == b"kept"
    assert not (spill / "export-old").exists() and (spill / "export-running").exists()
    assert not dead_spill.exists() and live_spill.exists()  # a running process's spill file stays
