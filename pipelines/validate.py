"""Row-level validation: every row is kept; rows that cannot be processed are quarantined with a reason.

Also defines the file-level expectation suites that the Dagster asset checks run (GX 1.x).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.headers import CANONICAL_FIELDS, IDENTITY_FIELDS, NAME_FIELDS, WITH_NAME_FIELDS
from pipelines.limits import Limits
from pipelines.reader import SourceInfo, source_column_name

QUARANTINE_EMPTY = "empty row"
QUARANTINE_NO_IDENTITY = (
    "no identity: needs an e-mail, a LinkedIn URL or an identifier, "
    "or a name with a phone, a postal address, a date of birth or a company"
)


def canonical_columns(raw: pa.Table, info: SourceInfo) -> pa.Table:
    """`row_number` plus one column per canonical field (trimmed, empty -> null), raw values otherwise."""
    n = raw.num_rows
    cols: dict[str, pa.Array] = {"row_number": raw.column("row_number")}
    for name in CANONICAL_FIELDS:
        if name in info.fields:
            trimmed = pc.utf8_trim_whitespace(raw.column(source_column_name(info.fields[name])))
            cols[name] = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
        else:
            cols[name] = pa.nulls(n, pa.string())
    return pa.table(cols)


def quarantine_reasons(raw: pa.Table, canonical: pa.Table, max_cell_chars: int | None = None) -> pa.Array:
    """Null for rows fit to process, else the reason the row is set aside."""
    n = raw.num_rows
    max_cell_chars = max_cell_chars or Limits.from_env().max_cell_chars
    all_empty = pa.array([True] * n)
    too_long = pa.array([False] * n)
    for name in raw.column_names:
        if name != "row_number":
            all_empty = pc.and_(all_empty, pc.equal(pc.utf8_trim_whitespace(raw.column(name)), ""))
            too_long = pc.or_(too_long, pc.greater(pc.utf8_length(raw.column(name)), max_cell_chars))

    def present(col: str) -> pa.Array:
        return pc.is_valid(canonical.column(col))

    def any_present(cols: tuple[str, ...]) -> pa.Array:
        result = pa.array([False] * n)
        for c in cols:
            result = pc.or_(result, present(c))
        return result

    # The identity rule: an e-mail, a LinkedIn URL or an identifier (the client's own, or a
    # national one) alone, or a name with a phone, a postal address (street or postcode), a date
    # of birth or a company.
    identity = pc.or_(any_present(IDENTITY_FIELDS), pc.and_(any_present(NAME_FIELDS), any_present(WITH_NAME_FIELDS)))
    reason = pc.if_else(all_empty, QUARANTINE_EMPTY, pc.if_else(identity, pa.scalar(None, pa.string()), QUARANTINE_NO_IDENTITY))
    # A cell far beyond any real contact field (a pasted document, an attack): the row is kept as sent.
    long_reason = f"a cell is longer than {max_cell_chars:,} characters (REFINERY_MAX_CELL_CHARS)"
    return pc.if_else(too_long, long_reason, reason)


def split_rows(raw: pa.Table, info: SourceInfo) -> tuple[pa.Table, pa.Table]:
    """(validated rows, quarantined rows with `status_reason`); together they hold every input row."""
    canonical = canonical_columns(raw, info)
    reasons = quarantine_reasons(raw, canonical)
    keep = pc.is_null(reasons)
    validated = canonical.filter(keep)
    quarantined = canonical.append_column("status_reason", reasons).filter(pc.invert(keep))
    return validated, quarantined


# File-level expectation suites (GX class name, kwargs). Blocking ones guard invariants the
# downstream stages rely on; failing them stops the run before anything is exported.
RAW_UPLOAD_SUITE = [
    ("ExpectTableRowCountToBeBetween", {"min_value": 1}),
    ("ExpectColumnValuesToNotBeNull", {"column": "row_number"}),
    ("ExpectColumnValuesToBeUnique", {"column": "row_number"}),
]

VALIDATED_ROWS_SUITE = [
    ("ExpectColumnValuesToBeUnique", {"column": "row_number"}),
    ("ExpectColumnValuesToNotBeNull", {"column": "row_number"}),
    ("ExpectTableColumnsToMatchSet", {"column_set": ["row_number", *CANONICAL_FIELDS], "exact_match": True}),
]

STANDARDISED_SUITE = [
    ("ExpectColumnValuesToBeUnique", {"column": "row_number"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "phone_e164", "regex": r"^\+[1-9][0-9]{5,14}$"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "email", "regex": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "country", "regex": r"^[A-Z]{2}$"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "linkedin_url", "regex": r"^https://www\.linkedin\.com/in/[^/?#\s]+$"}),
    # Dates of birth are ISO (pipelines/fields/dates.py): what could not be read is in the notes.
    ("ExpectColumnValuesToMatchRegex", {"column": "date_of_birth", "regex": r"^[12][0-9]{3}-[01][0-9]-[0-3][0-9]$"}),
]

# Non-blocking: warns the operator that the file is mostly unusable (wrong export, wrong columns).
QUARANTINE_RATE_MAX = 0.5
