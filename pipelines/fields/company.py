"""Company names: readable display name, legal form, and matching key."""

from __future__ import annotations

import re

import pyarrow as pa

from pipelines.fields._data import load_yaml
from pipelines.fields._text import clean_text, fold_py
from pipelines.fields._vector import ArrayLike, map_unique_many

__all__ = ["standardise_company_names"]

_MAX_FORM_WORDS = 5
_COMPACT_DROP = re.compile(r"[\s.\-,()/'\u2019]+")


def _compact(text: str) -> str:
    return _COMPACT_DROP.sub("", fold_py(text))


def _load_forms() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """(compact variant -> form, exact variant -> form, forms that may lead the name)."""
    insensitive: dict[str, str] = {}
    sensitive: dict[str, str] = {}
    prefix: set[str] = set()
    for entry in load_yaml("legal_forms.yaml")["legal_forms"]:
        form = entry["form"]
        for variant in entry["variants"]:
            if entry.get("case_sensitive"):
                sensitive[variant.replace(" ", "")] = form
            else:
                insensitive[_compact(variant)] = form
        if entry.get("prefix"):
            prefix.add(form)
    return insensitive, sensitive, frozenset(prefix)


_FORMS, _FORMS_EXACT, _PREFIX_FORMS = _load_forms()

_WRAPPING = " \"'«»“”,;:-–—*•_"
_KEY_DROP_WORDS = frozenset({"et", "and", "und"})
# Dropped from the start of the key only: "Société Dupont" ~ "Dupont".
_KEY_LEADING_WORDS = frozenset({"societe", "ste", "the", "ets", "etablissements"})
_TITLE_SMALL_WORDS = frozenset(
    {"de", "du", "des", "la", "le", "les", "et", "en", "au", "aux", "à", "sur", "pour",
     "of", "the", "and", "for", "und", "der", "die", "das", "y", "del", "di"}
)
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _form_of(words: list[str]) -> str | None:
    joined = "".join(words)
    return _FORMS_EXACT.get(joined.strip(_WRAPPING + "()")) or _FORMS.get(_compact(joined))


def _split_legal_form(name: str) -> tuple[str, str | None]:
    words = name.split(" ")
    for k in range(min(_MAX_FORM_WORDS, len(words) - 1), 0, -1):
        form = _form_of(words[-k:])
        if form:
            return " ".join(words[:-k]).strip(_WRAPPING), form
    for k in range(min(_MAX_FORM_WORDS, len(words) - 1), 0, -1):
        form = _form_of(words[:k])
        if form in _PREFIX_FORMS:  # "SARL Dupont", as French registries print it
            return " ".join(words[k:]).strip(_WRAPPING), form
    return name, None


def _title_case(name: str) -> str:
    out = []
    for i, word in enumerate(name.split(" ")):
        low = word.lower()
        if i and low in _TITLE_SMALL_WORDS:
            out.append(low)
        elif i and low[:2] in ("d'", "l'") and len(low) > 2:
            out.append(low[:2] + _LETTER_RUN.sub(lambda m: m.group().capitalize(), low[2:], 1))
        else:
            out.append(_LETTER_RUN.sub(lambda m: m.group().capitalize(), word))
    return " ".join(out)


def _key(display: str) -> str | None:
    # Apostrophes join ("L'Oréal" ~ "LOreal"); other punctuation separates ("Coca-Cola" ~ "Coca Cola").
    folded = re.sub(r"['\u2019]", "", fold_py(display))
    words = re.sub(r"[^\w]+|_", " ", folded).split()
    words = [w for w in words if w not in _KEY_DROP_WORDS]
    trimmed = list(words)
    while len(trimmed) > 1 and trimmed[0] in _KEY_LEADING_WORDS:
        trimmed = trimmed[1:]
    return " ".join(trimmed) or None


def _company_py(value: str) -> tuple[str | None, str | None, str | None]:
    name = value.strip(_WRAPPING)
    if not name:
        return None, None, None
    display, form = _split_legal_form(name)
    if not display:  # the whole value is a legal form: keep it as the name
        display, form = name, None
    if not any(c.isupper() for c in display):
        display = _title_case(display)
    return display, _key(display), form


def standardise_company_names(values: ArrayLike) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Return (display name, matching key, legal form).

    "ACME S.A.S." -> ("ACME", "acme", "SAS"); "Société Générale S.A." ->
    ("Société Générale", "generale", "SA"); "dupont & fils" -> ("Dupont & Fils", "dupont fils", null).
    The display keeps the typed casing (all-lowercase names get title case).
    """
    display, key, form = map_unique_many(
        clean_text(values), _company_py, (pa.string(), pa.string(), pa.string())
    )
    return display, key, form
