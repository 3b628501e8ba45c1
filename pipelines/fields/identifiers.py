"""Company identifiers: French SIREN/SIRET and VAT numbers, validated and formatted with python-stdnum.

Output formats are chosen so Excel cannot mangle them: SIREN "552 008 443" and SIRET
"732 829 320 00074" (spaced, as INSEE prints them; a bare 14-digit cell would turn into
7.32829E+13), VAT numbers compact with their country prefix ("FR40303265045"), Swiss ones as
"CHE-116.281.710 MWST". `compact_ids` gives the digits-only keys used for joins.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pyarrow as pa
import pyarrow.compute as pc
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.gb import vat as gb_vat

from pipelines.fields._text import clean_text
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique_many, map_unique_rows

__all__ = ["compact_ids", "reconcile_siren", "standardise_siren", "standardise_siret", "standardise_vat"]

STRING = pa.string()
# Excel turns long numeric cells into "5.52008443E+8" or "55200844300017.0".
_SCIENTIFIC = re.compile(r"^(\d+)(?:[.,](\d+))?e\+?(\d+)$", re.IGNORECASE)
_FLOAT = re.compile(r"^(\d+)[.,]0+$")
_SEPARATORS = re.compile(r"[\s.\-/_\u00a0\u202f]+")
# Labels typed into the cell: "SIRET : 732 829 320 00074", "N° TVA FR40...".
_LABEL = re.compile(r"^(?:n[°o]?\.?\s*)?(?:siren|siret|tva(?:\s*intra\w*)?|vat(?:\s*(?:no|number|id))?|ust-?id(?:nr)?)\s*[:#]?\s*",
                    re.IGNORECASE)
_EU_STATES = frozenset(c.upper() for c in eu_vat.MEMBER_STATES) | {"EL"}


def _digits(value: str) -> str:
    value = _LABEL.sub("", value.strip())
    match = _SCIENTIFIC.match(value.replace(" ", ""))
    if match:
        try:
            number = Decimal(f"{match[1]}.{match[2] or '0'}e{match[3]}")
            if number == number.to_integral_value():
                value = str(int(number))
        except InvalidOperation:
            pass
    float_match = _FLOAT.match(value)
    if float_match:
        value = float_match[1]
    return _SEPARATORS.sub("", value)


def _siren_py(value: str) -> tuple[str | None, str | None]:
    digits = _digits(value)
    if len(digits) == 14 and fr_siret.is_valid(digits):  # a SIRET typed in the SIREN column
        return fr_siren.format(digits[:9]), None
    if not fr_siren.is_valid(digits):
        return None, value
    return fr_siren.format(digits), None


def _siret_py(value: str) -> tuple[str | None, str | None]:
    digits = _digits(value)
    if not fr_siret.is_valid(digits):
        return None, value
    return fr_siret.format(digits), None


def _vat_py(value: str, country: str | None) -> tuple[str | None, str | None]:
    text = _LABEL.sub("", value.strip())
    compact = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    if compact[:2].isdigit() and country and country.upper() in _EU_STATES | {"GB", "CH"}:
        compact = ("EL" if country.upper() == "GR" else country.upper()) + compact  # prefix forgotten
    prefix = compact[:2]
    try:
        if prefix == "GB":
            return "GB" + gb_vat.validate(compact), None
        if prefix == "CH":
            return ch_vat.format(ch_vat.validate(compact)), None
        if prefix in _EU_STATES:
            return eu_vat.validate(compact), None
    except ValidationError:
        return None, value
    return None, value


def _with_note(values: pa.Array, invalid: pa.Array, label: str) -> pa.Array:
    return pc.if_else(
        pc.is_valid(invalid), pc.binary_join_element_wise(f"invalid {label}: ", invalid, ""), pa.scalar(None, STRING)
    )


def standardise_siren(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """(SIREN "552 008 443", note for values that are not a valid SIREN). A SIRET gives its SIREN."""
    siren, invalid = map_unique_many(clean_text(values), _siren_py, (STRING, STRING))
    return siren, _with_note(siren, invalid, "SIREN")


def standardise_siret(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """(SIRET "732 829 320 00074", note for invalid values). Luhn, La Poste's exception included."""
    siret, invalid = map_unique_many(clean_text(values), _siret_py, (STRING, STRING))
    return siret, _with_note(siret, invalid, "SIRET")


def standardise_vat(values: ArrayLike, countries: ArrayLike | None = None) -> tuple[pa.Array, pa.Array]:
    """(VAT number "FR40303265045", note for invalid values). EU member states, GB and CH; a number
    typed without its country prefix takes the row's country."""
    arr = clean_text(values)
    regions = as_string_array(countries) if countries is not None else pa.nulls(len(arr), STRING)
    vat, invalid = map_unique_rows((arr, regions), _vat_py, (STRING, STRING))
    return vat, _with_note(vat, invalid, "VAT number")


def compact_ids(values: ArrayLike) -> pa.Array:
    """Join key: "552 008 443" -> "552008443", "CHE-116.281.710 MWST" -> "CHE116281710MWST"."""
    return pc.replace_substring_regex(as_string_array(values), r"[^0-9A-Za-z]", "")


def reconcile_siren(siren: pa.Array, siret: pa.Array, vat: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(SIREN filled from the SIRET or the French VAT number when missing, note when they disagree).

    Both are exact derivations: a SIRET starts with its SIREN, a French VAT number ends with it.
    """
    from_siret = pc.utf8_slice_codeunits(siret, 0, 11)  # "732 829 320"
    vat_s = as_string_array(vat)
    is_fr = pc.starts_with(pc.fill_null(vat_s, ""), "FR")
    vat_digits = pc.utf8_slice_codeunits(vat_s, 4, 13)
    from_vat = pc.if_else(
        pc.and_(is_fr, pc.match_substring_regex(pc.fill_null(vat_digits, ""), r"^\d{9}$")),
        pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(vat_digits, 0, 3), pc.utf8_slice_codeunits(vat_digits, 3, 6),
            pc.utf8_slice_codeunits(vat_digits, 6, 9), " ",
        ),
        pa.scalar(None, STRING),
    )
    derived = pc.coalesce(from_siret, from_vat)
    disagree = pc.and_kleene(
        pc.is_valid(siren), pc.and_kleene(pc.is_valid(derived), pc.not_equal(siren, derived))
    ).fill_null(False)
    note = pc.if_else(disagree, pa.scalar("SIREN does not match the SIRET or VAT number"), pa.scalar(None, STRING))
    return pc.coalesce(siren, derived), note
