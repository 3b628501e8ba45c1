"""The asset checks' suites evaluated over Arrow give what Great Expectations itself gives."""

from __future__ import annotations

import re
import sys

import pyarrow as pa
import pytest

from pipelines.expectations import python_regex_as_re2, run_suite, run_suite_arrow
from pipelines.headers import CANONICAL_FIELDS
from pipelines.validate import RAW_UPLOAD_SUITE, STANDARDISED_SUITE, VALIDATED_ROWS_SUITE

SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
# Values each regex of the suites could get wrong: Python's `\s` and `$` are not RE2's.
TRICKY = [
    "a@b.co", "a@b.co\n", "a@b.co\n\n", "x@y.z\nq", "a@b", "", " ", "a b@c.de", "ab@c.de ", "A@B.FR",
    "é@ü.fr", "😀@😀.😀", "a@@b.c", "\na@b.co", "+33612345678", "+33612345678\n", "+0612345678", "+1",
    "+3361234567890123", "FR", "fr", "FR\n", "FRA", "F", "https://www.linkedin.com/in/jean-dupont",
    "https://www.linkedin.com/in/jean-dupont\n", "https://www.linkedin.com/in/jean/dupont",
    "https://www.linkedin.com/in/", "https://www.linkedin.com/in/a?b", "https://wwwxlinkedin.com/in/a",
    "1956-09-09", "1956-09-09\n", "1956-9-9", "19560909", "1956-09-09 ", "0956-09-09",
    *[f"a{s}b@c.de" for s in SPACES], *[f"ab@c.de{s}" for s in SPACES], *[f"F{s}" for s in SPACES],
    *[f"https://www.linkedin.com/in/a{s}" for s in SPACES], *[f"+3361234{s}5678" for s in SPACES],
]


def _standardised(values: list[str | None], row_numbers: list[int | None]) -> pa.Table:
    n = len(values)
    assert len(row_numbers) == n
    return pa.table({
        "row_number": pa.array(row_numbers, pa.int64()),
        "phone_e164": pa.array(values, pa.string()),
        "email": pa.array(values[::-1], pa.string()),
        "country": pa.array(values[1:] + values[:1], pa.string()),
        "linkedin_url": pa.array(values[2:] + values[:2], pa.string()),
        "date_of_birth": pa.array(values[3:] + values[:3], pa.string()),
    })


def _same(name: str, table: pa.Table, suite: list) -> None:
    assert run_suite_arrow(name, table, suite) == run_suite(name, table.to_pandas(), suite)


def test_python_whitespace_is_what_the_translation_assumes():
    assert SPACES == [chr(c) for c in range(0x3001) if chr(c).isspace()]
    assert all(re.fullmatch(r"\s", s) for s in SPACES)


@pytest.mark.parametrize("with_nulls", [False, True])
def test_standardised_suite_matches_gx_on_tricky_values(with_nulls):
    values = TRICKY + ([None] * 7 if with_nulls else [])
    rows = list(range(1, len(values) + 1))
    if with_nulls:
        rows[3] = rows[4] = 2  # duplicates
    _same("standardised_contacts", _standardised(values, rows), STANDARDISED_SUITE)


def test_suites_match_gx_on_edge_tables():
    _same("raw_upload", pa.table({"row_number": pa.array([], pa.int64())}), RAW_UPLOAD_SUITE)
    _same("raw_upload", pa.table({"row_number": pa.array([1, 2, 2, None, 5], pa.int64())}), RAW_UPLOAD_SUITE)
    _same("raw_upload", pa.table({"row_number": pa.array([1, 2, 3], pa.int64())}), RAW_UPLOAD_SUITE)
    _same("standardised_contacts", _standardised([None] * 4, [1, 2, 3, 4]), STANDARDISED_SUITE)
    _same("standardised_contacts", _standardised([], []), STANDARDISED_SUITE)
    _same("standardised_contacts", _standardised(["FR", "FR", "x", None], [7, 7, 7, None]), STANDARDISED_SUITE)
    columns = ["row_number", *CANONICAL_FIELDS]
    full = pa.table({c: pa.array([1, 2, 3], pa.int64()) if c == "row_number" else pa.array(["a", None, "b"]) for c in columns})
    _same("validated_rows", full, VALIDATED_ROWS_SUITE)
    _same("validated_rows", full.drop_columns([columns[-1]]), VALIDATED_ROWS_SUITE)
    _same("validated_rows", full.append_column("extra", pa.array(["x", "y", "z"])), VALIDATED_ROWS_SUITE)
    _same("validated_rows", full.slice(0, 0), VALIDATED_ROWS_SUITE)


def test_the_pipeline_files_suites_match_gx(french_export):
    from pipelines.reader import parse_contact_bytes, source_info
    from pipelines.standardise import standardise
    from pipelines.validate import split_rows

    path, _, _ = french_export
    raw = parse_contact_bytes(path.read_bytes())
    validated, _ = split_rows(raw, source_info(raw))
    standardised = standardise(validated)
    _same("raw_upload", raw.select(["row_number"]), RAW_UPLOAD_SUITE)
    _same("validated_rows", validated, VALIDATED_ROWS_SUITE)
    columns = ["row_number", "phone_e164", "email", "country", "linkedin_url", "date_of_birth"]
    _same("standardised_contacts", standardised.select(columns), STANDARDISED_SUITE)


def test_what_is_not_translated_goes_to_gx():
    assert python_regex_as_re2(r"^\d+$") is None
    assert python_regex_as_re2(r"^a.b$") is None
    table = pa.table({"x": ["12", "a", None]})
    suite = [("ExpectColumnValuesToMatchRegex", {"column": "x", "regex": r"^\d+$"}),
             ("ExpectColumnValueLengthsToBeBetween", {"column": "x", "min_value": 1, "max_value": 1})]
    _same("other", table, suite)


def test_checks_keep_their_keys_blocking_flags_and_descriptions():
    from assets.checks import ALL_CHECKS

    specs = {s.name: (s.asset_key.to_user_string(), s.blocking, bool(s.description)) for c in ALL_CHECKS for s in c.check_specs}
    assert specs == {
        "raw_upload_expectations": ("raw_upload", True, True),
        "validated_rows_expectations": ("validated_rows", True, True),
        "quarantine_rate": ("quarantined_rows", False, True),
        "standardised_expectations": ("standardised_contacts", True, True),
    }


def test_suites_read_only_the_columns_they_name_from_a_parquet_file(tmp_path):
    import pyarrow.parquet as pq

    table = _standardised(TRICKY, list(range(1, len(TRICKY) + 1))).append_column("other", pa.array(TRICKY))
    pq.write_table(table, tmp_path / "t.parquet")
    lazy = run_suite_arrow("standardised_contacts", pq.ParquetFile(tmp_path / "t.parquet"), STANDARDISED_SUITE)
    assert lazy == run_suite("standardised_contacts", table.to_pandas(), STANDARDISED_SUITE)
    columns = ["row_number", *CANONICAL_FIELDS]
    full = pa.table({c: pa.array([1, 2, 2], pa.int64()) if c == "row_number" else pa.array(["a", None, "b"]) for c in columns})
    pq.write_table(full, tmp_path / "v.parquet")
    lazy = run_suite_arrow("validated_rows", pq.ParquetFile(tmp_path / "v.parquet"), VALIDATED_ROWS_SUITE)
    assert lazy == run_suite("validated_rows", full.to_pandas(), VALIDATED_ROWS_SUITE)
