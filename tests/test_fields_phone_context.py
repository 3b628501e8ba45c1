"""Phones as typed in real exports, read with the rest of the row (country, company, TLDs)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.fields.phone_context import phone_regions, split_phone_cells, standardise_phones_in_context


@pytest.mark.parametrize(
    ("raw", "first", "second"),
    [
        ("06 12 34 56 78 p.688", "06 12 34 56 78", None),
        ("+33 2 12 43 47 49 (poste 777)", "+33 2 12 43 47 49", None),
        ("0351 7915238 Durchwahl 12", "0351 7915238", None),
        ("01 10 75 29 80 / 06 44 65 85 93", "01 10 75 29 80", "06 44 65 85 93"),
        ("06 18 91 93 14\n01 72 65 05 81", "06 18 91 93 14", "01 72 65 05 81"),
        ("01 23 45 67 89 ou 06 12 34 56 78", "01 23 45 67 89", "06 12 34 56 78"),
        ("030/12345678", "030/12345678", None),  # a German area code, not two numbers
        ("02-99-47-54-37", "02-99-47-54-37", None),
    ],
)
def test_split_phone_cells(raw, first, second):
    a, b = split_phone_cells(pa.array([raw]))
    assert (a[0].as_py(), b[0].as_py()) == (first, second)


def _e164(values, regions, default="FR", fallback=None):
    out, _, _ = standardise_phones_in_context(
        pa.array(values, pa.string()), pa.array(regions, pa.string()), default, fallback or []
    )
    return out.to_pylist()


def test_excel_lost_the_plus_or_the_zero():
    assert _e164(["491719512451"], ["DE"]) == ["+491719512451"]  # not the valid national 0491...
    assert _e164(["33612345678"], ["FR"]) == ["+33612345678"]
    assert _e164(["518829174"], ["IT"]) == ["+390518829174"]  # Bologna landline lost its 0
    assert _e164(["612345678"], ["FR"]) == ["+33612345678"]


def test_rows_without_country_are_tried_in_the_files_countries():
    # A German national number in a row with no country, in a file mostly French then German.
    assert _e164(["0351 7915238"], [None], "FR", ["DE", "ES"]) == ["+493517915238"]
    # Valid in France: the default country wins.
    assert _e164(["06 12 34 56 78"], [None], "FR", ["NL"]) == ["+33612345678"]


def test_regions_from_company_and_domains():
    regions = phone_regions(
        pa.array(["DE", None, None, None, None], pa.string()),
        pa.array(["acme", "acme", None, None, None], pa.string()),
        pa.array([None, None, "mueller.de", "acme.com", None], pa.string()),
        pa.array([None, None, None, "jo@acme.co.uk", "a@startup.io"], pa.string()),
    )
    assert regions.to_pylist() == ["DE", "DE", "DE", "GB", None]
