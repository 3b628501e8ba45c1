"""Three controllers drop a file each at the same moment: the upload sensor queues three runs, the
daemon's queued run coordinator (deploy/dagster.yaml, on a throwaway PostgreSQL database) runs them
within its limits, and every controller gets back its own rows and nobody else's.

The global limit is lowered to 2 here so that three uploads must queue: the run records' start
and end times then show the coordinator never ran more than 2 at once (the memory budget in
docs/scale.md rests on that limit)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from tests.s3_fixtures import (  # noqa: F401
    bucket,
    daemon_env,
    moto_endpoint,
    pg_database,
    pg_env,
    put_controller_settings,
    running_daemon,
    s3_client,
)

REPO = Path(__file__).resolve().parents[1]
CONTROLLERS = ("acme", "globex", "initech")
ROWS = 150
MAX_CONCURRENT_RUNS = 2
DEADLINE_S = 150


def _dagster_home(tmp_path: Path) -> Path:
    """deploy/dagster.yaml with max_concurrent_runs lowered below the number of uploads."""
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    queue = config["run_coordinator"]["config"]
    queue["max_concurrent_runs"] = MAX_CONCURRENT_RUNS
    queue["dequeue_interval_seconds"] = 1
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def _contact_file(tmp_path: Path, controller: str, seed: int) -> tuple[bytes, set[str]]:
    """A generated French CRM export whose CRM ids name the controller (ACME-00001...): an export
    row of another controller would show by its id."""
    from bench.generator import generate, write_file

    messy, _ = generate(ROWS, seed=seed, profile="fr")
    ids = [f"{controller.upper()}-{i:05d}" for i in range(1, len(messy) + 1)]
    messy = messy.assign(crm_id=ids)
    path = tmp_path / f"{controller}.csv"
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    return path.read_bytes(), set(ids)


def _export_ids(client, bucket_name: str, controller: str) -> list[list[str]]:
    """The CRM ids of each export of the controller (one list per contacts.csv)."""
    listing = client.list_objects_v2(Bucket=bucket_name, Prefix=f"exports/{controller}/")
    exports = []
    for obj in listing.get("Contents", []):
        if obj["Key"].endswith("/contacts.csv"):
            body = client.get_object(Bucket=bucket_name, Key=obj["Key"])["Body"].read().decode("utf-8-sig")
            exports.append([row["ID CRM"] for row in csv.DictReader(io.StringIO(body))])
    return exports


def _summaries(client, bucket_name: str) -> int:
    listing = client.list_objects_v2(Bucket=bucket_name, Prefix="exports/")
    return sum(o["Key"].endswith("/summary.json") for o in listing.get("Contents", []))


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of [start, end) intervals that overlap at one instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])  # an end sorts before a start
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_most_at_once_counts_overlaps():
    assert most_at_once([(0, 10), (5, 15), (10, 20)]) == 2  # the third starts as the first ends
    assert most_at_once([(0, 10), (1, 9), (2, 8)]) == 3
    assert most_at_once([]) == 0


def test_three_controllers_uploading_at_once_are_queued_and_kept_apart(
    tmp_path, moto_endpoint, bucket, pg_database, monkeypatch
):
    home = _dagster_home(tmp_path)
    env = daemon_env(home, moto_endpoint, bucket, pg_database, sensor_seconds=1)
    for name, value in {**pg_env(pg_database), "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    client = s3_client(moto_endpoint)
    put_controller_settings(client, bucket, *CONTROLLERS)
    files = {c: _contact_file(tmp_path, c, seed) for seed, c in enumerate(CONTROLLERS, start=21)}

    daemon_log = tmp_path / "daemon.log"
    with running_daemon(env, daemon_log) as daemon:
        with DagsterInstance.from_config(str(home)) as instance:
            for controller, (data, _) in files.items():  # all three before the sensor's next tick
                client.put_object(Bucket=bucket, Key=f"uploads/{controller}/Export CRM.csv", Body=data)
            started = time.monotonic()
            while True:
                assert daemon.poll() is None, "the daemon stopped: " + daemon_log.read_text()[-3000:]
                assert time.monotonic() - started < DEADLINE_S, daemon_log.read_text()[-3000:]
                runs = instance.get_runs(RunsFilter(job_name="process_upload"))
                if len(runs) == len(CONTROLLERS) and all(r.is_finished for r in runs) and _summaries(client, bucket) == 3:
                    break
                time.sleep(0.5)
            print(f"three uploads to three exports with the daemon: {time.monotonic() - started:.1f} s")

            records = instance.get_run_records(RunsFilter(job_name="process_upload"))
            for record in records:
                run = record.dagster_run
                failures = [
                    rec.dagster_event.step_failure_data.error.message
                    for rec in instance.all_logs(run.run_id)
                    if rec.dagster_event and rec.dagster_event.is_step_failure
                ]
                assert run.status == DagsterRunStatus.SUCCESS, failures
            assert sorted(r.dagster_run.tags["refinery/controller"] for r in records) == sorted(CONTROLLERS)

            # The queue held the third upload back: never more than the limit running at once, and
            # the limit was used (two ran side by side).
            intervals = [(r.start_time, r.end_time) for r in records]
            assert all(s is not None and e is not None for s, e in intervals)
            assert most_at_once(intervals) == MAX_CONCURRENT_RUNS, intervals
            # Every run went through the coordinator's queue.
            for record in records:
                kinds = {e.dagster_event.event_type for e in instance.all_logs(record.dagster_run.run_id) if e.dagster_event}
                assert DagsterEventType.RUN_ENQUEUED in kinds

    # Each controller's export holds exactly its own rows: every id it sent, none of another's.
    for controller, (_, sent_ids) in files.items():
        (ids,) = _export_ids(client, bucket, controller)
        assert len(ids) == ROWS
        assert set(ids) == sent_ids
