"""Postcodes, per country, column-wise: `sw1a1aa` -> `SW1A 1AA`, `F-75001` -> `75001`, `1234ab` -> `1234 AB`.

Formats are data (pipelines/data/postcodes.yaml). A row's country is its own `country` when the
client sent one, else the file's default country, but only when most of the file's postcodes
without a country fit that country's format (a list of Australian 4-digit postcodes is not read
as French postcodes with a lost zero). Postcodes of a country with no format here, or of no
country, are only tidied (upper-case, single spaces) when they look like a postcode.

Spreadsheets drop leading zeros (06000 Nice -> 6000): a value one zero short of an all-digit
format (FR, DE, ES, IT, US, FI, AU...) gets it back, with a note saying so, because no postcode of
that country is written with fewer digits: the zero is the only reading, not a guess. Anything
else that does not fit the country's format is left out of `postcode` and noted as sent.
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._data import load_yaml
from pipelines.fields._text import clean_text
from pipelines.fields._vector import ArrayLike, as_string_array

__all__ = ["standardise_postcodes"]

STRING = pa.string()
# A postcode of a country without a format here: letters and digits, at least one digit.
_GENERIC = r"^[A-Z0-9]{2,10}( [A-Z0-9]{1,5})?$"
# Share of a file's postcodes without a country that must fit the default country's format
# for the default to apply to them.
DEFAULT_COUNTRY_FIT = 0.5


@cache
def formats() -> dict[str, dict]:
    return load_yaml("postcodes.yaml")


def _compact(values: pa.Array) -> pa.Array:
    text = pc.utf8_upper(clean_text(values))
    text = pc.replace_substring_regex(text, r"[.,]0+$", "")  # 6000.0 from a spreadsheet
    return pc.replace_substring_regex(text, r"[\s.\-/]+", "")


def _fits(compact: pa.Array, country: str) -> pa.Array:
    return pc.match_substring_regex(compact, formats()[country]["pattern"])


def _effective_countries(compact: pa.Array, countries: pa.Array, default_country: str | None) -> pa.Array:
    """The row's country, else the default when the file's country-less postcodes fit it."""
    if not default_country or default_country not in formats():
        return countries
    without = pc.and_(pc.is_null(countries), pc.is_valid(compact))
    total = pc.sum(without).as_py() or 0
    if not total:
        return countries
    fitting = pc.sum(pc.and_(without, _fits(compact, default_country))).as_py() or 0
    if fitting / total < DEFAULT_COUNTRY_FIT:
        return countries
    return pc.coalesce(countries, pa.scalar(default_country))


def standardise_postcodes(
    values: ArrayLike, countries: ArrayLike | None = None, default_country: str | None = None
) -> tuple[pa.Array, pa.Array]:
    """(postcode, note) per row. `countries`: ISO alpha-2 per row (the standardised country)."""
    raw = clean_text(values)
    n = len(raw)
    compact = _compact(raw)
    compact = pc.if_else(pc.equal(compact, ""), pa.scalar(None, STRING), compact)
    row_country = as_string_array(countries) if countries is not None else pa.nulls(n, STRING)
    country = _effective_countries(compact, row_country, default_country)

    # Without a known format: tidied when it looks like a postcode.
    tidy = pc.utf8_upper(raw)
    looks = pc.and_(pc.match_substring_regex(tidy, _GENERIC), pc.match_substring_regex(tidy, "[0-9]"))
    result = pc.if_else(looks, tidy, pa.scalar(None, STRING))
    repaired = pa.nulls(n, STRING)
    for code, spec in formats().items():
        mine = pc.equal(country, code).fill_null(False)
        if not pc.any(mine).as_py():
            continue
        fits = pc.and_(mine, _fits(compact, code))
        formatted = pc.replace_substring_regex(compact, spec["pattern"], spec["format"])
        formatted = pc.replace_substring_regex(formatted, r"[ \-]$", "")  # an optional group left empty
        value = pc.if_else(fits, formatted, pa.scalar(None, STRING))
        digits = spec.get("digits")
        if digits:
            short = pc.and_(pc.and_(mine, pc.invert(fits)), pc.match_substring_regex(compact, f"^[0-9]{{{digits - 1}}}$"))
            padded = pc.binary_join_element_wise("0", compact, "")
            padded_ok = pc.and_(short, _fits(padded, code))
            value = pc.if_else(padded_ok, pc.replace_substring_regex(padded, spec["pattern"], spec["format"]), value)
            repaired = pc.if_else(padded_ok, padded, repaired)
        result = pc.if_else(mine, value, result)
    note_repaired = pc.binary_join_element_wise(
        pa.scalar("postcode "), raw, pa.scalar(" read as "), repaired, pa.scalar(" (leading zero lost)"), ""
    )
    lost = pc.and_(pc.is_valid(raw), pc.is_null(result))
    note_lost = pc.binary_join_element_wise(pa.scalar("invalid postcode: "), raw, "")
    note = pc.if_else(lost, note_lost, pc.if_else(pc.is_valid(repaired), note_repaired, pa.scalar(None, STRING)))
    return result, note
