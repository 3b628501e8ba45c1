"""Person names: capitalisation, surname particles, full-name splitting, matching keys."""

from __future__ import annotations

import re
from functools import cache

import pyarrow as pa

from pipelines.fields._data import load_yaml
from pipelines.fields._text import clean_text, clean_text_py, matching_key
from pipelines.fields._vector import ArrayLike, map_unique, map_unique_many

__all__ = [
    "first_name_key",
    "last_name_key",
    "split_full_names",
    "standardise_first_names",
    "standardise_last_names",
]

_VOCAB = load_yaml("names.yaml")
_PARTICLES = frozenset(_VOCAB["particles"])
_FOLLOWERS = frozenset(_VOCAB["particle_followers"])
_NOT_STARTERS = frozenset(_VOCAB["not_surname_starters"])
_CIVILITIES = frozenset(c.rstrip(".") for c in _VOCAB["civilities"])
# Entries written with a dot in the YAML only count as civilities with the dot.
_CIVILITIES_NEED_DOT = frozenset(c.rstrip(".") for c in _VOCAB["civilities"] if c.endswith("."))
_NOT_GIVEN = frozenset(_VOCAB["not_given_names"])

# Typographic apostrophes and dashes from Word/Outlook copy-pastes.
_PUNCT_TABLE = str.maketrans(
    {c: "'" for c in "\u2019\u2018\u02bc\u0060\u00b4\u2032"}
    | {c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"}
)
_LEAD_JUNK = re.compile(r"^[\W\d_]+")
_TRAIL_JUNK = re.compile(r"[\W\d_]+$")
_LAST_LETTERS = re.compile(r"[^\W\d_]+$")
_SPACED_JOINER = re.compile(r"\s*([-'])\s*")  # "Jean - Pierre" -> "Jean-Pierre"
_REPEATED_JOINER = re.compile(r"([-'.])\1+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _prepare(value: str) -> str:
    return clean_text_py(value).translate(_PUNCT_TABLE)


def _strip_junk(value: str) -> str:
    """Drop punctuation/digits around the name, keeping the dot of a final initial ("J.")."""
    s = _LEAD_JUNK.sub("", _prepare(value))
    tail = _TRAIL_JUNK.search(s)
    if tail:
        s = s[: tail.start()]
        last = _LAST_LETTERS.search(s)
        if tail.group().startswith(".") and last and len(last.group()) == 1:
            s += "."
    s = _SPACED_JOINER.sub(r"\1", s)
    return _REPEATED_JOINER.sub(r"\1", s)


def _is_camel(word: str) -> bool:
    # "MacArthur", "DeShawn", "McDonald": deliberately mixed case, keep as typed.
    return (
        len(word) > 2
        and word[0].isupper()
        and word[1].islower()
        and word[2:] != word[2:].lower()
    )


_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüÿœæåøáíóú")


def _cap_run(word: str, surname: bool) -> str:
    if _is_camel(word):
        return word
    if not surname and len(word) <= 3 and word.isupper() and not _VOWELS & set(word.lower()):
        return word  # initials typed without dots: "JP", "JB"
    low = word.lower()
    if surname and low.startswith("mc") and len(low) > 3:
        return "Mc" + low[2].upper() + low[3:]
    return low[0].upper() + low[1:]


def _capitalise(value: str, surname: bool) -> str:
    # Each letter run is capitalised, so compounds ("jean-pierre", "o'neil") work.
    return _LETTER_RUN.sub(lambda m: _cap_run(m.group(), surname), value)


def _first_name_py(value: str) -> str | None:
    s = _strip_junk(value)
    return _capitalise(s, surname=False) if s else None


def _surname_words(words: list[str]) -> str:
    out: list[str] = []
    for i, word in enumerate(words):
        low = word.lower()
        if i < len(words) - 1:  # a particle standing last is the surname itself
            if low in _PARTICLES and not (low == "y" and i == 0):
                out.append(low)
                continue
            if low in _FOLLOWERS and out and out[-1] in _PARTICLES:
                out.append(low)
                continue
        if low.startswith("d'") and len(low) > 2:
            out.append("d'" + _capitalise(word[2:], surname=True))
            continue
        out.append(_capitalise(word, surname=True))
    return " ".join(out)


def _last_name_py(value: str) -> str | None:
    s = _strip_junk(value)
    return _surname_words(s.split(" ")) if s else None


def _is_civility(token: str) -> bool:
    low = token.lower()
    bare = low.rstrip(".")
    if bare not in _CIVILITIES:
        return False
    return low.endswith(".") or bare not in _CIVILITIES_NEED_DOT


def _drop_civilities(tokens: list[str]) -> list[str]:
    while len(tokens) > 1 and _is_civility(tokens[0]):
        tokens = tokens[1:]
    return tokens


def _is_upper_token(token: str) -> bool:
    # str.isupper: every cased character is upper case (and there is one).
    return token.isupper() and sum(c.isupper() for c in token) >= 2


def _is_surname_run(tokens: list[str]) -> bool:
    # A lone 2-letter capital token is more likely initials ("JP Dupont").
    return len(tokens) > 1 or sum(c.isalpha() for c in tokens[0]) >= 3


def _starts_surname(token: str) -> bool:
    low = token.lower()
    return (low in _PARTICLES and low not in _NOT_STARTERS) or (
        low.startswith("d'") and len(low) > 2
    )


@cache
def _given_names() -> frozenset[str]:
    # Loaded lazily: only needed for 3+ token names without a case signal.
    import gender_guesser.detector as gender_detector

    return frozenset(gender_detector.Detector(case_sensitive=False).names)


def _is_given_name(token: str) -> bool:
    low = token.lower()
    return low not in _NOT_GIVEN and low in _given_names()


def _split_tokens(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Return (first-name tokens, surname tokens)."""
    n = len(tokens)
    flags = [_is_upper_token(t) for t in tokens]
    if any(flags) and not all(flags):
        # French CRM convention: the surname is the upper-case part.
        lead = 0
        while flags[lead]:
            lead += 1
        if lead and _is_surname_run(tokens[:lead]):
            return tokens[lead:], tokens[:lead]
        start = n
        while flags[start - 1]:
            start -= 1
        if start < n and _is_surname_run(tokens[start:]):
            while start > 1 and (
                tokens[start - 1].lower() in _PARTICLES | _FOLLOWERS
                or tokens[start - 1].lower().startswith("d'")
            ):
                start -= 1
            return tokens[:start], tokens[start:]
    for i in range(1, n):
        if _starts_surname(tokens[i]):
            return tokens[:i], tokens[i:]
    if n == 2:
        return tokens[:1], tokens[1:]
    # "Anne Sophie Martin": unhyphenated compound first names.
    end = 1
    while end < n - 1 and _is_given_name(tokens[end]):
        end += 1
    return tokens[:end], tokens[end:]


def _split_py(value: str) -> tuple[str | None, str | None]:
    s = _prepare(value)
    if "," in s:
        # "Dupont, Jean": surname first.
        last_part, first_part = (p.strip() for p in s.split(",", 1))
        last_tokens = _drop_civilities(last_part.split())
        first_tokens = _drop_civilities(first_part.split())
        if last_tokens and first_tokens:
            return _first_name_py(" ".join(first_tokens)), _last_name_py(" ".join(last_tokens))
        s = last_part or first_part
    tokens = _drop_civilities([t for t in s.split() if any(c.isalpha() for c in t)])
    if not tokens or (len(tokens) == 1 and _is_civility(tokens[0])):
        return None, None
    if len(tokens) == 1:
        return None, _last_name_py(tokens[0])
    first, last = _split_tokens(tokens)
    return (
        _first_name_py(" ".join(first)) if first else None,
        _last_name_py(" ".join(last)),
    )


def standardise_first_names(values: ArrayLike) -> pa.Array:
    """Capitalised given names: "jean-pierre" -> "Jean-Pierre", "ÉLODIE" -> "Élodie", "j." -> "J."."""
    return map_unique(clean_text(values), _first_name_py)


def standardise_last_names(values: ArrayLike) -> pa.Array:
    """Capitalised surnames with lower-case particles: "DE LA FONTAINE" -> "de la Fontaine"."""
    return map_unique(clean_text(values), _last_name_py)


def split_full_names(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """Split "Jean-Pierre DUPONT" / "DUPONT Jean-Pierre" / "Dupont, Jean" into (first, last)."""
    first, last = map_unique_many(clean_text(values), _split_py, (pa.string(), pa.string()))
    return first, last


def first_name_key(values: ArrayLike) -> pa.Array:
    """Record-linkage key: "Jean-Pierre" / "JEAN PIERRE" / "jean-pièrre" -> "jeanpierre"."""
    return matching_key(values)


def last_name_key(values: ArrayLike) -> pa.Array:
    """Record-linkage key: "de la Fontaine" -> "delafontaine", "Œuvray" -> "oeuvray"."""
    return matching_key(values)
