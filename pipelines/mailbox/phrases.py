"""The four languages' phrase lists, compiled once: one alternation per (language, category)."""

from __future__ import annotations

import re
from functools import lru_cache

from pipelines.mailbox import phrases_de, phrases_en, phrases_es, phrases_fr

LANGUAGES: dict[str, dict[str, list[str]]] = {
    "en": phrases_en.PHRASES,
    "fr": phrases_fr.PHRASES,
    "de": phrases_de.PHRASES,
    "es": phrases_es.PHRASES,
}


@lru_cache(maxsize=None)
def pattern(language: str, category: str) -> re.Pattern[str] | None:
    """All of one language's phrases of a category as one regex (None when it has none)."""
    items = LANGUAGES[language].get(category) or []
    if not items:
        return None
    # Phrases match whole words only, and never inside an address (`contact@acme.fr` is no "contact" cue).
    joined = "|".join(f"(?:{p})" for p in items)
    return re.compile(rf"(?<![\w@.-])(?:{joined})(?![\w@])", re.MULTILINE)


def first_match(text: str, category: str) -> tuple[str, re.Match[str]] | None:
    """The earliest match of a category over the four languages, with its language."""
    best: tuple[str, re.Match[str]] | None = None
    for language in LANGUAGES:
        regex = pattern(language, category)
        m = regex.search(text) if regex else None
        if m and (best is None or m.start() < best[1].start()):
            best = (language, m)
    return best


def all_matches(text: str, category: str) -> list[tuple[str, re.Match[str]]]:
    """Every match of a category over the four languages, in text order."""
    out = []
    for language in LANGUAGES:
        regex = pattern(language, category)
        if regex:
            out.extend((language, m) for m in regex.finditer(text))
    return sorted(out, key=lambda lm: lm[1].start())


def any_match(text: str, category: str) -> str | None:
    """The language of the first category phrase found, or None."""
    found = first_match(text, category)
    return found[0] if found else None


def guess_language(text: str) -> str | None:
    """The language whose common words are most frequent in the text (None when too little evidence)."""
    words = re.findall(r"[a-z]+", text[:5000])
    if not words:
        return None
    counts = {}
    for language, phrases in LANGUAGES.items():
        stop = set(phrases.get("stopwords", []))
        counts[language] = sum(1 for w in words if w in stop)
    best = max(counts, key=counts.get)
    return best if counts[best] >= 3 else None
