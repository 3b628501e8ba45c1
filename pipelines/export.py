"""Export stage: the client's files, one row per input data row, in input order, none lost.

contacts: the export contract (README) columns, then every unrecognised input column unchanged
(under its original header), then refinery's additional columns. golden: one row per cluster.
"""

from __future__ import annotations

import io
from dataclasses import dataclass


import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines import duckdb_config
from pipelines.reader import SourceInfo, source_column_name

CONTRACT_COLUMNS: tuple[str, ...] = (
    "row_number",
    "status",
    "status_reason",
    "cluster_id",
    "is_master",
    "civility",
    "first_name",
    "last_name",
    "email",
    "email_qualification",
    "phone_e164",
    "phone_type",
    "company",
    "website",
    "linkedin_url",
    "job_title",
    "country",
)
# After the client's own columns; this list may grow, the contract columns above do not change.
EXTRA_COLUMNS: tuple[str, ...] = (
    "match_probability",
    "notes",
    "phone_country",
    "other_phones",
    "legal_form",
    "company_domain",
    # Enrichment (pipelines/enrich.py): empty unless the controller's settings turn it on.
    "email_source",
    "email_found",
    "email_confidence",
    "email_verification",
    "job_level",
    "job_function",
    # Company identifiers (as sent, validated and formatted) and reference data.
    "siren",
    "siret",
    "vat_number",
    "naf_code",
    "headcount_band",
    "company_address",
    "company_postcode",
    "company_city",
    # What the controller's mailboxes said of the address: invalid, departed, soft_bounce (issue #9).
    "email_status",
)
# Per-field provenance: a struct column in the Parquet copy; in the CSV only on request
# (settings `provenance_in_csv`, `refinery run --provenance`), as one readable text column.
PROVENANCE_COLUMN = "provenance"
PROVENANCE_TEXT_COLUMN = "provenance_text"
_DOUBLE_COLUMNS = frozenset({"match_probability", "email_confidence"})

GOLDEN_COLUMNS: tuple[str, ...] = (
    "cluster_id",
    "master_row_number",
    "source_rows",
    "record_count",
    "match_probability",
    "civility",
    "first_name",
    "last_name",
    "email",
    "email_qualification",
    "phone_e164",
    "phone_type",
    "company",
    "legal_form",
    "website",
    "linkedin_url",
    "job_title",
    "country",
    "other_emails",
    "other_phones",
    "source_records",
)

# Canonical fields shown for quarantined rows, as the client sent them (trimmed).
_QUARANTINE_VALUES = {
    "civility": "civility",
    "first_name": "coalesce(first_name, full_name)",
    "last_name": "last_name",
    "email": "email",
    "phone_e164": "coalesce(phone, mobile)",
    "company": "company",
    "website": "website",
    "linkedin_url": "linkedin_url",
    "job_title": "job_title",
    "country": "country",
    "siren": "siren",
    "siret": "siret",
    "vat_number": "vat_number",
}


def output_header_names(info: SourceInfo) -> dict[str, str]:
    """src_<i> -> the column's original header, renamed only if it collides with one of ours."""
    taken = {c.lower() for c in CONTRACT_COLUMNS + EXTRA_COLUMNS + (PROVENANCE_COLUMN,)}
    names = {}
    for i in info.mapping.custom_columns:
        name = info.headers[i]
        while name.lower() in taken:
            name = f"{name} (input)"
        taken.add(name.lower())
        names[source_column_name(i)] = name
    return names


def build_contacts(raw: pa.Table, info: SourceInfo, linked: pa.Table, quarantined: pa.Table) -> pa.Table:
    """Every input row once, in input order, ok rows standardised, quarantined rows as sent."""
    custom = output_header_names(info)
    fields = CONTRACT_COLUMNS[5:]
    # Quarantined rows have no provenance struct: every value they carry is as sent.
    trailing = [c for c in (PROVENANCE_COLUMN, PROVENANCE_TEXT_COLUMN) if c in linked.column_names]
    # An extra column a stage did not produce (the mailbox status before any scan, say) is empty.
    present = set(linked.column_names)
    ok_select = ", ".join([*fields, *[c if c in present else
                                      f"NULL::{'DOUBLE' if c in _DOUBLE_COLUMNS else 'VARCHAR'} AS {c}"
                                      for c in EXTRA_COLUMNS], *trailing])
    q_select = ", ".join(
        [f"{_QUARANTINE_VALUES.get(c, 'NULL')}::VARCHAR AS {c}" for c in fields]
        + [
            f"{'NULL' if c not in _QUARANTINE_VALUES else _QUARANTINE_VALUES[c]}::{'DOUBLE' if c in _DOUBLE_COLUMNS else 'VARCHAR'} AS {c}"
            for c in EXTRA_COLUMNS
        ]
    )
    custom_select = "".join(f', r."{src}" AS {_quote(name)}' for src, name in custom.items())
    sql = f"""
        WITH rows AS (
            SELECT row_number, 'ok' AS status, NULL::VARCHAR AS status_reason, cluster_id, is_master, {ok_select}
            FROM linked
            UNION ALL BY NAME
            SELECT row_number, 'quarantined' AS status, status_reason, NULL::VARCHAR AS cluster_id,
                   NULL::BOOLEAN AS is_master, {q_select}
            FROM quarantined
        )
        SELECT r.row_number, {", ".join(f"x.{c}" for c in CONTRACT_COLUMNS[1:])}{custom_select},
               {", ".join(f"x.{c}" for c in [*EXTRA_COLUMNS, *trailing])}
        FROM raw AS r LEFT JOIN rows AS x USING (row_number)
        ORDER BY r.row_number
    """
    con = duckdb_config.connect()
    try:
        con.register("raw", raw.select(["row_number", *custom]))
        con.register("linked", linked)
        con.register("quarantined", quarantined)
        table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    missing = table.filter(pa.compute.is_null(table.column("status"))).num_rows
    if table.num_rows != raw.num_rows or missing:
        raise RuntimeError(
            f"export would not hold every input row ({table.num_rows} rows, {missing} unaccounted, "
            f"{raw.num_rows} in the input): nothing was published"
        )
    return table


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class CsvFormat:
    encoding: str = "utf-8-sig"
    delimiter: str = ","

    @classmethod
    def like_input(cls, info: SourceInfo) -> "CsvFormat":
        encoding = info.encoding or "utf-8-sig"
        if encoding in ("utf-16-le", "utf-16-be"):
            encoding = "utf-16"  # with a BOM, so Excel recognises it
        return cls(encoding=encoding, delimiter=info.delimiter or ",")


def to_csv_bytes(table: pa.Table, fmt: CsvFormat = CsvFormat()) -> tuple[bytes, CsvFormat]:
    """CSV as Excel opens it; falls back to UTF-8 with BOM if a value cannot be encoded as asked."""
    buf = io.BytesIO()
    pacsv.write_csv(
        neutralise_formulas(_as_text(table)), buf, pacsv.WriteOptions(delimiter=fmt.delimiter, quoting_style="needed")
    )
    data = buf.getvalue()
    if fmt.encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig"):
        # Arrow writes UTF-8 already: no decode and re-encode of the whole file (a copy of a
        # few hundred MB at a million rows), just the byte-order mark Excel needs.
        return (b"\xef\xbb\xbf" + data if fmt.encoding.lower().endswith("sig") else data), fmt
    text = data.decode("utf-8")
    try:
        return text.encode(fmt.encoding), fmt
    except UnicodeEncodeError:
        fallback = CsvFormat("utf-8-sig", fmt.delimiter)
        return text.encode(fallback.encoding), fallback


# A cell that starts like a formula (=, +, -, @, tab, CR) is run by Excel or LibreOffice when the
# client opens the file (CSV injection: =HYPERLINK(...), =cmd|...). Such cells get a leading
# apostrophe, which spreadsheets show as text. Plain numbers (+33612345678, -12.5) cannot execute
# anything and stay as they are. Parquet copies keep the values untouched.
_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+\-]?[0-9][0-9 .,]*$"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    import pyarrow.compute as pc

    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.and_(pc.match_substring_regex(col, _FORMULA_START), pc.invert(pc.match_substring_regex(col, _PLAIN_NUMBER)))
            col = pc.if_else(pc.fill_null(risky, False), pc.binary_join_element_wise("'", col, ""), col)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _as_text(table: pa.Table) -> pa.Table:
    """Booleans as true/false and probabilities rounded, so the CSV reads the same everywhere."""
    import pyarrow.compute as pc

    cols, names = [], []
    for name in table.column_names:
        col = table.column(name)
        if name == PROVENANCE_COLUMN and pa.types.is_struct(col.type):
            continue  # Parquet only; the text form below is the CSV's, when asked for
        if name == PROVENANCE_TEXT_COLUMN:
            name = PROVENANCE_COLUMN
        if pa.types.is_boolean(col.type):
            col = pc.if_else(col, "true", "false")
        elif pa.types.is_floating(col.type):
            col = pc.cast(pc.round(col, 4), pa.string())
        cols.append(col)
        names.append(name)
    return pa.table(cols, names=names)


def to_parquet_bytes(table: pa.Table) -> bytes:
    if PROVENANCE_TEXT_COLUMN in table.column_names:  # the struct says the same, typed
        table = table.drop_columns([PROVENANCE_TEXT_COLUMN])
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()
