"""Identifiers of a person: the client's own (`client_id`: a CRM id, a customer or member number)
and national ones (`national_id`: social security number, NIR, codice fiscale, DNI...).

- `client_id`: the client's text, tidied (whitespace), with the `.0` a spreadsheet adds to a
  numeric cell removed (`12345.0` -> `12345`); leading zeros and case are kept, since the client
  re-imports by this id. Any non-empty value is an id: no note.
- `national_id`: compact (spaces, dots, dashes and slashes removed, upper case). Where the row's
  own country has a validator in python-stdnum (FR NIR, IT codice fiscale, ES DNI/NIE, US SSN,
  BE national number, NL BSN, DE tax id), the number must pass it; otherwise any compact value of 4 to 20 letters and digits is kept. Values
  that fail go to the notes as sent.
"""

from __future__ import annotations

import importlib

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._text import clean_text
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique_rows

__all__ = ["standardise_client_ids", "standardise_national_ids"]

STRING = pa.string()
NULL = pa.scalar(None, STRING)
# Country -> python-stdnum modules that validate a national person number there.
VALIDATORS: dict[str, tuple[str, ...]] = {
    "FR": ("stdnum.fr.nir",),
    "IT": ("stdnum.it.codicefiscale",),
    "ES": ("stdnum.es.dni", "stdnum.es.nie"),
    "US": ("stdnum.us.ssn",),
    "BE": ("stdnum.be.nn",),
    "NL": ("stdnum.nl.bsn",),
    "DE": ("stdnum.de.idnr",),
}


def standardise_client_ids(values: ArrayLike) -> pa.Array:
    """'  C-00042 ' -> 'C-00042', '12345.0' -> '12345'."""
    text = clean_text(values)
    return pc.replace_substring_regex(text, r"^([0-9]+)[.,]0+$", r"\1")


def _validate(value: str, country: str | None) -> tuple[str | None]:
    for name in VALIDATORS.get(country or "", ()):
        module = importlib.import_module(name)
        if module.is_valid(value):
            return (module.compact(value),)
    return (None,)


def standardise_national_ids(values: ArrayLike, countries: ArrayLike | None = None) -> tuple[pa.Array, pa.Array]:
    """(national id, note for values that are not one)."""
    raw = clean_text(values)
    compact = pc.utf8_upper(pc.replace_substring_regex(raw, r"[\s.\-/]+", ""))
    country = as_string_array(countries) if countries is not None else pa.nulls(len(raw), STRING)
    checked = pc.is_in(country, value_set=pa.array(list(VALIDATORS), STRING)).fill_null(False)
    generic = pc.if_else(pc.match_substring_regex(compact, r"^[A-Z0-9]{4,20}$"), compact, NULL)
    to_check = pc.if_else(checked, compact, NULL)
    (validated,) = map_unique_rows((to_check, country), _validate, (STRING,))
    national = pc.if_else(checked, validated, generic)
    bad = pc.and_(pc.is_valid(raw), pc.is_null(national))
    return national, pc.if_else(bad, pc.binary_join_element_wise(pa.scalar("invalid national id: "), raw, ""), NULL)
