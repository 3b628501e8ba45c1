"""Export stage: the client's files, one row per input data row, in input order, none lost.

contacts: the export contract (README) columns, then every unrecognised input column unchanged
(under its original header), then refinery's additional columns. golden: one row per cluster.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO


import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines import duckdb_config
from pipelines.headers import PERSON_DETAIL_FIELDS
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
    # Postal address, date of birth (ISO), the client's own and national person identifiers (issue #14).
    *PERSON_DETAIL_FIELDS,
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
    *PERSON_DETAIL_FIELDS,
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
    "street_number": "street_number",
    "street": "street",
    "address_line2": "address_line2",
    "postcode": "postcode",
    "city": "city",
    "region": "region",
    "date_of_birth": "date_of_birth",
    "client_id": "client_id",
    "national_id": "national_id",
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


def contacts_sql(info: SourceInfo, linked_columns: list[str]) -> tuple[str, list[str]]:
    """The query that builds the contacts export from the views `raw`, `linked` and `quarantined`,
    and the raw columns it reads."""
    custom = output_header_names(info)
    fields = CONTRACT_COLUMNS[5:]
    # Quarantined rows have no provenance struct: every value they carry is as sent.
    trailing = [c for c in (PROVENANCE_COLUMN, PROVENANCE_TEXT_COLUMN) if c in linked_columns]
    # An extra column a stage did not produce (the mailbox status before any scan, say) is empty.
    present = set(linked_columns)
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
    return sql, ["row_number", *custom]


def _check_every_row(rows: int, unaccounted: int, rows_in: int) -> None:
    if rows != rows_in or unaccounted:
        raise RuntimeError(
            f"export would not hold every input row ({rows} rows, {unaccounted} unaccounted, "
            f"{rows_in} in the input): nothing was published"
        )


def build_contacts(raw: pa.Table, info: SourceInfo, linked: pa.Table, quarantined: pa.Table) -> pa.Table:
    """Every input row once, in input order, ok rows standardised, quarantined rows as sent."""
    sql, raw_columns = contacts_sql(info, linked.column_names)
    con = duckdb_config.connect()
    try:
        con.register("raw", raw.select(raw_columns))
        con.register("linked", linked)
        con.register("quarantined", quarantined)
        table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    _check_every_row(table.num_rows, table.column("status").null_count, raw.num_rows)
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

    def write(f: CsvFormat) -> bytes:
        buf = io.BytesIO()
        csv = CsvWriter(buf, f)
        csv.write(table)
        csv.finish()
        return buf.getvalue()

    return _write_with_fallback(write, fmt)


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
            starts = pc.match_substring_regex(col, _FORMULA_START)
            # Most columns have no cell starting like a formula: they are left as they are (the
            # second test and the rewrite cost as much again over every cell).
            if pc.any(starts).as_py():
                risky = pc.and_(starts, pc.invert(pc.match_substring_regex(col, _PLAIN_NUMBER)))
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


# Rows per slice when an export is written to files: memory stays bounded by a slice, whatever
# the size of the upload (issue 7: 5M rows within 16 GiB).
EXPORT_BATCH_ROWS = 100_000


class CsvWriter:
    """CSV written into `sink` slice by slice, byte for byte what one write of the whole table
    gives (one header, the same quoting, neutralised formulas, the asked encoding)."""

    def __init__(self, sink: BinaryIO, fmt: CsvFormat):
        self.sink, self.fmt = sink, fmt
        self._header_done = False
        self.rows = 0
        # Arrow writes UTF-8 already: no decode and re-encode, just the byte-order mark Excel
        # needs. Other encodings go through an incremental encoder, which writes a byte-order
        # mark (utf-16) once, not per slice.
        plain = fmt.encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")
        self._encoder = None if plain else codecs.getincrementalencoder(fmt.encoding)()
        if plain and fmt.encoding.lower().endswith("sig"):
            self.sink.write(b"\xef\xbb\xbf")

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if table.num_rows == 0 and self._header_done:
            return
        buf = io.BytesIO()
        pacsv.write_csv(
            neutralise_formulas(_as_text(table)), buf,
            pacsv.WriteOptions(delimiter=self.fmt.delimiter, quoting_style="needed", include_header=not self._header_done),
        )
        self._header_done = True
        self.rows += table.num_rows
        data = buf.getvalue()
        # UnicodeEncodeError when a value cannot be encoded as asked: the caller falls back.
        self.sink.write(data if self._encoder is None else self._encoder.encode(data.decode("utf-8")))

    def finish(self) -> None:
        if self._encoder is not None:
            self.sink.write(self._encoder.encode("", final=True))


def _parquet_schema(schema: pa.Schema) -> pa.Schema:
    if PROVENANCE_TEXT_COLUMN in schema.names:  # the struct says the same, typed
        schema = schema.remove(schema.get_field_index(PROVENANCE_TEXT_COLUMN))
    return schema


def _write_with_fallback(write, fmt: CsvFormat) -> tuple[Any, CsvFormat]:
    """write(fmt) -> result; a value the asked encoding cannot hold: UTF-8 with BOM instead."""
    try:
        return write(fmt), fmt
    except UnicodeEncodeError:
        fallback = CsvFormat("utf-8-sig", fmt.delimiter)
        return write(fallback), fallback


def write_contacts_files(
    raw: pa.Table, info: SourceInfo, linked: pa.Table, quarantined: pa.Table,
    csv_path: Path, parquet_path: Path, fmt: CsvFormat = CsvFormat(),
) -> tuple[int, CsvFormat]:
    """contacts.csv and contacts.parquet streamed from DuckDB slice by slice (the whole export is
    never in memory). Returns the rows written and the CSV format used; raises, before anything
    is published, if the export would not hold every input row."""
    sql, raw_columns = contacts_sql(info, linked.column_names)

    def write(f: CsvFormat) -> int:
        con = duckdb_config.connect()
        try:
            con.register("raw", raw.select(raw_columns))
            con.register("linked", linked)
            con.register("quarantined", quarantined)
            reader = con.sql(sql).to_arrow_reader(EXPORT_BATCH_ROWS)
            schema = _parquet_schema(reader.schema)
            unaccounted = 0
            with open(csv_path, "wb") as sink, pq.ParquetWriter(parquet_path, schema, compression="zstd") as parquet:
                csv = CsvWriter(sink, f)
                for batch in reader:
                    unaccounted += batch.column(batch.schema.get_field_index("status")).null_count
                    csv.write(batch)
                    parquet.write_table(pa.Table.from_batches([batch]).select(schema.names))
                if csv.rows == 0:
                    csv.write(reader.schema.empty_table())
                csv.finish()
        finally:
            con.close()
        _check_every_row(csv.rows, unaccounted, raw.num_rows)
        return csv.rows

    return _write_with_fallback(write, fmt)


def write_table_files(table: pa.Table, fmt: CsvFormat, csv_path: Path, parquet_path: Path | None = None) -> CsvFormat:
    """A table as CSV (slice by slice) and optionally its Parquet copy; returns the format used."""

    def write(f: CsvFormat) -> None:
        with open(csv_path, "wb") as sink:
            csv = CsvWriter(sink, f)
            for start in range(0, max(table.num_rows, 1), EXPORT_BATCH_ROWS):
                csv.write(table.slice(start, EXPORT_BATCH_ROWS))
            csv.finish()

    _, used = _write_with_fallback(write, fmt)
    if parquet_path is not None:
        pq.write_table(table.select(_parquet_schema(table.schema).names), parquet_path, compression="zstd")
    return used
