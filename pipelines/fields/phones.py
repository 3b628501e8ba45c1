"""Phone numbers: E.164 formatting, line type and country with phonenumbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneNumberType

from pipelines.fields._phone_fast import fast_phones
from pipelines.fields._text import clean_text
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique_rows

__all__ = ["standardise_phones"]

_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll_free",
}
_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)

# Excel turns long numeric cells into "3.3612345678E+10" (also with a decimal comma).
_SCIENTIFIC = re.compile(r"^\+?(\d+)(?:[.,](\d+))?e\+?(\d+)$", re.IGNORECASE)
# "612345678.0": a numeric cell exported as float.
_FLOAT_SUFFIX = re.compile(r"^(\+?\d+)[.,]0+$")
# Extensions: phonenumbers understands "ext."/"x" but not the French "poste".
_EXTENSION = re.compile(
    r"\s*(?:poste|post|ext(?:ension)?|extn|durchwahl|dw|interno|int|x|#)\.?\s*:?\s*\d{1,6}\s*$",
    re.IGNORECASE,
)
# "+33 (0)6 ..": the trunk prefix in brackets after a country code.
_BRACKETED_TRUNK = re.compile(r"^(\(?\+\d{1,3}\)?)\s*\(0\)")


def _expand_scientific(value: str) -> str:
    match = _SCIENTIFIC.match(value.replace(" ", ""))
    if not match:
        return value
    try:
        number = Decimal(f"{match[1]}.{match[2] or '0'}e{match[3]}")
    except InvalidOperation:
        return value
    return str(int(number)) if number == number.to_integral_value() else value


def _candidates(value: str, region: str) -> list[str]:
    """Readings of the typed value to try, most likely first."""
    value = _expand_scientific(value.strip())
    float_match = _FLOAT_SUFFIX.match(value)
    if float_match:
        value = float_match[1]
    value = _EXTENSION.sub("", value)
    value = _BRACKETED_TRUNK.sub(r"\1 ", value)
    digits = re.sub(r"[\s.\-/()]", "", value)
    candidates = [value]
    if region == "FR" and re.fullmatch(r"[1-9]\d{8}", digits):
        candidates.insert(0, "0" + digits)  # numeric column dropped the leading 0
    if digits.startswith("00"):
        candidates.append("+" + digits[2:])  # international prefix of another region
    if digits.isdigit() and len(digits) >= 10:
        candidates.append("+" + digits)  # "+" lost by a numeric column
    return candidates


def _standardise_py(value: str, region: str) -> tuple[str | None, str | None, str | None]:
    for candidate in _candidates(value, region):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        # is_valid_number() is number_type() != UNKNOWN for the number's own
        # region (same metadata walk), so one call gives both and halves the cost.
        number_type = phonenumbers.number_type(number)
        if number_type != PhoneNumberType.UNKNOWN:
            return (
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                _TYPES.get(number_type, "other"),
                phonenumbers.region_code_for_number(number),
            )
    return None, None, None


# Regions whose international call prefix is exactly "00": there phonenumbers reads "0033 6..." as
# "+33 6..." (the prefix stripped, the rest parsed as after a "+").
_IDD_00 = pa.array(sorted(r for r in _REGIONS if getattr(phonenumbers.PhoneMetadata.metadata_for_region(r),
                                                           "international_prefix", None) == "00"), pa.string())


def _first_reading(arr: pa.Array, regions: pa.Array) -> pa.Array:
    """The reading `_candidates` tries first, for the shapes the fast path can take it from:
    "+33(0)6 12..." and "(+33)(0)6..." drop the bracketed trunk zero (phonenumbers ignores the
    brackets around "+33"); nine digits in France lost their leading zero; "0033612..." in a
    region dialling abroad with "00" is what phonenumbers parses as "+33612..." (a zero after
    the "00" is not a country code: left as it is)."""
    out = pc.replace_substring_regex(arr, r"^(\(?\+[0-9]{1,3}\)?)\(0\)([0-9]+)$", r"\1\2")
    out = pc.replace_substring_regex(out, r"^\(\+([0-9]{1,3})\)([0-9]+)$", r"+\1\2")
    idd = pc.and_(pc.is_in(regions, value_set=_IDD_00), pc.match_substring_regex(out, r"^00[1-9][0-9]*$")).fill_null(False)
    out = pc.if_else(idd, pc.replace_substring_regex(out, r"^00", "+"), out)
    lost_zero = pc.and_(pc.equal(regions, "FR"), pc.match_substring_regex(arr, r"^[1-9][0-9]{8}$")).fill_null(False)
    return pc.if_else(lost_zero, pc.binary_join_element_wise(pa.scalar("0"), arr, ""), out)


def standardise_phones(
    values: ArrayLike,
    countries: ArrayLike | None,
    default_country: str = "FR",
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Return (E.164 number, phone type, ISO country of the number); all null when invalid.

    ``countries`` gives each row's parsing region (ISO alpha-2, nullable);
    rows without a usable region are parsed as ``default_country``.
    """
    arr = clean_text(values)
    # Separators do not change the number: drop them before de-duplicating so
    # "06 12 34 56 78" and "06.12.34.56.78" are parsed once. Dots are kept in
    # scientific notation, where they matter.
    arr = pc.replace_substring_regex(arr, r"^(\+?\d+)[.,]0+$", r"\1")  # float cell "612345678.0"
    scientific = pc.match_substring_regex(arr, r"(?i)\de\+?\d+$").fill_null(False)
    compact = pc.replace_substring_regex(arr, r"[\s\-/_.]+", "")
    arr = pc.if_else(scientific, arr, compact)

    if countries is None:
        regions = pa.nulls(len(arr), pa.string())
    else:
        regions = pc.utf8_upper(pc.utf8_trim_whitespace(as_string_array(countries)))
    regions = pc.if_else(
        pc.is_in(regions, value_set=pa.array(sorted(_REGIONS))).fill_null(False),
        regions,
        pa.scalar(default_country.upper() if default_country else "FR"),
    )
    # Clean shapes are read over the whole column (same result as phonenumbers, see _phone_fast);
    # only the rest costs a phonenumbers call per distinct value.
    fast_e164, fast_type, fast_country = fast_phones(_first_reading(arr, regions), regions)
    rest = pc.if_else(pc.is_valid(fast_e164), pa.scalar(None, pa.string()), arr)
    e164, phone_type, phone_country = map_unique_rows(
        (rest, regions), _standardise_py, (pa.string(), pa.string(), pa.string())
    )
    return pc.coalesce(fast_e164, e164), pc.coalesce(fast_type, phone_type), pc.coalesce(fast_country, phone_country)
