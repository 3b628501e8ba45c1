"""Job titles: clean-up with acronyms preserved, and job_level / job_function classification.

The classification vocabulary (French, English, German, Spanish) is data:
`pipelines/data/job_classification.yaml`. It runs once per distinct title.
"""

from __future__ import annotations

import re
from functools import cache

import pyarrow as pa

from pipelines.fields._data import load_yaml
from pipelines.fields._text import clean_text, fold_py
from pipelines.fields._vector import ArrayLike, map_unique, map_unique_many

__all__ = ["JOB_FUNCTIONS", "JOB_LEVELS", "classify_job_title", "classify_job_titles", "standardise_job_titles"]

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


# ------------------------------------------------------------------------------------------------
# Classification
# ------------------------------------------------------------------------------------------------
JOB_LEVELS = ("executive", "director", "manager", "staff", "intern")
_LEVEL_ORDER = ("intern", "staff_head", "executive", "manager_compound", "director", "manager", "staff")
_NON_WORD = re.compile(r"[\W_]+")


@cache
def _classifier() -> tuple[list[tuple[str, re.Pattern[str]]], list[tuple[str, re.Pattern[str]]]]:
    vocab = load_yaml("job_classification.yaml")
    levels = dict(vocab["levels"])
    levels["manager_compound"] = [vocab["manager_compounds"]]
    level_res = [(name, re.compile("|".join(f"(?:{p})" for p in levels[name]))) for name in _LEVEL_ORDER]
    function_res = [(name, re.compile("|".join(f"(?:{p})" for p in patterns))) for name, patterns in vocab["functions"].items()]
    return level_res, function_res


def _folded(title: str) -> str:
    return _NON_WORD.sub(" ", fold_py(title)).strip()


def classify_job_title(title: str) -> tuple[str | None, str | None]:
    """(job_level, job_function) for one title; None where the vocabulary has no answer."""
    text = _folded(title)
    if not text:
        return None, None
    level_res, function_res = _classifier()
    function = next((name for name, regex in function_res if regex.search(text)), None)
    level = None
    for name, regex in level_res:
        if regex.search(text):
            level = {"staff_head": "staff", "manager_compound": "manager"}.get(name, name)
            break
    if level == "staff" and function == "general_management" and level_res[1][1].search(text):
        function = "administration"  # "Assistent der Geschäftsführung" assists the management
    if level is None and function is not None:
        level = "staff"  # a recognised job with no seniority word: an individual contributor
    return level, function


JOB_FUNCTIONS = tuple(load_yaml("job_classification.yaml")["functions"])


def classify_job_titles(titles: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """(job_level, job_function) per row from the (standardised) job title."""
    level, function = map_unique_many(clean_text(titles), classify_job_title, (pa.string(), pa.string()))
    return level, function
