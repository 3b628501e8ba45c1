"""Vectorised reading of phone numbers already typed in a clean shape, with phonenumbers' own metadata.

Nearly every number of a contact list is distinct, so calling phonenumbers once per distinct value
(`_vector.map_unique_rows`) is still one Python call per row: about 60 µs each, most of the
standardisation stage. Most numbers, though, arrive in one of two plain shapes:

* national: the region's trunk prefix then the number, digits only ("0612345678" in FR), or just
  the digits where the region has no trunk prefix ("912345678" in ES, "0612345678" in IT);
* international: "+<country code><national number>", digits only ("+33612345678").

For those, `phonenumbers.parse` + `number_type` come down to: take the national significant number,
check it against the region's general pattern and possible lengths, then against each number-type
pattern in phonenumbers' order. This module does exactly that over whole Arrow columns with RE2, on
the same metadata (the patterns are regular expressions without back-references, so RE2 and Python's
`re` accept the same strings). It only *claims* a row when its reading is certain to be the one
phonenumbers gives: the row's region (or the number's country code) belongs to a region whose
metadata has no quirk this module does not reproduce (international prefix other than "00", trunk
prefixes with carrier codes or transform rules, country codes shared with regions told apart by
leading digits), and the number is valid. Everything else (invalid numbers, other shapes,
other regions) goes to phonenumbers as before. tests/test_fields_phones_fast.py checks the two
agree on real-world shapes of every supported region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

STRING = pa.string()

# phonenumbers' number types in the order `_number_type_helper` tests them, and our labels
# (phones._TYPES; every other type is "other").
_ORDERED_TYPES = (
    ("premium_rate", "other"),
    ("toll_free", "toll_free"),
    ("shared_cost", "other"),
    ("voip", "voip"),
    ("personal_number", "other"),
    ("pager", "other"),
    ("uan", "other"),
    ("voicemail", "other"),
)
_LABELS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline_or_mobile",
}


@dataclass(frozen=True)
class _Region:
    code: str
    country_code: int
    trunk_zero: bool  # national numbers are written with a leading "0" that parsing strips
    trunk_pattern: str | None  # national_prefix_for_parsing, to keep "+33 0..." for phonenumbers


def _re2_ok(pattern: str) -> bool:
    try:
        pc.match_substring_regex(pa.array(["0"]), "^(?:" + pattern + ")$")
    except pa.ArrowInvalid:
        return False
    return True


@cache
def _eligible_regions() -> dict[str, _Region]:
    """Regions whose parsing this module reproduces exactly (see the module docstring)."""
    out = {}
    for code in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = PhoneMetadata.metadata_for_region(code)
        if meta is None or meta.country_code is None:
            continue
        regions = COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ())
        # The number's region must be this one without looking at leading digits.
        if not regions or regions[0] != code or meta.leading_digits is not None:
            continue
        if meta.international_prefix != "00" or meta.national_prefix_transform_rule:
            continue
        trunk = meta.national_prefix_for_parsing
        if trunk is not None and (meta.national_prefix != "0" or re.match(trunk, "0") is None
                                  or re.match(trunk, "0").group(0) != "0" or "(" in trunk):
            continue  # carrier codes or other trunk prefixes: phonenumbers decides
        descs = [meta.general_desc, meta.fixed_line, meta.mobile] + [getattr(meta, t) for t, _ in _ORDERED_TYPES]
        if any(d is not None and d.national_number_pattern and not _re2_ok(d.national_number_pattern) for d in descs):
            continue
        out[code] = _Region(code, meta.country_code, trunk is not None, trunk)
    return out


def _matches(nsn: pa.Array, desc) -> pa.Array:
    """`phonenumberutil._is_number_matching_desc`, vectorised (False where nsn is null)."""
    if desc is None or not desc.national_number_pattern:
        return pa.array([False] * len(nsn), pa.bool_())
    ok = pc.match_substring_regex(nsn, "^(?:" + desc.national_number_pattern + ")$")
    lengths = [n for n in desc.possible_length if n > 0]
    if desc.possible_length:
        ok = pc.and_(ok, pc.is_in(pc.utf8_length(nsn), value_set=pa.array(lengths or [-1], pa.int32())))
    return ok.fill_null(False)


def _type_labels(nsn: pa.Array, region: str) -> pa.Array:
    """Our type label for national significant numbers of `region`; null where phonenumbers
    would say UNKNOWN (not a valid number)."""
    meta = PhoneMetadata.metadata_for_region(region)
    none = pa.scalar(None, STRING)
    fixed = _matches(nsn, meta.fixed_line)
    mobile = _matches(nsn, meta.mobile)
    if meta.same_mobile_and_fixed_line_pattern:
        label = pc.if_else(fixed, pa.scalar(_LABELS[PhoneNumberType.FIXED_LINE_OR_MOBILE]), none)
    else:
        label = pc.if_else(
            fixed,
            pc.if_else(mobile, pa.scalar(_LABELS[PhoneNumberType.FIXED_LINE_OR_MOBILE]),
                       pa.scalar(_LABELS[PhoneNumberType.FIXED_LINE])),
            pc.if_else(mobile, pa.scalar(_LABELS[PhoneNumberType.MOBILE]), none),
        )
    # Tested before fixed line and mobile, so applied last here (the first match wins).
    for attr, name in reversed(_ORDERED_TYPES):
        label = pc.if_else(_matches(nsn, getattr(meta, attr)), pa.scalar(name), label)
    return pc.if_else(_matches(nsn, meta.general_desc), label, none)


def fast_phones(values: pa.Array, regions: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(E.164, type, country) for the numbers this module can read exactly, null elsewhere.

    `values` are compact cells as `phones.standardise_phones` prepares them (separators removed);
    `regions` the parsing region of each row (valid region codes, never null).
    """
    eligible = _eligible_regions()
    n = len(values)
    none = pa.nulls(n, STRING)
    if n == 0:
        return none, none, none
    plus = pc.match_substring_regex(values, r"^\+[1-9][0-9]{3,16}$").fill_null(False)
    digits = pc.match_substring_regex(values, r"^[0-9]{4,17}$").fill_null(False)

    # International shape: the country code is the 1-3 digit prefix that is one (they are prefix-free).
    country_of_code = {str(r.country_code): r.code for r in eligible.values()}
    all_codes = {str(c) for c in COUNTRY_CODE_TO_REGION_CODE}
    region_intl = none
    nsn_intl = none
    for width in (1, 2, 3):
        head = pc.utf8_slice_codeunits(values, 1, 1 + width)
        hit = pc.and_(plus, pc.is_in(head, value_set=pa.array(sorted(all_codes), STRING)).fill_null(False))
        hit = pc.and_(hit, pc.is_null(nsn_intl))
        keys = pa.array(sorted(country_of_code), STRING)
        main = pc.take(pa.array([country_of_code[k] for k in keys.to_pylist()], STRING), pc.index_in(head, value_set=keys))
        region_intl = pc.if_else(hit, main, region_intl)  # null for codes of non-eligible regions
        nsn_intl = pc.if_else(hit, pc.utf8_slice_codeunits(values, 1 + width), nsn_intl)

    # National shape, read in the row's own region.
    row_region = pc.if_else(digits, regions, pa.scalar(None, STRING))
    zero_regions = pa.array(sorted(c for c, r in eligible.items() if r.trunk_zero), STRING)
    bare_regions = pa.array(sorted(c for c, r in eligible.items() if not r.trunk_zero), STRING)
    uses_zero = pc.is_in(row_region, value_set=zero_regions).fill_null(False)
    bare = pc.is_in(row_region, value_set=bare_regions).fill_null(False)
    # "0612345678" in FR -> "612345678"; "00..." is an international call prefix: not ours.
    zero_ok = pc.and_(uses_zero, pc.match_substring_regex(values, r"^0[1-9]").fill_null(False))
    bare_ok = pc.and_(bare, pc.invert(pc.starts_with(values, "00").fill_null(True)))
    nsn_nat = pc.if_else(zero_ok, pc.utf8_slice_codeunits(values, 1), pc.if_else(bare_ok, values, none))
    region_nat = pc.if_else(pc.or_(zero_ok, bare_ok), row_region, none)

    region = pc.coalesce(region_intl, region_nat)
    nsn = pc.if_else(pc.is_valid(region_intl), nsn_intl, nsn_nat)

    # Each region's patterns run over that region's rows only.
    has_region = pc.is_valid(region)
    if not pc.any(has_region).as_py():
        return none, none, none
    positions, labels, numbers = [], [], []
    for code in pc.unique(region.drop_null()).to_pylist():
        info = eligible[code]
        idx = pc.indices_nonzero(pc.equal(region, code).fill_null(False))
        sub = nsn.take(idx)
        if info.trunk_pattern is not None:
            # "+33 0612..." would have its trunk zero stripped by phonenumbers: leave it to it.
            trunk = pc.match_substring_regex(sub, "^(?:" + info.trunk_pattern + ")").fill_null(False)
            sub = pc.if_else(pc.and_(trunk, pc.is_valid(region_intl.take(idx))), pa.scalar(None, STRING), sub)
        sub_label = _type_labels(sub, code)
        positions.append(idx)
        labels.append(sub_label)
        numbers.append(pc.if_else(pc.is_valid(sub_label), pc.binary_join_element_wise(f"+{info.country_code}", sub, ""),
                                  pa.scalar(None, STRING)))
    # Back to row order: every row with a region is in exactly one group.
    order = pc.sort_indices(pa.concat_arrays(positions))
    label = pc.replace_with_mask(none, has_region, pa.concat_arrays(labels).take(order))
    e164 = pc.replace_with_mask(none, has_region, pa.concat_arrays(numbers).take(order))
    country = pc.if_else(pc.is_valid(e164), region, pa.scalar(None, STRING))
    return e164, label, country
