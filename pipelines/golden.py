"""Golden records: one record per cluster, by the rule documented in sql/golden_records.sql."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sql import load_sql


def assign_clusters(enriched: pa.Table, clusters: pa.Table) -> pa.Table:
    """Enriched contacts with `cluster_id` (formatted 'C' + smallest row number) and `match_probability`."""
    con = duckdb.connect()
    try:
        con.register("enriched", enriched)
        con.register("clusters", clusters)
        return con.sql(
            """
            SELECT e.*,
                   'C' || lpad(coalesce(c.cluster_id, e.row_number)::VARCHAR, 7, '0') AS cluster_id,
                   c.match_probability
            FROM enriched AS e LEFT JOIN clusters AS c USING (row_number)
            ORDER BY e.row_number
            """
        ).to_arrow_table()
    finally:
        con.close()


def golden_records(linked: pa.Table) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("linked", linked)
        return con.sql(load_sql("golden_records")).to_arrow_table()
    finally:
        con.close()


def master_flags(linked: pa.Table, golden: pa.Table) -> pa.Array:
    """True for the row each golden record was built from."""
    return pc.is_in(linked.column("row_number"), value_set=golden.column("master_row_number"))
