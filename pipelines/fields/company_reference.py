"""Company facts from an operator-supplied reference file (an extract of the French SIRENE
register, say): NAF code, headcount band and address, joined on identifier, domain or name.

Off by default (settings: `company_reference` and `reference.path`). Parquet or CSV, read by
DuckDB (built in, nothing downloaded). Columns are found by their SIRENE names or the names in
`REFERENCE_COLUMNS` (pipelines/controller_settings.py), or mapped in the settings. Joins are
tried in the order of `reference.join_on` (SIRET, SIREN, VAT number, domain, normalised name); a
domain or a name shared by several companies of the reference is ambiguous and never used.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.controller_settings import REFERENCE_COLUMNS, ReferenceSettings
from pipelines.fields._data import load_yaml
from pipelines.fields._vector import as_string_array
from pipelines.fields.company import standardise_company_names

__all__ = ["OUTPUTS", "ReferenceFileError", "join_reference", "load_reference"]

OUTPUTS = ("naf_code", "headcount_band", "company_address", "company_postcode", "company_city")
STRING = pa.string()
_SIEGE_COLUMNS = ("etablissementSiege", "siege", "is_head_office")


class ReferenceFileError(ValueError):
    """The reference file cannot be used; one sentence, naming the file and the problem."""


def _column(available: dict[str, str], settings: ReferenceSettings, logical: str) -> str | None:
    """The file's column for a logical column: mapped in the settings, else a known name."""
    wanted = [settings.columns[logical]] if logical in settings.columns else list(REFERENCE_COLUMNS[logical])
    for name in wanted:
        if name.lower() in available:
            return available[name.lower()]
    if logical in settings.columns:
        raise ReferenceFileError(f"{settings.path}: column {settings.columns[logical]!r} (reference.columns.{logical}) not found")
    return None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_reference(settings: ReferenceSettings) -> pa.Table:
    """The reference as join keys (siret_key, siren_key, vat_key, domain_key, name_key), a
    head-office flag and the output columns, all strings."""
    path = settings.path
    if not path or not Path(path).is_file():
        raise ReferenceFileError(f"{path}: reference file not found")
    fmt = settings.format
    if fmt == "auto":
        fmt = "parquet" if Path(path).suffix.lower() in (".parquet", ".pq") else "csv"
    source = (
        f"read_parquet({duckdb_literal(path)})" if fmt == "parquet"
        else f"read_csv({duckdb_literal(path)}, all_varchar = true, header = true)"
    )
    con = duckdb.connect()
    try:
        try:
            names = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        except duckdb.Error as exc:
            raise ReferenceFileError(f"{path}: cannot be read as {fmt} ({str(exc).splitlines()[0]})") from None
        available = {n.lower(): n for n in names}
        col = {logical: _column(available, settings, logical) for logical in REFERENCE_COLUMNS}
        if not any(col[k] for k in ("siret", "siren", "vat_number", "domain", "name")):
            raise ReferenceFileError(f"{path}: no join column (siret, siren, vat_number, domain or name) found")

        def text(logical: str) -> str:
            return f"nullif(trim({_q(col[logical])}::VARCHAR), '')" if col[logical] else "NULL::VARCHAR"

        digits = "nullif(regexp_replace({}, '[^0-9]', '', 'g'), '')"
        street = f"nullif(concat_ws(' ', {text('company_street_number')}, {text('company_street_type')}, {text('company_street')}), '')"
        siege = next((available[c.lower()] for c in _SIEGE_COLUMNS if c.lower() in available), None)
        siege_sql = f"lower(trim({_q(siege)}::VARCHAR)) IN ('true', '1', 'oui', 'yes', 't')" if siege else "FALSE"
        bands = load_yaml("reference.yaml")["headcount_bands"]
        band_sql = f"CASE lpad({text('headcount_band')}, 2, '0') " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in bands.items()) + " END"
        naf = text("naf_code")
        table = con.sql(
            f"""
            SELECT
                {digits.format(text('siret'))} AS siret_key,
                coalesce({digits.format(text('siren'))}, left({digits.format(text('siret'))}, 9)) AS siren_key,
                upper(regexp_replace({text('vat_number')}, '[^0-9A-Za-z]', '', 'g')) AS vat_key,
                lower(regexp_replace(regexp_replace({text('domain')}, '^[a-z]+://', ''), '^www\\.|/.*$', '', 'g')) AS domain_key,
                {text('name')} AS name,
                {siege_sql} AS head_office,
                CASE WHEN regexp_full_match(upper({naf}), '[0-9]{{4}}[A-Z]')
                     THEN substr(upper({naf}), 1, 2) || '.' || substr(upper({naf}), 3) ELSE upper({naf}) END AS naf_code,
                {band_sql} AS headcount_band,
                coalesce({text('company_address')}, {street}) AS company_address,
                {text('company_postcode')} AS company_postcode,
                {text('company_city')} AS company_city
            FROM {source}
            """
        ).to_arrow_table()
    finally:
        con.close()
    _, name_key, _ = standardise_company_names(table["name"])
    return table.append_column("name_key", name_key).drop_columns(["name"])


def duckdb_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def join_reference(
    siret: pa.Array,
    siren: pa.Array,
    vat_number: pa.Array,
    company_domain: pa.Array,
    company_key: pa.Array,
    reference: pa.Table,
    join_on: tuple[str, ...] = ("siret", "siren", "vat_number", "domain", "name"),
) -> dict[str, pa.Array]:
    """OUTPUTS plus `siren` (found through the reference) and `matched_on`, per contact row."""
    def digits(values: pa.Array) -> pa.Array:
        return pc.replace_substring_regex(as_string_array(values), r"[^0-9]", "")

    vat = pc.replace_substring_regex(as_string_array(vat_number), r"[^0-9A-Za-z]", "")
    contacts = pa.table(
        {
            "i": pa.array(range(len(siret)), pa.int64()),
            "siret": digits(siret),
            "siren": pc.coalesce(
                digits(siren),
                pc.if_else(pc.starts_with(pc.fill_null(vat, ""), "FR"), pc.utf8_slice_codeunits(vat, 4, 13), pa.scalar(None, STRING)),
            ),
            "vat_number": pc.utf8_upper(vat),
            "domain": as_string_array(company_domain),
            "name": as_string_array(company_key),
        }
    )
    record = "struct_pack(" + ", ".join(f"{c} := {c}" for c in (*OUTPUTS, "siren_key")) + ")"
    # One reference row per key; domains and names claimed by several companies are dropped.
    keyed = {
        "siret": "siret_key",
        "siren": "siren_key",
        "vat_number": "vat_key",
        "domain": "domain_key",
        "name": "name_key",
    }
    # Which establishment speaks for a key: the head office, then the smallest SIRET, then the
    # record itself. Ranking on the head-office flag alone left a tie between the establishments
    # of a company without its head office in the file, and DuckDB's multi-threaded aggregation
    # settles a tie by whichever thread finishes last: the address changed from run to run. (A
    # row without the flag stays out, as before: the whole key is NULL.)
    rank = f"CASE WHEN head_office IS NOT NULL THEN struct_pack(h := -head_office::INT, s := siret_key, r := {record}) END"
    ctes, joins, picks = [], [], []
    for n, key in enumerate(join_on):
        column = keyed[key]
        unique = "HAVING count(DISTINCT siren_key) <= 1" if key in ("domain", "name") else ""
        ctes.append(
            f"k{n} AS (SELECT {column} AS k, arg_min({record}, {rank}) AS rec FROM reference "
            f"WHERE {column} IS NOT NULL GROUP BY {column} {unique})"
        )
        joins.append(f"LEFT JOIN k{n} ON k{n}.k = c.{key}")
        picks.append((f"k{n}.rec", key))
    coalesced = "coalesce(" + ", ".join(p for p, _ in picks) + ")"
    matched = "CASE " + " ".join(f"WHEN {p} IS NOT NULL THEN '{key}'" for p, key in picks) + " END"
    sql = f"""
        WITH {", ".join(ctes)}
        SELECT c.i, {coalesced} AS rec, {matched} AS matched_on
        FROM contacts AS c {" ".join(joins)}
        ORDER BY c.i
    """
    con = duckdb.connect()
    try:
        con.register("contacts", contacts)
        con.register("reference", reference)
        joined = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    rec = joined["rec"].combine_chunks()
    out = {name: pc.struct_field(rec, name) for name in OUTPUTS}
    found_siren = pc.struct_field(rec, "siren_key")
    # "552008443" -> "552 008 443", the format of the siren column.
    out["siren"] = pc.if_else(
        pc.match_substring_regex(pc.fill_null(found_siren, ""), r"^\d{9}$"),
        pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(found_siren, 0, 3), pc.utf8_slice_codeunits(found_siren, 3, 6),
            pc.utf8_slice_codeunits(found_siren, 6, 9), " ",
        ),
        pa.scalar(None, STRING),
    )
    out["matched_on"] = joined["matched_on"].combine_chunks()
    return out
