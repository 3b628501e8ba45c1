"""Whatever the client typed, the address, date and id standardisers never raise, keep row order
and length, and never lose a value: it is standardised, or its note carries it as sent."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.fields._text import clean_text
from pipelines.fields.address import (
    standardise_address_lines,
    standardise_cities,
    standardise_regions,
    standardise_street_numbers,
    standardise_streets,
)
from pipelines.fields.dates import standardise_dates_of_birth
from pipelines.fields.person_identifiers import standardise_client_ids, standardise_national_ids
from pipelines.fields.postcodes import standardise_postcodes

PIECES = st.sampled_from(list("0123456789 ,.-/'abcdeèrstuBISTERßAvRUE\t\u00a0") + [
    "rue ", "avenue ", "street", " bis", "straße", "1956", "12/09/", "-09-", "sept "])
ADDRESS_LIKE = st.lists(PIECES, max_size=12).map("".join)
CELLS = st.lists(st.one_of(st.none(), st.text(max_size=20), ADDRESS_LIKE), max_size=25)


def _kept(raw: list, value: pa.Array, note: pa.Array | None, label: str) -> None:
    sent = clean_text(pa.array(raw, pa.string())).to_pylist()
    assert len(value) == len(raw)
    for s, v, n in zip(sent, value.to_pylist(), note.to_pylist() if note is not None else [None] * len(raw)):
        if s is not None:
            assert v is not None or (n is not None and s in n), (label, s)


@settings(max_examples=150, deadline=None)
@given(CELLS, CELLS)
def test_streets_and_numbers_never_lose_a_value(streets, numbers):
    numbers = (numbers + [None] * len(streets))[: len(streets)]
    number, note = standardise_street_numbers(pa.array(numbers, pa.string()))
    _kept(numbers, number, note, "street number")
    street, found = standardise_streets(pa.array(streets, pa.string()), number)
    _kept(streets, street, found, "street")  # a street that was only a number is now in street_number
    for value in (standardise_address_lines, standardise_cities, standardise_regions, standardise_client_ids):
        _kept(streets, value(pa.array(streets, pa.string())), None, value.__name__)


@settings(max_examples=150, deadline=None)
@given(CELLS, st.lists(st.sampled_from([None, "FR", "GB", "DE", "US", "NL", "AU", "XX"]), max_size=25))
def test_postcodes_dates_and_national_ids_never_lose_a_value(cells, countries):
    countries = (countries + [None] * len(cells))[: len(cells)]
    arr, ctry = pa.array(cells, pa.string()), pa.array(countries, pa.string())
    _kept(cells, *standardise_postcodes(arr, ctry, "FR"), "postcode")
    _kept(cells, *standardise_national_ids(arr, ctry), "national id")
    dates = standardise_dates_of_birth(arr)
    assert len(dates) == len(cells)
    assert all(d is None or len(d) == 10 for d in dates.to_pylist())
