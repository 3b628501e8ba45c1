"""Data-subject rights for one person, across everything stored for a controller (DPA III.7,
Art. 28(3)(e)): access (with provenance and where each value is stored), portability (export),
rectification, erasure, restriction and objection; and the ingestion screen that applies
erasure, restriction and objection to every later upload.

A person is found by e-mail address, or by name and company. Every stored file of the controller
is read: each upload's source file, its working files, its exports, and the controller's master
data. A hit in any file names a *record* (`<upload id>:<row number>`); the master data links
records to a person id, so the person's other records (another address, another upload) are
found too and reported as "same person".

After an erasure only keyed hashes remain (HMAC with the controller's key, resources/keys.py):
on the suppression list, to keep the person out of later uploads, and on the certificate.
Nothing here logs a value; the access report is written only where the operator asks.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import instructions, retention
from pipelines.instructions import iso, utc_now
from resources.instruction_log import RecordsDB
from resources.keys import Hasher, KeyStore, fold, name_tokens, normalise_email
from resources.layout import EXPORTS_PREFIX, MANIFESTS_PREFIX, UPLOAD_ID_RE, WORK_PREFIX, check_controller
from resources.object_store import ObjectStore

RIGHTS = ("access", "export", "rectify", "erase", "restrict", "object")
SUPPRESSION_KINDS = ("erase", "restrict", "object")
RECTIFIABLE = ("civility", "first_name", "last_name", "email", "phone_e164", "company", "website", "linkedin_url",
               "job_title", "country", "street_number", "street", "address_line2", "postcode", "city", "region",
               "date_of_birth", "client_id", "national_id")
# Raw (input) field carrying each rectifiable output field.
_RAW_FIELD = {"phone_e164": ("phone", "mobile")}
ROW_TABLES = {"raw_upload", "validated_rows", "quarantined_rows", "standardised_contacts", "enriched_contacts",
              "linked_contacts", "contacts", "duplicates", "source"}
MASTER_TABLES = {"master_records", "master"}
GOLDEN_TABLES = {"golden_records", "golden", "master_golden"}
MERGE_TABLES = {"merge_audit"}
REVIEW_TABLES = {"review_pairs", "review"}
# Mailbox scans (issue #9): rows about a person by person id or record; signals by address only.
MAILBOX_TABLES = {"mailbox_updates", "master_email_events"}
SIGNAL_TABLES = {"mailbox_signals"}
REASON = {
    "erase": "erased at the data subject's request",
    "object": "not processed: the data subject objected",
    "restrict": "not processed: restricted at the data subject's request",
}


class DsrError(ValueError):
    """A request that cannot be carried out as asked; one line for the operator."""


# ------------------------------------------------------------------------------------------------
# Who
# ------------------------------------------------------------------------------------------------
def company_key(value: str | None) -> str:
    """The pipeline's company matching key ('ACME S.A.S.' -> 'acme'), folded."""
    if not value or not value.strip():
        return ""
    from pipelines.fields.company import standardise_company_names

    _, key, _ = standardise_company_names(pa.array([value], pa.string()))
    return fold(key[0].as_py() or value)


@dataclass(frozen=True)
class Subject:
    email: str | None = None
    name: str | None = None
    company: str | None = None

    def __post_init__(self) -> None:
        if self.email:
            if "@" not in self.email:
                raise DsrError("--email: not an e-mail address")
        elif not (self.name and self.company):
            raise DsrError("give --email, or --name with --company")

    @property
    def tokens(self) -> str:
        return name_tokens(self.name)

    @property
    def company_key(self) -> str:
        return company_key(self.company)

    def hashes(self, hasher: Hasher) -> list[str]:
        out = [hasher.email(self.email)] if self.email else []
        if self.name and self.company:
            out.append(hasher.person(self.name, self.company_key))
        return [h for h in out if h]


# ------------------------------------------------------------------------------------------------
# The controller's stored files
# ------------------------------------------------------------------------------------------------
@dataclass
class StoredFile:
    key: str
    role: str  # raw_upload, contacts, golden, master, source...
    fmt: str  # parquet, csv, xlsx, source
    upload_id: str | None
    table: pa.Table
    csv_format: tuple[str, str] | None = None  # (encoding, delimiter)
    source_info: Any = None  # pipelines.reader.SourceInfo for raw_upload and source files
    sheet: str | None = None

    def field_columns(self) -> dict[str, str]:
        """canonical field -> column of this table (positional src_<i> for client files)."""
        if self.source_info is not None:
            return {f: f"src_{i}" for f, i in self.source_info.fields.items()}
        return {c: c for c in self.table.column_names}


def _summary_format(store: ObjectStore, controller: str, upload_id: str) -> tuple[str, str]:
    try:
        summary = json.loads(store.get_bytes(f"{EXPORTS_PREFIX}{controller}/{upload_id}/summary.json"))
        return summary.get("csv_encoding") or "utf-8-sig", summary.get("csv_delimiter") or ","
    except (KeyError, ValueError):
        return "utf-8-sig", ","


def _read_csv(data: bytes, encoding: str, delimiter: str) -> pa.Table:
    text = data.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        return pa.table({})
    header, body = rows[0], rows[1:]
    columns = {h: pa.array([(r[i] if i < len(r) and r[i] != "" else None) for r in body], pa.string())
               for i, h in enumerate(header)}
    return pa.table(columns)


def _read_xlsx(data: bytes) -> tuple[pa.Table, str]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    name = sheet.title
    book.close()
    if not rows:
        return pa.table({}), name
    header, body = [str(h) for h in rows[0]], rows[1:]
    columns = {h: pa.array([(None if i >= len(r) or r[i] in (None, "") else str(r[i])) for r in body], pa.string())
               for i, h in enumerate(header)}
    return pa.table(columns), name


def _role(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    return stem


def controller_uploads(store: ObjectStore, controller: str) -> dict[str, Any]:
    """upload id -> manifest (or None when only working files or exports are left)."""
    from resources.uploads import UploadManifest

    uploads: dict[str, Any] = {}
    for prefix in (f"{WORK_PREFIX}{controller}/", f"{EXPORTS_PREFIX}{controller}/"):
        folders, _ = store.list_children(prefix)
        for folder in folders:
            upload_id = folder[len(prefix):-1]
            if UPLOAD_ID_RE.match(upload_id):
                uploads.setdefault(upload_id, None)
    for obj in store.list(MANIFESTS_PREFIX):
        upload_id = obj.key[len(MANIFESTS_PREFIX):].removesuffix(".json")
        if not UPLOAD_ID_RE.match(upload_id):
            continue
        try:
            manifest = UploadManifest.load(store, upload_id)
        except (LookupError, ValueError, TypeError):
            continue
        if manifest.controller == controller:
            uploads[upload_id] = manifest
    return uploads


def controller_files(store: ObjectStore, controller: str) -> list[StoredFile]:
    """Every stored file of the controller that can hold personal data, parsed."""
    from pipelines.reader import InputFileError, parse_contact_bytes, source_info
    from resources.master_store import master_data_keys

    check_controller(controller)
    files: list[StoredFile] = []
    uploads = controller_uploads(store, controller)
    for upload_id, manifest in sorted(uploads.items()):
        # A mailbox export is not a contact file (and is deleted once its signals are read).
        if manifest is not None and manifest.source_key.startswith(f"uploads/{controller}/") and not upload_id.startswith("mb-"):
            try:
                data = store.get_bytes(manifest.source_key)
                table = parse_contact_bytes(data)
                files.append(StoredFile(manifest.source_key, "source", "source", upload_id, table, source_info=source_info(table)))
            except (KeyError, InputFileError):
                pass
        for obj in store.list(f"{WORK_PREFIX}{controller}/{upload_id}/"):
            if not obj.key.endswith(".parquet"):
                continue
            table = retention.read_parquet(store, obj.key)
            if table is None:
                continue
            role = _role(obj.key.rsplit("/", 1)[-1])
            info = None
            if role == "raw_upload":
                try:
                    info = source_info(table)
                except ValueError:
                    info = None
            files.append(StoredFile(obj.key, role, "parquet", upload_id, table, source_info=info))
        encoding, delimiter = _summary_format(store, controller, upload_id)
        for obj in store.list(f"{EXPORTS_PREFIX}{controller}/{upload_id}/"):
            name = obj.key.rsplit("/", 1)[-1]
            data = store.get_bytes(obj.key)
            if name.endswith(".parquet"):
                files.append(StoredFile(obj.key, _role(name), "parquet", upload_id, pq.read_table(io.BytesIO(data))))
            elif name.endswith(".csv"):
                files.append(StoredFile(obj.key, _role(name), "csv", upload_id, _read_csv(data, encoding, delimiter),
                                        csv_format=(encoding, delimiter)))
            elif name.endswith(".xlsx"):
                table, sheet = _read_xlsx(data)
                files.append(StoredFile(obj.key, _role(name), "xlsx", upload_id, table, sheet=sheet))
    # Every version's files, not only the current one's: a superseded version a crash left behind
    # holds the person too (resources/master_store.py).
    roles = {"records.parquet": "master", "golden.parquet": "master_golden", "decisions.parquet": "decisions",
             "email_events.parquet": "master_email_events"}
    for key in master_data_keys(store, controller):
        role = roles.get(key.rsplit("/", 1)[-1])
        table = retention.read_parquet(store, key) if role else None
        if table is not None:
            files.append(StoredFile(key, role, "parquet", None, table))
    return files


# ------------------------------------------------------------------------------------------------
# Finding the person
# ------------------------------------------------------------------------------------------------
def _string_columns(table: pa.Table) -> list[str]:
    return [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def _email_pattern(email: str) -> str:
    # The address as a whole word: not inside a longer address (ann@x.fr in joann@x.fr).
    return r"(^|[^a-z0-9._%+\-])" + re.escape(email) + r"($|[^a-z0-9_.\-]|\.($|[^a-z0-9_\-]))"


def email_mask(table: pa.Table, emails: Iterable[str]) -> pa.Array:
    mask = pa.array([False] * table.num_rows)
    for email in {normalise_email(e) for e in emails if e}:
        pattern = _email_pattern(email)
        for name in _string_columns(table):
            hit = pc.fill_null(pc.match_substring_regex(table.column(name), pattern, ignore_case=True), False)
            mask = pc.or_(mask, hit)
    return mask


_NAME_SETS = [
    # (first, last, full, company) column names, with the suffixes exports use for pairs
    ("first_name", "last_name", "full_name", "company"),
    ("kept_first_name", "kept_last_name", None, "kept_company"),
]


def _name_columns(file: StoredFile) -> list[tuple[str | None, str | None, str | None, str]]:
    cols = file.field_columns()
    names = set(file.table.column_names)
    out = []
    for first, last, full, company in _NAME_SETS:
        for suffix in ("", "_1", "_2", "_l", "_r"):
            f_, l_, u_, c_ = (cols.get(f"{x}{suffix}") if x else None for x in (first, last, full, company))
            if c_ in names and any(x in names for x in (f_, l_, u_) if x):
                out.append((f_ if f_ in names else None, l_ if l_ in names else None, u_ if u_ in names else None, c_))
    return out


def _company_keys(values: pa.Array) -> list[str]:
    from pipelines.fields.company import standardise_company_names

    _, keys, _ = standardise_company_names(values)
    folded: dict[tuple[str | None, str | None], str] = {}
    out = []
    for k, r in zip(keys.to_pylist(), values.to_pylist()):
        pair = (k, r)
        if pair not in folded:
            folded[pair] = fold(k) if k else fold(r)
        out.append(folded[pair])
    return out


def name_company_mask(file: StoredFile, people: Iterable[tuple[str, str]]) -> pa.Array:
    """Rows whose name (any order, accents and case ignored) and company key match one of
    `people` ((name tokens, company key) pairs)."""
    wanted = {p for p in people if p[0] and p[1]}
    n = file.table.num_rows
    mask = [False] * n
    if not wanted or n == 0:
        return pa.array(mask)
    companies_wanted = {c for _, c in wanted}
    for first, last, full, company in _name_columns(file):
        keys = _company_keys(pc.cast(file.table.column(company), pa.string()).combine_chunks())
        firsts = file.table.column(first).to_pylist() if first else [None] * n
        lasts = file.table.column(last).to_pylist() if last else [None] * n
        fulls = file.table.column(full).to_pylist() if full else [None] * n
        for i in range(n):
            if mask[i] or keys[i] not in companies_wanted:
                continue
            candidates = {name_tokens(firsts[i], lasts[i]), name_tokens(fulls[i])}
            if any((c, keys[i]) in wanted for c in candidates if c):
                mask[i] = True
    return pa.array(mask)


def _record_keys(file: StoredFile) -> list[str | None]:
    """The record each row is about (row-aligned tables and the master)."""
    if file.role in ROW_TABLES and "row_number" in file.table.column_names and file.upload_id:
        return [f"{file.upload_id}:{int(r)}" if r not in (None, "") else None
                for r in file.table.column("row_number").to_pylist()]
    if file.role in ROW_TABLES and file.role == "source":
        return [f"{file.upload_id}:{int(r)}" for r in file.table.column("row_number").to_pylist()]
    if "record_key" in file.table.column_names:
        return file.table.column("record_key").to_pylist()
    return [None] * file.table.num_rows


@dataclass
class Found:
    """The person's records and person ids, and for each file the rows about them."""

    subject: Subject
    files: list[StoredFile]
    record_keys: set[str] = field(default_factory=set)
    person_ids: set[str] = field(default_factory=set)
    direct: dict[str, str] = field(default_factory=dict)  # record key / person id -> how it matched
    rows: dict[str, list[int]] = field(default_factory=dict)  # file key -> row indexes
    sides: dict[str, list[str]] = field(default_factory=dict)  # file key -> "1"/"2"/"" per selected row

    @property
    def total_rows(self) -> int:
        return sum(len(v) for v in self.rows.values())

    def emails(self) -> set[str]:
        out = {normalise_email(self.subject.email)} if self.subject.email else set()
        for file in self.files:
            idx = self.rows.get(file.key, [])
            for col in ("email", "other_emails", "email_found"):
                if col in file.table.column_names and idx:
                    for value in file.table.column(col).take(pa.array(idx)).to_pylist():
                        for part in re.split(r"[;,\s]+", value or ""):
                            if "@" in part:
                                out.add(normalise_email(part))
        return out

    def people(self) -> set[tuple[str, str]]:
        """(name tokens, company key) of the person's records."""
        out = set()
        if self.subject.name and self.subject.company:
            out.add((self.subject.tokens, self.subject.company_key))
        for file in self.files:
            idx = self.rows.get(file.key, [])
            if not idx or file.role not in ROW_TABLES | MASTER_TABLES:
                continue
            cols = file.field_columns()
            names = file.table.column_names
            first, last, full, company = (cols.get(x) for x in ("first_name", "last_name", "full_name", "company"))
            if company not in names:
                continue
            sub = file.table.take(pa.array(idx))
            keys = _company_keys(pc.cast(sub.column(company), pa.string()).combine_chunks())
            for i in range(sub.num_rows):
                tokens = name_tokens(sub.column(first)[i].as_py() if first in names else None,
                                     sub.column(last)[i].as_py() if last in names else None) or \
                    name_tokens(sub.column(full)[i].as_py() if full in names else None)
                if tokens and keys[i]:
                    out.add((tokens, keys[i]))
        return out


def find(store: ObjectStore, controller: str, subject: Subject, *, files: list[StoredFile] | None = None,
         emails: Iterable[str] = (), people: Iterable[tuple[str, str]] = ()) -> Found:
    files = files if files is not None else controller_files(store, controller)
    found = Found(subject, files)
    all_emails = {e for e in [subject.email, *emails] if e}
    all_people = set(people)
    if subject.name and subject.company:
        all_people.add((subject.tokens, subject.company_key))
    # 1. direct hits in row-aligned tables, the master and golden records
    for file in files:
        if file.role in MERGE_TABLES | REVIEW_TABLES or file.role == "decisions" or file.table.num_rows == 0:
            continue
        by_email = email_mask(file.table, all_emails) if all_emails else pa.array([False] * file.table.num_rows)
        by_name = name_company_mask(file, all_people) if all_people else pa.array([False] * file.table.num_rows)
        hits = pc.or_(by_email, by_name)
        idx = pc.indices_nonzero(hits).to_pylist()
        if not idx:
            continue
        how = ["e-mail" if by_email[i].as_py() else "name and company" for i in idx]
        if file.role in GOLDEN_TABLES and "cluster_id" in file.table.column_names:
            for i, h in zip(idx, how):
                pid = file.table.column("cluster_id")[i].as_py()
                if pid:
                    found.person_ids.add(pid)
                    found.direct.setdefault(pid, h)
        else:
            keys = _record_keys(file)
            for i, h in zip(idx, how):
                if keys[i]:
                    found.record_keys.add(keys[i])
                    found.direct.setdefault(keys[i], h)
            if "person_id" in file.table.column_names:
                found.person_ids.update(p for p in file.table.column("person_id").take(pa.array(idx)).to_pylist() if p)
    # 2. the master links the person's records (and person ids) together
    for file in files:
        if file.role in MASTER_TABLES and {"record_key", "person_id"} <= set(file.table.column_names):
            keys = file.table.column("record_key").to_pylist()
            pids = file.table.column("person_id").to_pylist()
            for k, p in zip(keys, pids):
                if k in found.record_keys and p:
                    found.person_ids.add(p)
            for k, p in zip(keys, pids):
                if p in found.person_ids and k:
                    found.record_keys.add(k)
    # 3. the rows of every file about those records / persons
    signal_emails = found.emails() | all_emails
    for file in files:
        if file.role in SIGNAL_TABLES:
            idx = pc.indices_nonzero(email_mask(file.table, signal_emails)).to_pylist() if file.table.num_rows else []
            sides = [""] * len(idx)
        else:
            idx, sides = _select(file, found.record_keys, found.person_ids)
        if idx:
            found.rows[file.key] = idx
            found.sides[file.key] = sides
    return found


def _select(file: StoredFile, keys: set[str], pids: set[str]) -> tuple[list[int], list[str]]:
    t = file.table
    names = set(t.column_names)
    idx: list[int] = []
    sides: list[str] = []
    if file.role in ROW_TABLES or file.role in MASTER_TABLES:
        record = _record_keys(file)
        pid_col = t.column("cluster_id").to_pylist() if "cluster_id" in names else [None] * t.num_rows
        for i, k in enumerate(record):
            if (k and k in keys) or (pid_col[i] and pid_col[i] in pids and file.role == "duplicates" and k in keys):
                idx.append(i)
                sides.append("")
    elif file.role in GOLDEN_TABLES:
        pid_col = t.column("cluster_id").to_pylist() if "cluster_id" in names else [None] * t.num_rows
        src = t.column("source_records").to_pylist() if "source_records" in names else [None] * t.num_rows
        for i in range(t.num_rows):
            records = set(re.split(r"[;,\s]+", src[i] or "")) - {""}
            if (pid_col[i] and pid_col[i] in pids) or records & keys:
                idx.append(i)
                sides.append("")
    elif file.role in MAILBOX_TABLES:
        pid_col = t.column("person_id").to_pylist() if "person_id" in names else [None] * t.num_rows
        if "record_key" in names:
            record = t.column("record_key").to_pylist()
        elif {"upload_id", "row_number"} <= names:
            record = [f"{u}:{int(r)}" if u and r is not None else None
                      for u, r in zip(t.column("upload_id").to_pylist(), t.column("row_number").to_pylist())]
        else:
            record = [None] * t.num_rows
        for i in range(t.num_rows):
            if (pid_col[i] and pid_col[i] in pids) or (record[i] and record[i] in keys):
                idx.append(i)
                sides.append("")
    elif file.role in MERGE_TABLES or file.role == "decisions":
        left = t.column("record_key_l").to_pylist() if "record_key_l" in names else [None] * t.num_rows
        right = t.column("record_key_r").to_pylist() if "record_key_r" in names else [None] * t.num_rows
        for i in range(t.num_rows):
            if left[i] in keys or right[i] in keys:
                idx.append(i)
                sides.append("")
    elif file.role in REVIEW_TABLES:
        one = "record_key_l" if "record_key_l" in names else "record_1"
        two = "record_key_r" if "record_key_r" in names else "record_2"
        left = t.column(one).to_pylist() if one in names else [None] * t.num_rows
        right = t.column(two).to_pylist() if two in names else [None] * t.num_rows
        for i in range(t.num_rows):
            side = ("1" if left[i] in keys else "") + ("2" if right[i] in keys else "")
            if side:
                idx.append(i)
                sides.append(side)
    return idx, sides


# ------------------------------------------------------------------------------------------------
# Access and portability
# ------------------------------------------------------------------------------------------------
def _side_columns(columns: list[str], side: str) -> list[str]:
    """Review files hold two people: only the subject's side (and the pair's own columns)."""
    if side in ("", "12"):
        return columns
    mine = ("_1", "_l") if side == "1" else ("_2", "_r")
    other = ("_2", "_r") if side == "1" else ("_1", "_l")
    return [c for c in columns if not c.endswith(other) or c.endswith(mine)]


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def access_report(store: ObjectStore, controller: str, found: Found) -> dict[str, Any]:
    """Everything stored about the person: per file and row, each value with where it is stored,
    how the row was found, and the value's provenance (source and time) where the pipeline kept it."""
    uploads = controller_uploads(store, controller)
    entries = []
    for file in found.files:
        idx = found.rows.get(file.key)
        if not idx:
            continue
        keys = _record_keys(file)
        for i, side in zip(idx, found.sides[file.key]):
            row = file.table.slice(i, 1).to_pylist()[0]
            provenance = row.pop("provenance", None) if isinstance(row.get("provenance"), dict) else None
            columns = _side_columns(list(row), side)
            headers = file.source_info.headers if file.source_info is not None else None
            values = {}
            for c in columns:
                v = row[c]
                if v in (None, ""):
                    continue
                label = headers[int(c[4:])] if headers and c.startswith("src_") and c[4:].isdigit() and int(c[4:]) < len(headers) else c
                values[label] = _plain(v)
            record = keys[i]
            manifest = uploads.get(file.upload_id) if file.upload_id else None
            entries.append({
                "stored_in": store.describe(),
                "object_key": file.key,
                "file": file.role,
                "format": file.fmt,
                "upload_id": file.upload_id,
                "record": record,
                "matched_by": found.direct.get(record or "", found.direct.get(str(row.get("cluster_id") or row.get("person_id") or ""), "same person")),
                "received_at": manifest.received_at if manifest is not None else None,
                "origin": (manifest.options.get("origin") if manifest is not None else None),
                "values": values,
                "provenance": _plain(provenance) if provenance else None,
            })
    return {
        "controller": controller,
        "generated_at": iso(utc_now()),
        "person_ids": sorted(found.person_ids),
        "records": sorted(found.record_keys),
        "files": len({e["object_key"] for e in entries}),
        "entries": entries,
    }


def access_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["stored_in", "object_key", "file", "upload_id", "record", "matched_by", "received_at", "column",
                     "value", "provenance_source", "provenance_at"])
    for e in report["entries"]:
        prov = e.get("provenance") or {}
        for column, value in e["values"].items():
            p = prov.get(column) or {}
            writer.writerow([e["stored_in"], e["object_key"], e["file"], e["upload_id"] or "", e["record"] or "",
                             e["matched_by"], e["received_at"] or "", column,
                             json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value,
                             p.get("source", "") if isinstance(p, dict) else "", p.get("at", "") if isinstance(p, dict) else ""])
    return buf.getvalue()


PORTABLE_FIELDS = ("civility", "first_name", "last_name", "email", "phone_e164", "other_phones", "company", "website",
                   "linkedin_url", "job_title", "country", "street_number", "street", "address_line2", "postcode",
                   "city", "region", "date_of_birth", "client_id", "national_id")


def portability(found: Found, controller: str) -> dict[str, Any]:
    """The data the controller provided about the person, structured (Art. 20): one entry per
    record from the master data (else from the exports)."""
    records: dict[str, dict[str, Any]] = {}
    for file in found.files:
        if file.role not in ("master", "contacts"):
            continue
        idx = found.rows.get(file.key, [])
        keys = _record_keys(file)
        for i in idx:
            row = file.table.slice(i, 1).to_pylist()[0]
            record = keys[i]
            if not record or (record in records and file.role != "master"):
                continue
            records[record] = {"record": record, "received_at": _plain(row.get("received_at")),
                               **{f: _plain(row.get(f)) for f in PORTABLE_FIELDS if row.get(f) not in (None, "")}}
    return {"controller": controller, "generated_at": iso(utc_now()), "format": "contact-refinery portability v1",
            "records": [records[k] for k in sorted(records)]}


def portability_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["record", "received_at", *PORTABLE_FIELDS], lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in data["records"]:
        writer.writerow(r)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------
# Rewriting files (erasure, rectification)
# ------------------------------------------------------------------------------------------------
def _encode(file: StoredFile, table: pa.Table) -> bytes:
    if file.fmt == "parquet":
        return retention.parquet_bytes(table.replace_schema_metadata(file.table.schema.metadata))
    if file.fmt == "csv":
        from pipelines.export import CsvFormat, to_csv_bytes

        encoding, delimiter = file.csv_format or ("utf-8-sig", ",")
        data, _ = to_csv_bytes(table, CsvFormat(encoding, delimiter))
        return data
    if file.fmt == "xlsx":
        from pipelines.audit import to_xlsx_bytes

        return to_xlsx_bytes(table, file.sheet or "Sheet1")
    if file.fmt == "source":
        return _encode_source(file, table)
    raise ValueError(file.fmt)


def _encode_source(file: StoredFile, table: pa.Table) -> bytes:
    """The client's file written back in its own format, encoding and delimiter, headers as sent."""
    info = file.source_info
    columns = [f"src_{i}" for i in range(len(info.headers))]
    rows = [[("" if v is None else str(v)) for v in r] for r in zip(*(table.column(c).to_pylist() for c in columns))]
    if info.format == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("contacts")
        sheet.append(list(info.headers))
        for r in rows:
            sheet.append(r)
        buf = io.BytesIO()
        book.save(buf)
        return buf.getvalue()
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=info.delimiter or ",", lineterminator="\r\n")
    writer.writerow(info.headers)
    writer.writerows(rows)
    encoding = info.encoding or "utf-8"
    try:
        return buf.getvalue().encode(encoding)
    except UnicodeEncodeError:  # a rectified value the old code page cannot hold
        return buf.getvalue().encode("utf-8-sig")


def _blank_rows(file: StoredFile, idx: list[int], reason: str) -> pa.Table:
    """Row-aligned files keep the row (one output row per input row) with nothing in it."""
    t = file.table
    drop = set(idx)
    cols = {}
    for name in t.column_names:
        col = t.column(name)
        if name == "row_number":
            cols[name] = col
            continue
        values = col.to_pylist()
        if name == "status":
            values = ["quarantined" if i in drop else v for i, v in enumerate(values)]
        elif name == "status_reason":
            values = [reason if i in drop else v for i, v in enumerate(values)]
        elif file.role == "source" or (file.role == "raw_upload" and name.startswith("src_")):
            values = ["" if i in drop else v for i, v in enumerate(values)]
        else:
            values = [None if i in drop else v for i, v in enumerate(values)]
        cols[name] = pa.array(values, col.type)
    return pa.table(cols, schema=t.schema)


def _drop_rows(table: pa.Table, idx: list[int]) -> pa.Table:
    keep = [True] * table.num_rows
    for i in idx:
        keep[i] = False
    return table.filter(pa.array(keep))


def _changed_files(found: Found) -> list[StoredFile]:
    return [f for f in found.files if found.rows.get(f.key)]


def _write(store: ObjectStore, file: StoredFile, table: pa.Table) -> int:
    return retention.rewrite(store, file.key, _encode(file, table))


# ------------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------------
def _record_request(
    db: RecordsDB, controller: str, right: str, subject_hashes: list[str], status: str, body: Mapping[str, Any],
    *, instruction: bool = True, origin: str = "operator", actor: str | None = None, now: dt.datetime | None = None,
) -> str:
    moment = now or utc_now()
    request_id = f"dsr-{moment.astimezone(dt.timezone.utc):%Y%m%dt%H%M%S}-{secrets.token_hex(4)}"
    summary = {"request_id": request_id, "right": right, "subject": subject_hashes[:1]}
    with db.tx():
        ins_id = None
        if instruction:
            ins_id = instructions.append(db, controller, "dsr", origin, summary, summary, actor=actor, now=moment).id
        db.run(
            "INSERT INTO dsr_requests (id, controller, request_right, subject_hash, status, created_at, updated_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [request_id, controller, right, subject_hashes[0] if subject_hashes else None, status, iso(moment), iso(moment),
             RecordsDB.dumps({**body, "instruction_id": ins_id, "subject_hashes": subject_hashes})],
        )
    return request_id


def _suppress(db: RecordsDB, controller: str, hashes: Iterable[str], kind: str, request_id: str | None) -> int:
    added = 0
    now = iso(utc_now())
    for h in sorted(set(hashes)):
        if db.one("SELECT subject_hash FROM suppression WHERE controller = ? AND subject_hash = ? AND kind = ?",
                  [controller, h, kind]) is None:
            db.run("INSERT INTO suppression (controller, subject_hash, kind, created_at, request_id) VALUES (?, ?, ?, ?, ?)",
                   [controller, h, kind, now, request_id])
            added += 1
    return added


def _identifier_hashes(hasher: Hasher, found: Found) -> list[str]:
    hashes = [h for h in (hasher.email(e) for e in sorted(found.emails())) if h]
    hashes += [hasher.hash("person", f"{t}|{c}") for t, c in sorted(found.people())]
    return hashes


@dataclass
class Outcome:
    request_id: str
    records: int
    files_changed: int = 0
    rows_changed: int = 0
    versions_purged: int = 0
    suppression_added: int = 0
    certificate: dict[str, Any] | None = None
    report: dict[str, Any] | None = None


def access(store: ObjectStore, db: RecordsDB, keys: KeyStore, controller: str, subject: Subject, *,
           actor: str | None = None) -> Outcome:
    found = find(store, controller, subject)
    report = access_report(store, controller, found)
    hasher = keys.hasher(controller)
    rid = _record_request(db, controller, "access", subject.hashes(hasher), "answered",
                          {"records": len(found.record_keys), "entries": len(report["entries"])}, actor=actor)
    return Outcome(rid, len(found.record_keys), report=report)


def export(store: ObjectStore, db: RecordsDB, keys: KeyStore, controller: str, subject: Subject, *,
           actor: str | None = None) -> Outcome:
    found = find(store, controller, subject)
    data = portability(found, controller)
    rid = _record_request(db, controller, "export", subject.hashes(keys.hasher(controller)), "answered",
                          {"records": len(data["records"])}, actor=actor)
    return Outcome(rid, len(data["records"]), report=data)


def _under_master_lock(purpose: str):
    """Hold the controller's master lock while a request reads and rewrites its files: an upload
    running meanwhile commits before (and is then erased too) or after (and then reads the rewritten
    master), never a version read before the request (resources/master_store.py)."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(store: ObjectStore, db: RecordsDB, keys: KeyStore, controller: str, *args, **kwargs):
            from resources import master_store

            with master_store.locked(store, controller, purpose, kind="dsr", db=db) as holder:
                outcome = fn(store, db, keys, controller, *args, **kwargs)
                # The master's files were rewritten in place: a run that read them before can no
                # longer commit what it read (resources/master_store.py).
                master_store.bump_version(store, db, controller, holder=holder, committed_by=purpose)
                return outcome

        return inner

    return wrap


@_under_master_lock("an erasure request")
def erase(store: ObjectStore, db: RecordsDB, keys: KeyStore, controller: str, subject: Subject, *,
          actor: str | None = None, now: dt.datetime | None = None) -> Outcome:
    """Rewrite every file without the person (row-aligned files keep an empty row), purge older
    versions, put keyed hashes on the suppression list, rescan, and certify."""
    hasher = keys.hasher(controller)
    found = find(store, controller, subject)
    emails, people = found.emails(), found.people()
    hashes = _identifier_hashes(hasher, found) or subject.hashes(hasher)
    rows_by_role: dict[str, int] = defaultdict(int)
    files_changed = versions = 0
    objects = []
    for file in _changed_files(found):
        idx = found.rows[file.key]
        if file.role in {"source", "raw_upload", "contacts"}:
            table = _blank_rows(file, idx, REASON["erase"])
        else:
            table = _drop_rows(file.table, idx)
        purged = _write(store, file, table)
        versions += purged
        files_changed += 1
        rows_by_role[file.role] += len(idx)
        shown = hasher.object_key(file.key) if file.role == "source" else file.key
        objects.append({"key": shown, "rows": len(idx), "old_versions_purged": purged})
    # The rescan: every identifier the person was found under, in every file, read again.
    again = find(store, controller, subject, emails=emails, people=people)
    residual = again.total_rows
    request_body = {"records": len(found.record_keys), "files_changed": files_changed}
    rid = _record_request(db, controller, "erase", hashes, "done" if residual == 0 else "incomplete", request_body,
                          actor=actor, now=now)
    added = _suppress(db, controller, hashes, "erase", rid)
    cert = retention.issue_certificate(db, "dsr_erasure", controller, {
        "request_id": rid,
        "subject_hashes": hashes,
        "records": sorted(found.record_keys),
        "objects": objects,
        "objects_rewritten": files_changed,
        "versions_removed": versions,
        "rows_removed": dict(sorted(rows_by_role.items())),
        "suppression_entries_added": added,
        "key_fingerprint": keys.fingerprint(controller),
        "upload_ids": sorted({k.split(":")[0] for k in found.record_keys}),
        "objects_removed": 0,
        "verification": {"locations_checked": len(again.files), "found": residual, "passed": residual == 0,
                         "checks": [{"location": "every stored file of the controller, searched for every identifier of the person",
                                     "found": residual}]},
    }, now=now)
    return Outcome(rid, len(found.record_keys), files_changed, sum(rows_by_role.values()), versions, added, cert)


@_under_master_lock("a rectification request")
def rectify(store: ObjectStore, db: RecordsDB, keys: KeyStore, controller: str, subject: Subject,
            changes: Mapping[str, str], *, actor: str | None = None) -> Outcome:
    unknown = [f for f in changes if f not in RECTIFIABLE]
    if unknown:
        raise DsrError(f"--set {unknown[0]}: cannot be rectified (expected one of: {', '.join(RECTIFIABLE)})")
    if not changes:
        raise DsrError("rectify needs at least one --set FIELD=VALUE")
    found = find(store, controller, subject)
    if not found.record_keys and not found.person_ids:
        raise DsrError(f"no record of this person is stored for controller {controller}")
    files_changed = rows = versions = 0
    for file in _changed_files(found):
        idx = set(found.rows[file.key])
        table = file.table
        cols = file.field_columns()
        touched = False
        for fld, value in changes.items():
            targets = []
            if file.source_info is not None:
                targets = [cols[f] for f in (*_RAW_FIELD.get(fld, ()), fld) if f in cols][:1]
            else:
                targets = [c for c in (fld, f"kept_{fld}") if c in table.column_names]
            for column in targets:
                col = table.column(column)
                if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                    continue
                values = [value if i in idx else v for i, v in enumerate(col.to_pylist())]
                table = table.set_column(table.schema.get_field_index(column), column, pa.array(values, col.type))
                touched = True
        if touched and "provenance" in table.column_names and pa.types.is_struct(table.schema.field("provenance").type):
            # The new value's provenance says it was rectified, and when (DPA III.7: the controller
            # answers later access requests with each value's origin).
            from pipelines import provenance

            selected = pa.array([i in idx for i in range(table.num_rows)])
            marked = provenance.mark(table.column("provenance"), list(changes), selected, provenance.RECTIFIED,
                                     dt.datetime.now(dt.timezone.utc))
            table = table.set_column(table.schema.get_field_index("provenance"), "provenance", marked)
        if touched:
            versions += _write(store, file, table)
            files_changed += 1
            rows += len(idx)
    rid = _record_request(db, controller, "rectify", subject.hashes(keys.hasher(controller)), "done",
                          {"fields": sorted(changes), "files_changed": files_changed, "rows": rows}, actor=actor)
    return Outcome(rid, len(found.record_keys), files_changed, rows, versions)


def restrict_or_object(store: ObjectStore, db: RecordsDB, keys: KeyStore, controller: str, subject: Subject, right: str,
                       *, actor: str | None = None) -> Outcome:
    """Keyed hashes of every identifier of the person on the list; applied when later uploads
    are ingested (`screen_upload`). Stored data is left as it is: erasure is a separate request."""
    if right not in ("restrict", "object"):
        raise ValueError(right)
    hasher = keys.hasher(controller)
    found = find(store, controller, subject)
    hashes = _identifier_hashes(hasher, found) or subject.hashes(hasher)
    rid = _record_request(db, controller, right, hashes, "active", {"records": len(found.record_keys)}, actor=actor)
    added = _suppress(db, controller, hashes, right, rid)
    return Outcome(rid, len(found.record_keys), suppression_added=added)


def lift(db: RecordsDB, keys: KeyStore, controller: str, subject: Subject, right: str, *, actor: str | None = None) -> int:
    """End a restriction or objection (the controller's instruction)."""
    hashes = subject.hashes(keys.hasher(controller))
    n = 0
    for h in hashes:
        n += max(db.run("DELETE FROM suppression WHERE controller = ? AND subject_hash = ? AND kind = ?", [controller, h, right]), 0)
    _record_request(db, controller, f"lift_{right}", hashes, "done", {"entries_removed": n}, actor=actor)
    return n


# ------------------------------------------------------------------------------------------------
# Ingestion screen (HOOK): erasure, objection and restriction applied to later uploads
# ------------------------------------------------------------------------------------------------
SCREEN_METADATA_KEY = b"refinery.screened"


@dataclass
class Screened:
    table: pa.Table
    rows: dict[str, list[int]] = field(default_factory=dict)  # kind -> row numbers

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.rows.values())


def suppression_list(db: RecordsDB, controller: str) -> dict[str, str]:
    """hash -> strongest kind (erase > object > restrict)."""
    order = {"erase": 0, "object": 1, "restrict": 2}
    out: dict[str, str] = {}
    for row in db.all("SELECT subject_hash, kind FROM suppression WHERE controller = ?", [controller]):
        current = out.get(row["subject_hash"])
        if current is None or order[row["kind"]] < order[current]:
            out[row["subject_hash"]] = row["kind"]
    return out


def screen_upload(raw: pa.Table, controller: str, db: RecordsDB, keys: KeyStore) -> Screened:
    """HOOK for raw_upload, right after parsing: rows of people on the suppression list.

    - erase / object: the row's cells are emptied before anything is stored (the row stays, so
      the export keeps one row per input row, quarantined with the reason);
    - restrict: the row is stored as sent but not processed (quarantined with the reason).

    The row numbers travel in the table's schema metadata (`refinery.screened`) for
    `quarantine_screened`. No suppression list for the controller: returns at once."""
    listed = suppression_list(db, controller)
    if not listed or raw.num_rows == 0:
        return Screened(raw)
    from pipelines.reader import source_info

    info = source_info(raw)
    hasher = keys.hasher(controller)
    fields = {f: f"src_{i}" for f, i in info.fields.items()}
    n = raw.num_rows

    def column(name: str) -> list[Any]:
        return raw.column(fields[name]).to_pylist() if name in fields else [None] * n

    emails, firsts, lasts, fulls = column("email"), column("first_name"), column("last_name"), column("full_name")
    companies = _company_keys(pc.cast(raw.column(fields["company"]), pa.string()).combine_chunks()) if "company" in fields else [""] * n
    rows: dict[str, list[int]] = defaultdict(list)
    kinds_by_row: dict[int, str] = {}
    order = {"erase": 0, "object": 1, "restrict": 2}
    # Files repeat values (companies, first names): hash each distinct identifier once.
    email_cache: dict[str, str | None] = {}
    tokens_cache: dict[tuple[str | None, str | None], str] = {}
    person_cache: dict[tuple[str, str], str] = {}
    for i in range(n):
        candidates = []
        value = emails[i]
        if value and "@" in value:
            for part in re.split(r"[;,\s]+", value):
                if "@" in part:
                    if part not in email_cache:
                        email_cache[part] = hasher.email(part)
                    candidates.append(email_cache[part])
        company = companies[i]
        if company:
            for pair in ((firsts[i], lasts[i]), (fulls[i], None)):
                if pair not in tokens_cache:
                    tokens_cache[pair] = name_tokens(*pair)
                tokens = tokens_cache[pair]
                if tokens:
                    key = (tokens, company)
                    if key not in person_cache:
                        person_cache[key] = hasher.hash("person", f"{tokens}|{company}")
                    candidates.append(person_cache[key])
        kinds = [listed[h] for h in candidates if h and h in listed]
        if kinds:
            kinds_by_row[i] = min(kinds, key=order.__getitem__)
    if not kinds_by_row:
        return Screened(raw)
    row_numbers = raw.column("row_number").to_pylist()
    blank = {i for i, k in kinds_by_row.items() if k in ("erase", "object")}
    cols = []
    for name in raw.column_names:
        col = raw.column(name)
        if name.startswith("src_") and blank:
            values = col.to_pylist()
            col = pa.array(["" if i in blank else v for i, v in enumerate(values)], col.type)
        cols.append(col)
    for i, kind in sorted(kinds_by_row.items()):
        rows[kind].append(int(row_numbers[i]))
    meta = dict(raw.schema.metadata or {})
    meta[SCREEN_METADATA_KEY] = json.dumps(dict(rows)).encode("utf-8")
    table = pa.Table.from_arrays(cols, schema=raw.schema.with_metadata(meta))
    return Screened(table, dict(rows))


def screened_rows(raw: pa.Table) -> dict[str, list[int]]:
    meta = raw.schema.metadata or {}
    return json.loads(meta[SCREEN_METADATA_KEY]) if SCREEN_METADATA_KEY in meta else {}


def quarantine_screened(raw: pa.Table, validated: pa.Table, quarantined: pa.Table) -> tuple[pa.Table, pa.Table]:
    """HOOK for validate_rows, after split_rows: screened rows leave the processed rows and are
    quarantined with the request's reason (restricted rows keep their values as sent)."""
    screened = screened_rows(raw)
    if not screened:
        return validated, quarantined
    reason_of = {r: REASON[k] for k, rows in screened.items() for r in rows}
    numbers = pa.array(sorted(reason_of), pa.int64())
    moving = pc.is_in(pc.cast(validated.column("row_number"), pa.int64()), numbers)
    moved = validated.filter(moving)
    kept = validated.filter(pc.invert(moving))
    moved = moved.append_column("status_reason", pa.array([reason_of[int(r)] for r in moved.column("row_number").to_pylist()], pa.string()))
    # Rows already quarantined (an emptied row is "empty row") get the request's reason instead.
    q_numbers = quarantined.column("row_number").to_pylist()
    reasons = [reason_of.get(int(r), old) for r, old in zip(q_numbers, quarantined.column("status_reason").to_pylist())]
    quarantined = quarantined.set_column(quarantined.schema.get_field_index("status_reason"), "status_reason",
                                         pa.array(reasons, pa.string()))
    merged = pa.concat_tables([quarantined, moved.select(quarantined.column_names).cast(quarantined.schema)])
    order = pc.sort_indices(merged, sort_keys=[("row_number", "ascending")])
    return kept, merged.take(order)
