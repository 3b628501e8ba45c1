"""Phone numbers as people type them into CRMs, read with the help of the rest of the row.

`pipelines.fields.phones` parses one value against one region. What users type needs more:
extensions ("06 12 34 56 78 p.688", "(poste 12)"), two numbers in one cell, Excel cells that lost
a leading zero or the "+" (and then "491719512451" reads as a valid *German national* number,
although it is +49 171 9512451), and above all rows with no country at all, where a German
"0351 7915238" is not a French number. The region each row is parsed in comes, in order, from
its country column, the country its colleagues (same company) give, the country-code TLD of its
website or e-mail, then the default country; a number still invalid is tried in the other
countries of the file, most frequent first.
"""

from __future__ import annotations

from functools import cache

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._vector import ArrayLike, as_string_array
from pipelines.fields.phones import standardise_phones

__all__ = ["phone_regions", "standardise_phones_in_context", "split_phone_cells"]

STRING = pa.string()
_EXTENSION = (
    r"(?i)\s*[(\[]?\s*(?:poste|post|p\.|ext\.?|extension|extn|x|durchwahl|dw|app\.|int\.|interno|ramal)"
    r"\s*[:.]?\s*\d{1,6}\s*[)\]]?\s*$"
)
# Separators between two numbers in one cell; " - " needs spaces (national dashes have none).
_SECOND_NUMBER = r"(?i)\s*(?:/|;|\n|\r|\s-\s|\sou\s|\sor\s|\soder\s|\so\s|\|)\s*"
# ccTLDs that are not used as country codes by the companies behind them.
_NOT_COUNTRY_TLDS = frozenset({"io", "co", "me", "tv", "ai", "ly", "fm", "cc", "ws", "to", "gg", "sh", "ac", "eu", "uk"})
_TLD_REGION = {"uk": "GB"}


@cache
def _regions() -> frozenset[str]:
    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def split_phone_cells(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """(first number, second number): extensions dropped, "a / b" and "a\\nb" split in two."""
    arr = as_string_array(values)
    parts = pc.split_pattern_regex(arr, _SECOND_NUMBER, max_splits=1)
    has_two = pc.greater(pc.fill_null(pc.list_value_length(parts), 0), 1)
    padded = pc.if_else(has_two, parts, pa.scalar(["", ""], pa.list_(STRING)))
    first = pc.if_else(has_two, pc.list_element(padded, 0), arr)
    second = pc.if_else(has_two, pc.list_element(padded, 1), pa.scalar(None, STRING))
    # Two numbers only if both sides hold a whole number ("030/12345678" is one, "Tel / Fax" none).
    real = pc.and_(has_two, pc.and_(_enough_digits(first), _enough_digits(second)))
    first = pc.if_else(real, first, arr)
    second = pc.if_else(real, second, pa.scalar(None, STRING))
    return _drop_extension(first), _drop_extension(second)


def _drop_extension(values: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(values, _EXTENSION, "")


def _enough_digits(values: pa.Array) -> pa.Array:
    # "030/12345678" is one German number; "06 12 34 56 78 / 01 23 45 67 89" is two.
    digits = pc.replace_substring_regex(pc.fill_null(values, ""), r"\D+", "")
    return pc.greater_equal(pc.utf8_length(digits), 8)


def _tld_region(domains: pa.Array) -> pa.Array:
    tld = pc.utf8_lower(pc.struct_field(pc.extract_regex(domains, r"\.(?P<tld>[A-Za-z]{2})$"), "tld"))
    tld = pc.if_else(pc.is_in(tld, value_set=pa.array(sorted(_NOT_COUNTRY_TLDS - set(_TLD_REGION)))), pa.scalar(None, STRING), tld)
    region = pc.utf8_upper(tld)
    for src, dst in _TLD_REGION.items():
        region = pc.if_else(pc.equal(tld, src), pa.scalar(dst), region)
    return pc.if_else(pc.is_in(region, value_set=pa.array(sorted(_regions()))), region, pa.scalar(None, STRING))


def _company_countries(company_keys: pa.Array, countries: pa.Array) -> pa.Array:
    """The country most of a company's rows give, for each row of that company."""
    table = pa.table({"k": company_keys, "c": countries})
    known = table.filter(pc.and_(pc.is_valid(table["k"]), pc.is_valid(table["c"])))
    if known.num_rows == 0:
        return pa.nulls(len(company_keys), STRING)
    counts = known.group_by(["k", "c"]).aggregate([("c", "count")]).sort_by([("k", "ascending"), ("c_count", "descending")])
    best = counts.group_by("k", use_threads=False).aggregate([("c", "first")])
    position = pc.index_in(company_keys, value_set=best["k"])
    return pc.take(best["c_first"], position)


def phone_regions(
    countries: ArrayLike,
    company_keys: ArrayLike | None = None,
    website_domains: ArrayLike | None = None,
    email_domains: ArrayLike | None = None,
) -> pa.Array:
    """Parsing region per row: country, else the company's country, else the website's or
    e-mail's country-code TLD; null when nothing says (the default country applies then)."""
    countries = as_string_array(countries)
    evidence = [countries]
    if company_keys is not None:
        evidence.append(_company_countries(as_string_array(company_keys), countries))
    for domains in (website_domains, email_domains):
        if domains is not None:
            evidence.append(_tld_region(as_string_array(domains)))
    return pc.coalesce(*evidence)


def _calling_code_prefix(regions: pa.Array) -> pa.Array:
    codes = {r: str(phonenumbers.country_code_for_region(r)) for r in _regions()}
    keys = pa.array(sorted(codes))
    return pc.take(pa.array([codes[k] for k in keys.to_pylist()]), pc.index_in(regions, value_set=keys))


def _bare_digits(values: pa.Array) -> pa.Array:
    """Digits of cells holding nothing else (separators aside), as Excel numbers come out."""
    compact = pc.replace_substring_regex(values, r"[\s.\-/()\x{00A0}]+", "")
    compact = pc.replace_substring_regex(compact, r"^(\d+)[.,]0+$", r"\1")
    return pc.if_else(pc.match_substring_regex(compact, r"^[1-9]\d{5,14}$"), compact, pa.scalar(None, STRING))


def standardise_phones_in_context(
    values: ArrayLike,
    regions: ArrayLike,
    default_country: str = "FR",
    fallback_regions: list[str] | None = None,
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(E.164, type, country) like `standardise_phones`, for cells already split and stripped of
    extensions (see `split_phone_cells`), with `regions` from `phone_regions`."""
    arr = as_string_array(values)
    regions = as_string_array(regions)
    default = (default_country or "FR").upper()
    effective = pc.coalesce(regions, pa.scalar(default))
    e164, ptype, pcountry = standardise_phones(arr, effective, default)

    # Excel numbers: "+" lost ("491719512451") or leading zero lost ("518829174", "1719512451").
    digits = _bare_digits(arr)
    cc = _calling_code_prefix(effective)
    # "491719512451" in Germany is also a valid national number (0491 ...): digits starting with
    # the row's own calling code, long enough to hold one, are read as international first.
    starts_cc = _starts_with_code(digits, cc)
    long_enough = pc.greater_equal(pc.utf8_length(pc.fill_null(digits, "")), 10)
    plus = pc.binary_join_element_wise(pa.scalar("+"), digits, "")
    intl, intl_type, intl_country = standardise_phones(
        pc.if_else(pc.and_(starts_cc, long_enough), plus, pa.scalar(None, STRING)), effective, default
    )
    e164, ptype, pcountry = pc.coalesce(intl, e164), pc.coalesce(intl_type, ptype), pc.coalesce(intl_country, pcountry)

    missing = pc.is_null(e164)
    zero = pc.binary_join_element_wise(pa.scalar("0"), digits, "")
    for candidate in (zero, plus):
        retry = pc.if_else(missing, candidate, pa.scalar(None, STRING))
        r_e164, r_type, r_country = standardise_phones(retry, effective, default)
        e164, ptype, pcountry = pc.coalesce(e164, r_e164), pc.coalesce(ptype, r_type), pc.coalesce(pcountry, r_country)
        missing = pc.is_null(e164)

    # Nothing said where the row is: try the file's other countries, most frequent first.
    no_hint = pc.is_null(regions)
    for region in fallback_regions or []:
        if region == default or region not in _regions():
            continue
        retry = pc.if_else(pc.and_(missing, no_hint), arr, pa.scalar(None, STRING))
        if retry.null_count == len(retry):
            break
        r_e164, r_type, r_country = standardise_phones(retry, pa.nulls(len(arr), STRING), region)
        e164, ptype, pcountry = pc.coalesce(e164, r_e164), pc.coalesce(ptype, r_type), pc.coalesce(pcountry, r_country)
        missing = pc.is_null(e164)
    return e164, ptype, pcountry


def _starts_with_code(digits: pa.Array, codes: pa.Array) -> pa.Array:
    """Row-wise: do the digits start with the row's calling code?"""
    d = pc.fill_null(digits, "")
    c = pc.fill_null(codes, "-")
    out = pa.array([False] * len(d))
    for n in (1, 2, 3):
        same_len = pc.equal(pc.utf8_length(c), n)
        out = pc.or_(out, pc.and_(same_len, pc.equal(pc.utf8_slice_codeunits(d, 0, n), c)))
    return pc.and_(out, pc.is_valid(digits))
