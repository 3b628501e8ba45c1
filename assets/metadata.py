"""Materialisation metadata: counts, column schema, column lineage, timings. Never values.

Column names inside the pipeline are canonical names or positional `src_<i>`, never the client's
headers, so the schema itself cannot leak personal data into the event log.
"""

from __future__ import annotations

from typing import Any, Mapping

import pyarrow as pa
from dagster import (
    AssetKey,
    MetadataValue,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
)


def table_metadata(
    table: pa.Table,
    seconds: float,
    lineage: Mapping[str, Mapping[str, list[str]]] | None = None,
    rows: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """`lineage`: {output column: {upstream asset name: [upstream columns]}}; `rows` when the
    table is only the schema of what was written (a streamed export)."""
    rows = table.num_rows if rows is None else rows
    schema = TableSchema(columns=[TableColumn(name=f.name, type=str(f.type)) for f in table.schema])
    meta: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(rows),
        "dagster/column_schema": MetadataValue.table_schema(schema),
        "duration_s": MetadataValue.float(round(seconds, 3)),
        "rows_per_s": MetadataValue.float(round(rows / seconds, 1) if seconds > 0 else 0.0),
    }
    if lineage:
        deps = {
            col: [TableColumnDep(asset_key=AssetKey(asset), column_name=c) for asset, cols in ups.items() for c in cols]
            for col, ups in lineage.items()
            if col in table.column_names
        }
        meta["dagster/column_lineage"] = MetadataValue.column_lineage(TableColumnLineage(deps_by_column=deps))
    for key, value in extra.items():
        meta[key] = value
    return meta


def same_name_lineage(table: pa.Table, upstream: str) -> dict[str, dict[str, list[str]]]:
    """Columns passed through unchanged from one upstream asset."""
    return {c: {upstream: [c]} for c in table.column_names}
