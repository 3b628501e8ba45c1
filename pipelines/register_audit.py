"""The audit bundle (DPA III.12, Art. 28(3)(h)): everything an auditor needs to check the
processor, in one folder (or zip) with a manifest of SHA-256 hashes.

    register/<controller>.{json,csv,md,html}   the Art. 30(2) register, per controller
    instructions.jsonl, instructions.csv       the instruction log, and instructions_check.json (hash chain)
    run_links.jsonl                            which instruction each run followed
    certificates/<id>.json                     deletion certificates (retention, off-boarding, erasure)
    dsr_requests.jsonl                         data-subject requests (keyed hashes only)
    incidents/<id>.json, notices/<id>/<controller>.txt
    manifest.json                              file -> sha256, and the hash of the manifest's own list

Nothing in it is personal data about data subjects: it is built from the records database and
the register, which hold ids, keyed hashes and counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from pipelines import incidents, instructions, register, retention
from pipelines.instructions import iso, utc_now
from resources.instruction_log import RecordsDB
from resources.object_store import ObjectStore

MANIFEST = "manifest.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_bundle(store: ObjectStore, db: RecordsDB, out_dir: str | Path, *, instance: Any = None,
                 controllers: list[str] | None = None) -> dict[str, Any]:
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out}: the folder is not empty (an audit bundle is written into a new folder)")
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}

    facts, source = register.gather(store, db, instance)
    names = controllers or register.controllers_to_register(store, db, facts)
    for controller in names:
        reg = register.build(store, db, controller, facts=facts, source=source)
        for fmt in register.FORMATS:
            files[f"register/{controller}.{fmt}"] = register.render(reg, fmt).encode("utf-8")

    history = [i.as_dict() for i in instructions.history(db)]
    files["instructions.jsonl"] = "".join(json.dumps(i, sort_keys=True, ensure_ascii=False) + "\n" for i in history).encode("utf-8")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = ["seq", "id", "controller", "kind", "origin", "actor", "created_at", "content_hash", "based_on", "prev_hash", "row_hash"]
    writer.writerow(columns)
    for i in history:
        writer.writerow([i[c] for c in columns])
    files["instructions.csv"] = buf.getvalue().encode("utf-8")
    check = instructions.verify_chain(db)
    files["instructions_check.json"] = json.dumps({"ok": check.ok, "rows": check.rows, "problem": check.problem}, indent=2).encode("utf-8")
    files["run_links.jsonl"] = "".join(
        json.dumps(r, sort_keys=True) + "\n" for r in db.all("SELECT * FROM run_links ORDER BY recorded_at, run_id")
    ).encode("utf-8")
    for cert in retention.certificates(db):
        files[f"certificates/{cert['id']}.json"] = json.dumps(cert, indent=2, sort_keys=True).encode("utf-8")
    files["dsr_requests.jsonl"] = "".join(
        json.dumps({**{k: v for k, v in r.items() if k != "body"}, "detail": json.loads(r["body"])}, sort_keys=True) + "\n"
        for r in db.all("SELECT * FROM dsr_requests ORDER BY created_at, id")
    ).encode("utf-8")
    for incident in incidents.list_incidents(db):
        files[f"incidents/{incident['id']}.json"] = json.dumps(incident, indent=2, sort_keys=True).encode("utf-8")
        for controller in incident["controllers"]:
            n = incidents.notice(store, db, incident, controller, facts=facts)
            files[f"notices/{incident['id']}/{controller}.txt"] = incidents.render_notice(n).encode("utf-8")

    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    listing = {name: _sha256(data) for name, data in sorted(files.items())}
    manifest = {
        "bundle": "contact-refinery audit bundle v1",
        "created_at": iso(utc_now()),
        "controllers": names,
        "files": listing,
        "files_hash": _sha256(json.dumps(listing, sort_keys=True).encode("utf-8")),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), "utf-8")
    return manifest


def zip_bundle(folder: str | Path, target: str | Path) -> Path:
    folder, target = Path(folder), Path(target)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(folder).as_posix())
    return target


def verify_bundle(location: str | Path) -> list[str]:
    """Problems found (empty: every file is listed and matches its hash, nothing extra)."""
    location = Path(location)
    contents: dict[str, bytes] = {}
    if location.is_file() and zipfile.is_zipfile(location):
        with zipfile.ZipFile(location) as zf:
            contents = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    elif location.is_dir():
        contents = {p.relative_to(location).as_posix(): p.read_bytes() for p in location.rglob("*") if p.is_file()}
    else:
        return [f"{location}: not a bundle folder or zip"]
    if MANIFEST not in contents:
        return ["manifest.json is missing"]
    manifest = json.loads(contents.pop(MANIFEST))
    problems = []
    listing = manifest.get("files", {})
    if _sha256(json.dumps(listing, sort_keys=True).encode("utf-8")) != manifest.get("files_hash"):
        problems.append("the manifest's file list does not match its own hash")
    for name, digest in sorted(listing.items()):
        if name not in contents:
            problems.append(f"{name}: listed but missing")
        elif _sha256(contents[name]) != digest:
            problems.append(f"{name}: content does not match its hash")
    for name in sorted(set(contents) - set(listing)):
        problems.append(f"{name}: not listed in the manifest")
    return problems
