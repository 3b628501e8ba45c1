"""Golden records: one per person, by per-field survivorship rules (sql/golden_records.sql)."""

from __future__ import annotations


import pyarrow as pa

from pipelines import duckdb_config
from sql import load_sql

SURVIVORSHIP_RULES = ("most_complete", "most_recent", "most_frequent", "preferred_source")
# Golden field -> (SQL value chosen, column whose presence makes a record a candidate).
GOLDEN_FIELDS: dict[str, tuple[str, str]] = {
    "civility": ("civility", "civility"),
    "first_name": ("first_name", "first_name"),
    "last_name": ("last_name", "last_name"),
    "email": ("{'v': email, 'q': email_qualification}", "email"),
    "phone": ("{'v': phone_e164, 't': phone_type}", "phone_e164"),
    "company": ("{'v': company, 'f': legal_form}", "company"),
    "website": ("website", "website"),
    "linkedin_url": ("linkedin_url", "linkedin_url"),
    "job_title": ("job_title", "job_title"),
    "country": ("country", "country"),
    # Issue #14: the postal address travels as one (number, street, line 2, postcode, city, region
    # of one record), so a golden address is never stitched together from two records.
    "address": ("{'n': street_number, 's': street, 'l': address_line2, 'p': postcode, 'c': city, 'r': region}",
                "coalesce(street, postcode, city)"),
    "date_of_birth": ("date_of_birth", "date_of_birth"),
    "client_id": ("client_id", "client_id"),
    "national_id": ("national_id", "national_id"),
}
_ALIAS = {"email": "email_pair", "phone": "phone_pair", "company": "company_pair", "address": "address_group"}


# Columns of the records that golden_sql reads (fields, completeness, ranks, sources).
GOLDEN_INPUTS = frozenset({
    "person_id", "record_key", "upload_id", "row_number", "match_probability", "received_at", "source",
    "civility", "first_name", "last_name", "email", "email_qualification", "phone_e164", "phone_type",
    "other_phones", "company", "legal_form", "website", "linkedin_url", "job_title", "country",
    "street_number", "street", "address_line2", "postcode", "city", "region", "date_of_birth", "client_id",
    "national_id",
})
# Columns a record may lack (records made before they existed, tables built by hand): read as null.
OPTIONAL_INPUTS = ("street_number", "street", "address_line2", "postcode", "city", "region", "date_of_birth",
                   "client_id", "national_id")


def with_optional_columns(table: pa.Table) -> pa.Table:
    """`table` with every OPTIONAL_INPUTS column, null where it was missing."""
    for name in OPTIONAL_INPUTS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table


class SurvivorshipError(ValueError):
    pass


def check_rules(rules: dict[str, str] | None) -> dict[str, str]:
    """Every golden field's rule (default most_complete); unknown fields or rules are refused."""
    rules = dict(rules or {})
    for field_name, rule in rules.items():
        if field_name not in GOLDEN_FIELDS:
            raise SurvivorshipError(f"survivorship: unknown field {field_name!r} (known: {', '.join(GOLDEN_FIELDS)})")
        if rule not in SURVIVORSHIP_RULES:
            raise SurvivorshipError(f"survivorship: unknown rule {rule!r} for {field_name} (known: {', '.join(SURVIVORSHIP_RULES)})")
    return {f: rules.get(f, "most_complete") for f in GOLDEN_FIELDS}


def _completeness() -> str:
    """The completeness score (sql/completeness.sql) without its comment lines."""
    return "\n".join(line for line in load_sql("completeness").splitlines() if not line.startswith("--"))


def _sql_literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def golden_sql(upload_id: str, rules: dict[str, str] | None = None, preferred_source: str | None = None) -> str:
    rules = check_rules(rules)
    values, freq_cols = [], []
    for name, (expr, present) in GOLDEN_FIELDS.items():
        rule = rules[name]
        if rule == "most_frequent":
            freq_cols.append(f", count(*) OVER (PARTITION BY person_id, {present}) AS freq_{name}")
            order = f"[-freq_{name}, rank_complete]"
        else:
            order = {"most_complete": "rank_complete", "most_recent": "rank_recent", "preferred_source": "rank_source"}[rule]
        values.append(f"arg_min({expr}, {order}) FILTER (WHERE {present} IS NOT NULL) AS {_ALIAS.get(name, name)}")
    return (
        load_sql("golden_records")
        .replace("$field_values", ",\n        ".join(values))
        .replace("$frequency_columns", "".join(freq_cols))
        .replace("$preferred_source", _sql_literal(preferred_source))
        .replace("$upload_id", _sql_literal(upload_id))
        .replace("$completeness", _completeness())
    )


def golden_records(
    records: pa.Table, upload_id: str, rules: dict[str, str] | None = None, preferred_source: str | None = None
) -> pa.Table:
    """Golden records of the persons in `records` (all their records, every batch)."""
    con = duckdb_config.connect()
    try:
        # Only the columns the survivorship SQL reads: its window functions would otherwise carry
        # every column of every record (provenance structs included) through the sorts.
        records = with_optional_columns(records)
        con.register("records", records.select([c for c in records.column_names if c in GOLDEN_INPUTS]))
        return con.sql(golden_sql(upload_id, rules, preferred_source)).to_arrow_table()
    finally:
        con.close()


def touched_records(all_records: pa.Table, upload_id: str) -> pa.Table:
    """Every record (any batch) of the persons that this upload's records belong to."""
    con = duckdb_config.connect()
    try:
        con.register("r", all_records)
        return con.sql(
            "SELECT * FROM r WHERE person_id IN (SELECT person_id FROM r WHERE upload_id = ?)", params=[upload_id]
        ).to_arrow_table()
    finally:
        con.close()


def master_flags(linked: pa.Table) -> pa.Array:
    """Per row of this upload: true for the most complete row of its person within this upload
    (one per person and file), by the same completeness order as the golden record."""
    con = duckdb_config.connect()
    try:
        con.register("linked", with_optional_columns(linked))
        return con.sql(
            """
            WITH s AS (
                SELECT row_number, person_id, $completeness AS completeness
                FROM linked
            )
            SELECT row_number() OVER (PARTITION BY person_id ORDER BY completeness DESC, row_number) = 1 AS is_master
            FROM s ORDER BY row_number
            """.replace("$completeness", _completeness())
        ).to_arrow_table().column("is_master").combine_chunks()
    finally:
        con.close()
