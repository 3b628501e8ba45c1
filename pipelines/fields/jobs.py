"""Job titles: whitespace, punctuation and casing clean-up with acronyms preserved."""

from __future__ import annotations

import re

import pyarrow as pa

from pipelines.fields._data import load_yaml
from pipelines.fields._text import clean_text, fold_py
from pipelines.fields._vector import ArrayLike, map_unique

__all__ = ["standardise_job_titles"]

_VOCAB = load_yaml("job_titles.yaml")
_ACRONYMS = {fold_py(a): a for a in _VOCAB["acronyms"]}

# Leading/trailing punctuation ("- Directeur commercial -", "CEO,", "• Manager");
# a trailing ")" is kept when it closes a bracket ("Directeur (H/F)").
_LEAD_PUNCT = re.compile(r"^[^\w(]+")
_TRAIL_PUNCT = re.compile(r"[^\w)]+$")
# Words: letters/digits plus inner "&" or "/" so "R&D", "H/F" and "B2B" stay whole.
_WORD = re.compile(r"\w+(?:[&/]\w+)*")


def _strip_punct(s: str) -> str:
    s = _TRAIL_PUNCT.sub("", _LEAD_PUNCT.sub("", s))
    if s.endswith(")") and s.count("(") < s.count(")"):
        s = s[:-1].rstrip()
    if s.startswith("(") and s.count("(") > s.count(")"):
        s = s[1:].lstrip()
    return s


def _recase(title: str) -> str:
    """Sentence case with acronyms in capitals: "DIRECTEUR DES VENTES" -> "Directeur des ventes"."""
    first = True

    def word(match: re.Match[str]) -> str:
        nonlocal first
        w = match.group()
        acronym = _ACRONYMS.get(fold_py(w))
        if acronym:
            out = acronym
        elif first:
            out = w[:1].upper() + w[1:].lower()
        else:
            out = w.lower()
        first = False
        return out

    return _WORD.sub(word, title)


def _title_py(value: str) -> str | None:
    s = _strip_punct(value)
    if not s:
        return None
    has_lower = any(c.islower() for c in s)
    has_upper = any(c.isupper() for c in s)
    if has_upper and not has_lower:
        return _recase(s)  # ALL-CAPS exports
    if has_lower and not has_upper:
        return _recase(s)  # all-lowercase: capitalise and restore acronyms
    return s  # mixed case was typed on purpose: keep it


def standardise_job_titles(values: ArrayLike) -> pa.Array:
    """Trimmed, NFC, punctuation-stripped titles; ALL-CAPS and all-lowercase titles re-cased."""
    return map_unique(clean_text(values), _title_py)
