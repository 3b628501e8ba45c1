"""What the client gets to see of the deduplication: the duplicates report, the merge audit and
the review file. Built from the linkage outputs with DuckDB; values go only to these files."""

from __future__ import annotations

import duckdb
import pyarrow as pa

# The values a person sees of each record in the reports (and all the review file reads of the master).
SHOWN = ("first_name", "last_name", "email", "phone_e164", "company")


def _query(sql: str, **tables: pa.Table) -> pa.Table:
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def duplicates_report(linked: pa.Table, golden: pa.Table) -> pa.Table:
    """Rows of this upload that belong to a person with several records (here or in earlier
    batches), grouped by person, the row kept as master first."""
    shown = ", ".join(f"l.{c}" for c in SHOWN)
    return _query(
        f"""
        SELECT l.cluster_id, g.record_count, l.row_number,
               CASE WHEN l.is_master THEN 'master' ELSE 'duplicate' END AS role,
               round(l.match_probability, 4) AS match_probability, {shown}
        FROM linked AS l JOIN golden AS g USING (cluster_id)
        WHERE g.record_count > 1
        ORDER BY g.master_row_number NULLS LAST, l.cluster_id, l.is_master DESC, l.row_number
        """,
        linked=linked,
        golden=golden,
    )


def merge_audit_report(merges: pa.Table, golden: pa.Table) -> pa.Table:
    """Every merge: the two records, the probability, the comparisons that decided it and the
    values the golden record kept."""
    return _query(
        """
        SELECT m.person_id AS cluster_id, m.record_key_l, m.record_key_r, m.match_probability, m.comparisons,
               g.first_name AS kept_first_name, g.last_name AS kept_last_name, g.email AS kept_email,
               g.phone_e164 AS kept_phone_e164, g.company AS kept_company
        FROM merges AS m LEFT JOIN golden AS g ON g.cluster_id = m.person_id
        ORDER BY m.person_id, m.record_key_l, m.record_key_r
        """,
        merges=merges,
        golden=golden,
    )


def review_report(review: pa.Table, records: pa.Table, threshold: float = 0.7) -> pa.Table:
    """Pairs to decide, side by side, with an empty `decision` column for `same` / `different`
    (`refinery review apply` reads it back, pipelines/review.py).

    The decisions that change most come first: pairs whose score is closest to the merge threshold
    (in bits of match weight, where the model is least sure), then those joining the most records
    (the persons' sizes in the master)."""
    left = ", ".join(f"a.{c} AS {c}_1" for c in SHOWN)
    right = ", ".join(f"b.{c} AS {c}_2" for c in SHOWN)
    sizes = (
        "(SELECT person_id, count(*) AS n FROM records GROUP BY person_id)"
        if "person_id" in records.column_names else "(SELECT NULL AS person_id, 1 AS n)"
    )
    return _query(
        f"""
        WITH sizes AS {sizes}
        SELECT '' AS decision, r.match_probability, r.reason, r.record_key_l AS record_1, r.person_id_l AS cluster_id_1, {left},
               r.record_key_r AS record_2, r.person_id_r AS cluster_id_2, {right}
        FROM review AS r
        JOIN records AS a ON a.record_key = r.record_key_l
        JOIN records AS b ON b.record_key = r.record_key_r
        LEFT JOIN sizes AS sl ON sl.person_id = r.person_id_l
        LEFT JOIN sizes AS sr ON sr.person_id = r.person_id_r
        ORDER BY round(abs(log2(greatest(least(r.match_probability, 1 - 1e-9), 1e-9)
                                / (1 - greatest(least(r.match_probability, 1 - 1e-9), 1e-9)))
                           - log2({threshold} / (1 - {threshold})))) ASC,
                 coalesce(sl.n, 1) + coalesce(sr.n, 1) DESC, record_1, record_2
        """,
        review=review,
        records=records,
    )


def write_xlsx(table: pa.Table, sheet: str, path) -> None:
    """The report as an .xlsx file, formula-like cells neutralised, written slice by slice."""
    from pipelines.export import neutralise_formulas
    from pipelines.xlsx import write_xlsx as write

    write(neutralise_formulas(table), sheet, str(path))


def to_xlsx_bytes(table: pa.Table, sheet: str) -> bytes:
    """The report as an .xlsx sheet, formula-like cells neutralised."""
    from pipelines.export import neutralise_formulas
    from pipelines.xlsx import table_to_xlsx

    return table_to_xlsx(neutralise_formulas(table), sheet)
