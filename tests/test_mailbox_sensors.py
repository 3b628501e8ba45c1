"""Mailbox scans nobody starts by hand: exports dropped in the bucket and the nightly IMAP scan."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

from dagster import build_schedule_context, build_sensor_context, instance_for_test

from dagster_project.definitions import build_definitions, build_resources
from dagster_project.settings import Settings
from dagster_project.upload_scan import run_tick
from resources.layout import MAILBOX_SCAN_ID_RE
from resources.uploads import UploadManifest

SECRET_NAME = "boite-de-jeanne.martin"  # a file name that must never reach a tag, a key or a log


def _setup(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(tmp_path / "store"))
    settings = Settings.from_env()
    resources = build_resources(settings)
    return settings, resources, resources["object_store"].get()


def test_export_sensor_registers_each_export_once_and_the_upload_sensor_ignores_them(tmp_path, monkeypatch):
    settings, resources, store = _setup(tmp_path, monkeypatch)
    store.put_bytes(f"uploads/acme/mailboxes/sales-export/{SECRET_NAME}.mbox", b"From x\n\n")
    store.put_bytes("uploads/acme/mailboxes/sales-export/archive.zip", b"PK")
    # Not exports: the wrong place, the wrong kind, or registered by `refinery mailbox scan` itself.
    store.put_bytes("uploads/acme/mailboxes/Not An Id/x.mbox", b"From x\n\n")
    store.put_bytes("uploads/acme/mailboxes/sales-export/notes.pdf", b"%PDF")
    store.put_bytes("uploads/acme/mailboxes/sales-export/mb-20261126t101547-b393bb9f.mbox", b"From x\n\n")
    store.put_bytes("uploads/acme/mailboxes/sales-export/contacts.csv", b"email\na@b.fr\n")

    # The contact-upload sensor never takes a file of the mailboxes folder for a contact list.
    assert run_tick(store, None, 25).registrations == []

    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("mailbox_export_sensor")
    with instance_for_test() as instance:
        result = sensor(build_sensor_context(instance=instance, resources={"object_store": resources["object_store"]}))
        assert len(result.run_requests) == 2
        for request in result.run_requests:
            assert MAILBOX_SCAN_ID_RE.match(request.partition_key)
            assert request.tags["refinery/controller"] == "acme"
            assert SECRET_NAME not in json.dumps(request.tags) + request.run_key + request.partition_key
            manifest = UploadManifest.load(store, request.partition_key)
            assert manifest.options["mailbox_id"] == "sales-export" and manifest.options["mailbox_source"] == "export"
        assert [r.partition_keys for r in result.dynamic_partitions_requests] == [[r.partition_key for r in result.run_requests]]
        again = sensor(build_sensor_context(instance=instance, cursor=result.cursor,
                                            resources={"object_store": resources["object_store"]}))
        assert not again.run_requests


def test_nightly_scan_asks_for_each_imap_mailbox_the_settings_name(tmp_path, monkeypatch):
    settings, resources, store = _setup(tmp_path, monkeypatch)
    store.put_bytes("controllers/acme/settings.yaml", (
        "mailboxes:\n"
        "  - {id: sales-inbox, host: imap.acme.example, username: jeanne.martin@acme.example}\n"
        "  - {id: ceo-export, source: export}\n").encode())
    store.put_bytes("controllers/globex/settings.yaml", b"language: en\n")
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("nightly_mailbox_scan")
    assert schedule.cron_schedule == "30 2 * * *"
    night = dt.datetime(2026, 11, 26, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    with instance_for_test() as instance:
        context = build_schedule_context(instance=instance, scheduled_execution_time=night,
                                         resources={"object_store": resources["object_store"]},
                                         repository_def=defs.get_repository_def())
        requests = schedule.evaluate_tick(context).run_requests
        assert len(requests) == 1
        scan = requests[0].partition_key
        assert MAILBOX_SCAN_ID_RE.match(scan) and scan in instance.get_dynamic_partitions("mailbox_scans")
        assert "jeanne" not in json.dumps(requests[0].tags) + requests[0].run_key
        manifest = UploadManifest.load(store, scan)
        assert (manifest.controller, manifest.options["mailbox_id"], manifest.source_key) == ("acme", "sales-inbox", "imap:sales-inbox")
        # Evaluated twice (a daemon restart), the same night gives the same scan.
        assert schedule.evaluate_tick(context).run_requests[0].partition_key == scan
