"""Shared helpers for the GDPR tests (no tests here): a small contact file with a canary person,
a pipeline run on a given store and instance, and a scanner that reads every kind of file the
stores hold (Parquet decoded, XLSX unzipped, SQLite dumped) looking for canary values."""

from __future__ import annotations

import os

import io
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

CANARY = {
    "ID CRM": "CANARY-1", "Civilité": "Mme", "Prénom": "Zéphyrine", "Nom": "Canarywood",
    "Société": "Canary Corp SAS", "Fonction": "Directrice", "E-mail": "zephyrine.canarywood@canary-corp.fr",
    "Téléphone": "+33 6 98 76 54 32", "Pays": "France",
}
CANARY_EMAIL = CANARY["E-mail"]
# What must not survive anywhere, in the forms the pipeline writes them.
NEEDLES = ["Zéphyrine", "Zephyrine", "ZEPHYRINE", "Canarywood", "CANARYWOOD", "canarywood", "zephyrine.canarywood",
           "+33698765432", "98 76 54 32"]


def canary_file(tmp_path: Path, rows: int = 60, seed: int = 7, canary: dict[str, str] | None = None, copies: int = 2) -> bytes:
    """A generated French CRM export (cp1252, ';') with the canary person appended `copies` times."""
    from bench.generator import generate, write_file

    canary = canary or CANARY
    messy, _ = generate(rows, seed=seed, profile="fr")
    path = tmp_path / f"gen-{seed}-{rows}.csv"
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    data = path.read_bytes()
    header = data.split(b"\r\n", 1)[0].decode("cp1252").split(";")
    assert set(canary) <= set(header), sorted(header)
    line = ";".join(canary.get(h, "") for h in header)
    return data.rstrip(b"\r\n") + ("".join("\r\n" + line for _ in range(copies)) + "\r\n").encode("cp1252")


def register_upload(store, controller: str, data: bytes, received_at: str = "2026-11-26T09:00:00Z", options: dict | None = None) -> str:
    from resources.uploads import UploadManifest, new_upload_id

    upload_id = new_upload_id()
    # Runs need the controller's documented instruction: its standing settings file.
    if not store.exists(f"controllers/{controller}/settings.yaml"):
        store.put_bytes(f"controllers/{controller}/settings.yaml", b"language: fr\n")
    key = f"uploads/{controller}/{upload_id}.csv"
    store.put_bytes(key, data)
    UploadManifest(upload_id, controller, key, received_at, options=options or {}).save(store)
    return upload_id


def run_pipeline(store_root: Path, upload_id: str, instance, tags: dict | None = None):
    """Materialise the per-upload graph on `instance` (the same call as `refinery run`)."""
    from dagster import materialize

    from assets.checks import ALL_CHECKS
    from assets.uploads import uploads_partitions
    from dagster_project.definitions import CONTACT_ASSETS, build_resources
    from dagster_project.settings import Settings

    settings = Settings.from_env({"REFINERY_LOCAL_STORE": str(store_root)})
    instance.add_dynamic_partitions(uploads_partitions.name, [upload_id])
    # The records database (master heads, locks, retention) is found from the environment, as in a
    # deployment: the world's own, next to its store, so that a copy of the world carries it along.
    saved = os.environ.get("REFINERY_LOCAL_STORE")
    os.environ["REFINERY_LOCAL_STORE"] = str(store_root)
    try:
        result = materialize(
            [*CONTACT_ASSETS, *ALL_CHECKS], partition_key=upload_id, instance=instance, resources=build_resources(settings),
            raise_on_error=False, tags=tags or {},
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
    finally:
        if saved is None:
            os.environ.pop("REFINERY_LOCAL_STORE", None)
        else:
            os.environ["REFINERY_LOCAL_STORE"] = saved
    assert result.success
    return result


def copy_world(src: Path, dst: Path) -> Path:
    """A private copy of a prepared store (+ records and keys folders next to it)."""
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------------------------------------
# Scanning
# ------------------------------------------------------------------------------------------------
def _texts(name: str, data: bytes) -> list[str]:
    """Every text a file holds, decoded the way its format needs."""
    out = []
    if data[:4] == b"PAR1":
        try:
            table = pq.read_table(io.BytesIO(data))
            out.append(json.dumps(table.to_pylist(), default=str, ensure_ascii=False))
            out.append(str(table.schema.metadata))
        except Exception:
            pass
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.namelist():
                    out.extend(_texts(member, zf.read(member)))
        except zipfile.BadZipFile:
            pass
    if data[:16] == b"SQLite format 3\x00":
        out.append(data.decode("latin-1"))  # deleted pages too (secure_delete should have wiped them)
    for encoding in ("utf-8", "cp1252", "utf-16"):
        try:
            out.append(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    out.append(data.decode("latin-1"))
    return out


def scan_bytes(name: str, data: bytes, needles: list[str] = NEEDLES) -> set[str]:
    found = set()
    for text in _texts(name, data):
        for needle in needles:
            if needle in text:
                found.add(needle)
    return found


def scan_tree(root: Path, needles: list[str] = NEEDLES) -> dict[str, set[str]]:
    """file (relative) -> needles found, for every file under root (hidden temp files included)."""
    hits = {}
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        found = scan_bytes(path.name, path.read_bytes(), needles)
        if found:
            hits[path.relative_to(root).as_posix()] = found
    return hits


def scan_sqlite(path: Path, needles: list[str] = NEEDLES) -> set[str]:
    con = sqlite3.connect(str(path))
    try:
        text = "\n".join("\n".join(map(str, con.execute(f'SELECT * FROM "{t}"').fetchall()))
                         for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall())
    finally:
        con.close()
    return {n for n in needles if n in text}


def scan_postgres(dbname: str, needles: list[str] = NEEDLES) -> tuple[set[str], str]:
    import psycopg2

    conn = psycopg2.connect(dbname=dbname, host="127.0.0.1", port=5432, user="postgres")
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
    return {n for n in needles if n in text}, text


_WORLD: dict[str, tuple[Path, str]] = {}


@pytest.fixture(scope="session")
def gdpr_world(tmp_path_factory):
    """One pipeline run for controller `acme` on a small file with the canary person twice (a
    duplicate pair), on an in-memory instance: store, records and keys folders under one root.
    Tests copy it (copy_world) before changing anything."""
    from dagster import DagsterInstance

    from pipelines import retention
    from resources.instruction_log import RecordsDB
    from resources.object_store import LocalObjectStore

    # Imported by several modules, the fixture would run once per module: built once per session.
    if "acme" in _WORLD:
        return _WORLD["acme"]
    root = tmp_path_factory.mktemp("gdpr_world") / "world"
    store_root = root / "store"
    store = LocalObjectStore(store_root)
    upload_id = register_upload(store, "acme", canary_file(root.parent))
    with DagsterInstance.ephemeral() as instance:
        run_pipeline(store_root, upload_id, instance)
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        retention.record_export(db, "acme", upload_id, received_at="2026-11-26T09:00:00Z")
    _WORLD["acme"] = (root, upload_id)
    return root, upload_id


def world_env(root: Path) -> dict[str, str]:
    return {"REFINERY_LOCAL_STORE": str(root / "store"), "REFINERY_GDPR_DIR": str(root / "gdpr"),
            "REFINERY_KEYS_DIR": str(root / "keys")}
