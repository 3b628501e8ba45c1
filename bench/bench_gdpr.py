"""What the GDPR duties cost: the ingestion screen on a large file, and access / erasure /
register / retention sweep on a controller with one processed upload.

    python -m bench.bench_gdpr [--rows 10000] [--screen-rows 100000] [--no-markdown]

Prints one line per measure (nothing personal) and writes them to its section of BENCHMARKS.md.
The screen file is generated (bench/data/, gitignored) when it is not there yet.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


BEGIN = "<!-- bench_gdpr:begin (written by python -m bench.bench_gdpr; edits here are overwritten) -->"
END = "<!-- bench_gdpr:end -->"
MEASURES: list[tuple[str, float, str]] = []


def _timed(label: str, func):
    started = time.perf_counter()
    value = func()
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:8.2f} s")
    MEASURES.append((label, seconds, ""))
    return value


def _detail(text: str) -> None:
    """A count for the last measure (printed and kept for the table)."""
    print(f"  ({text})")
    label, seconds, _ = MEASURES[-1]
    MEASURES[-1] = (label, seconds, text)


def _markdown(args: argparse.Namespace, load_before: tuple[float, float, float]) -> str:
    from bench.bench_pipeline import machine_info

    machine = machine_info()
    lines = [
        BEGIN,
        "## GDPR duties: what they cost",
        "",
        f"`python -m bench.bench_gdpr --rows {args.rows} --screen-rows {args.screen_rows}`, "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {machine['cpu']}, {machine['cpus']} CPUs, "
        f"{machine['memory']}; load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}. "
        "The store holds one processed upload of the controller (the pipeline run below).",
        "",
        "| measure | s | detail |",
        "|---|---:|---|",
    ]
    lines += [f"| {label} | {seconds:.2f} | {detail} |" for label, seconds, detail in MEASURES]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--screen-rows", type=int, default=100_000, help="rows of the file the ingestion screen reads")
    parser.add_argument("--no-markdown", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    MEASURES.clear()

    from dagster import DagsterInstance

    from pipelines import dsr, register, retention
    from pipelines.reader import parse_contact_bytes, source_info
    from resources.instruction_log import RecordsDB
    from resources.keys import KeyStore
    from resources.object_store import LocalObjectStore
    from tests.test_gdpr_support import register_upload, run_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = LocalObjectStore(root / "store")
        db = RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite")
        keys = KeyStore(root / "keys", data_root=root / "store")

        from bench.generator import generate, write_file

        screen_file = REPO / "bench" / "data" / f"gdpr_screen_{args.screen_rows}.csv"
        if not screen_file.exists():
            screen_file.parent.mkdir(parents=True, exist_ok=True)
            write_file(generate(args.screen_rows, seed=11, profile="mixed")[0], screen_file, fmt="csv",
                       encoding="utf-8", delimiter=",", header_lang="en")
        raw = _timed("parse screen file", lambda: parse_contact_bytes(screen_file.read_bytes()))
        _detail(f"{raw.num_rows:,} rows")
        _timed("screen_upload, empty suppression list", lambda: dsr.screen_upload(raw, "acme", db, keys))
        hasher = keys.hasher("acme")
        info = source_info(raw)
        emails = raw.column(f"src_{info.fields['email']}").to_pylist()[:500] if "email" in info.fields else []
        listed = {hasher.email(e) for e in emails if e} - {None}
        for h in sorted(listed):
            db.run("INSERT INTO suppression (controller, subject_hash, kind, created_at) VALUES (?, ?, ?, ?)",
                   ["acme", h, "erase", "2026-01-01T00:00:00Z"])
        screened = _timed("screen_upload, ~500 people listed", lambda: dsr.screen_upload(raw, "acme", db, keys))
        _detail(f"{screened.count:,} rows screened")

        messy, _ = generate(args.rows, seed=3, profile="fr")
        path = root / "in.csv"
        write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
        upload_id = register_upload(store, "beta", path.read_bytes())
        with DagsterInstance.ephemeral() as instance:
            _timed(f"pipeline on {args.rows:,} rows (for the store below)", lambda: run_pipeline(root / "store", upload_id, instance))
        retention.record_export(db, "beta", upload_id)
        table = parse_contact_bytes(path.read_bytes())
        info = source_info(table)
        target = next(e for e in table.column(f"src_{info.fields['email']}").to_pylist() if e and "@" in e)
        subject = dsr.Subject(email=target.strip())
        files = _timed("read every stored file of the controller", lambda: dsr.controller_files(store, "beta"))
        found = _timed("find one person (files already read)", lambda: dsr.find(store, "beta", subject, files=files))
        _detail(f"{len(found.record_keys)} record(s), {found.total_rows} row(s) in {len(found.rows)} file(s)")
        _timed("dsr access (read + find + report)", lambda: dsr.access(store, db, keys, "beta", subject))
        out = _timed("dsr erase (find, rewrite, rescan, certify)", lambda: dsr.erase(store, db, keys, "beta", subject))
        _detail(f"{out.files_changed} file(s) rewritten, rescan found {out.certificate['verification']['found']}")
        _timed("register build (stored files, no event log)", lambda: register.build_all(store, db))
        report = _timed("retention sweep deleting the upload", lambda: retention.sweep(
            store, db, keys, as_of=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)))
        cert = report.certificates[0]
        rows_removed = sum(cert["rows_removed"].values()) if isinstance(cert["rows_removed"], dict) else cert["rows_removed"]
        _detail(f"{cert['objects_removed']} objects, {cert['versions_removed']} versions, {rows_removed:,} rows, "
                f"verification {'passed' if cert['verification']['passed'] else 'FAILED'}")
        db.close()
    if not args.no_markdown:
        from bench.markdown import replace_section

        replace_section(_markdown(args, load_before), BEGIN, END)
        print("BENCHMARKS.md: bench_gdpr section written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
