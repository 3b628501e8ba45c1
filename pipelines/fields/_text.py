"""Shared text normalisation, in an Arrow-vectorised and a per-value flavour.

The vectorised versions run in C++ over the whole column before any
per-distinct-value Python work, so that trivially different spellings
("Dupont", " Dupont ", NFD "Dupont") collapse to one dictionary entry.
"""

from __future__ import annotations

import re
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._vector import ArrayLike, as_string_array, blank_to_null

# Letters that NFKD does not decompose but that people type without accent.
_FOLD = {
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ı": "i",
}
_FOLD_TABLE = str.maketrans(_FOLD)

# RE2 (Arrow) and Python `re` differ: RE2's \s is ASCII only, so list the
# Unicode separators (NBSP, narrow NBSP from Excel/Word) explicitly.
_RE2_SPACES = r"[\s\p{Z}]+"
_RE2_INVISIBLE = r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{00AD}]"
_RE2_CONTROL = r"\p{Cc}"

_PY_SPACES = re.compile(r"\s+")
_PY_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_PY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def clean_text(values: ArrayLike) -> pa.Array:
    """NFC, drop invisible characters, turn controls into spaces, collapse and trim whitespace."""
    arr = as_string_array(values)
    arr = pc.utf8_normalize(arr, form="NFC")
    arr = pc.replace_substring_regex(arr, _RE2_INVISIBLE, "")
    arr = pc.replace_substring_regex(arr, _RE2_CONTROL, " ")
    arr = pc.replace_substring_regex(arr, _RE2_SPACES, " ")
    arr = pc.utf8_trim_whitespace(arr)
    return blank_to_null(arr)


def clean_text_py(value: str) -> str:
    """Per-value twin of :func:`clean_text`."""
    value = unicodedata.normalize("NFC", value)
    value = _PY_INVISIBLE.sub("", value)
    value = _PY_CONTROL.sub(" ", value)
    return _PY_SPACES.sub(" ", value).strip()


def matching_key(values: ArrayLike) -> pa.Array:
    """Lower-case, accent-free, letters-and-digits-only key (vectorised)."""
    arr = as_string_array(values)
    arr = pc.utf8_lower(arr)
    arr = pc.utf8_normalize(arr, form="NFKD")
    arr = pc.replace_substring_regex(arr, r"\p{M}+", "")
    for src, dst in _FOLD.items():
        arr = pc.replace_substring(arr, src, dst)
    arr = pc.replace_substring_regex(arr, r"[^\p{L}\p{N}]+", "")
    return blank_to_null(arr)


def fold_py(value: str) -> str:
    """Lower-case and strip accents, keeping every other character (per value)."""
    if value.isascii():  # fast path: most company names, e-mails, codes
        return value.lower()
    value = unicodedata.normalize("NFKD", value.lower())
    value = "".join(c for c in value if not unicodedata.category(c).startswith("M"))
    return value.translate(_FOLD_TABLE)


def matching_key_py(value: str) -> str:
    """Per-value twin of :func:`matching_key`."""
    return "".join(c for c in fold_py(value) if c.isalnum())
