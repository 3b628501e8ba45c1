"""Countries: ISO 3166-1 alpha-2 from codes or names typed in five+ languages."""

from __future__ import annotations

from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._data import load_csv
from pipelines.fields._text import matching_key, matching_key_py
from pipelines.fields._vector import ArrayLike

__all__ = ["standardise_countries"]

_NAME_COLUMNS = ("name_en", "name_fr", "name_de", "name_es", "name_it", "name_nl", "name_pt")


@cache
def _lookup() -> tuple[pa.Array, pa.Array]:
    """(matching keys, alpha-2 codes). Codes win over names, names over aliases."""
    rows = load_csv("countries.csv")
    mapping: dict[str, str] = {}
    for columns in (("alpha2",), ("alpha3",), _NAME_COLUMNS):
        for row in rows:
            for column in columns:
                mapping.setdefault(matching_key_py(row[column]), row["alpha2"])
    for row in rows:
        for alias in filter(None, row["aliases"].split(";")):
            mapping.setdefault(matching_key_py(alias), row["alpha2"])
    mapping.pop("", None)
    return pa.array(list(mapping)), pa.array(list(mapping.values()))


def standardise_countries(values: ArrayLike) -> pa.Array:
    """"France", "FRA", "fr", "Allemagne", "Royaume-Uni", "UK" -> "FR", "FR", "FR", "DE", "GB", "GB".

    Fully vectorised: the value's accent-free, punctuation-free key is looked up
    in the bundled table (pipelines/data/countries.csv). Unknown -> null.
    """
    keys, codes = _lookup()
    position = pc.index_in(matching_key(values), value_set=keys)
    return pc.take(codes, position)
