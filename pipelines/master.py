"""A controller's master data: every record linked so far, each with a stable person id.

Each upload is linked against itself and against the master, so the same person keeps the same
id from one batch to the next. The master also remembers the merges a person undid
(`refinery unmerge`): those records are never merged again.

Stored per controller as versions (resources/master_store.py): records.parquet, decisions.parquet,
model.json, and a head in the records database. This module only converts.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Columns every master record carries besides the enriched contact fields.
RECORD_META = ("record_key", "upload_id", "row_number", "person_id", "received_at", "source")
DECISION_COLUMNS = ("record_key_l", "record_key_r", "decided_at", "decision")


def person_label(n: int) -> str:
    """Opaque, stable person id: 'P0000042'."""
    return f"P{n:07d}"


def person_numbers(labels: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The numbers of person ids, column-wise: 'P0000042' -> 42."""
    return pc.cast(pc.utf8_slice_codeunits(labels, 1), pa.int64())


def record_keys(upload_id: str, row_numbers: pa.Array) -> pa.Array:
    """'<upload id>:<row number>' names a record for good, across batches."""
    return pc.binary_join_element_wise(pa.scalar(upload_id), pc.cast(row_numbers, pa.string()), ":")


@dataclass
class Master:
    records: pa.Table | None = None
    next_person: int = 1
    decisions: pa.Table | None = None
    model: dict[str, Any] | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return 0 if self.records is None else self.records.num_rows

    def keep_apart(self) -> list[tuple[str, str]]:
        """Record pairs a person decided are two people (refinery unmerge, review `different`)."""
        return self._decided("keep_apart")

    def must_link(self) -> list[tuple[str, str]]:
        """Record pairs a person decided are one person (review `same`)."""
        return self._decided("must_link")

    def _decided(self, decision: str) -> list[tuple[str, str]]:
        if self.decisions is None or self.decisions.num_rows == 0:
            return []
        d = self.decisions.filter(pc.equal(self.decisions.column("decision"), decision))
        return list(zip(d.column("record_key_l").to_pylist(), d.column("record_key_r").to_pylist()))

    def without_upload(self, upload_id: str) -> tuple["Master", pa.Table]:
        """The master without this upload's records (re-running an upload replaces them), and the
        person ids those records had (record_key, person_id), so that a re-run gives the same ids."""
        empty = pa.table({"record_key": pa.array([], pa.string()), "person_id": pa.array([], pa.string())})
        if self.records is None:
            return self, empty
        mine = pc.equal(self.records.column("upload_id"), upload_id)
        if not pc.any(mine).as_py():  # the usual case: a new upload (no copy of the records)
            return self, empty
        previous = self.records.filter(mine).select(["record_key", "person_id"])
        rest = Master(self.records.filter(pc.invert(mine)), self.next_person, self.decisions, self.model, self.state)
        return rest, previous

    # -- (de)serialisation ---------------------------------------------------------------------
    @classmethod
    def from_parts(
        cls,
        records: bytes | None,
        state: bytes | None,
        decisions: bytes | None = None,
        model: bytes | None = None,
    ) -> "Master":
        st = json.loads(state) if state else {}
        return cls(
            records=pq.read_table(io.BytesIO(records)) if records else None,
            next_person=int(st.get("next_person", 1)),
            decisions=pq.read_table(io.BytesIO(decisions)) if decisions else None,
            model=json.loads(model) if model else None,
            state=st,
        )


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def empty_decisions() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in DECISION_COLUMNS})


class UnmergeError(ValueError):
    pass


def unmerge(master: Master, person_id: str, decided_at: str, record_keys: list[str] | None = None) -> tuple[Master, list[str]]:
    """Split a person back into its original records and remember that they stay apart.

    With `record_keys`, only those records leave the person (each becomes a person of its own);
    without, every record does. The oldest record keeps the person id. Returns the new master
    and the person ids the records now have."""
    if master.records is None or master.size == 0:
        raise UnmergeError("this controller has no master data yet")
    records = master.records
    mine = records.filter(pc.equal(records.column("person_id"), person_id))
    if mine.num_rows == 0:
        raise UnmergeError(f"no person {person_id} in this controller's master data")
    if mine.num_rows == 1:
        raise UnmergeError(f"person {person_id} has a single record: nothing to unmerge")
    keys = sorted(mine.column("record_key").to_pylist(), key=lambda k: (k.split(":")[0], int(k.split(":")[1])))
    unknown = set(record_keys or []) - set(keys)
    if unknown:
        raise UnmergeError(f"{len(unknown)} of the records given do not belong to person {person_id}")
    if record_keys:
        leaving = [k for k in keys if k in set(record_keys)]
        if len(leaving) == len(keys):  # all of them: the oldest keeps the id
            leaving = leaving[1:]
    else:
        leaving = keys[1:]
    new_ids = {k: person_label(master.next_person + i) for i, k in enumerate(leaving)}
    person_col = [new_ids.get(k, p) for k, p in zip(records.column("record_key").to_pylist(), records.column("person_id").to_pylist())]
    records = records.set_column(records.schema.get_field_index("person_id"), "person_id", pa.array(person_col, pa.string()))
    # Every record that leaves stays apart from every other record of the former person.
    staying = [k for k in keys if k not in new_ids]
    pairs = [(a, b) for i, a in enumerate(leaving) for b in [*staying, *leaving[i + 1:]]]
    new_decisions = pa.table({
        "record_key_l": [min(a, b) for a, b in pairs],
        "record_key_r": [max(a, b) for a, b in pairs],
        "decided_at": [decided_at] * len(pairs),
        "decision": ["keep_apart"] * len(pairs),
    })
    decisions = new_decisions if master.decisions is None else pa.concat_tables([master.decisions, new_decisions])
    updated = Master(records, master.next_person + len(leaving), decisions, master.model, master.state)
    return updated, sorted({person_id, *new_ids.values()})


def strip_inferred(records: pa.Table) -> pa.Table:
    """Records as the master keeps them: values the refinery inferred or joined from reference
    data (per the provenance struct) are dropped, so that a later run with the least intrusive
    settings never shows, in its golden records, data that only an earlier instruction asked for."""
    if "provenance" not in records.column_names or not pa.types.is_struct(records.column("provenance").type):
        return records
    prov = records.column("provenance").combine_chunks()
    for i in range(prov.type.num_fields):
        name = prov.type.field(i).name
        if name not in records.column_names or name in RECORD_META:
            continue
        entry = prov.field(i)
        source = entry.field("source") if pa.types.is_struct(entry.type) else entry
        drop = pc.fill_null(pc.is_in(source, value_set=pa.array(["inferred", "reference"])), False)
        column = records.column(name)
        records = records.set_column(
            records.schema.get_field_index(name), name, pc.if_else(drop, pa.scalar(None, column.type), column)
        )
    if "provenance_text" in records.column_names:
        records = records.drop_columns(["provenance_text"])
    return records
