"""Dates of birth: ISO 8601 (`1956-09-09`) from what CRMs and spreadsheets write, column-wise.

Read: ISO (`1956-09-09`, `1956-09-09T00:00:00` from an XLSX cell, `1956/09/09`), compact
`19560909` (or `09091956` when that is the only valid reading), numeric `09/12/1956`, `9-12-56`,
dotted `9.12.1956` (always day first), month names in French, English, German, Spanish and
Italian (`9 sept. 1956`, `September 9, 1956`, `9. September 1956`, `9 de septiembre de 1956`),
and Excel serial numbers (`20707`, days since 1899-12-30, as a sheet saved as CSV gives them).

Day/month order is decided once per file (`infer_day_first`): a first number above 12 proves
day-first, a second number above 12 proves month-first; with no proof either way, the default
country's habit (month first only in the US). A file that proves both leaves its ambiguous
dates (both numbers 12 or below) unread: they go to the notes as sent, never guessed.

A date that is not a real calendar day, lies in the future or before 1900, or is only a year,
is not a date of birth: null here, and the caller notes the value as sent.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._data import load_yaml
from pipelines.fields._text import clean_text
from pipelines.fields._vector import ArrayLike, map_distinct_arrays

__all__ = ["infer_day_first", "standardise_dates_of_birth"]

STRING = pa.string()
EARLIEST_YEAR = 1900
# Excel's day 0 is 1899-12-30 (its 1900 leap-year bug included); 25569 is 1970-01-01.
EXCEL_EPOCH_OFFSET = 25569
# Serial numbers read as dates: 1900-01-01 (1) would be a year typed alone below 10000, so only
# five-digit serials (1927-05-18 onwards) are read.
_SERIAL = r"^(?P<n>[1-9][0-9]{4})(?:[.,]0+)?$"
_ISO = r"^(?P<y>[12][0-9]{3})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})(?:[t ][0-9:.]+(?:z|[+-][0-9:]+)?)?$"
_COMPACT = r"^(?P<a>[0-9]{4})(?P<b>[0-9]{2})(?P<c>[0-9]{2})$"
# Two numbers then a year, separated by / or - (a dot means day first, below).
_NUMERIC = r"^(?P<p>[0-9]{1,2})[/-](?P<q>[0-9]{1,2})[/-](?P<y>[0-9]{2}|[0-9]{4})(?:[t ][0-9:.]+)?$"
_DOTTED = r"^(?P<d>[0-9]{1,2})\. ?(?P<m>[0-9]{1,2})\. ?(?P<y>[0-9]{2}|[0-9]{4})$"
# "9 sept. 1956", "9. September 1956", "9 de septiembre de 1956", "1er mars 1956".
_DAY_MONTH = r"^(?P<d>[0-9]{1,2})(?:er|st|nd|rd|th|º|°)?\.? (?:de )?(?P<mon>[a-z]+)\.?,? (?:de )?(?P<y>[0-9]{4})$"
# "September 9, 1956", "Sep 9 1956".
_MONTH_DAY = r"^(?P<mon>[a-z]+)\.? (?P<d>[0-9]{1,2})(?:st|nd|rd|th)?,? (?P<y>[0-9]{4})$"


@cache
def _months() -> tuple[pa.Array, pa.Array]:
    """(month words, month numbers) from pipelines/data/months.yaml, accent-free and lower-case."""
    words, numbers = [], []
    for number, names in load_yaml("months.yaml").items():
        for name in names:
            words.append(name)
            numbers.append(int(number))
    return pa.array(words, STRING), pa.array(numbers, pa.int32())


def _prepare(values: ArrayLike) -> pa.Array:
    """Trimmed, lower-case, accent-free text with single spaces."""
    text = pc.utf8_lower(clean_text(values))
    text = pc.utf8_normalize(text, form="NFKD")
    return pc.replace_substring_regex(text, r"\p{M}+", "")


def _field(parts: pa.StructArray, name: str) -> pa.Array:
    return pc.struct_field(parts, [parts.type.get_field_index(name)])


def _int(values: pa.Array) -> pa.Array:
    return pc.cast(pc.if_else(pc.equal(values, ""), pa.scalar(None, STRING), values), pa.int32())


def _full_year(year: pa.Array, text: pa.Array, today: dt.date) -> pa.Array:
    """Two-digit years of birth: the latest century that is not in the future (56 -> 1956, 05 -> 2005)."""
    two = pc.equal(pc.utf8_length(text), 2)
    century = pc.if_else(pc.greater(year, today.year % 100), 1900, 2000)
    return pc.if_else(two, pc.add(year, century), year)


def _numeric_parts(text: pa.Array, today: dt.date) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(first number, second number, year) of `dd/mm/yyyy`-like values, null elsewhere."""
    parts = pc.extract_regex(text, _NUMERIC)
    year = _full_year(_int(_field(parts, "y")), _field(parts, "y"), today)
    return _int(_field(parts, "p")), _int(_field(parts, "q")), year


def infer_day_first(values: ArrayLike, default_country: str = "FR") -> bool | None:
    """Whether the file's `a/b/yyyy` dates are day first: True, False, or None when the file
    holds proof of both orders (its ambiguous dates are then not read)."""
    p, q, _ = _numeric_parts(_prepare(values), dt.date.today())
    day_first = pc.sum(pc.and_(pc.greater(p, 12), pc.less_equal(q, 12))).as_py() or 0
    month_first = pc.sum(pc.and_(pc.greater(q, 12), pc.less_equal(p, 12))).as_py() or 0
    if day_first and month_first:
        return None
    if day_first or month_first:
        return bool(day_first)
    return default_country.upper() != "US"


def _iso(year: pa.Array, month: pa.Array, day: pa.Array, today: dt.date) -> pa.Array:
    """'YYYY-MM-DD' for real calendar days from 1900 to today, null otherwise."""
    def pad(values: pa.Array, width: int) -> pa.Array:
        return pc.utf8_lpad(pc.cast(values, STRING), width, "0")

    text = pc.binary_join_element_wise(pad(year, 4), pad(month, 2), pad(day, 2), "-")
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    as_date = pc.cast(parsed, pa.date32())
    # strptime refuses month 13 but rolls 1956-02-31 over to March: only days that read back as
    # written are real.
    plausible = pc.and_(pc.equal(pc.cast(as_date, STRING), text), pc.and_(
        pc.greater_equal(as_date, pa.scalar(dt.date(EARLIEST_YEAR, 1, 1))), pc.less_equal(as_date, pa.scalar(today))
    ))
    return pc.if_else(plausible.fill_null(False), pc.cast(as_date, STRING), pa.scalar(None, STRING))


def standardise_dates_of_birth(
    values: ArrayLike, day_first: bool | None = None, default_country: str = "FR", today: dt.date | None = None
) -> pa.Array:
    """ISO dates of birth ('1956-09-09'); null where the value is no plausible date of birth.

    day_first: the file's order for `a/b/yyyy` dates; inferred from the values when not given."""
    today = today or dt.date.today()
    # Each distinct value once (a file repeats its dates of birth); the order is proven by any
    # one value, so the distinct values decide it as the rows would.
    text = _prepare(values)
    if day_first is None:
        day_first = infer_day_first(pc.unique(text), default_country)
    return map_distinct_arrays(text, lambda distinct: (_parse(distinct, day_first, today),))[0]


def _parse(text: pa.Array, day_first: bool | None, today: dt.date) -> pa.Array:
    candidates: list[pa.Array] = []

    iso = pc.extract_regex(text, _ISO)
    candidates.append(_iso(_int(_field(iso, "y")), _int(_field(iso, "m")), _int(_field(iso, "d")), today))

    compact = pc.extract_regex(text, _COMPACT)
    a, b, c = (_field(compact, n) for n in ("a", "b", "c"))
    candidates.append(_iso(_int(a), _int(b), _int(c), today))  # 19560909
    # 09091956 (12091956 in a month-first file): only where the year-first reading failed.
    first, second = _int(pc.utf8_slice_codeunits(a, 0, 2)), _int(pc.utf8_slice_codeunits(a, 2, 4))
    compact_year = _int(pc.binary_join_element_wise(b, c, ""))
    if day_first is not False:
        candidates.append(_iso(compact_year, second, first, today))
    else:
        candidates.append(_iso(compact_year, first, second, today))

    p, q, year = _numeric_parts(text, today)
    if day_first is not None:
        candidates.append(_iso(year, q, p, today) if day_first else _iso(year, p, q, today))
    else:  # both orders proven in this file: only dates that read one way are read
        one_way = pc.if_else(pc.greater(q, 12), _iso(year, p, q, today), pa.scalar(None, STRING))
        candidates.append(pc.if_else(pc.greater(p, 12), _iso(year, q, p, today), one_way))

    dotted = pc.extract_regex(text, _DOTTED)
    dotted_year = _full_year(_int(_field(dotted, "y")), _field(dotted, "y"), today)
    candidates.append(_iso(dotted_year, _int(_field(dotted, "m")), _int(_field(dotted, "d")), today))

    words, numbers = _months()
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        named = pc.extract_regex(text, pattern)
        month = pc.take(numbers, pc.index_in(_field(named, "mon"), value_set=words))
        candidates.append(_iso(_int(_field(named, "y")), month, _int(_field(named, "d")), today))

    serial = pc.extract_regex(text, _SERIAL)
    days = pc.subtract(pc.cast(_int(pc.struct_field(serial, [0])), pa.int64()), EXCEL_EPOCH_OFFSET)
    serial_date = pc.cast(pc.cast(days, pa.int32()), pa.date32())
    in_range = pc.and_(
        pc.greater_equal(serial_date, pa.scalar(dt.date(EARLIEST_YEAR, 1, 1))), pc.less_equal(serial_date, pa.scalar(today))
    )
    candidates.append(pc.if_else(in_range, pc.cast(serial_date, STRING), pa.scalar(None, STRING)))
    return pc.coalesce(*candidates)
