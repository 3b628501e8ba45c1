"""Offline public-suffix handling shared by the e-mail and website standardisers."""

from __future__ import annotations

from functools import cache, lru_cache

import tldextract


@cache
def extractor() -> tldextract.TLDExtract:
    # Bundled Public Suffix List snapshot only: no HTTP fetch, no disk cache.
    # Private suffixes on, so "acme.wixsite.com" is not collapsed into "wixsite.com".
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


@lru_cache(maxsize=4096)
def is_public_suffix(tld: str) -> bool:
    return extractor()(f"example.{tld}").suffix == tld


def registered_domain_py(host: str) -> str | None:
    """"mail.acme.co.uk" -> "acme.co.uk"; None without a known public suffix or for IPs."""
    parts = extractor()(host)
    if not parts.suffix or not parts.domain:
        return None
    return f"{parts.domain}.{parts.suffix}"
