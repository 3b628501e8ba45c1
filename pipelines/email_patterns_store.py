"""The controller's e-mail pattern store: what e-mail finding learnt from earlier uploads.

`controllers/<controller>/email_patterns.parquet` in the object store holds, per upload, counts
of the address patterns and name spellings seen on each professional domain: domains, pattern
names and counts, no name, no address. Re-running an upload replaces its rows; deleting an
upload's rows (`forget_upload`) removes what it taught. Reads and writes are whole-object (the
file is small: a few rows per domain); two uploads of one controller processed at the same
moment may race, the later write winning — the next run of the other upload restores its rows.
"""

from __future__ import annotations

import io
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.fields.email_finding import OBSERVATIONS_SCHEMA, merge_observations

STORE_SCHEMA = OBSERVATIONS_SCHEMA.append(pa.field("upload_id", pa.string()))


class Store(Protocol):
    def exists(self, key: str) -> bool: ...

    def get_bytes(self, key: str) -> bytes: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...


def store_key(controller: str) -> str:
    return f"controllers/{controller}/email_patterns.parquet"


def load(store: Store, controller: str) -> pa.Table:
    key = store_key(controller)
    if not store.exists(key):
        return STORE_SCHEMA.empty_table()
    return pq.read_table(io.BytesIO(store.get_bytes(key))).select(STORE_SCHEMA.names).cast(STORE_SCHEMA)


def history(store: Store, controller: str, exclude_upload: str | None = None) -> pa.Table:
    """Observations of every stored upload but `exclude_upload`, summed per domain and style."""
    table = load(store, controller)
    if exclude_upload is not None and table.num_rows:
        table = table.filter(pc.not_equal(table["upload_id"], exclude_upload))
    return merge_observations(table.drop_columns(["upload_id"]))


def _write(store: Store, controller: str, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    store.put_bytes(store_key(controller), buf.getvalue())


def save_upload(store: Store, controller: str, upload_id: str, observations: pa.Table) -> None:
    """Replace `upload_id`'s rows with `observations`."""
    table = load(store, controller)
    kept = table.filter(pc.not_equal(table["upload_id"], upload_id)) if table.num_rows else table
    rows = observations.select(OBSERVATIONS_SCHEMA.names).cast(OBSERVATIONS_SCHEMA)
    rows = rows.append_column("upload_id", pa.array([upload_id] * rows.num_rows, pa.string()))
    _write(store, controller, pa.concat_tables([kept, rows]))


def forget_upload(store: Store, controller: str, upload_id: str) -> int:
    """Remove what one upload taught (its deletion); returns the rows removed."""
    table = load(store, controller)
    if table.num_rows == 0:
        return 0
    kept = table.filter(pc.not_equal(table["upload_id"], upload_id))
    if kept.num_rows != table.num_rows:
        _write(store, controller, kept)
    return table.num_rows - kept.num_rows
