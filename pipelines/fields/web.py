"""Websites and domains: canonical "www.<registered domain>" and the registered domain."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._data import load_yaml
from pipelines.fields._domains import registered_domain_py
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique, map_unique_many

__all__ = ["registered_domains", "standardise_websites"]

_NOT_COMPANY = frozenset(load_yaml("websites.yaml")["not_company_websites"])

# "https://", "http//", "hxxp://": any short scheme; no dot allowed so that
# "acme.fr:8080" is not taken for one.
_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+\-]{1,9}:/*|[a-z]{3,5}//+|//)")
_HOST_END = re.compile(r"[/?#\\]")
_PORT = re.compile(r":\d*$")
_HOST_CHARS = re.compile(r"^[\w.\-]+$")  # \w: IDN hosts such as "café.fr" are fine


def _host(value: str) -> str | None:
    s = value.strip().strip("\"'<>()[]").lower()
    s = _SCHEME.sub("", s)
    s = _HOST_END.split(s, maxsplit=1)[0]
    if "@" in s:  # an e-mail (or user-info) typed in the website column
        return None
    s = _PORT.sub("", s).strip(".")
    if not s or not _HOST_CHARS.match(s) or "_" in s or ".." in s:
        return None
    # Punycode labels to Unicode, as email-validator does, so "xn--caf-dma.fr" == "café.fr".
    return ".".join(_decode_label(label) for label in s.split("."))


def _decode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label


def _website_py(value: str) -> tuple[str | None, str | None]:
    host = _host(value)
    domain = registered_domain_py(host) if host else None
    if domain is None or domain in _NOT_COMPANY:
        return None, None
    return f"www.{domain}", domain


def standardise_websites(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """Return (website, domain): "https://shop.acme.co.uk/x?y" -> ("www.acme.co.uk", "acme.co.uk").

    The website is always "www." + the registered domain, so that one company
    gives one value whatever page or subdomain was typed. Null when there is no
    known public suffix, for e-mails, IP addresses and social-network links.
    """
    arr = pc.utf8_lower(pc.utf8_trim_whitespace(as_string_array(values)))
    website, domain = map_unique_many(arr, _website_py, (pa.string(), pa.string()))
    return website, domain


def _registered_py(value: str) -> str | None:
    host = _host(value.rpartition("@")[2])  # tolerate full e-mail addresses
    return registered_domain_py(host) if host else None


def registered_domains(domains: ArrayLike) -> pa.Array:
    """Registered domain of e-mail domains: "mail.acme.fr" -> "acme.fr", "x.acme.co.uk" -> "acme.co.uk"."""
    arr = pc.utf8_lower(pc.utf8_trim_whitespace(as_string_array(domains)))
    return map_unique(arr, _registered_py)
