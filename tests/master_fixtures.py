"""Reading a controller's committed master in tests, as the pipeline does: through the head in the
records database (resources/master_store.py), never by a file name."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipelines.master import Master


def records_db_of(store: Path):
    """The embedded default's records database for a local store (REFINERY_GDPR_DIR unset)."""
    from resources.instruction_log import RecordsDB

    return RecordsDB(sqlite_path=Path(store).resolve().parent / "gdpr" / "records.sqlite")


def committed_master(store: Path, controller: str) -> Master:
    from resources.master_store import load_master
    from resources.object_store import LocalObjectStore

    with records_db_of(store) as db:
        return load_master(LocalObjectStore(store), controller, db=db)


def committed_records(store: Path, controller: str) -> pa.Table:
    records = committed_master(store, controller).records
    assert records is not None, f"controller {controller} has no committed master"
    return records
