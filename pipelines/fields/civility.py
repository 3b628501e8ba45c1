"""Civility from the first name: Monsieur/Madame (fr) or Mr/Mrs (en), blank rather than a guess.

Infers new personal data, so it only runs when the controller's settings enable `civility`, and
only fills rows whose input had no civility. The evidence is gender-guesser's bundled name list
(nam_dict.txt: sex and frequency of ~45,000 first names per country) read per country: "Andrea"
is a man in Italy and a woman in Germany. The row's country decides, else its phone's country,
else the controller's default country; a name the list does not know in that country is read
with its frequencies summed over all countries. Overrides for modern and regional names and for
names that stay blank come from `pipelines/data/civility.yaml`.

A name gets a civility only when at least 95 % of its weighted evidence points one way; unisex
entries ("?M", "?F", "?") weigh as genuinely mixed, so Camille, Dominique and Claude stay blank.
Compound names take their first element's sex (Jean-Pierre, Marie-Hélène, Anne-Sophie,
José María) when the whole name is not listed.
"""

from __future__ import annotations

import codecs
import re
from functools import cache
from importlib import resources
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._data import load_yaml
from pipelines.fields._text import fold_py
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique_rows

__all__ = ["CIVILITY_LABELS", "guess_sex", "infer_civility", "known_first_names"]

CIVILITY_LABELS = {"fr": ("Monsieur", "Madame"), "en": ("Mr", "Mrs")}
# Share of a name's evidence that must agree before a civility is given.
THRESHOLD = 0.95
# How male each nam_dict.txt sex code is: unisex codes stay near the middle on purpose.
_MALE_SHARE = {"M": 1.0, "1M": 1.0, "?M": 0.7, "?": 0.5, "?F": 0.3, "1F": 0.0, "F": 0.0}
_SPLIT = re.compile(r"[-\s]+")


class _Entry(NamedTuple):
    code: str
    freqs: str  # one character per country column: " " or a hex digit 1..D


@cache
def _vocab() -> dict:
    return load_yaml("civility.yaml")


@cache
def _columns() -> tuple[str, ...]:
    import gender_guesser.detector as detector

    return tuple(detector.Detector.COUNTRIES)


@cache
def _name_list() -> dict[str, tuple[_Entry, ...]]:
    """nam_dict.txt parsed like gender_guesser does, keyed by lower-case name and its
    accent-free form ("hélène" and "helene"), keeping the per-country frequencies."""
    path = resources.files("gender_guesser").joinpath("data", "nam_dict.txt")
    names: dict[str, list[_Entry]] = {}
    with codecs.open(str(path), encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line[0] in "#=":
                continue
            code, name = line.split()[:2]
            if code not in _MALE_SHARE:
                continue
            entry = _Entry(code, line[30:-1])
            for variant in {name, name.replace("+", ""), name.replace("+", " "), name.replace("+", "-")}:
                names.setdefault(variant.lower(), []).append(entry)
    folded: dict[str, tuple[_Entry, ...]] = {k: tuple(v) for k, v in names.items()}
    for key, entries in list(folded.items()):
        folded.setdefault(fold_py(key), entries)
    return folded


@cache
def _overrides() -> dict[str, dict[str, str]]:
    """country ("*" for all) -> folded name -> "M", "F" or "?"."""
    out: dict[str, dict[str, str]] = {}
    for key, sex in (("male", "M"), ("female", "F"), ("ambiguous", "?")):  # ambiguous last: it wins
        for country, names in (_vocab().get(key) or {}).items():
            for name in names:
                out.setdefault(country, {})[fold_py(name)] = sex
    return out


@cache
def _listed() -> frozenset[str]:
    return frozenset(n for scope in _overrides().values() for n in scope)


def _hex(ch: str) -> int:
    return int(ch, 16) if ch.strip() else 0


def _from_list(name: str, column: int | None) -> str | None:
    """'M', 'F', '?' (known but mixed) or None (not in the list)."""
    entries = _name_list().get(name)
    if not entries:
        return None
    weights: list[tuple[float, float]] = []
    if column is not None:
        weights = [(2.0 ** _hex(e.freqs[column]), _MALE_SHARE[e.code]) for e in entries
                   if column < len(e.freqs) and _hex(e.freqs[column])]
    if not weights:  # not listed in this country: its frequencies everywhere
        weights = [(sum(2.0 ** _hex(c) for c in e.freqs if c.strip()) or 1.0, _MALE_SHARE[e.code]) for e in entries]
    total = sum(w for w, _ in weights)
    male = sum(w * m for w, m in weights) / total
    if male >= THRESHOLD:
        return "M"
    if male <= 1 - THRESHOLD:
        return "F"
    return "?"


def _lookup(name: str, country: str | None) -> str | None:
    key = fold_py(name)
    overrides = _overrides()
    for scope in (country, "*"):
        if scope and key in overrides.get(scope, {}):
            return overrides[scope][key]
    column = _column_of(country)
    found = _from_list(name.lower(), column) or _from_list(key, column)
    if found is None and any(pair in key for pair in ("ae", "oe", "ue")):
        # "Juergen", "Soeren": umlauts typed as two letters on keyboards or CRMs without them.
        found = _from_list(key.replace("ae", "ä").replace("oe", "ö").replace("ue", "ü"), column)
    return found


@cache
def _titles() -> frozenset[str]:
    return frozenset(_vocab()["titles"])


@cache
def _column_of(country: str | None) -> int | None:
    column_name = _vocab()["country_columns"].get(country or "")
    return _columns().index(column_name) if column_name else None


def guess_sex(first_name: str, country: str | None) -> str | None:
    """'M', 'F' or None (ambiguous, unknown, initials only) for one first name in one country."""
    titles = _titles()
    tokens = [t for t in _SPLIT.split(first_name.strip().strip(".")) if t]
    while tokens and fold_py(tokens[0]).rstrip(".") in titles:
        tokens = tokens[1:]
    tokens = [t for t in tokens if len(t.rstrip(".")) > 1 and not t.endswith(".")]  # "J.", "J.-P."
    if not tokens:
        return None
    whole = " ".join(tokens)
    for candidate in dict.fromkeys([first_name.strip(), "-".join(tokens), whole]):
        sex = _lookup(candidate, country)
        if sex is not None:
            return sex if sex != "?" else None
    # Compound names: the first element decides ("Jean-Marie" is a man, "Marie-Claude" a woman).
    sex = _lookup(tokens[0], country) if len(tokens) > 1 else None
    return sex if sex in ("M", "F") else None


def infer_civility(first_names: ArrayLike, countries: ArrayLike, language: str = "fr") -> pa.Array:
    """Civility label per row from its first name and country (ISO alpha-2, nullable); null when
    the name is ambiguous or unknown. One lookup per distinct (first name, country)."""
    male, female = CIVILITY_LABELS[language]
    names = as_string_array(first_names)
    regions = pc.utf8_upper(as_string_array(countries))

    def label(name: str, country: str | None) -> tuple[str | None]:
        sex = guess_sex(name, country)
        return (male if sex == "M" else female if sex == "F" else None,)

    (out,) = map_unique_rows((names, regions), label, (pa.string(),))
    return out


def _known_py(name: str) -> bool:
    titles = _titles()
    tokens = [t for t in _SPLIT.split(name.strip().strip(".")) if t]
    while tokens and fold_py(tokens[0]).rstrip(".") in titles:
        tokens = tokens[1:]
    if not tokens:
        return False
    names, listed = _name_list(), _listed()

    def known(token: str) -> bool:
        low = token.lower()
        return low in names or fold_py(low) in names or fold_py(low) in listed

    return known("-".join(tokens)) or all(known(t) for t in tokens)


def known_first_names(first_names: ArrayLike) -> pa.Array:
    """True where the first name (every part of a compound) is in the bundled name list: a
    typo ("Isbaelle") or a surname in the first-name column ("Dupont") is not."""
    from pipelines.fields._vector import map_unique

    return map_unique(as_string_array(first_names), _known_py, pa.bool_())
