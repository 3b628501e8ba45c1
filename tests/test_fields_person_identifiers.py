"""The client's own ids and national person numbers (pipelines/fields/person_identifiers.py)."""

import pyarrow as pa

from pipelines.fields.person_identifiers import standardise_client_ids, standardise_national_ids


def test_client_ids_kept_as_the_client_wrote_them():
    assert standardise_client_ids(pa.array([" C-00042 ", "12345.0", "007", None, "  "])).to_pylist() == [
        "C-00042", "12345", "007", None, None]


def test_national_ids_checked_where_the_country_has_a_validator():
    ids, notes = standardise_national_ids(
        pa.array(["6988048", "2 95 10 99 126 111 93", "1 95 10 99 126 111 93", "536-90-5000", "12"]),
        pa.array([None, "FR", "FR", "US", None]),
    )
    assert ids.to_pylist() == ["6988048", "295109912611193", None, "536905000", None]
    assert notes.to_pylist() == [None, None, "invalid national id: 1 95 10 99 126 111 93", None,
                                 "invalid national id: 12"]
