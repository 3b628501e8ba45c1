"""Postal addresses, column-wise: street number, street, address line 2, city, region.

- Street numbers: `12`, `12 bis` (bis, ter, quater in lower case), `5A` (a letter suffix in
  upper case), ranges `12-14`; anything else goes to the notes as sent.
- Streets: whitespace tidied; a value typed all in capitals or all in lower case is
  capitalised (particles such as de, la, von, di stay lower case), mixed case is kept as sent;
  the street type is abbreviated one way (pipelines/data/street_types.yaml): `avenue`, `Av.` and
  `av` are all `Av`; `Hauptstraße` is `Hauptstr.`, `miller street` is `Miller St`. When the row has
  no street number, one written in the street is moved out: `12 bis rue de la Paix` gives `12 bis`
  and `rue de la Paix`, `Hauptstraße 5` gives `5` and `Hauptstr.` (a year at the end, as in
  `Rue du 8 Mai 1945`, is not a number).
- Cities and regions: tidied and capitalised the same way; regions of three letters or fewer are
  codes (`nsw` -> `NSW`). Address line 2: tidied only.

Nothing is looked up or invented: every output is the client's text, rearranged.
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._data import load_yaml
from pipelines.fields._text import clean_text, matching_key
from pipelines.fields._vector import ArrayLike, map_distinct_arrays

__all__ = [
    "standardise_address_lines",
    "standardise_cities",
    "standardise_regions",
    "standardise_street_numbers",
    "standardise_streets",
]

STRING = pa.string()
NULL = pa.scalar(None, STRING)
# Words that stay lower case inside a capitalised street or place name.
_PARTICLES = ("de", "du", "des", "la", "le", "les", "en", "sur", "sous", "aux", "au", "et", "lès", "lez",
              "d'", "l'", "di", "da", "del", "della", "dei", "degli", "delle", "von", "vom", "der", "den",
              "am", "an", "im", "zum", "zur", "y", "e", "of", "the", "and", "van")
_NUMBER = r"^(?P<n>[0-9]{1,5})(?:(?: ?(?P<word>bis|ter|quater))|(?: ?(?P<letter>[a-z])))?$"
_RANGE = r"^[0-9]{1,5} ?- ?[0-9]{1,5}$"
_LEADING_NUMBER = r"^(?P<n>[0-9]{1,5}(?: ?(?:bis|ter|quater|[A-Za-z])(?:[\s,]|$))?)[\s,]*(?P<rest>\D.*)$"
_TRAILING_NUMBER = r"^(?P<rest>.*\D)[\s,]+(?P<n>[0-9]{1,4}(?: ?[A-Za-z])?)$"


@cache
def _street_types(position: str) -> tuple[pa.Array, pa.Array]:
    """(matching keys, abbreviations) of one position's street types."""
    mapping: dict[str, str] = {}
    for abbreviation, words in load_yaml("street_types.yaml")[position].items():
        for word in words:
            key = matching_key(pa.array([word])).to_pylist()[0]
            mapping.setdefault(key, abbreviation)
    return pa.array(list(mapping), STRING), pa.array(list(mapping.values()), STRING)


def _capitalise(values: pa.Array) -> pa.Array:
    """Names typed all upper or all lower case, capitalised; particles lower case inside."""
    letters = pc.replace_substring_regex(values, r"[^\p{L}]", "")
    uniform = pc.or_(pc.equal(pc.utf8_upper(letters), letters), pc.equal(pc.utf8_lower(letters), letters))
    titled = pc.utf8_title(values)
    for particle in _PARTICLES:
        cap = particle[0].upper() + particle[1:]
        if particle.endswith("'"):
            titled = pc.replace_substring_regex(titled, f"([\\s-]){cap}", f"\\1{particle}")
        else:
            titled = pc.replace_substring_regex(titled, f"([\\s-]){cap}([\\s-])", f"\\1{particle}\\2")
    # utf8_title capitalises after an apostrophe: "L'église" -> "L'Église" is right, "O'neil" too.
    return pc.if_else(uniform.fill_null(False), titled, values)


def _number_form(values: pa.Array) -> pa.Array:
    """Street numbers in one form ('12 bis', '5A', '12-14'), null where the text is no number."""
    text = pc.utf8_lower(values)
    parts = pc.extract_regex(text, _NUMBER)
    n = pc.struct_field(parts, "n")
    word = pc.struct_field(parts, "word")
    letter = pc.utf8_upper(pc.struct_field(parts, "letter"))
    with_word = pc.binary_join_element_wise(n, word, " ")
    single = pc.if_else(pc.not_equal(word, ""), with_word, pc.binary_join_element_wise(n, letter, ""))
    ranged = pc.replace_substring_regex(text, r" ?- ?", "-")
    return pc.if_else(pc.match_substring_regex(text, _RANGE), ranged, single)


def standardise_street_numbers(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """(street number, note for values that are no street number)."""
    raw = clean_text(values)
    (number,) = map_distinct_arrays(raw, lambda distinct: (_number_form(distinct),))
    bad = pc.and_(pc.is_valid(raw), pc.is_null(number))
    return number, pc.if_else(bad, pc.binary_join_element_wise(pa.scalar("invalid street number: "), raw, ""), NULL)


def _abbreviate(street: pa.Array) -> pa.Array:
    """The street type, first word (French, Spanish, Italian) or last (English, German), abbreviated."""
    keys, abbreviations = _street_types("leading")
    first = pc.extract_regex(street, r"^(?P<w>[^\s]+?)\.?(?P<rest>\s.*)$")
    abbr = pc.take(abbreviations, pc.index_in(matching_key(pc.struct_field(first, "w")), value_set=keys))
    street = pc.if_else(pc.is_valid(abbr), pc.binary_join_element_wise(abbr, pc.struct_field(first, "rest"), ""), street)
    keys, abbreviations = _street_types("trailing")
    last = pc.extract_regex(street, r"^(?P<head>.*\s)(?P<w>[^\s]+?)\.?$")
    abbr = pc.take(abbreviations, pc.index_in(matching_key(pc.struct_field(last, "w")), value_set=keys))
    street = pc.if_else(pc.is_valid(abbr), pc.binary_join_element_wise(pc.struct_field(last, "head"), abbr, ""), street)
    # German compounds: Hauptstraße, Hauptstrasse, Hauptstr -> Hauptstr.
    return pc.replace_substring_regex(street, r"(\p{L})(?:straße|strasse|str\.?)$", r"\1str.")


def standardise_streets(values: ArrayLike, numbers: ArrayLike | None = None) -> tuple[pa.Array, pa.Array]:
    """(street, street number found in it). A number is taken out of the street only for rows
    whose `numbers` (the street-number column) is empty. Computed once per distinct street."""
    street = clean_text(values)
    with_number, without_number, found = map_distinct_arrays(street, _streets)
    if numbers is None:
        return without_number, found
    no_number = pc.is_null(clean_text(numbers))
    return pc.if_else(no_number, without_number, with_number), pc.if_else(no_number, found, NULL)


def _streets(street: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(street as it is, street without the number typed in it, that number) for distinct streets."""
    sent = street
    street = pc.utf8_trim(street, " ,;")
    as_is = _abbreviate(_capitalise(street))
    leading = pc.extract_regex(street, _LEADING_NUMBER)
    lead_n = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.struct_field(leading, "n"), r"[\s,]+$", ""))
    trailing = pc.extract_regex(street, _TRAILING_NUMBER)
    trail_n = pc.struct_field(trailing, "n")
    year = pc.match_substring_regex(trail_n, r"^(1[89]|20)[0-9]{2}$")
    trail_ok = pc.and_(pc.is_null(lead_n), pc.invert(year))
    # "12 bis" alone is a number, not number 12 in a street called "bis".
    lead_rest_ok = pc.invert(pc.match_substring_regex(pc.struct_field(leading, "rest"), r"(?i)^(bis|ter|quater|[a-z])$"))
    lead_n = pc.if_else(lead_rest_ok.fill_null(False), lead_n, NULL)
    found = pc.coalesce(lead_n, pc.if_else(trail_ok.fill_null(False), trail_n, NULL))
    rest = pc.if_else(pc.is_valid(lead_n), pc.struct_field(leading, "rest"), pc.struct_field(trailing, "rest"))
    rest = pc.utf8_trim(rest, " ,")
    street = pc.if_else(pc.is_valid(found), rest, street)
    street = _abbreviate(_capitalise(street))
    # Punctuation alone is kept as sent (never lost), as a street the rules cannot read.
    as_is = pc.if_else(pc.equal(as_is, ""), sent, as_is)
    street = pc.if_else(pc.equal(street, ""), sent, street)
    return as_is, street, _number_form(found)


def standardise_address_lines(values: ArrayLike) -> pa.Array:
    """Address line 2 (building, apartment, lieu-dit): whitespace tidied only."""
    return clean_text(values)


def standardise_cities(values: ArrayLike) -> pa.Array:
    """'SAINT-GERMAIN-EN-LAYE' -> 'Saint-Germain-en-Laye', 'st james' -> 'St James'."""
    return map_distinct_arrays(clean_text(values), lambda distinct: (_capitalise(distinct),))[0]


def standardise_regions(values: ArrayLike) -> pa.Array:
    """'nsw' -> 'NSW', 'ile-de-france' -> 'Ile-de-France', 'Baden-Württemberg' unchanged."""
    def regions(text: pa.Array) -> tuple[pa.Array]:
        code = pc.match_substring_regex(text, r"^\p{L}{1,3}$")
        return (pc.if_else(code.fill_null(False), pc.utf8_upper(text), _capitalise(text)),)

    return map_distinct_arrays(clean_text(values), regions)[0]
