"""The real thing, nobody running a command: `dagster-daemon run` on deploy/dagster.yaml over a
fresh PostgreSQL database, the production settings pointed at a moto S3 server; a file dropped in
the bucket comes back as an export."""

from __future__ import annotations

import time

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorStatus

from tests.s3_fixtures import (  # noqa: F401
    bucket,
    contact_file,
    daemon_env,
    dagster_home_with,
    moto_endpoint,
    pg_database,
    pg_env,
    put_controller_settings,
    running_daemon,
    s3_client,
)

DEADLINE_S = 120


def _summary_keys(client, bucket_name: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket_name, Prefix="exports/acme/")
    return [o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith("/summary.json")]


def _finished_runs(instance: DagsterInstance) -> list:
    runs = instance.get_runs(RunsFilter(job_name="process_upload"))
    return [r for r in runs if r.is_finished]


def test_the_daemon_turns_an_upload_into_an_export(tmp_path, moto_endpoint, bucket, pg_database, monkeypatch):
    home = dagster_home_with(tmp_path)
    env = daemon_env(home, moto_endpoint, bucket, pg_database, sensor_seconds=2)
    for name, value in {**pg_env(pg_database), "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    daemon_log = tmp_path / "daemon.log"
    client = s3_client(moto_endpoint)
    with running_daemon(env, daemon_log) as daemon:
        with DagsterInstance.from_config(str(home)) as instance:
            put_controller_settings(client, bucket, "acme")
            client.put_object(Bucket=bucket, Key="uploads/acme/Clients Dupont.csv", Body=contact_file(tmp_path, 300, 9, {}))
            uploaded = time.monotonic()
            exported = None
            # The export object, then the end of the run (stages after the export may follow).
            while exported is None or not _finished_runs(instance):
                assert daemon.poll() is None, "the daemon stopped: " + daemon_log.read_text()[-3000:]
                assert time.monotonic() - uploaded < DEADLINE_S, daemon_log.read_text()[-3000:]
                if exported is None and _summary_keys(client, bucket):
                    exported = time.monotonic() - uploaded
                time.sleep(0.5)
            print(f"upload to export object with the daemon: {exported:.1f} s")
            (run,) = _finished_runs(instance)
            failures = [
                rec.dagster_event.step_failure_data.error.message
                for rec in instance.all_logs(run.run_id)
                if rec.dagster_event and rec.dagster_event.is_step_failure
            ]
            assert run.status == DagsterRunStatus.SUCCESS, failures
            assert run.tags["refinery/controller"] == "acme" and run.tags["dagster/sensor_name"] == "upload_sensor"
            assert "Dupont" not in str(run.tags)
            sensor_state = next(s for s in instance.all_instigator_state() if s.name == "upload_sensor")
            # Production (REFINERY_STORAGE=s3) starts the sensor by default; an operator's toggle in
            # the UI is recorded in the instance and wins.
            assert sensor_state.status in (InstigatorStatus.DECLARED_IN_CODE, InstigatorStatus.RUNNING)


def test_instance_files_configure_postgres_queue_retries_and_no_telemetry(tmp_path, pg_database, monkeypatch):
    for name, value in pg_env(pg_database).items():
        monkeypatch.setenv(name, value)
    with DagsterInstance.from_config(str(dagster_home_with(tmp_path))) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.run_storage.postgres_url.startswith("postgresql+psycopg2://")
        queue = instance.run_coordinator.get_run_queue_config()
        assert queue.max_concurrent_runs == 4
        assert {"key": "refinery/controller", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in queue.tag_concurrency_limits
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert instance.get_settings("telemetry") == {"enabled": False}
    local_home = tmp_path / "local"
    local_home.mkdir()
    with DagsterInstance.from_config(str(dagster_home_with(local_home, "dagster.local.yaml"))) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1  # SQLite locks
        assert instance.get_settings("telemetry") == {"enabled": False}
