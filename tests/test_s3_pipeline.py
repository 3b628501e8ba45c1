"""Production path on real parts: files dropped in a versioned S3 bucket (moto over HTTP), the
upload sensor's tick, runs on a PostgreSQL-backed instance configured by deploy/dagster.yaml,
encrypted exports, re-uploads, and two controllers that never see each other's data."""

from __future__ import annotations

import json

import psycopg2
from dagster import build_sensor_context

from dagster_project.definitions import build_definitions, build_resources
from dagster_project.settings import Settings
from resources.layout import export_prefix
from tests.s3_fixtures import (  # noqa: F401
    PG,
    bucket,
    contact_file,
    moto_endpoint,
    pg_database,
    pg_instance,
    put_controller_settings,
    s3_client,
    s3_environment,
)

ACME_FILE = "uploads/acme/Prospects Zéphyrine Canarywood.csv"  # a file name that is personal data
GLOBEX_FILE = "uploads/globex/export_crm_globex.csv"
ACME_CANARY = {
    "Prénom": "Zéphyrine", "Nom": "Canarywood", "Société": "Canary Corp SAS",
    "E-mail": "zephyrine.canarywood@canary-corp.fr", "Téléphone": "+33 6 98 76 54 32",
}
GLOBEX_CANARY = {
    "Prénom": "Barnabé", "Nom": "Globexian", "Société": "Globex Industries",
    "E-mail": "barnabe.globexian@globex-industries.fr", "Téléphone": "+33 6 11 22 33 44",
}


def tick_and_run(instance, defs, settings, cursor):
    """One sensor tick, then what the daemon would do with its result, in-process."""
    sensor = defs.resolve_sensor_def("upload_sensor")
    resources = {"object_store": build_resources(settings)["object_store"]}
    result = sensor(build_sensor_context(instance=instance, cursor=cursor, resources=resources))
    requests = list(result.run_requests or [])
    for partition_request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(partition_request.partitions_def_name, list(partition_request.partition_keys))
    job = defs.resolve_job_def("process_upload")
    for request in requests:
        run = job.execute_in_process(partition_key=request.partition_key, instance=instance, tags=request.tags)
        assert run.success
    return requests, result.cursor


def test_uploads_in_s3_are_processed_encrypted_separated_and_reprocessed(
    tmp_path, s3_environment, moto_endpoint, bucket, pg_instance, pg_database
):
    instance = pg_instance
    settings = Settings.from_env()
    assert settings.storage == "s3" and settings.s3_target.loopback
    defs = build_definitions(settings)
    raw = s3_client(moto_endpoint)
    put_controller_settings(raw, bucket, "acme", "globex")
    acme_data = contact_file(tmp_path, 120, seed=3, canary=ACME_CANARY)
    raw.put_object(Bucket=bucket, Key=ACME_FILE, Body=acme_data)
    raw.put_object(Bucket=bucket, Key=GLOBEX_FILE, Body=contact_file(tmp_path, 80, seed=4, canary=GLOBEX_CANARY))
    raw.put_object(Bucket=bucket, Key="uploads/acme/contract.pdf", Body=b"%PDF-1.7")

    requests, cursor = tick_and_run(instance, defs, settings, None)
    assert sorted(r.tags["refinery/controller"] for r in requests) == ["acme", "globex"]
    by_controller = {r.tags["refinery/controller"]: r.partition_key for r in requests}

    # The exports exist, complete (summary.json last), and every object the pipeline wrote is encrypted.
    def export_text(controller: str, upload_id: str, name: str) -> str:
        body = raw.get_object(Bucket=bucket, Key=export_prefix(controller, upload_id) + name)["Body"].read()
        return body.decode("utf-8-sig")

    for controller, upload_id in by_controller.items():
        summary = json.loads(export_text(controller, upload_id, "summary.json"))
        assert summary["upload_id"] == upload_id and summary["rows_out"] == summary["rows_in"]
    created = [
        o["Key"] for page in raw.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
        if not o["Key"].startswith("uploads/") and not o["Key"].endswith("/settings.yaml")  # placed by us above
    ]
    assert {k.split("/")[0] for k in created} >= {"manifests", "work", "exports", "state"}
    for key in created:
        assert raw.head_object(Bucket=bucket, Key=key).get("ServerSideEncryption") == "AES256", key
        assert "Canarywood" not in key and "Prospects" not in key and "globex.csv" not in key

    # Two controllers never see each other's data.
    acme_export = export_text("acme", by_controller["acme"], "contacts.csv")
    globex_export = export_text("globex", by_controller["globex"], "contacts.csv")
    assert "Canarywood" in acme_export and "Globexian" not in acme_export
    assert "Globexian" in globex_export and "Canarywood" not in globex_export
    for controller, upload_id in by_controller.items():
        own = [k for k in created if k.startswith((f"work/{controller}/", f"exports/{controller}/"))]
        assert own and all(f"/{upload_id}/" in k for k in own)  # only this controller's upload

    # A re-upload to the same key is processed again, as a new upload with its own export.
    changed = acme_data.replace("Canarywood".encode("cp1252"), "Canaryfield".encode("cp1252"))
    raw.put_object(Bucket=bucket, Key=ACME_FILE, Body=changed)
    again, cursor = tick_and_run(instance, defs, settings, cursor)
    (request,) = again
    assert request.partition_key not in by_controller.values()
    assert "Canaryfield" in export_text("acme", request.partition_key, "contacts.csv")
    assert "Canarywood" in export_text("acme", by_controller["acme"], "contacts.csv")  # the first one is intact
    nothing, _ = tick_and_run(instance, defs, settings, cursor)
    assert nothing == []

    # Nothing personal reached the Dagster database: not the file names, not the values.
    conn = psycopg2.connect(dbname=pg_database, **PG)
    try:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        dump = []
        for (table,) in cur.fetchall():
            cur.execute(f'SELECT * FROM "{table}"')
            dump.extend(str(row) for row in cur.fetchall())
    finally:
        conn.close()
    text = "\n".join(dump)
    assert request.partition_key in text
    for secret in ("Canarywood", "Canaryfield", "Globexian", "Zéphyrine", "Prospects", "export_crm_globex", "contract.pdf"):
        assert secret not in text, secret
