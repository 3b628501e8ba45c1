"""What the GDPR duties cost: the ingestion screen on a large file, and access / erasure /
register / retention sweep on a controller with one processed upload.

    python -m bench.bench_gdpr [--rows 10000] [--screen-file bench/data/contacts_mixed_100000_s11.csv]

Prints one line per measure; nothing personal is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _timed(label: str, func):
    started = time.perf_counter()
    value = func()
    print(f"{label:<58} {time.perf_counter() - started:8.2f} s")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--screen-file", default=str(REPO / "bench/data/contacts_mixed_100000_s11.csv"))
    args = parser.parse_args(argv)

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

        raw = _timed("parse screen file", lambda: parse_contact_bytes(Path(args.screen_file).read_bytes()))
        print(f"  ({raw.num_rows:,} rows)")
        _timed("screen_upload, empty suppression list", lambda: dsr.screen_upload(raw, "acme", db, keys))
        hasher = keys.hasher("acme")
        info = source_info(raw)
        emails = raw.column(f"src_{info.fields['email']}").to_pylist()[:500] if "email" in info.fields else []
        listed = {hasher.email(e) for e in emails if e} - {None}
        for h in sorted(listed):
            db.run("INSERT INTO suppression (controller, subject_hash, kind, created_at) VALUES (?, ?, ?, ?)",
                   ["acme", h, "erase", "2026-01-01T00:00:00Z"])
        screened = _timed("screen_upload, ~500 people listed", lambda: dsr.screen_upload(raw, "acme", db, keys))
        print(f"  ({screened.count:,} rows screened)")

        from bench.generator import generate, write_file

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
        print(f"  ({len(found.record_keys)} record(s), {found.total_rows} row(s) in {len(found.rows)} file(s))")
        _timed("dsr access (read + find + report)", lambda: dsr.access(store, db, keys, "beta", subject))
        out = _timed("dsr erase (find, rewrite, rescan, certify)", lambda: dsr.erase(store, db, keys, "beta", subject))
        print(f"  ({out.files_changed} file(s) rewritten, rescan found {out.certificate['verification']['found']})")
        _timed("register build (stored files, no event log)", lambda: register.build_all(store, db))
        report = _timed("retention sweep deleting the upload", lambda: retention.sweep(
            store, db, keys, as_of=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)))
        cert = report.certificates[0]
        print(f"  ({cert['objects_removed']} objects, {cert['versions_removed']} versions, rows {cert['rows_removed']}, "
              f"verification {'passed' if cert['verification']['passed'] else 'FAILED'})")
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
