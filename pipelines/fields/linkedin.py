"""LinkedIn member profile URLs: one canonical URL and slug per profile."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._vector import ArrayLike, as_string_array, map_unique_many

__all__ = ["linkedin_slugs", "standardise_linkedin"]

_PROFILE_PREFIX = "https://www.linkedin.com/in/"

# Any scheme, any language/mobile subdomain ("fr.", "m.", "ca.", "www."), or
# the bare "in/<slug>" people paste from the profile's address bar.
_PROFILE = re.compile(
    r"^(?:(?:https?:)?/*(?:[a-z]{1,3}(?:-[a-z]{2})?\.|www\.)?linkedin\.com/|/?)in/([^/?#\s]+)",
    re.IGNORECASE,
)
_SLUG = re.compile(r"^[\w\-]{2,100}$")  # \w covers accented slugs ("jérôme-dupont")


def _slug_py(value: str) -> str | None:
    match = _PROFILE.match(value.strip())
    if not match:
        return None  # company pages, posts, search results, short links...
    slug = unquote(match.group(1), errors="strict") if "%" in match.group(1) else match.group(1)
    slug = unicodedata.normalize("NFC", slug).lower().strip("-")
    return slug if _SLUG.match(slug) else None


def _profile_py(value: str) -> tuple[str | None, str | None]:
    try:
        slug = _slug_py(value)
    except UnicodeDecodeError:  # broken percent-encoding
        return None, None
    return (_PROFILE_PREFIX + slug, slug) if slug else (None, None)


def _prepare(values: ArrayLike) -> pa.Array:
    return pc.utf8_trim_whitespace(as_string_array(values))


def standardise_linkedin(values: ArrayLike) -> pa.Array:
    """"fr.linkedin.com/in/Jean-Dupont?x=1" -> "https://www.linkedin.com/in/jean-dupont"; else null."""
    url, _ = map_unique_many(_prepare(values), _profile_py, (pa.string(), pa.string()))
    return url


def linkedin_slugs(urls: ArrayLike) -> pa.Array:
    """Profile slug ("jean-dupont-1234") of raw or standardised profile URLs; else null."""
    _, slug = map_unique_many(_prepare(urls), _profile_py, (pa.string(), pa.string()))
    return slug
