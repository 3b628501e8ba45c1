"""Per-field provenance: where each output value came from, and when.

Sources (the controller answers an access request with them, DPA III.7):
- `input`: exactly what the client sent;
- `normalised`: what the client sent, standardised or repaired, or derived from it by a fixed
  rule (a phone's type, a legal form split from the name, a company domain from an address);
- `inferred`: new data the refinery produced (civility from the first name, a found address,
  a job classification, a verification result) — only when the controller's settings ask;
- `reference`: joined from an operator-supplied reference file (SIRENE extract...);
- `rectified`: set by a data-subject rectification (`refinery dsr rectify`), at its time;
- `mailbox`: what the controller's staff mailboxes said (bounces, departures; issue #9).

The stages build a struct of source strings (one field per output column, null where the value
is null); `finalise` adds the time: the upload's arrival for `input`, the run's time otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

INPUT = "input"
NORMALISED = "normalised"
INFERRED = "inferred"
REFERENCE = "reference"
RECTIFIED = "rectified"
MAILBOX = "mailbox"
SOURCES = (INPUT, NORMALISED, INFERRED, REFERENCE, MAILBOX, RECTIFIED)

STRING = pa.string()
TIMESTAMP = pa.timestamp("s", tz="UTC")
ENTRY = pa.struct([("source", STRING), ("at", TIMESTAMP)])


def source_struct(sources: Mapping[str, pa.Array]) -> pa.StructArray:
    """One string field per output column: its source, null where the column is null."""
    names = list(sources)
    arrays = []
    for name in names:
        values = sources[name]
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        arrays.append(values if values.type == STRING else values.cast(STRING))
    return pa.StructArray.from_arrays(arrays, names=names)


def with_sources(struct: pa.StructArray | pa.ChunkedArray, updates: Mapping[str, pa.Array]) -> pa.StructArray:
    """`struct` with fields replaced or added (added ones go last, in the given order)."""
    if isinstance(struct, pa.ChunkedArray):
        struct = struct.combine_chunks()
    fields = {struct.type.field(i).name: struct.field(i) for i in range(struct.type.num_fields)}
    fields.update(updates)
    return source_struct(fields)


def source_of(value: pa.Array, source: str) -> pa.Array:
    """`source` where `value` is present, null elsewhere."""
    return pc.if_else(pc.is_valid(value), pa.scalar(source), pa.scalar(None, STRING))


def _utc(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0)


def finalise(
    struct: pa.StructArray | pa.ChunkedArray, received_at: dt.datetime | str, processed_at: dt.datetime | str
) -> pa.StructArray:
    """struct<field: struct<source, at>>: `at` is when the client sent the upload for `input`
    values and when this run produced the value for every other source."""
    if isinstance(struct, pa.ChunkedArray):
        struct = struct.combine_chunks()
    received = pa.scalar(_utc(received_at), TIMESTAMP)
    processed = pa.scalar(_utc(processed_at), TIMESTAMP)
    names, entries = [], []
    for i in range(struct.type.num_fields):
        source = struct.field(i)
        at = pc.if_else(
            pc.is_null(source), pa.scalar(None, TIMESTAMP), pc.if_else(pc.equal(source, INPUT), received, processed)
        )
        entries.append(pa.StructArray.from_arrays([source, at], fields=list(ENTRY), mask=pc.is_null(source)))
        names.append(struct.type.field(i).name)
    return pa.StructArray.from_arrays(entries, names=names)


def mark(final: pa.StructArray | pa.ChunkedArray, fields: list[str], rows: pa.Array, source: str,
         at: dt.datetime | str) -> pa.StructArray:
    """`final` (from `finalise`) with `fields` of the rows where `rows` is true set to
    {source, at}: a rectified value says so, and since when."""
    if isinstance(final, pa.ChunkedArray):
        final = final.combine_chunks()
    names, entries = [], []
    for i in range(final.type.num_fields):
        name, entry = final.type.field(i).name, final.field(i)
        if name in fields and not pa.types.is_struct(entry.type):
            # A stage's struct of plain source strings (before `finalise`): only the source changes.
            entry = pc.if_else(rows, pa.scalar(source), entry)
        elif name in fields:
            # A Parquet round trip may have turned the seconds into milliseconds: keep the stored type.
            at_type = entry.type.field(entry.type.get_field_index("at")).type
            src = pc.if_else(rows, pa.scalar(source), entry.field("source"))
            ts = pc.if_else(rows, pa.scalar(_utc(at), TIMESTAMP).cast(at_type), entry.field("at"))
            entry = pa.StructArray.from_arrays([src, ts], fields=list(entry.type), mask=pc.is_null(src))
        names.append(name)
        entries.append(entry)
    return pa.StructArray.from_arrays(entries, names=names)


def _join(parts: list[pa.Array], sep: str) -> pa.Array:
    joined = pc.binary_join_element_wise(*[pc.fill_null(p, "") for p in parts], sep)
    quoted = re.escape(sep)
    joined = pc.replace_substring_regex(joined, f"({quoted})+", sep)
    joined = pc.replace_substring_regex(joined, f"^({quoted})|({quoted})$", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, STRING), joined)


def csv_text(final: pa.StructArray | pa.ChunkedArray) -> pa.Array:
    """One readable cell per row for the CSV, grouped by source:
    "input 2026-11-26T10:10:00Z: email, country | normalised 2026-11-26T10:15:47Z: first_name"."""
    if isinstance(final, pa.ChunkedArray):
        final = final.combine_chunks()
    names = [final.type.field(i).name for i in range(final.type.num_fields)]
    groups = []
    for source in SOURCES:
        members, times = [], []
        for i, name in enumerate(names):
            entry = final.field(i)
            hit = pc.equal(entry.field("source"), source).fill_null(False)
            members.append(pc.if_else(hit, pa.scalar(name), pa.scalar(None, STRING)))
            times.append(pc.if_else(hit, entry.field("at"), pa.scalar(None, TIMESTAMP)))
        fields = _join(members, ", ")
        when = pc.strftime(pc.coalesce(*times), format="%Y-%m-%dT%H:%M:%SZ")
        head = pc.binary_join_element_wise(pa.scalar(source), when, " ")
        groups.append(pc.if_else(pc.is_valid(fields), pc.binary_join_element_wise(head, fields, ": "), pa.scalar(None, STRING)))
    return _join(groups, " | ")
