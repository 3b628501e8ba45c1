"""Retention and deletion with proof (DPA III.10, Art. 28(3)(g)).

An upload is deleted `retention_days` after its *first* export (default 30, per controller), or
after its arrival if it never exported; never later than one month after the end of the
controller's contract. Re-processing never extends a deadline: the first export time is kept in
the records database and never moved (`record_export`).

Deleting an upload removes it from everywhere it lives: its source object, manifest, working
files and exports (every version of every object: ObjectStore.delete / delete_prefix), its
records in the controller's master data (current object rewritten, older versions purged) and in
the work copies of the master kept by later uploads, what it taught the e-mail pattern store,
local leftovers (temp files of atomic writes, DuckDB spill files, cache folders), and its
Dagster dynamic partition. An off-boarded controller loses everything under its prefixes —
master data, models, settings — and finally its HMAC key.

Each deletion leaves a certificate without personal data: controller code, upload ids (opaque),
keyed hashes of client-named object keys, counts of objects, versions and rows removed, and the
result of a verification rescan of every location, which must find nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import json
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import instructions
from pipelines.instructions import iso, utc_now
from resources.instruction_log import RecordsDB
from resources.keys import Hasher, KeyDestroyed, KeyStore
from resources.layout import (
    CONTROLLER_RE,
    CONTROLLERS_PREFIX,
    EXPORTS_PREFIX,
    MANIFESTS_PREFIX,
    UPLOAD_ID_RE,
    UPLOADS_PREFIX,
    WORK_PREFIX,
    check_controller,
    controller_prefix,
    export_prefix,
    manifest_key,
)
from resources.object_store import LocalObjectStore, ObjectStore

DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 365
UPLOADS_PARTITIONS = "uploads"
MAILBOX_SCANS_PARTITIONS = "mailbox_scans"
# The master's files outside its versions (the layout before versions, and the mailbox history):
# their older object versions are purged after a deletion. Version files are deleted whole.
LEGACY_MASTER_FILES = ("records.parquet", "golden.parquet", "decisions.parquet", "state.json", "model.json", "email_events.parquet")
EMAIL_PATTERNS = "email_patterns.parquet"
# Leftovers of crashed DuckDB sessions older than this are removed from the cache folders.
STALE_SECONDS = 3600


class RetentionError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------------
# Dates
# ------------------------------------------------------------------------------------------------
def add_one_month(day: dt.date) -> dt.date:
    """31 January -> 28/29 February: 'at most one month after the end of the services'."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def parse_as_of(text: str | None) -> dt.datetime:
    """`--as-of 2026-12-31` (end of that day, UTC) or a full ISO time; default now."""
    if not text:
        return utc_now()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return _midnight(day) + dt.timedelta(days=1) - dt.timedelta(seconds=1)
        moment = parse_time(text)
        assert moment is not None
        return moment
    except ValueError:
        raise RetentionError(f"--as-of {text!r}: expected a date YYYY-MM-DD or an ISO time") from None


def upload_time(upload_id: str) -> dt.datetime:
    return dt.datetime.strptime(upload_id[3:18], "%Y%m%dt%H%M%S").replace(tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------------------------------------
# Contracts and retention settings (both are instructions of the controller)
# ------------------------------------------------------------------------------------------------
def _upsert_contract(db: RecordsDB, controller: str, now: dt.datetime, **values: Any) -> None:
    row = instructions.contract(db, controller)
    if row is None:
        db.run(
            "INSERT INTO contracts (controller, retention_days, end_date, delete_after_days, offboarded_at, purged_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [controller, values.get("retention_days"), values.get("end_date"), values.get("delete_after_days"),
             values.get("offboarded_at"), values.get("purged_at"), iso(now)],
        )
        return
    sets = ", ".join(f"{k} = ?" for k in values)
    db.run(f"UPDATE contracts SET {sets}, updated_at = ? WHERE controller = ?", [*values.values(), iso(now), controller])


def set_retention(
    db: RecordsDB, controller: str, days: int, *, origin: str = "operator", actor: str | None = None,
    now: dt.datetime | None = None,
) -> instructions.Instruction:
    check_controller(controller)
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise RetentionError(f"retention must be between 0 and {MAX_RETENTION_DAYS} days after the export, got {days}")
    moment = now or utc_now()
    instructions.check_contract(db, controller, moment)
    with db.tx():
        ins = instructions.append(db, controller, "retention", origin, {"retention_days": days},
                                  {"retention_days": days}, actor=actor, now=moment)
        _upsert_contract(db, controller, moment, retention_days=days)
    return ins


def offboard(
    db: RecordsDB, controller: str, end_date: dt.date, *, delete_after_days: int | None = None,
    origin: str = "operator", actor: str | None = None, now: dt.datetime | None = None,
) -> tuple[instructions.Instruction, dt.datetime]:
    """Record the end of the contract; returns the instruction and when everything is deleted."""
    check_controller(controller)
    moment = now or utc_now()
    row = instructions.contract(db, controller)
    if row and row.get("purged_at"):
        raise RetentionError(f"controller {controller} was already off-boarded and deleted on {row['purged_at'][:10]}")
    latest_allowed = add_one_month(end_date)
    if delete_after_days is not None:
        if delete_after_days < 0 or end_date + dt.timedelta(days=delete_after_days) > latest_allowed:
            raise RetentionError(
                f"--delete-after-days {delete_after_days}: deletion must happen at most one month after the end of the "
                f"contract ({latest_allowed.isoformat()})"
            )
    content = {"end_date": end_date.isoformat(), "delete_after_days": delete_after_days}
    with db.tx():
        ins = instructions.append(db, controller, "contract", origin, content, content, actor=actor, now=moment)
        _upsert_contract(db, controller, moment, end_date=end_date.isoformat(), delete_after_days=delete_after_days,
                         offboarded_at=iso(moment))
    return ins, purge_time(end_date, delete_after_days)


def purge_time(end_date: dt.date, delete_after_days: int | None) -> dt.datetime:
    """Start of the day on which an off-boarded controller's data is deleted."""
    cap = add_one_month(end_date)
    day = cap if delete_after_days is None else min(cap, end_date + dt.timedelta(days=delete_after_days))
    return _midnight(day)


def retention_days(db: RecordsDB, controller: str) -> int:
    row = instructions.contract(db, controller)
    if row and row.get("retention_days") is not None:
        return int(row["retention_days"])
    return DEFAULT_RETENTION_DAYS


# ------------------------------------------------------------------------------------------------
# The uploads ledger: first export time, never moved
# ------------------------------------------------------------------------------------------------
def record_upload(db: RecordsDB, controller: str, upload_id: str, received_at: str | None) -> None:
    if db.one("SELECT upload_id FROM uploads WHERE upload_id = ?", [upload_id]) is None:
        db.run("INSERT INTO uploads (upload_id, controller, received_at) VALUES (?, ?, ?)",
               [upload_id, controller, received_at])


def record_export(
    db: RecordsDB, controller: str, upload_id: str, *, received_at: str | None = None,
    exported_at: dt.datetime | None = None,
) -> str:
    """HOOK for contact_export: the first export time starts the retention clock; a later export
    of the same upload (a re-run) leaves it where it is. Returns the time kept."""
    moment = iso(exported_at or utc_now())
    with db.tx():
        record_upload(db, controller, upload_id, received_at)
        row = db.one("SELECT first_exported_at FROM uploads WHERE upload_id = ?", [upload_id])
        if row and row["first_exported_at"]:
            return row["first_exported_at"]
        db.run("UPDATE uploads SET first_exported_at = ? WHERE upload_id = ?", [moment, upload_id])
    return moment


@dataclass(frozen=True)
class UploadState:
    upload_id: str
    controller: str
    received_at: dt.datetime
    first_exported_at: dt.datetime | None
    deadline: dt.datetime
    reason: str


def upload_deadline(
    upload_id: str, received_at: dt.datetime, first_exported_at: dt.datetime | None, days: int,
    contract_row: dict[str, Any] | None,
) -> tuple[dt.datetime, str]:
    start = first_exported_at or received_at
    deadline = start + dt.timedelta(days=days)
    reason = f"{days} days after its {'export' if first_exported_at else 'arrival (never exported)'}"
    if contract_row and contract_row.get("end_date"):
        end = dt.date.fromisoformat(contract_row["end_date"])
        cap = purge_time(end, contract_row.get("delete_after_days"))
        if cap < deadline:
            deadline, reason = cap, f"end of the contract on {end.isoformat()}"
    return deadline, reason


# ------------------------------------------------------------------------------------------------
# Finding what a controller has
# ------------------------------------------------------------------------------------------------
def known_controllers(store: ObjectStore, db: RecordsDB) -> list[str]:
    names: set[str] = set()
    for prefix in (UPLOADS_PREFIX, WORK_PREFIX, EXPORTS_PREFIX, CONTROLLERS_PREFIX):
        folders, _ = store.list_children(prefix)
        names.update(f[len(prefix):-1] for f in folders)
    names.update(r["controller"] for r in db.all("SELECT controller FROM contracts"))
    names.update(r["controller"] for r in db.all("SELECT DISTINCT controller FROM uploads WHERE deleted_at IS NULL"))
    return sorted(n for n in names if CONTROLLER_RE.match(n))


def discover_uploads(store: ObjectStore, db: RecordsDB) -> None:
    """Put every upload the store holds into the ledger (manifests not seen before are read once)."""
    known = {r["upload_id"] for r in db.all("SELECT upload_id FROM uploads")}
    for obj in store.list(MANIFESTS_PREFIX):
        upload_id = obj.key[len(MANIFESTS_PREFIX):].removesuffix(".json")
        if upload_id in known or not UPLOAD_ID_RE.match(upload_id):
            continue
        try:
            data = json.loads(store.get_bytes(obj.key))
            controller = check_controller(data["controller"])
        except (KeyError, ValueError, TypeError):
            continue
        record_upload(db, controller, upload_id, data.get("received_at"))
        known.add(upload_id)
    # Working files or exports whose manifest is gone (a crash between deletions) still count.
    for prefix in (WORK_PREFIX, EXPORTS_PREFIX):
        controllers, _ = store.list_children(prefix)
        for folder in controllers:
            controller = folder[len(prefix):-1]
            if not CONTROLLER_RE.match(controller):
                continue
            uploads, _ = store.list_children(folder)
            for up in uploads:
                upload_id = up[len(folder):-1]
                if UPLOAD_ID_RE.match(upload_id) and upload_id not in known:
                    record_upload(db, controller, upload_id, iso(upload_time(upload_id)))
                    known.add(upload_id)


def _first_export_fallback(store: ObjectStore, db: RecordsDB, controller: str, upload_id: str) -> dt.datetime | None:
    """Uploads exported before the export hook existed: the summary's time, recorded now so that a
    later re-run cannot move it."""
    head = store.head(export_prefix(controller, upload_id) + "summary.json")
    if head is None:
        return None
    moment = dt.datetime.fromtimestamp(head.last_modified, dt.timezone.utc).replace(microsecond=0)
    return parse_time(record_export(db, controller, upload_id, exported_at=moment))


def upload_states(store: ObjectStore, db: RecordsDB, controller: str) -> list[UploadState]:
    days = retention_days(db, controller)
    contract_row = instructions.contract(db, controller)
    out = []
    for row in db.all(
        "SELECT * FROM uploads WHERE controller = ? AND deleted_at IS NULL ORDER BY upload_id", [controller]
    ):
        upload_id = row["upload_id"]
        received = parse_time(row["received_at"]) or upload_time(upload_id)
        exported = parse_time(row["first_exported_at"]) or _first_export_fallback(store, db, controller, upload_id)
        deadline, reason = upload_deadline(upload_id, received, exported, days, contract_row)
        out.append(UploadState(upload_id, controller, received, exported, deadline, reason))
    return out


# ------------------------------------------------------------------------------------------------
# Store helpers shared with data-subject requests
# ------------------------------------------------------------------------------------------------
def purge_old_versions(store: ObjectStore, key: str) -> int:
    """Remove every version of `key` but the current one (and delete markers): after a rewrite,
    older versions still hold what the rewrite removed."""
    old = [v for v in store.list_versions(key) if v.key == key and not v.is_latest]
    if not old:
        return 0
    # S3ObjectStore deletes exactly the versions it is given; a local folder has no old versions.
    delete_versions = getattr(store, "delete_versions", None) or getattr(store, "_delete_versions", None)
    if delete_versions is None:
        raise RetentionError(f"{store.describe()} keeps old versions but cannot delete one version")
    return int(delete_versions(old))


def rewrite(store: ObjectStore, key: str, data: bytes) -> int:
    """Replace an object and purge its older versions; returns versions purged."""
    store.put_bytes(key, data)
    return purge_old_versions(store, key)


def local_folder(store: ObjectStore, prefix: str) -> Path | None:
    if isinstance(store, LocalObjectStore):
        return store.root / prefix.rstrip("/")
    return None


def remove_local_leftovers(store: ObjectStore, prefix: str) -> int:
    """The local store skips `.tmp-*` files of interrupted atomic writes in its listings; they can
    hold a whole stage's data. Remove the folder itself, and count what was left in it."""
    folder = local_folder(store, prefix)
    if folder is None or not folder.exists():
        return 0
    count = sum(1 for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    return count


def read_parquet(store: ObjectStore, key: str) -> pa.Table | None:
    """The table, or None when the object is missing or not Parquet (a damaged write)."""
    try:
        return pq.read_table(io.BytesIO(store.get_bytes(key)))
    except (KeyError, pa.ArrowException, OSError):
        return None


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def versions_under(store: ObjectStore, prefix_or_key: str, exact: bool = False) -> int:
    versions = store.list_versions(prefix_or_key)
    if exact:
        versions = [v for v in versions if v.key == prefix_or_key]
    return len(versions)


# ------------------------------------------------------------------------------------------------
# Deleting
# ------------------------------------------------------------------------------------------------
@dataclass
class Removal:
    """What one deletion removed; becomes a certificate (no personal data)."""

    controller: str
    upload_ids: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)  # {"key": hmac or prefix, "versions": n}
    rows: dict[str, int] = field(default_factory=dict)
    partitions_removed: int = 0
    local_files_removed: int = 0
    checks: list[dict[str, Any]] = field(default_factory=list)

    def add_rows(self, name: str, n: int) -> None:
        if n:
            self.rows[name] = self.rows.get(name, 0) + n

    def check(self, location: str, found: int) -> None:
        self.checks.append({"location": location, "found": found})

    @property
    def versions_removed(self) -> int:
        return sum(o["versions"] for o in self.objects)

    @property
    def verified(self) -> bool:
        return all(c["found"] == 0 for c in self.checks)


def _delete_key(store: ObjectStore, hasher: Hasher, key: str, removal: Removal) -> None:
    versions = versions_under(store, key, exact=True)
    if versions:
        store.delete(key)
        removal.objects.append({"key": hasher.object_key(key), "versions": versions})


def _delete_prefix(store: ObjectStore, prefix: str, removal: Removal) -> None:
    versions = store.list_versions(prefix)
    if versions:
        objects = store.delete_prefix(prefix)
        # Pipeline-named prefixes (controller code, upload id) are not personal: shown in clear.
        removal.objects.append({"prefix": prefix, "objects": objects, "versions": len(versions)})
    removal.local_files_removed += remove_local_leftovers(store, prefix)


def _rows_of_upload(store: ObjectStore, controller: str, upload_id: str) -> int:
    try:
        summary = json.loads(store.get_bytes(export_prefix(controller, upload_id) + "summary.json"))
        return int(summary.get("rows_in", 0))
    except (KeyError, ValueError):
        pass
    try:
        data = store.get_bytes(f"work/{controller}/{upload_id}/raw_upload.parquet")
        return pq.read_metadata(io.BytesIO(data)).num_rows
    except (KeyError, pa.ArrowException, OSError):  # missing or damaged: deleted all the same
        return 0


def _filter_table_file(store: ObjectStore, key: str, column: str, values: set[str]) -> int:
    """Drop rows whose `column` is in `values` from a Parquet object; returns rows removed."""
    table = read_parquet(store, key)
    if table is None or column not in table.column_names:
        return 0
    keep = pc.invert(pc.fill_null(pc.is_in(table.column(column), pa.array(sorted(values), pa.string())), False))
    kept = table.filter(keep)
    removed = table.num_rows - kept.num_rows
    if removed:
        rewrite(store, key, parquet_bytes(kept.replace_schema_metadata(table.schema.metadata)))
    return removed


def _remove_from_master(store: ObjectStore, controller: str, upload_ids: set[str], removal: Removal,
                        db: RecordsDB | None = None) -> None:
    """The uploads' records out of every file of the controller's master: each version's records
    and decisions (the current one, and any a crash left behind), rewritten in place under the
    controller's lock so that no run commits a version read before the deletion."""
    from resources import master_store

    prefix = master_store.master_prefix(controller)
    with master_store.records_db(db) as db, master_store.locked(store, controller, "a deletion", kind="retention", db=db) as holder:
        removed_keys = _remove_from_master_files(store, controller, upload_ids, removal)
        _remove_from_master_history(store, controller, prefix, upload_ids, removed_keys, removal)
        if removed_keys:  # a run that read the master before this deletion can no longer commit it
            master_store.bump_version(store, db, controller, holder=holder, committed_by="a deletion")


def _remove_from_master_files(store: ObjectStore, controller: str, upload_ids: set[str], removal: Removal) -> set[str]:
    from resources import master_store

    keys = master_store.master_data_keys(store, controller)
    removed_keys: set[str] = set()
    for records_key in [k for k in keys if k.endswith("/records.parquet")]:
        records = read_parquet(store, records_key)
        if records is None or "upload_id" not in records.column_names:
            continue
        mine = pc.fill_null(pc.is_in(records.column("upload_id"), pa.array(sorted(upload_ids), pa.string())), False)
        gone = set(records.filter(mine).column("record_key").to_pylist())
        if gone:
            removal.add_rows("master_records", len(gone - removed_keys))
            removed_keys |= gone
            purged = rewrite(store, records_key, parquet_bytes(records.filter(pc.invert(mine)).replace_schema_metadata(records.schema.metadata)))
            removal.objects.append({"rewritten": records_key, "versions": purged})
    for decisions_key in [k for k in keys if k.endswith("/decisions.parquet")]:
        decisions = read_parquet(store, decisions_key)
        if decisions is None or not decisions.num_rows or not removed_keys:
            continue
        gone = pa.array(sorted(removed_keys), pa.string())
        touch = pc.or_(pc.is_in(decisions.column("record_key_l"), gone), pc.is_in(decisions.column("record_key_r"), gone))
        n = pc.sum(pc.cast(touch, pa.int64())).as_py() or 0
        if n:
            removal.add_rows("master_decisions", n)
            purged = rewrite(store, decisions_key, parquet_bytes(decisions.filter(pc.invert(touch))))
            removal.objects.append({"rewritten": decisions_key, "versions": purged})
    return removed_keys


def _remove_from_master_history(
    store: ObjectStore, controller: str, prefix: str, upload_ids: set[str], removed_keys: set[str], removal: Removal
) -> None:
    # The mailbox history (issue #9): events of a deleted scan, and events about deleted records.
    events_key = prefix + "email_events.parquet"
    removed = _filter_table_file(store, events_key, "scan_id", upload_ids)
    if removed_keys:
        removed += _filter_table_file(store, events_key, "record_key", removed_keys)
    if removed:
        removal.add_rows("master_email_events", removed)
    # golden.parquet merges values across records: rebuilt by the next run, so dropped here.
    if store.exists(prefix + "golden.parquet"):
        golden = read_parquet(store, prefix + "golden.parquet")
        removal.add_rows("master_golden_dropped", golden.num_rows if golden is not None else 0)
        store.delete(prefix + "golden.parquet")
    for name in LEGACY_MASTER_FILES:
        purged = purge_old_versions(store, prefix + name)
        if purged:
            removal.objects.append({"rewritten": prefix + name, "versions": purged})
    # What the uploads taught e-mail finding (domains and counts only, removed all the same).
    from pipelines import email_patterns_store

    for upload_id in sorted(upload_ids):
        removal.add_rows("email_pattern_rows", email_patterns_store.forget_upload(store, controller, upload_id))
    purge_old_versions(store, controller_prefix(controller) + EMAIL_PATTERNS)
    # Later uploads keep a work copy of the master as it was after them.
    folders, _ = store.list_children(f"{WORK_PREFIX}{controller}/")
    for folder in folders:
        if folder.rstrip("/").rsplit("/", 1)[-1] in upload_ids:
            continue
        removal.add_rows("work_master_copies", _filter_table_file(store, folder + "master_records.parquet", "upload_id", upload_ids))


def _remove_partitions(instance: Any, upload_ids: Iterable[str], removal: Removal) -> None:
    if instance is None:
        return
    for partitions in (UPLOADS_PARTITIONS, MAILBOX_SCANS_PARTITIONS):
        existing = set(instance.get_dynamic_partitions(partitions))
        for upload_id in upload_ids:
            if upload_id in existing:
                instance.delete_dynamic_partition(partitions, upload_id)
                removal.partitions_removed += 1


_DUCKDB_LEFTOVER = re.compile(r"(\.duckdb(\.wal)?$|^duckdb_temp|\.tmp$)")


def _clean_caches(cache_dirs: Sequence[Path], upload_ids: set[str], controller: str | None, removal: Removal) -> None:
    """Local folders the operator lists in REFINERY_CACHE_DIRS (DuckDB temp directories, scratch
    space): entries named after a deleted upload (or controller), and stale DuckDB files."""
    now = time.time()
    for root in cache_dirs:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if not path.exists():
                continue
            named = any(u in path.name for u in upload_ids) or (controller is not None and path.name == controller)
            stale = _DUCKDB_LEFTOVER.search(path.name) and now - path.stat().st_mtime > STALE_SECONDS
            if named or stale:
                if path.is_dir():
                    removal.local_files_removed += sum(1 for p in path.rglob("*") if p.is_file())
                    shutil.rmtree(path)
                else:
                    path.unlink()
                    removal.local_files_removed += 1


def _verify_upload(store: ObjectStore, instance: Any, cache_dirs: Sequence[Path], controller: str, upload_id: str,
                   keys: Sequence[str], removal: Removal) -> None:
    """The rescan: every location the upload lived in, read again."""
    for key in keys:
        removal.check(f"object versions of a source/manifest key of {upload_id}", versions_under(store, key, exact=True))
    for prefix in (f"{WORK_PREFIX}{controller}/{upload_id}/", export_prefix(controller, upload_id)):
        removal.check(f"object versions under {prefix}", versions_under(store, prefix))
        folder = local_folder(store, prefix)
        removal.check(f"local files under {prefix}", int(folder.exists()) if folder is not None else 0)
    for key, column in _master_like_files(store, controller):
        for version in store.list_versions(key):
            if version.key != key or version.is_delete_marker:
                continue
            data = store.get_bytes(key, version_id=version.version_id)
            try:
                table = pq.read_table(io.BytesIO(data), columns=[column])
                found = pc.sum(pc.cast(pc.fill_null(pc.equal(table.column(column), upload_id), False), pa.int64())).as_py() or 0
            except (pa.ArrowException, OSError, KeyError):
                # Unreadable or without the column: it cannot be shown clean, so it counts as found.
                found = 0 if column not in _schema_names(data) else 1
            removal.check(f"rows of {upload_id} in {key.replace(controller_prefix(controller), 'controllers/<controller>/')} (every version)", found)
    if instance is not None:
        removal.check(f"dynamic partition {upload_id}", int(upload_id in set(instance.get_dynamic_partitions(UPLOADS_PARTITIONS))))
    for root in cache_dirs:
        if root.is_dir():
            removal.check(f"cache folder entries named {upload_id}", sum(1 for p in root.rglob(f"*{upload_id}*")))


def _schema_names(data: bytes) -> list[str]:
    try:
        return pq.read_schema(io.BytesIO(data)).names
    except (pa.ArrowException, OSError):
        return []


def _master_like_files(store: ObjectStore, controller: str) -> list[tuple[str, str]]:
    from resources import master_store

    files = [(k, "upload_id") for k in master_store.master_data_keys(store, controller) if k.endswith("/records.parquet")]
    files += [(controller_prefix(controller) + EMAIL_PATTERNS, "upload_id")]
    folders, _ = store.list_children(f"{WORK_PREFIX}{controller}/")
    files += [(f + "master_records.parquet", "upload_id") for f in folders]
    return [(k, c) for k, c in files if store.exists(k)]


def delete_upload(
    store: ObjectStore, hasher: Hasher, controller: str, upload_id: str, removal: Removal, *,
    instance: Any = None, cache_dirs: Sequence[Path] = (), verify: bool = True, db: RecordsDB | None = None,
) -> None:
    """Delete one upload from everywhere; appends to `removal` (counts, checks). `db`: the records
    database (default: the environment's), which holds the controller's master lock and head."""
    from resources.uploads import UploadManifest

    removal.upload_ids.append(upload_id)
    removal.add_rows("upload_rows", _rows_of_upload(store, controller, upload_id))
    keys = [manifest_key(upload_id)]
    try:
        manifest = UploadManifest.load(store, upload_id)
        if manifest.controller == controller and manifest.source_key.startswith(f"{UPLOADS_PREFIX}{controller}/"):
            keys.append(manifest.source_key)
    except (LookupError, ValueError, TypeError):
        pass
    # `refinery run` names its copy after the upload id (uploads/<controller>/<upload_id>.<ext>).
    keys += [o.key for o in store.list(f"{UPLOADS_PREFIX}{controller}/{upload_id}") if o.key not in keys]
    for key in keys[1:]:
        _delete_key(store, hasher, key, removal)
    _delete_prefix(store, f"{WORK_PREFIX}{controller}/{upload_id}/", removal)
    _delete_prefix(store, export_prefix(controller, upload_id), removal)
    _remove_from_master(store, controller, {upload_id}, removal, db=db)
    _remove_partitions(instance, [upload_id], removal)
    _clean_caches(cache_dirs, {upload_id}, None, removal)
    # The manifest last: until it is gone, a crashed deletion is found again by the next sweep.
    _delete_key(store, hasher, keys[0], removal)
    if verify:
        _verify_upload(store, instance, cache_dirs, controller, upload_id, keys, removal)


def purge_controller(
    store: ObjectStore, db: RecordsDB, keys: KeyStore, controller: str, removal: Removal, *,
    instance: Any = None, cache_dirs: Sequence[Path] = (),
) -> None:
    """Everything of an off-boarded controller: uploads, working files, exports, master data,
    models, settings, suppression list; the caller destroys its key after the certificate."""
    hasher = deletion_hasher(keys, controller)
    upload_ids = [r["upload_id"] for r in db.all("SELECT upload_id FROM uploads WHERE controller = ? AND deleted_at IS NULL", [controller])]
    for upload_id in upload_ids:
        delete_upload(store, hasher, controller, upload_id, removal, instance=instance, cache_dirs=cache_dirs, verify=False,
                      db=db)
    from resources import master_store

    # Under the master's lock: no run commits a version between the deletion and the head's.
    with master_store.locked(store, controller, "an off-boarding", kind="retention", db=db):
        for prefix in (f"{UPLOADS_PREFIX}{controller}/", f"{WORK_PREFIX}{controller}/", f"{EXPORTS_PREFIX}{controller}/",
                       controller_prefix(controller)):
            _delete_prefix(store, prefix, removal)
            removal.check(f"object versions under {prefix}", versions_under(store, prefix))
            folder = local_folder(store, prefix)
            removal.check(f"local files under {prefix}", int(folder.exists()) if folder is not None else 0)
        # Its master's files went with its prefix; the head that named them goes too.
        master_store.drop_head(db, store, controller)
    _clean_caches(cache_dirs, set(upload_ids), controller, removal)
    db.run("DELETE FROM upload_sources WHERE controller = ?", [controller])
    n = db.run("DELETE FROM suppression WHERE controller = ?", [controller])
    removal.add_rows("suppression_entries", max(n, 0))
    for upload_id in upload_ids:
        removal.check(f"manifest of {upload_id}", versions_under(store, manifest_key(upload_id), exact=True))
    if instance is not None:
        remaining = set(instance.get_dynamic_partitions(UPLOADS_PARTITIONS)) & set(upload_ids)
        removal.check("dynamic partitions of the controller's uploads", len(remaining))


# ------------------------------------------------------------------------------------------------
# Certificates
# ------------------------------------------------------------------------------------------------
def issue_certificate(
    db: RecordsDB, kind: str, controller: str, body: dict[str, Any], now: dt.datetime | None = None,
) -> dict[str, Any]:
    moment = now or utc_now()
    cert_id = f"cert-{moment.astimezone(dt.timezone.utc):%Y%m%dt%H%M%S}-{secrets.token_hex(4)}"
    full = {"id": cert_id, "kind": kind, "controller": controller, "issued_at": iso(moment), **body}
    text = RecordsDB.dumps(full)
    digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    db.run("INSERT INTO certificates (id, controller, kind, created_at, body, body_hash) VALUES (?, ?, ?, ?, ?, ?)",
           [cert_id, controller, kind, iso(moment), text, digest])
    return full | {"body_hash": digest}


def certificates(db: RecordsDB, controller: str | None = None) -> list[dict[str, Any]]:
    rows = db.all("SELECT * FROM certificates ORDER BY created_at, id") if controller is None else db.all(
        "SELECT * FROM certificates WHERE controller = ? ORDER BY created_at, id", [controller])
    return [json.loads(r["body"]) | {"body_hash": r["body_hash"]} for r in rows]


def _certificate_body(removal: Removal, keys: KeyStore, reason: str, as_of: dt.datetime, **extra: Any) -> dict[str, Any]:
    return {
        "reason": reason,
        "as_of": iso(as_of),
        "upload_ids": sorted(removal.upload_ids),
        "objects": removal.objects,
        "objects_removed": sum(o.get("objects", 0 if "rewritten" in o else 1) for o in removal.objects),
        "versions_removed": removal.versions_removed,
        "rows_removed": dict(sorted(removal.rows.items())),
        "partitions_removed": removal.partitions_removed,
        "local_files_removed": removal.local_files_removed,
        "key_fingerprint": keys.fingerprint(removal.controller),
        "verification": {"locations_checked": len(removal.checks), "found": sum(c["found"] for c in removal.checks),
                         "passed": removal.verified, "checks": removal.checks},
        **extra,
    }


# ------------------------------------------------------------------------------------------------
# The sweep (the deletion asset and `refinery retention run`)
# ------------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    as_of: dt.datetime
    controllers_checked: int = 0
    uploads_checked: int = 0
    certificates: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)
    # Deletions put off to the next sweep: the controller's master stayed busy (a long upload).
    postponed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.certificates if not c["verification"]["passed"]]


def sweep(
    store: ObjectStore, db: RecordsDB, keys: KeyStore, *, as_of: dt.datetime | None = None, instance: Any = None,
    cache_dirs: Sequence[Path] = (), dry_run: bool = False, controllers: Sequence[str] | None = None,
) -> SweepReport:
    """Delete every upload past its deadline and every off-boarded controller past its purge date."""
    moment = as_of or utc_now()
    report = SweepReport(moment)
    discover_uploads(store, db)
    for controller in controllers or known_controllers(store, db):
        report.controllers_checked += 1
        row = instructions.contract(db, controller)
        purge_at = None
        if row and row.get("end_date"):
            purge_at = purge_time(dt.date.fromisoformat(row["end_date"]), row.get("delete_after_days"))
        if purge_at is not None and moment >= purge_at:
            # Also catches files a client dropped after its purge: they are deleted at once.
            if row.get("purged_at") and not _has_data(store, db, controller):
                continue
            report.planned.append({"controller": controller, "action": "purge controller", "due": iso(purge_at)})
            if dry_run:
                continue
            removal = Removal(controller)
            purge_controller(store, db, keys, controller, removal, instance=instance, cache_dirs=cache_dirs)
            body = _certificate_body(
                removal, keys, f"end of the contract on {row['end_date']}: every upload, master data, models and settings",
                moment, deadline=iso(purge_at), key_destroyed=True,
            )
            cert = issue_certificate(db, "controller_offboarding", controller, body, now=utc_now())
            # The key goes last: the certificate's hashes were computed with it; now nobody can link them.
            keys.destroy(controller)
            with db.tx():
                db.run("UPDATE uploads SET deleted_at = ?, certificate_id = ? WHERE controller = ? AND deleted_at IS NULL",
                       [iso(utc_now()), cert["id"], controller])
                _upsert_contract(db, controller, utc_now(), purged_at=iso(utc_now()))
            report.certificates.append(cert)
            continue
        for state in upload_states(store, db, controller):
            report.uploads_checked += 1
            if state.deadline > moment:
                continue
            report.planned.append({"controller": controller, "upload_id": state.upload_id, "action": "delete upload",
                                   "due": iso(state.deadline)})
            if dry_run:
                continue
            removal = Removal(controller)
            from resources.master_store import MasterBusyError

            try:
                delete_upload(store, deletion_hasher(keys, controller), controller, state.upload_id, removal,
                              instance=instance, cache_dirs=cache_dirs, db=db)
            except MasterBusyError:
                # Its manifest is deleted last, so the next sweep finds the upload again and finishes.
                report.postponed.append({"controller": controller, "upload_id": state.upload_id,
                                         "reason": "the controller's master stayed busy"})
                continue
            db.run("DELETE FROM upload_sources WHERE upload_id = ?", [state.upload_id])
            body = _certificate_body(removal, keys, state.reason, moment, deadline=iso(state.deadline),
                                     first_exported_at=iso(state.first_exported_at) if state.first_exported_at else None)
            cert = issue_certificate(db, "upload_retention", controller, body, now=utc_now())
            db.run("UPDATE uploads SET deleted_at = ?, certificate_id = ? WHERE upload_id = ?",
                   [iso(utc_now()), cert["id"], state.upload_id])
            report.certificates.append(cert)
    return report


def deletion_hasher(keys: KeyStore, controller: str) -> Hasher:
    """The controller's hasher; after its key was destroyed (a file dropped after the purge), a
    throw-away key: those hashes are unlinkable from the start, which is what the key's end means."""
    try:
        return keys.hasher(controller)
    except KeyDestroyed:
        return Hasher(controller, secrets.token_bytes(32))


def _has_data(store: ObjectStore, db: RecordsDB, controller: str) -> bool:
    for prefix in (f"{UPLOADS_PREFIX}{controller}/", f"{WORK_PREFIX}{controller}/", f"{EXPORTS_PREFIX}{controller}/",
                   controller_prefix(controller)):
        if store.list_versions(prefix):
            return True
    return db.one("SELECT upload_id FROM uploads WHERE controller = ? AND deleted_at IS NULL", [controller]) is not None


def cache_dirs_from_env(env: dict[str, str] | None = None) -> list[Path]:
    import os

    env = dict(os.environ if env is None else env)
    raw = env.get("REFINERY_CACHE_DIRS", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]

