"""Upload sensor benchmark: tick time over a bucket of 10,000 objects, no file missed or repeated,
and upload-to-export time for a 10k-row file with the Dagster daemon running.

    python -m bench.bench_sensor [--objects 10000] [--controllers 20] [--e2e-rows 10000] [--no-e2e] [--no-markdown]

S3 is a moto server in its own process on loopback (boto3 over HTTP, versioned bucket), so the
server's CPU is not counted in the sensor's process, as with real S3; the instance for the e2e
part is PostgreSQL (a throwaway database) configured by deploy/dagster.yaml. The results replace
this script's section of BENCHMARKS.md (between the markers below); other sections stay.

What is measured, per the targets of issue 5:
- tick: `upload_scan.run_tick` as the sensor calls it (listing, ledger, manifests, next ledger);
- drain: ticks until nothing is new, with re-uploads and new files dropped half-way; every object
  write must be registered exactly once (checked against what was written);
- e2e: put_object of a 10k-row file, then polling for exports/<controller>/<upload>/summary.json
  (written last by the export) while `dagster-daemon run` runs with the default sensor interval;
  the run record gives the split (sensor pick-up, queue, run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.markdown import replace_section
from bench.processes import stop_process_group

import boto3

from dagster_project.upload_scan import list_uploads, run_tick
from resources.object_store import LocalObjectStore, ObjectStore
from resources.s3_store import S3ObjectStore
from resources.s3_target import check_s3_target
from resources.uploads import UploadManifest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
BEGIN = "<!-- bench_sensor:begin -->"
END = "<!-- bench_sensor:end -->"
REGION = "eu-west-1"
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
DEFAULT_MAX_FILES = 25
TARGET_TICK_S = 5.0
TARGET_E2E_S = 60.0


# ----------------------------------------------------------------------------------------------
# Infrastructure: moto in a child process, a throwaway PostgreSQL database
# ----------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoProcess:
    """`moto_server` on loopback, in its own process group (stopped by its id)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.2)

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION, **CREDENTIALS)

    def bucket(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def store(self, bucket: str) -> S3ObjectStore:
        return S3ObjectStore(bucket, check_s3_target(REGION, self.endpoint), credentials=CREDENTIALS)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


# ----------------------------------------------------------------------------------------------
# Tick benchmark
# ----------------------------------------------------------------------------------------------
@dataclass
class TickBench:
    store: str
    objects: int
    contact_files: int
    populate_s: float
    listing_s: list[float] = field(default_factory=list)
    first_tick_s: float = 0.0
    steady_tick_s: list[float] = field(default_factory=list)
    new_tick_s: list[float] = field(default_factory=list)
    drain_ticks: int = 0
    drain_max_files: int = 0
    drain_tick_s: list[float] = field(default_factory=list)
    writes: int = 0
    registered: int = 0
    missed: int = 0
    repeated: int = 0


def _keys(objects: int, controllers: int) -> tuple[list[str], list[str]]:
    """(contact files, other objects): 1 % are PDFs and such, which the sensor must ignore."""
    others = [f"uploads/c{i % controllers:02d}/scan-{i:05d}.pdf" for i in range(objects // 100)]
    contacts = [f"uploads/c{i % controllers:02d}/export-{i:05d}.csv" for i in range(objects - len(others))]
    return contacts, others


def _populate(put, keys: list[str], body: bytes) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: put(k, body), keys))


def _timed_tick(store: ObjectStore, cursor: str | None, max_files: int):
    started = time.perf_counter()
    outcome = run_tick(store, cursor, max_files)
    return outcome, time.perf_counter() - started


def bench_ticks(name: str, store: ObjectStore, put, objects: int, controllers: int, drain_max: int) -> TickBench:
    contacts, others = _keys(objects, controllers)
    started = time.perf_counter()
    _populate(put, contacts, b"email\na@b.example\n")
    _populate(put, others, b"%PDF-1.7")
    bench = TickBench(name, objects, len(contacts), time.perf_counter() - started)
    print(f"[{name}] {objects:,} objects written in {bench.populate_s:.1f} s", file=sys.stderr)

    registrations = []
    outcome, bench.first_tick_s = _timed_tick(store, None, DEFAULT_MAX_FILES)
    registrations += outcome.registrations
    cursor = outcome.cursor
    # Drain with a larger bound (the default would take 400 ticks), dropping re-uploads of files
    # already registered and new files half-way: each write must be registered exactly once.
    extra_writes = 0
    bench.drain_max_files = drain_max
    while True:
        outcome, seconds = _timed_tick(store, cursor, drain_max)
        bench.drain_tick_s.append(seconds)
        bench.drain_ticks += 1
        registrations += outcome.registrations
        cursor = outcome.cursor
        if bench.drain_ticks == 3:
            _populate(put, contacts[:50], b"email\nreuploaded@b.example\n")  # same keys, new content
            _populate(put, [f"uploads/c00/late-{i:03d}.csv" for i in range(50)], b"email\nlate@b.example\n")
            extra_writes = 100
        if not outcome.registrations and bench.drain_ticks > 3:
            break
    bench.writes = len(contacts) + extra_writes
    bench.registered = len(registrations)
    ids = [r.upload_id for r in registrations]
    bench.repeated = len(ids) - len(set(ids))
    per_key: dict[str, int] = {}
    for r in registrations:
        key = UploadManifest.load(store, r.upload_id).source_key
        per_key[key] = per_key.get(key, 0) + 1
    expected = {k: 1 for k in contacts} | {k: 2 for k in contacts[:50]} | {f"uploads/c00/late-{i:03d}.csv": 1 for i in range(50)}
    bench.missed = sum(max(0, n - per_key.get(k, 0)) for k, n in expected.items())
    bench.repeated += sum(max(0, n - expected.get(k, 0)) for k, n in per_key.items())

    for _ in range(5):  # steady state: 10,000 objects, nothing new; the listing alone just before
        t = time.perf_counter()
        list_uploads(store)
        bench.listing_s.append(time.perf_counter() - t)
        outcome, seconds = _timed_tick(store, cursor, DEFAULT_MAX_FILES)
        assert not outcome.registrations
        bench.steady_tick_s.append(seconds)
    for round_ in range(3):  # a typical busy tick: 25 new files among 10,000
        _populate(put, [f"uploads/c{i % controllers:02d}/new-{round_}-{i:02d}.csv" for i in range(DEFAULT_MAX_FILES)], b"email\nn@b.example\n")
        outcome, seconds = _timed_tick(store, cursor, DEFAULT_MAX_FILES)
        assert len(outcome.registrations) == DEFAULT_MAX_FILES
        cursor = outcome.cursor
        bench.new_tick_s.append(seconds)
    print(f"[{name}] steady tick {max(bench.steady_tick_s):.2f} s, busy tick {max(bench.new_tick_s):.2f} s, "
          f"missed {bench.missed}, repeated {bench.repeated}", file=sys.stderr)
    return bench


# ----------------------------------------------------------------------------------------------
# End to end with the daemon
# ----------------------------------------------------------------------------------------------
@dataclass
class E2EBench:
    rows: int
    file_bytes: int
    sensor_interval_s: int
    upload_to_export_s: float
    upload_to_run_created_s: float
    queued_s: float
    run_s: float
    status: str


def bench_e2e(moto: MotoProcess, rows: int, workdir: Path) -> E2EBench:
    import psycopg2
    from dagster import DagsterInstance, RunsFilter

    from bench.generator import generate, write_file
    from dagster_project.settings import DEFAULT_SENSOR_INTERVAL_SECONDS

    messy, _ = generate(rows, seed=11, profile="mixed")
    path = workdir / "contacts.csv"
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    bucket = moto.bucket()
    database = f"refinery_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    home = workdir / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    pg = {
        "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": database,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFINERY_", "DAGSTER_", "AWS_"))}
    env.update(pg, DAGSTER_HOME=str(home), REFINERY_STORAGE="s3", REFINERY_BUCKET=bucket,
               REFINERY_LOCAL_STORE=str(workdir / "store"), REFINERY_GDPR_DIR=str(workdir / "gdpr"),
               REFINERY_KEYS_DIR=str(workdir / "keys"),
               REFINERY_S3_ENDPOINT_URL=moto.endpoint, AWS_REGION=REGION,
               AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"], AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"])
    os.environ.update(pg)
    log = (workdir / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    client = moto.client()
    try:
        time.sleep(10)  # the daemon loads the code location and ticks once on an empty bucket
        # The controller's standing settings (placed by the operator): its runs follow them as its
        # documented instruction (DPA III.2), recorded by the run.
        client.put_object(Bucket=bucket, Key="controllers/acme/settings.yaml", Body=b"language: fr\n",
                          ServerSideEncryption="AES256")
        uploaded_wall = time.time()
        uploaded = time.monotonic()
        client.put_object(Bucket=bucket, Key="uploads/acme/crm-export.csv", Body=path.read_bytes())
        exported = None
        with DagsterInstance.from_config(str(home)) as instance:
            while True:
                if daemon.poll() is not None:
                    raise RuntimeError("the daemon stopped: " + (workdir / "daemon.log").read_text()[-2000:])
                if time.monotonic() - uploaded > 600:
                    raise RuntimeError("no export after 600 s")
                if exported is None:
                    listing = client.list_objects_v2(Bucket=bucket, Prefix="exports/acme/")
                    if any(o["Key"].endswith("summary.json") for o in listing.get("Contents", [])):
                        exported = time.monotonic() - uploaded
                runs = instance.get_run_records(RunsFilter(job_name="process_upload"))
                if runs and runs[0].dagster_run.is_finished:
                    if exported is not None:
                        record = runs[0]
                        break
                    if runs[0].dagster_run.status.value != "SUCCESS":
                        tail = (workdir / "daemon.log").read_text()[-3000:]
                        raise RuntimeError(f"the run ended {runs[0].dagster_run.status.value}:\n{tail}")
                time.sleep(0.25)
        created = record.create_timestamp.timestamp()
        return E2EBench(
            rows=rows,
            file_bytes=path.stat().st_size,
            sensor_interval_s=DEFAULT_SENSOR_INTERVAL_SECONDS,
            upload_to_export_s=exported,
            upload_to_run_created_s=created - uploaded_wall,
            queued_s=(record.start_time or created) - created,
            run_s=(record.end_time or 0) - (record.start_time or 0),
            status=record.dagster_run.status.value,
        )
    finally:
        stop_process_group(daemon)
        log.close()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def _s(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} / {max(values):.2f}"


def render(ticks: list[TickBench], e2e: E2EBench | None, argv: str) -> str:
    from bench.bench_pipeline import load_average, machine_info

    machine = machine_info()
    lines = [
        BEGIN,
        "## Upload sensor: a tick over 10,000 objects, and upload to export with the daemon",
        "",
        f"`python -m bench.bench_sensor{' ' + argv if argv else ''}`. S3 is a `moto_server` process on loopback (boto3 over HTTP, "
        "versioned bucket); the sensor's work is `dagster_project.upload_scan.run_tick`, as the sensor calls it. "
        f"Targets (issue 5): a tick over 10,000 objects under {TARGET_TICK_S:.0f} s, never missing or repeating a file; "
        f"upload to export object for a 10k-row file under {TARGET_E2E_S:.0f} s with the daemon running.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + f"; load average {load_average()}.",
        "",
        "| store | objects | contact files | listing alone s (median / max of 5) | first tick s (25 new) | steady tick s, nothing new (median / max of 5) | busy tick s, 25 new (median / max of 3) | drain: ticks at max files | drain tick s (median / max) | writes | registered | missed | repeated |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for t in ticks:
        lines.append(
            f"| {t.store} | {t.objects:,} | {t.contact_files:,} | {_s(t.listing_s)} | {t.first_tick_s:.2f} | {_s(t.steady_tick_s)} | "
            f"{_s(t.new_tick_s)} | {t.drain_ticks} at {t.drain_max_files:,} | {_s(t.drain_tick_s)} | {t.writes:,} | {t.registered:,} | "
            f"{t.missed} | {t.repeated} |"
        )
    lines += [
        "",
        "*Writes* are the contact-file writes (10,000 objects minus 1 % PDFs, plus 50 re-uploads to existing keys and "
        "50 new files dropped during the drain); each must be registered exactly once: *missed* and *repeated* count "
        "the differences, checked through the manifests. The drain uses a larger bound than the default "
        f"({DEFAULT_MAX_FILES} files per tick) so that it takes a few ticks instead of 400; a drain tick writes that "
        "many manifests, which is why it is slower than a normal tick. The listing is most of a tick: moto takes "
        "about 0.2 s per 1,000-key page on this machine (plain HTTP GETs of the 10 pages: 2.0 s) and its cost grows "
        "with everything in the bucket (manifests and ledgers included); AWS S3 indexes by prefix and answers a page "
        "in tens of milliseconds. The client side is botocore's XML parsing (its dateutil timestamp parser, about half "
        "of the client's time in a profile, is replaced by the standard library's), and controllers' prefixes are listed in parallel (8 connections).",
    ]
    if e2e is not None:
        lines += [
            "",
            "| rows | file | sensor interval s | upload to export object s | upload to run created s | queued s | run s (start to end) | status |",
            "|--:|--:|--:|--:|--:|--:|--:|---|",
            f"| {e2e.rows:,} | {e2e.file_bytes / 2**20:.1f} MiB | {e2e.sensor_interval_s} | {e2e.upload_to_export_s:.1f} | "
            f"{e2e.upload_to_run_created_s:.1f} | {e2e.queued_s:.1f} | {e2e.run_s:.1f} | {e2e.status} |",
            "",
            "One run of `dagster-daemon run` on deploy/dagster.yaml (PostgreSQL on loopback, queued run coordinator "
            "dequeuing every 2 s, default run launcher: a new process per run, which imports the code location "
            "before the first stage). *Upload to run created* includes waiting for the next sensor tick (up to the "
            "interval); *run* ends after the last stage, the export object appears before it.",
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--controllers", type=int, default=20)
    parser.add_argument("--drain-max-files", type=int, default=1_000)
    parser.add_argument("--e2e-rows", type=int, default=10_000)
    parser.add_argument("--no-e2e", action="store_true")
    parser.add_argument("--no-markdown", action="store_true")
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("botocore").setLevel(logging.WARNING)
    moto = MotoProcess()
    results: list[TickBench] = []
    e2e = None
    try:
        bucket = moto.bucket()
        raw = moto.client()
        s3 = moto.store(bucket)
        results.append(bench_ticks(
            "S3 (moto, versioned)", s3, lambda k, b: raw.put_object(Bucket=bucket, Key=k, Body=b),
            args.objects, args.controllers, args.drain_max_files,
        ))
        with tempfile.TemporaryDirectory() as tmp:
            local = LocalObjectStore(Path(tmp) / "store")
            results.append(bench_ticks("local folder", local, local.put_bytes, args.objects, args.controllers, args.drain_max_files))
        if not args.no_e2e:
            with tempfile.TemporaryDirectory() as tmp:
                e2e = bench_e2e(moto, args.e2e_rows, Path(tmp))
                print(f"[e2e] {e2e}", file=sys.stderr)
    finally:
        moto.stop()
    argv_text = " ".join(argv if argv is not None else sys.argv[1:])
    section = render(results, e2e, argv_text)
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN, END, BENCHMARKS_MD)
    ok = all(t.missed == 0 and t.repeated == 0 and max(t.steady_tick_s + t.new_tick_s + [t.first_tick_s]) < TARGET_TICK_S for t in results)
    if e2e is not None:
        ok = ok and e2e.upload_to_export_s < TARGET_E2E_S and e2e.status == "SUCCESS"
    print(json.dumps({"targets_met": ok}), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
