"""Recognise contact-file headers in French, English, German, Spanish and Italian.

The synonyms are data (`pipelines/data/headers.yaml`); this module only normalises header text
and resolves the few headers whose meaning depends on their neighbours ("Nom", "Nombre").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

# Canonical input fields, in the order the export contract lists them.
# Postal address, date of birth and the client's own identifiers (issue #14): standardised into
# the export's trailing group and the golden records (pipelines/export.py).
PERSON_DETAIL_FIELDS: tuple[str, ...] = (
    "street_number",
    "street",
    "address_line2",
    "postcode",
    "city",
    "region",
    "date_of_birth",
    "client_id",
    "national_id",
)
CANONICAL_FIELDS: tuple[str, ...] = (
    "civility",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "mobile",
    "company",
    "website",
    "linkedin_url",
    "job_title",
    "country",
    # Company identifiers: not part of the export contract, they come back as extra columns.
    "siren",
    "siret",
    "vat_number",
    *PERSON_DETAIL_FIELDS,
)
# Fields that identify a row on their own (the identity rule, pipelines/validate.py).
IDENTITY_FIELDS: tuple[str, ...] = ("email", "linkedin_url", "client_id", "national_id")
# Fields that identify a row together with a name.
WITH_NAME_FIELDS: tuple[str, ...] = ("phone", "mobile", "company", "street", "postcode", "date_of_birth")
NAME_FIELDS: tuple[str, ...] = ("first_name", "last_name", "full_name")
# Recognised fields whose input column also comes back unchanged under its own header: the
# client's own identifiers are what the client re-imports the list by.
ALSO_CUSTOM: frozenset[str] = frozenset({"client_id"})

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_header(text: str) -> str:
    """'  Prénom ' -> 'prenom', 'E-mail' -> 'e mail', 'Tél. portable' -> 'tel portable'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_only = ascii_only.replace("ß", "ss").replace("œ", "oe").replace("Œ", "oe")
    return _NON_ALNUM.sub(" ", ascii_only.lower()).strip()


@lru_cache(maxsize=1)
def _synonyms() -> dict:
    text = resources.files("pipelines").joinpath("data/headers.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    exact = {normalise_header(s): fld for fld, syns in raw["exact"].items() for s in syns}
    contextual = {k: {normalise_header(s) for s in v} for k, v in raw["contextual"].items()}
    contains = [(fld, {normalise_header(w) for w in words}) for fld, words in raw["contains"].items()]
    unless = {fld: {normalise_header(w) for w in words} for fld, words in raw.get("contains_unless", {}).items()}
    return {"exact": exact, "contextual": contextual, "contains": contains, "contains_unless": unless}


@dataclass(frozen=True)
class HeaderMapping:
    """Which input column (by position) feeds each canonical field; the rest are custom columns."""

    headers: tuple[str, ...]
    fields: dict[str, int] = field(default_factory=dict)

    @property
    def custom_columns(self) -> list[int]:
        used = {i for f, i in self.fields.items() if f not in ALSO_CUSTOM}
        return [i for i in range(len(self.headers)) if i not in used]

    def has_identity(self) -> bool:
        """Whether some row of the file can pass the identity rule: an e-mail, a LinkedIn URL or
        an identifier alone, or a name with a phone, a postal address, a date of birth or a company."""
        f = self.fields
        has_name = any(n in f for n in NAME_FIELDS)
        return any(n in f for n in IDENTITY_FIELDS) or (has_name and any(n in f for n in WITH_NAME_FIELDS))


def map_headers(
    headers: list[str] | tuple[str, ...], identifier_columns: list[str] | tuple[str, ...] = ()
) -> HeaderMapping:
    """Map each header to a canonical field; the first column wins when two claim one field.

    identifier_columns: headers the controller's settings name as its own person identifier
    (`identifier_columns`); the first of them present in the file is `client_id`, whatever else
    its header would mean."""
    syn = _synonyms()
    norm = [normalise_header(h) for h in headers]
    claims: dict[int, str] = {}
    named = [normalise_header(c) for c in identifier_columns]
    for name in named:
        if name in norm:
            claims[norm.index(name)] = "client_id"
            break
    claimed_id = bool(claims)
    for i, h in enumerate(norm):
        if i in claims:
            continue
        if h in syn["exact"] and not (claimed_id and syn["exact"][h] == "client_id"):
            claims[i] = syn["exact"][h]
    claimed = set(claims.values())
    for i, h in enumerate(norm):
        if i in claims:
            continue
        if h in syn["contextual"]["name_like"]:
            claims[i] = "last_name" if "first_name" in claimed else "full_name"
        elif h in syn["contextual"]["given_like"]:
            claims[i] = "first_name" if "last_name" in claimed else "full_name"
    for i, h in enumerate(norm):
        if i in claims or not h:
            continue
        words = set(h.split())
        for fld, keys in syn["contains"]:
            if words & keys and not words & syn["contains_unless"].get(fld, set()):
                claims[i] = fld
                break
    fields: dict[str, int] = {}
    for i in sorted(claims):
        fields.setdefault(claims[i], i)
    # A full-name column is only needed when first/last names are absent.
    if "full_name" in fields and ("first_name" in fields and "last_name" in fields):
        del fields["full_name"]
    return HeaderMapping(headers=tuple(headers), fields=fields)
