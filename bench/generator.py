"""Synthetic messy B2B contact lists with exact ground truth.

Used by the tests, the README demo (`refinery sample`) and the accuracy benchmarks, so it must
run with the core dependencies only (stdlib, numpy, pandas, pyarrow, openpyxl), offline, be
deterministic for a seed and fast enough for a million rows.

    messy, truth = generate(10_000, seed=1, profile="mixed")
    write_file(messy, "contacts.csv", fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")

    python -m bench.generator --rows 100000 --seed 1 --out contacts.csv --format csv \
        --encoding cp1252 --delimiter ';' --lang fr --truth truth.parquet --profile fr

How it works, and why:

* Everything that must be consistent across the copies of one person (names, the company, the
  real e-mail addresses and phone numbers) is decided once per *entity* ("the plan"). Only then
  are rows materialised, chunk by chunk, each row being one possibly-degraded copy of an entity.
  The CLI streams those chunks to disk, so peak memory is the plan plus one chunk.
* Categorical draws over all entities (country, company, name ranks, copy counts) are vectorised
  with numpy; the string work is plain Python driven by `random.Random` streams seeded per chunk
  from (seed, chunk index). `CHUNK_ROWS` is therefore part of the output definition: change it
  and the same seed gives different (equally valid) data.
* The messy columns use canonical keys (`first_name`, `email`...); `write_file` localises the
  headers (`HEADERS`), so one generated frame can be written as a French, German... export.
* Truth is per row: the true values the row stands for before it was degraded. A value dropped
  from a row keeps its truth and is tagged `missing` (email_corruption, phone_format,
  name_variation, company_variation), so a benchmark can tell "wrongly cleaned" from
  "unrecoverable from this row alone".
* Hidden truth for the enrichment benchmark: `true_pro_email` is the address the person has at
  their company even when the file shows another one (what e-mail finding should propose), and
  `true_name_origin` the name pool their first name was drawn from ("XX": other origins).
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import random
import sys
import unicodedata
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench import names_data as ND

__all__ = [
    "generate",
    "iter_generate",
    "encodable",
    "write_file",
    "header_names",
    "duplicate_stats",
    "HEADERS",
    "MESSY_COLUMNS",
    "TRUTH_COLUMNS",
    "PROFILES",
]

# Rows materialised per random stream; part of the output definition (see module docstring).
CHUNK_ROWS = 50_000

COUNTRIES = ("FR", "DE", "ES", "IT", "GB", "BE", "CH", "NL")
# Share of persons per country. "mixed" is a pan-European export from a French company.
PROFILES: dict[str, dict[str, float]] = {
    "mixed": {"FR": 0.50, "DE": 0.12, "ES": 0.08, "IT": 0.08, "GB": 0.08, "BE": 0.06, "CH": 0.04, "NL": 0.04},
    "fr": {"FR": 0.90, "BE": 0.04, "CH": 0.03, "DE": 0.01, "ES": 0.01, "IT": 0.01},
    # Members, donors, customers: private persons with home addresses and dates of birth (B2C_*).
    "b2c": {"FR": 0.70, "BE": 0.06, "DE": 0.06, "GB": 0.05, "ES": 0.04, "IT": 0.04, "CH": 0.03, "NL": 0.02},
}
# Which name pool a person working in a country draws from: mostly the country's own, plus the
# neighbours a Belgian/Swiss workforce really mixes, plus people of other origins ("XX").
ORIGIN_MIX: dict[str, list[tuple[str, float]]] = {
    "FR": [("FR", 0.86), ("XX", 0.08), ("IT", 0.02), ("ES", 0.02), ("DE", 0.01), ("GB", 0.01)],
    "DE": [("DE", 0.88), ("XX", 0.08), ("IT", 0.02), ("NL", 0.01), ("FR", 0.01)],
    "ES": [("ES", 0.92), ("XX", 0.04), ("FR", 0.02), ("IT", 0.02)],
    "IT": [("IT", 0.93), ("XX", 0.04), ("FR", 0.01), ("ES", 0.01), ("DE", 0.01)],
    "GB": [("GB", 0.84), ("XX", 0.12), ("FR", 0.02), ("IT", 0.01), ("ES", 0.01)],
    "BE": [("BE", 0.35), ("FR", 0.30), ("NL", 0.25), ("XX", 0.07), ("DE", 0.03)],
    "CH": [("CH", 0.35), ("DE", 0.30), ("FR", 0.20), ("IT", 0.10), ("XX", 0.05)],
    "NL": [("NL", 0.88), ("XX", 0.08), ("DE", 0.02), ("GB", 0.02)],
}
POOLS = ("FR", "DE", "ES", "IT", "GB", "NL", "BE", "CH", "XX")
# Language a person's job title is written in when not in English (BE/CH depend on origin).
_TITLE_LANG_OF_COUNTRY = {"FR": "fr", "DE": "de", "ES": "es", "IT": "it", "GB": "en", "NL": "nl"}
_NATIVE_TITLE_LANG = _TITLE_LANG_OF_COUNTRY | {"BE": "fr", "CH": "de"}
TITLE_COL = {"en": (0, 0), "fr": (1, 2), "de": (3, 4), "es": (5, 6), "it": (7, 8), "nl": (9, 9)}
LANGS = ("fr", "en", "de", "es", "it")

# Duplicates: share of entities that appear more than once, and how many times they then appear.
DUP_ENTITY_RATE = 0.20
DUP_COPIES = ((2, 0.68), (3, 0.22), (4, 0.10))
EMPTY_ROW_RATE = 0.001
NO_IDENTITY_RATE = 0.005
INDEPENDENT_RATE = 0.02  # contacts with no company (freelancers, private persons)
B2C_INDEPENDENT_RATE = 0.85  # profile "b2c": most members and customers are private persons

MESSY_COLUMNS = ("crm_id", "salutation", "first_name", "last_name", "company", "job_title", "email",
                 "phone", "website", "linkedin", "country", "owner", "notes")
MESSY_COLUMNS_FULL_NAME = ("crm_id", "salutation", "full_name", "company", "job_title", "email",
                           "phone", "website", "linkedin", "country", "owner", "notes")
TRUTH_COLUMNS = ("row_number", "entity_id", "row_kind", "copy_index", "n_copies", "true_first_name",
                 "true_last_name", "true_gender", "true_email", "true_email_kind", "is_generic_email",
                 "email_corruption", "true_phone_e164", "phone_format", "true_country",
                 "true_company", "true_domain", "true_job_title", "true_linkedin", "name_variation",
                 "company_variation", "true_pro_email", "true_name_origin")

# File headers per language. The pipeline recognises the standard ones (pipelines/data/
# headers.yaml); crm_id, owner and notes are custom columns it must hand back unchanged.
HEADERS: dict[str, dict[str, str]] = {
    "fr": {"crm_id": "ID CRM", "salutation": "Civilité", "first_name": "Prénom", "last_name": "Nom",
           "full_name": "Nom complet", "company": "Société", "job_title": "Fonction",
           "email": "E-mail", "phone": "Téléphone", "website": "Site web", "linkedin": "LinkedIn",
           "country": "Pays", "owner": "Propriétaire", "notes": "Notes internes"},
    "en": {"crm_id": "CRM ID", "salutation": "Salutation", "first_name": "First Name",
           "last_name": "Last Name", "full_name": "Full Name", "company": "Company",
           "job_title": "Job Title", "email": "Email", "phone": "Phone", "website": "Website",
           "linkedin": "LinkedIn URL", "country": "Country", "owner": "Owner", "notes": "Notes"},
    "de": {"crm_id": "CRM-ID", "salutation": "Anrede", "first_name": "Vorname", "last_name": "Nachname",
           "full_name": "Name", "company": "Firma", "job_title": "Position", "email": "E-Mail",
           "phone": "Telefon", "website": "Webseite", "linkedin": "LinkedIn", "country": "Land",
           "owner": "Betreuer", "notes": "Notizen"},
    "es": {"crm_id": "ID CRM", "salutation": "Tratamiento", "first_name": "Nombre",
           "last_name": "Apellidos", "full_name": "Nombre completo", "company": "Empresa",
           "job_title": "Cargo", "email": "Correo electrónico", "phone": "Teléfono",
           "website": "Sitio web", "linkedin": "LinkedIn", "country": "País",
           "owner": "Responsable", "notes": "Notas"},
    "it": {"crm_id": "ID CRM", "salutation": "Titolo", "first_name": "Nome", "last_name": "Cognome",
           "full_name": "Nome completo", "company": "Azienda", "job_title": "Ruolo", "email": "Email",
           "phone": "Telefono", "website": "Sito web", "linkedin": "LinkedIn", "country": "Paese",
           "owner": "Referente", "notes": "Note"},
}

# Columns of the "b2c" profile, after the others (see _b2c_columns).
B2C_COLUMNS = ("street_number", "street", "postcode", "city", "date_of_birth")
B2C_TRUTH_COLUMNS = ("true_street_number", "true_street", "true_postcode", "true_city", "true_date_of_birth",
                     "household_id", "address_variation", "dob_variation")
_B2C_HEADERS = {
    "fr": {"street_number": "N° de voie", "street": "Adresse", "postcode": "Code postal", "city": "Ville",
           "date_of_birth": "Date de naissance"},
    "en": {"street_number": "Street Number", "street": "Address", "postcode": "Postcode", "city": "City",
           "date_of_birth": "Date of Birth"},
    "de": {"street_number": "Hausnummer", "street": "Straße", "postcode": "PLZ", "city": "Ort",
           "date_of_birth": "Geburtsdatum"},
    "es": {"street_number": "Número de calle", "street": "Dirección", "postcode": "Código postal",
           "city": "Ciudad", "date_of_birth": "Fecha de nacimiento"},
    "it": {"street_number": "Numero civico", "street": "Indirizzo", "postcode": "CAP", "city": "Città",
           "date_of_birth": "Data di nascita"},
}
for _lang, _h in _B2C_HEADERS.items():
    HEADERS[_lang].update(_h)

KIND_CONTACT, KIND_NO_IDENTITY, KIND_EMPTY = 0, 1, 2
ROW_KIND_NAMES = ("contact", "no_identity", "empty")


# =============================================================================================
# Small helpers
# =============================================================================================
class _Weighted:
    """Weighted choice driven by one uniform draw.

    A lookup table of RESOLUTION slots replaces bisect on cumulative weights: one list index per
    pick, which matters in loops that make tens of picks per row. Weights are thus quantised to
    1/RESOLUTION (every item with a positive weight keeps at least one slot).
    """

    __slots__ = ("items", "table")
    RESOLUTION = 8192

    def __init__(self, pairs: Iterable[tuple[object, float]]):
        pairs = [(item, float(w)) for item, w in pairs if w > 0]
        self.items = [item for item, _ in pairs]
        total = sum(w for _, w in pairs)
        counts = [max(1, round(w / total * self.RESOLUTION)) for _, w in pairs]
        # Fix rounding so the table has exactly RESOLUTION slots, taking from the largest bucket.
        counts[counts.index(max(counts))] += self.RESOLUTION - sum(counts)
        self.table = [item for item, c in zip(self.items, counts) for _ in range(c)]

    def pick(self, u: float):
        return self.table[int(u * 8192)]


def _ch(rnd: random.Random, seq: Sequence):
    """Uniform pick from one float draw: several times cheaper than random.choice in hot loops."""
    return seq[int(rnd.random() * len(seq))]


def _rr(rnd: random.Random, a: int, b: int) -> int:
    """Uniform integer in [a, b) from one float draw (cheaper than random.randrange)."""
    return a + int(rnd.random() * (b - a))


def _zipf_p(n: int, s: float, q: float) -> np.ndarray:
    """Zipf-Mandelbrot probabilities over ranks 1..n: (rank + q) ** -s, normalised."""
    p = (np.arange(1, n + 1, dtype=np.float64) + q) ** -s
    return p / p.sum()


def _zipf_weights(n: int, s: float, q: float) -> list[float]:
    return _zipf_p(n, s, q).tolist()


_SPECIAL_FOLD = {"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o",
                 "Ø": "O", "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ð": "d", "þ": "th",
                 "’": "'", "ʼ": "'"}


def _build_accent_table() -> dict[int, str | None]:
    """Translate table that drops diacritics (é->e, ß->ss) and stray combining marks (NFD input)."""
    table: dict[int, str | None] = {}
    for cp in range(0xC0, 0x250):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii() and base:
            table[cp] = base
    for ch, rep in _SPECIAL_FOLD.items():
        table[ord(ch)] = rep
    for cp in range(0x300, 0x370):
        table[cp] = None
    return table


_ACCENTS = _build_accent_table()
# German transliteration people use when their keyboard or the CRM has no umlauts: Müller -> Mueller.
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_EMAIL_BAD = re.compile(r"[^a-z0-9._-]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def strip_accents(s: str) -> str:
    return s.translate(_ACCENTS)


@functools.lru_cache(maxsize=None)
def _fold_lower(s: str) -> str:
    return s.translate(_ACCENTS).lower()


@functools.lru_cache(maxsize=None)
def _email_token(name: str, keep_hyphen: bool, umlaut: bool) -> str:
    """A name as companies put it in a mailbox: ascii, lower, no spaces/apostrophes."""
    s = name.translate(_UMLAUTS) if umlaut else name
    s = _fold_lower(s).replace("'", "").replace(" ", "-" if keep_hyphen else "")
    if not keep_hyphen:
        s = s.replace("-", "")
    return _EMAIL_BAD.sub("", s)


@functools.lru_cache(maxsize=None)
def _last_token(name: str, umlaut: bool) -> str:
    # Spaces inside last names ("de la Fontaine") are glued, hyphens of double-barrelled names kept.
    s = name.translate(_UMLAUTS) if umlaut else name
    return _EMAIL_BAD.sub("", _fold_lower(s).replace("'", "").replace(" ", ""))


def _initials(token: str, compound: bool) -> str:
    if compound and "-" in token:
        return "".join(p[:1] for p in token.split("-") if p)
    return token[:1]


# cp1252 decoding of UTF-8 bytes: the classic "HÃ©lÃ¨ne" mojibake of a file decoded twice.
_CP1252_OF_BYTE = [bytes([b]).decode("cp1252", errors="replace") for b in range(256)]


def _mojibake(s: str) -> str:
    return "".join(_CP1252_OF_BYTE[b] for b in s.encode("utf-8"))


_KEYBOARD = {
    "a": "qzsw", "z": "aeqs", "e": "zrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj",
    "i": "uojk", "o": "ipkl", "p": "olm", "q": "aswz", "s": "qdzx", "d": "sfec", "f": "dgrv",
    "g": "fhtb", "h": "gjyn", "j": "hkun", "k": "jlim", "l": "kmo", "m": "nlk", "w": "qsxa",
    "x": "wcsd", "c": "xvdf", "v": "cbfg", "b": "vngh", "n": "bmhj",
}


def _typo(s: str, rnd: random.Random) -> str:
    """One keyboard slip (substitution, deletion, transposition or doubling), never the 1st char."""
    if len(s) < 3:
        return s
    for _ in range(4):
        i = _rr(rnd, 1, len(s))
        c = s[i]
        u = rnd.random()
        if u < 0.35 and c.lower() in _KEYBOARD:
            r = _ch(rnd, _KEYBOARD[c.lower()])
            out = s[:i] + (r.upper() if c.isupper() else r) + s[i + 1:]
        elif u < 0.6:
            out = s[:i] + s[i + 1:]
        elif u < 0.85 and i < len(s) - 1:
            out = s[:i] + s[i + 1] + s[i] + s[i + 2:]
        else:
            out = s[:i] + c + s[i:]
        if out != s and out.strip():
            return out
    return s


def _titlecase_words(s: str) -> str:
    # What "Proper case" in a CRM does: every word capitalised, particles and Mc included.
    return " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))


# =============================================================================================
# Phones
# =============================================================================================
@dataclass(frozen=True, slots=True)
class Phone:
    country: str
    cc: str
    nsn: str  # national significant number (for Italy it keeps the leading 0 of landlines)
    trunk: str  # national prefix dialled before the nsn ("0"), "" for ES/IT
    groupings: tuple[tuple[int, ...], ...]  # how the national form is grouped, alternatives
    mobile: bool

    @property
    def e164(self) -> str:
        return f"+{self.cc}{self.nsn}"


def _digits(rnd: random.Random, n: int, first_nonzero: bool = True) -> str:
    """n random digits in one draw; the first one in 2-9 when subscriber numbers cannot start 0/1."""
    if n <= 0:
        return ""
    lo = 2 * 10 ** (n - 1) if first_nonzero else 0
    return str(lo + int(rnd.random() * (10 ** n - lo))).zfill(n)


_DE_MOBILE = ("151", "152", "157", "160", "162", "163", "170", "171", "172", "173", "174", "175",
              "176", "177", "178", "179")
_DE_AREAS = (("30", 8), ("40", 8), ("89", 8), ("69", 8), ("221", 7), ("211", 7), ("711", 7),
             ("351", 7), ("341", 7), ("511", 7), ("911", 7), ("421", 7), ("201", 7), ("231", 7),
             ("621", 6), ("6221", 6), ("7531", 5))
_IT_MOBILE = ("320", "328", "329", "330", "333", "334", "335", "338", "339", "340", "345", "347",
              "348", "349", "366", "380", "389", "392", "393")
_IT_AREAS = (("02", 8), ("06", 8), ("011", 7), ("055", 7), ("051", 7), ("081", 7), ("010", 7),
             ("045", 7), ("049", 7), ("0471", 6))
# Ranges checked against libphonenumber's metadata offline (the generator must not need it):
# area code -> first digits a subscriber number may start with.
_FR_SECOND = {"1": "123456789", "2": "12345789", "3": "123456789", "4": "123456789",
              "5": "12345678", "9": "123456789"}
_GB_AREAS = {"161": "23456789", "121": "234567", "113": "23458", "131": "2345678", "117": "2349",
             "141": "23456789", "114": "2345", "115": "2689", "118": "2349", "191": "23456789"}
_ES_AREAS = {"91": "0123456789", "93": "0123456789", "94": "123456789", "95": "0123456789",
             "96": "0123456789", "98": "012345678"}
_BE_AREAS = {"2": "2345678", "3": "2345678", "4": "23", "9": "0234"}
_BE_MOBILE = ("470", "471", "472", "473", "474", "475", "476", "477", "478", "479", "484", "485",
              "486", "487", "488", "489", "492", "493", "494", "495", "496", "497", "498", "499",
              "456", "460", "465", "466", "467", "468")
_CH_AREAS = ("21", "22", "24", "26", "27", "31", "32", "33", "34", "41", "43", "44", "52", "55", "56",
             "61", "62", "71", "81", "91")
_NL_AREAS = ("10", "13", "15", "20", "23", "24", "26", "30", "33", "35", "36", "38", "40", "43", "45",
             "46", "50", "53", "55", "58", "70", "71", "72", "73", "74", "75", "76", "77", "78", "79")


def _make_phone(country: str, mobile: bool, rnd: random.Random) -> Phone:
    """A plausible number in a real numbering range of the country (valid for libphonenumber)."""
    if country == "FR":
        if mobile:
            if rnd.random() < 0.8:
                nsn = "6" + _ch(rnd, "0124578") + _digits(rnd, 7, False)
            else:
                nsn = "7" + _ch(rnd, "3456789") + _digits(rnd, 7, False)
        else:
            head = _ch(rnd, "123459")
            nsn = head + _ch(rnd, _FR_SECOND[head]) + _digits(rnd, 7, False)
        return Phone("FR", "33", nsn, "0", ((2, 2, 2, 2, 2),), mobile)
    if country == "DE":
        if mobile:
            pre = _ch(rnd, _DE_MOBILE)
            nsn = pre + _digits(rnd, 8 if pre[:2] == "15" or pre == "176" else 7)
            return Phone("DE", "49", nsn, "0", ((4, 20), (4, 3, 20)), True)
        area, n = _ch(rnd, _DE_AREAS)
        nsn = area + _digits(rnd, n)
        g = len(area) + 1
        return Phone("DE", "49", nsn, "0", ((g, 20), (g, 3, 20)), False)
    if country == "ES":
        if mobile:
            nsn = ("6" + _digits(rnd, 8, False)) if rnd.random() < 0.85 else ("7" + _ch(rnd, "1234") + _digits(rnd, 7, False))
            return Phone("ES", "34", nsn, "", ((3, 3, 3), (3, 2, 2, 2)), True)
        area = _ch(rnd, tuple(_ES_AREAS))
        nsn = area + _ch(rnd, _ES_AREAS[area]) + _digits(rnd, 6, False)
        return Phone("ES", "34", nsn, "", ((3, 3, 3), (2, 3, 2, 2)), False)
    if country == "IT":
        if mobile:
            nsn = _ch(rnd, _IT_MOBILE) + _digits(rnd, 7, False)
            return Phone("IT", "39", nsn, "", ((3, 3, 4), (3, 7), (3, 4, 3)), True)
        area, n = _ch(rnd, _IT_AREAS)
        nsn = area + _digits(rnd, n)
        return Phone("IT", "39", nsn, "", ((len(area), 4, 20), (len(area), 20)), False)
    if country == "GB":
        if mobile:
            nsn = "7" + _ch(rnd, "1234") + _digits(rnd, 8, False)
            return Phone("GB", "44", nsn, "0", ((5, 6), (5, 3, 3)), True)
        if rnd.random() < 0.45:
            nsn = "20" + _ch(rnd, "3478") + _digits(rnd, 7, False)
            return Phone("GB", "44", nsn, "0", ((3, 4, 4),), False)
        area = _ch(rnd, tuple(_GB_AREAS))
        nsn = area + _ch(rnd, _GB_AREAS[area]) + _digits(rnd, 6, False)
        return Phone("GB", "44", nsn, "0", ((4, 3, 4), (4, 7)), False)
    if country == "BE":
        if mobile:
            nsn = _ch(rnd, _BE_MOBILE) + _digits(rnd, 6, False)
            return Phone("BE", "32", nsn, "0", ((4, 2, 2, 2), (4, 3, 3)), True)
        area = _ch(rnd, tuple(_BE_AREAS))
        nsn = area + _ch(rnd, _BE_AREAS[area]) + _digits(rnd, 6, False)
        return Phone("BE", "32", nsn, "0", ((2, 3, 2, 2), (2, 7)), False)
    if country == "CH":
        if mobile:
            nsn = "7" + _ch(rnd, "56789") + _digits(rnd, 7)
        else:
            nsn = _ch(rnd, _CH_AREAS) + _digits(rnd, 7)
        return Phone("CH", "41", nsn, "0", ((3, 3, 2, 2),), mobile)
    if country == "NL":
        if mobile:
            nsn = "6" + _ch(rnd, "12345") + _digits(rnd, 7, False)
            return Phone("NL", "31", nsn, "0", ((2, 8), (2, 2, 2, 2, 2), (2, 4, 4)), True)
        nsn = _ch(rnd, _NL_AREAS) + _digits(rnd, 7)
        return Phone("NL", "31", nsn, "0", ((3, 3, 4), (3, 7)), False)
    raise ValueError(country)


def _split_groups(s: str, sizes: Sequence[int]) -> list[str]:
    """Cut `s` into groups of `sizes`; the last group takes whatever is left."""
    out, i = [], 0
    for k, size in enumerate(sizes):
        if i >= len(s):
            break
        out.append(s[i:] if k == len(sizes) - 1 else s[i:i + size])
        i += size
    return out


def _national_groups(ph: Phone, rnd: random.Random) -> list[str]:
    return _split_groups(ph.trunk + ph.nsn, _ch(rnd, ph.groupings))


def _intl_groups(ph: Phone, rnd: random.Random) -> list[str]:
    sizes = list(_ch(rnd, ph.groupings))
    sizes[0] -= len(ph.trunk)
    if sizes[0] <= 0:
        sizes = sizes[1:]
    return _split_groups(ph.nsn, sizes)


# How a phone was typed. Weighted per country (national conventions differ), see _PHONE_FORMATS.
_PHONE_BASE = [
    ("national_spaced", 0.30), ("national_compact", 0.12), ("national_dots", 0.05),
    ("national_dashes", 0.03), ("national_nbsp", 0.015), ("e164", 0.12), ("intl_spaced", 0.10),
    ("intl_trunk", 0.05), ("intl_00", 0.05), ("paren_intl", 0.012), ("excel_lost_zero", 0.04),
    ("digits_cc", 0.02), ("extension", 0.02), ("text_prefix", 0.02), ("two_numbers", 0.008),
    ("excel_sci", 0.003), ("typo_digit", 0.005),
]
_PHONE_FORMATS: dict[str, _Weighted] = {}
for _c in COUNTRIES:
    _pairs = list(_PHONE_BASE)
    if _c == "FR":
        _pairs += [("national_dots", 0.05)]
    if _c == "DE":
        _pairs += [("national_slash", 0.08)]
    if _c in ("ES", "IT"):  # no trunk prefix: "(0)" forms do not exist, Excel keeps mobiles intact
        _pairs = [(f, w) for f, w in _pairs if f not in ("intl_trunk", "paren_intl")]
    _PHONE_FORMATS[_c] = _Weighted(_pairs)

_PHONE_LABELS = {
    "fr": ("Tél : ", "Tel. ", "Mob. ", "Portable : ", "Standard : ", "Ligne directe : ", "tel: "),
    "en": ("Tel: ", "Mobile: ", "M: ", "T: ", "Office: ", "Direct: "),
    "de": ("Tel.: ", "Mobil: ", "Handy: ", "Durchwahl: "),
    "es": ("Tel.: ", "Móvil: ", "Tfno. "),
    "it": ("Tel. ", "Cell. ", "Ufficio: "),
}
_PHONE_EXT = {
    "fr": (" poste {n}", " p.{n}", " (poste {n})", " ext. {n}"),
    "en": (" ext. {n}", " x{n}", " ext {n}", " (ext. {n})"),
    "de": (" Durchwahl {n}", " -{n}", " App. {n}"),
    "es": (" ext. {n}", " ext {n}"),
    "it": (" int. {n}", " interno {n}"),
}
_DECIMAL_COMMA = {"fr", "de", "es", "it"}


def _format_phone(ph: Phone, fmt: str, rnd: random.Random, lang: str, other: Phone | None) -> tuple[str, str]:
    """Type `ph` the way `fmt` says; returns (text, format actually used)."""
    national = ph.trunk + ph.nsn
    if fmt == "national_spaced":
        return " ".join(_national_groups(ph, rnd)), fmt
    if fmt == "national_compact":
        return national, fmt
    if fmt == "national_dots":
        return ".".join(_national_groups(ph, rnd)), fmt
    if fmt == "national_dashes":
        return "-".join(_national_groups(ph, rnd)), fmt
    if fmt == "national_nbsp":  # pasted from a web page or Word: non-breaking spaces
        return "\u00a0".join(_national_groups(ph, rnd)), fmt
    if fmt == "national_slash":  # German "030/12345678"
        g = _national_groups(ph, rnd)
        return g[0] + "/" + "".join(g[1:]), fmt
    if fmt == "e164":
        return ph.e164, fmt
    if fmt == "intl_spaced":
        return f"+{ph.cc} " + " ".join(_intl_groups(ph, rnd)), fmt
    if fmt == "intl_trunk":  # "+33 (0)6 12 34 56 78": the (0) must be dropped when dialling
        g = _intl_groups(ph, rnd)
        return f"+{ph.cc} ({ph.trunk})" + " ".join(g), fmt
    if fmt == "intl_00":
        if rnd.random() < 0.5:
            return f"00{ph.cc}{ph.nsn}", fmt
        sep = _ch(rnd, (" ", ".", " "))
        return f"00{ph.cc} " + sep.join(_intl_groups(ph, rnd)), fmt
    if fmt == "paren_intl":  # "(+44) 07700 900123": international prefix AND trunk zero
        return f"(+{ph.cc}) " + " ".join(_national_groups(ph, rnd)), fmt
    if fmt == "excel_lost_zero":  # a numeric cell: Excel dropped the leading zero
        if national.startswith("0"):
            return national.lstrip("0"), fmt
        return national, "national_compact"
    if fmt == "digits_cc":  # "+33..." stored as a number: the plus is gone
        return f"{ph.cc}{ph.nsn}", fmt
    if fmt == "extension":
        base = " ".join(_national_groups(ph, rnd)) if rnd.random() < 0.7 else f"+{ph.cc} " + " ".join(_intl_groups(ph, rnd))
        return base + _ch(rnd, _PHONE_EXT[lang]).format(n=_rr(rnd, 10, 999)), fmt
    if fmt == "text_prefix":
        return _ch(rnd, _PHONE_LABELS[lang]) + " ".join(_national_groups(ph, rnd)), fmt
    if fmt == "two_numbers":
        if other is None or other.e164 == ph.e164:
            return " ".join(_national_groups(ph, rnd)), "national_spaced"
        sep = _ch(rnd, (" / ", " - ", "; ", "\n", " ou " if lang == "fr" else " or "))
        return " ".join(_national_groups(ph, rnd)) + sep + " ".join(_national_groups(other, rnd)), fmt
    if fmt == "excel_sci":  # a number too long for the General format: lossy scientific notation
        s = f"{float(ph.cc + ph.nsn):.5E}"
        return (s.replace(".", ",") if lang in _DECIMAL_COMMA else s), fmt
    if fmt == "typo_digit":  # a digit missed or doubled: the true number cannot be recovered
        g = _national_groups(ph, rnd)
        s = " ".join(g)
        positions = [i for i, ch in enumerate(s) if ch.isdigit()][2:]
        i = _ch(rnd, positions)
        s = s[:i] + s[i + 1:] if rnd.random() < 0.5 else s[:i] + s[i] + s[i:]
        return s, fmt
    raise ValueError(fmt)


# =============================================================================================
# Companies
# =============================================================================================
@dataclass(slots=True)
class Company:
    country: str
    base: str  # name without the legal form
    form: str  # canonical legal form ("" if none)
    form_variants: tuple[str, ...]
    name: str  # truth: base + legal form
    domain: str  # website domain, the truth `true_domain`
    email_domain: str  # usually the same; some groups mail from another domain
    pattern: str  # nominative e-mail pattern
    keep_hyphen: bool  # jean-pierre.dupont@ vs jeanpierre.dupont@
    compound_initials: bool  # jp.dupont@ vs j.dupont@
    umlaut: bool  # mueller@ vs muller@ (German-speaking IT departments transliterate)
    es_first_surname: bool  # garcia@ vs garcialopez@ for Spanish double surnames
    switchboard: Phone
    generic: tuple[str, ...]  # generic mailboxes: contact@, info@... (the first is the main one)
    used_locals: set[str]  # nominative local parts already handed out (homonyms get jean.martin2@)


_PATTERNS = _Weighted([("first.last", 0.50), ("flast", 0.12), ("f.last", 0.09), ("first", 0.04),
                       ("firstlast", 0.10), ("first_last", 0.07), ("last.first", 0.08)])
_DOMAIN_STOP = {"de", "la", "le", "les", "du", "des", "et", "and", "the", "of", "und", "y", "e",
                "en", "di", "della", "d", "l", "s", "c", "zn"}
_NAME_TEMPLATES: dict[str, _Weighted] = {
    c: _Weighted([("last_act", 0.27), ("act_last", 0.20), ("brand", 0.25), ("place", 0.09),
                  ("two_last", 0.12), ("letters", 0.07)])
    for c in COUNTRIES
}
_TWO_LAST = {
    "FR": ("{a} & {b}", "{a} et Fils", "{a} & Associés", "{a} Frères"),
    "DE": ("{a} & {b}", "{a} & Söhne", "{a} & Partner", "{a} {b}"),
    "ES": ("{a} y Asociados", "Hermanos {a}", "{a} & {b}", "{a} e Hijos"),
    "IT": ("{a} & Figli", "{a} & C.", "{a} e {b}", "Fratelli {a}"),
    "GB": ("{a} & {b}", "{a} & Sons", "{a} {b}", "{a} and {b}"),
    "NL": ("{a} & Zn.", "{a} & {b}", "{a} en {b}", "Gebroeders {a}"),
    "BE": ("{a} & {b}", "{a} et Fils", "{a} & Zonen", "{a} Frères"),
    "CH": ("{a} & {b}", "{a} & Söhne", "{a} et Fils", "{a} & Partner"),
}
_PLACE_TEMPLATES = {
    "FR": ("Société {p} de {x}", "Compagnie {p} de {x}"),
    "DE": ("{p} {x}",), "ES": ("{p} de {x}",), "IT": ("{p} {x}",), "GB": ("{p} {x}",),
    "NL": ("{p} {x}",), "BE": ("{p} {x}",), "CH": ("{p} {x}",),
}
_PLACE_NOUNS = {
    "FR": ("Maintenance", "Travaux", "Distribution", "Services", "Emballage", "Logistique",
           "Bâtiment", "Transports", "Chauffage", "Levage"),
    "ES": ("Instalaciones", "Transportes", "Servicios", "Construcciones", "Suministros"),
}
# Pools of family names used in company names, by company country.
_COMPANY_NAME_POOLS = {"FR": ("FR",), "DE": ("DE",), "ES": ("ES",), "IT": ("IT",), "GB": ("GB",),
                       "NL": ("NL",), "BE": ("BE", "BE", "FR", "NL"), "CH": ("CH", "CH", "DE", "FR")}


def _company_family_name(country: str, rnd: random.Random) -> str:
    pool = ND.LAST_NAMES[_ch(rnd, _COMPANY_NAME_POOLS[country])]
    # Mildly rank-weighted so "Martin" businesses are common, as in reality.
    i = min(int(rnd.paretovariate(0.9)) - 1, len(pool) - 1)
    name = pool[i] if rnd.random() < 0.6 else _ch(rnd, pool)
    return name[:1].upper() + name[1:]  # "de la Fontaine" -> "De la Fontaine" at the start of a name


def _brand(rnd: random.Random) -> str:
    head = _ch(rnd, ND.BRAND_HEADS)
    mid = _ch(rnd, ND.BRAND_MIDS) if rnd.random() < 0.5 else ""
    tail = _ch(rnd, ND.BRAND_TAILS)
    word = (head + mid + tail).capitalize()
    return word


def _company_base(country: str, rnd: random.Random) -> str:
    kind = _NAME_TEMPLATES[country].pick(rnd.random())
    if kind == "last_act":
        return f"{_company_family_name(country, rnd)} {_ch(rnd, ND.ACTIVITIES_AFTER[country])}"
    if kind == "act_last":
        return f"{_ch(rnd, ND.ACTIVITIES_BEFORE[country])} {_company_family_name(country, rnd)}"
    if kind == "brand":
        suffix = _ch(rnd, ND.BRAND_SUFFIX_WORDS[country])
        return f"{_brand(rnd)} {suffix}".strip()
    if kind == "place":
        tpl = _ch(rnd, _PLACE_TEMPLATES[country])
        x = _ch(rnd, _PLACE_NOUNS.get(country, ND.ACTIVITIES_AFTER[country]))
        return tpl.format(p=_ch(rnd, ND.PLACES[country]), x=x)
    if kind == "two_last":
        a, b = _company_family_name(country, rnd), _company_family_name(country, rnd)
        return _ch(rnd, _TWO_LAST[country]).format(a=a, b=b)
    letters = "".join(_ch(rnd, "ABCDEFGHIJKLMNOPRSTV") for _ in range(_ch(rnd, (2, 3, 3, 4))))
    return f"{letters} {_ch(rnd, ND.ACTIVITIES_AFTER[country])}"


_GENERIC_COMPANY_WORDS = {"societe", "compagnie", "groupe", "group", "etablissements", "entreprise",
                          "cabinet", "gruppo", "grupo", "studio", "the", "gebroeders", "gebruder",
                          "fratelli", "hermanos", "solutions", "services", "systems"}


def _domain_label(base: str, rnd: random.Random, umlaut: bool = False) -> str:
    # German-speaking companies register baeckerei-mueller.de rather than backerei-muller.de.
    text = base.translate(_UMLAUTS) if umlaut else base
    tokens = [t for t in _NON_ALNUM.split(_fold_lower(text)) if t and t not in _DOMAIN_STOP]
    if not tokens:
        tokens = ["societe"]
    if len(tokens) > 1 and rnd.random() < 0.35:
        label = "-".join(tokens)
    else:
        label = "".join(tokens)
    if len(label) > 20:
        # Long names: generic words go first ("Société Normande de Travaux" -> normande-travaux),
        # then initials ("snt"), as real companies register short domains.
        core = [t for t in tokens if t not in _GENERIC_COMPANY_WORDS] or tokens
        label = "-".join(core) if rnd.random() < 0.5 else "".join(core)
        if len(label) > 20:
            label = "".join(t[0] for t in tokens) + ("-" + core[-1] if rnd.random() < 0.5 else "")
    return label


def _make_companies(counts: dict[str, int], rnd: random.Random) -> list[Company]:
    companies: list[Company] = []
    seen_names: set[str] = set()
    seen_domains: set[str] = set()
    for country in COUNTRIES:
        forms = ND.LEGAL_FORMS[country]
        form_w = _Weighted([(f, w) for f, w, _ in forms])
        variants = {f: v for f, _, v in forms}
        for _ in range(counts.get(country, 0)):
            for _attempt in range(50):
                base = _company_base(country, rnd)
                if base.lower() not in seen_names:
                    break
            else:
                base = f"{base} {_rr(rnd, 2, 99)}"
            seen_names.add(base.lower())
            form = form_w.pick(rnd.random())
            name = f"{base} {form}" if form else base
            umlaut = country in ("DE", "CH") and rnd.random() < 0.85
            label = _domain_label(base, rnd, umlaut)
            u = rnd.random()
            tld = ND.TLDS[country] if u < 0.65 else ("com" if u < 0.90 else _ch(rnd, ("eu", "io", "net")))
            domain = f"{label}.{tld}"
            if domain in seen_domains:  # taken: the way real companies work around it
                for alt in (f"{label}-{country.lower()}.{tld}", f"{label}-group.{tld}"):
                    if alt not in seen_domains:
                        domain = alt
                        break
                else:
                    n = 2
                    while f"{label}{n}.{tld}" in seen_domains:
                        n += 1
                    domain = f"{label}{n}.{tld}"
            seen_domains.add(domain)
            email_domain = domain
            if rnd.random() < 0.08:  # the group mails from another domain than its website
                alt = _ch(rnd, (f"{label}-group.com", f"{label}.com", f"groupe-{label}.fr" if country == "FR" else f"{label}-group.eu"))
                if alt not in seen_domains:
                    seen_domains.add(alt)
                    email_domain = alt
            k = 1 + (rnd.random() < 0.5) + (rnd.random() < 0.2)
            boxes = ND.GENERIC_MAILBOXES[country]
            chosen: list[str] = []
            for b in [boxes[0]] + rnd.sample(boxes[1:], min(len(boxes) - 1, 3)):
                if b not in chosen:
                    chosen.append(b)
            generic = tuple(f"{b}@{email_domain}" for b in chosen[:k])
            companies.append(Company(
                country=country, base=base, form=form, form_variants=variants.get(form, ()), name=name,
                domain=domain, email_domain=email_domain, pattern=_PATTERNS.pick(rnd.random()),
                keep_hyphen=rnd.random() < 0.7, compound_initials=rnd.random() < 0.6,
                umlaut=umlaut,
                es_first_surname=rnd.random() < 0.6,
                switchboard=_make_phone(country, False, rnd), generic=generic,
                used_locals=set(),
            ))
    return companies


# =============================================================================================
# The plan: entities and the file order of their copies
# =============================================================================================
@dataclass(slots=True)
class _Plan:
    rows: int
    seed: int
    lang: str
    full_name: bool
    companies: list[Company]
    # per entity (index = internal entity number)
    kind: np.ndarray
    n_copies: np.ndarray
    orig_copy: np.ndarray  # which copy (1-based, file order) is the reference one
    country: list[str]
    company: np.ndarray  # -1: independent
    pool: list[str]
    gender: list[str]
    first: list[str]
    last: list[str]
    last1: list[str]  # first surname of a Spanish double surname, else the last name
    email: list[str]  # primary true e-mail
    email_kind: list[str]  # pro / perso / generic / ""
    alt_email: list[str]
    alt_email_kind: list[str]
    phone: list[Phone | None]
    alt_phone: list[Phone | None]
    title: list[str]
    title_concept: np.ndarray
    title_lang: list[str]
    linkedin: list[str]  # slug
    pro_email: list[str]  # the professional address the person has at their company ("" if none)
    public_id: np.ndarray  # entity_id as published in truth (1-based, order of first appearance)
    # per row (file order)
    row_entity: np.ndarray
    row_copy: np.ndarray  # 1-based copy number of the row in file order
    crm_base: int
    owners: list[str]
    _arrays: dict[str, np.ndarray] | None = None
    profile: str = "mixed"
    email_variants: bool = False  # typo'd local parts and aliases on duplicate copies (_email_variants)
    b2c: "_B2CPlan | None" = None  # homes, dates of birth, households (profile "b2c")

    def entity_arrays(self) -> dict[str, np.ndarray]:
        """Per-entity truth strings as numpy object arrays, built once for fancy indexing."""
        if self._arrays is None:
            self._arrays = {
                "first": np.asarray(self.first, dtype=object),
                "last": np.asarray(self.last, dtype=object),
                "gender": np.asarray(self.gender, dtype=object),
                "country": np.asarray(self.country, dtype=object),
                "title": np.asarray(self.title, dtype=object),
                "linkedin": np.asarray(self.linkedin, dtype=object),
                "pro_email": np.asarray(self.pro_email, dtype=object),
                "pool": np.asarray(self.pool, dtype=object),
                "company_name": np.asarray([c.name for c in self.companies] or [""], dtype=object),
                "company_domain": np.asarray([c.domain for c in self.companies] or [""], dtype=object),
            }
        return self._arrays


def _draw_copies(n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Copy counts per entity, summing exactly to n_rows."""
    if n_rows <= 0:
        return np.zeros(0, dtype=np.int64)
    ks: list[np.ndarray] = []
    total = 0
    mean = 1 + DUP_ENTITY_RATE * (sum(k * w for k, w in DUP_COPIES) - 1)
    while total < n_rows:
        n = int((n_rows - total) / mean) + 16
        dup = rng.random(n) < DUP_ENTITY_RATE
        extra = rng.choice([k for k, _ in DUP_COPIES], size=n, p=[w for _, w in DUP_COPIES])
        k = np.where(dup, extra, 1).astype(np.int64)
        ks.append(k)
        total += int(k.sum())
    k = np.concatenate(ks)
    cum = np.cumsum(k)
    n_ent = int(np.searchsorted(cum, n_rows) + 1)
    k = k[:n_ent].copy()
    k[-1] -= int(cum[n_ent - 1] - n_rows)  # the last entity loses the copies that overflow
    return k


def _build_plan(rows: int, seed: int, profile: str, lang: str, full_name: bool,
                email_variants: bool = False) -> _Plan:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGS}")
    rng = np.random.default_rng([seed, 11])
    rnd = random.Random(int(np.random.SeedSequence([seed, 12]).generate_state(1)[0]))

    n_empty = int(round(rows * EMPTY_ROW_RATE))
    n_noid = int(round(rows * NO_IDENTITY_RATE))
    n_contact_rows = rows - n_empty - n_noid
    k_contact = _draw_copies(n_contact_rows, rng)
    n_contact = len(k_contact)
    n_ent = n_contact + n_noid + n_empty
    kind = np.concatenate([np.full(n_contact, KIND_CONTACT), np.full(n_noid, KIND_NO_IDENTITY),
                           np.full(n_empty, KIND_EMPTY)]).astype(np.int8)
    n_copies = np.concatenate([k_contact, np.ones(n_noid + n_empty, dtype=np.int64)])

    # --- countries and companies -------------------------------------------------------------
    weights = PROFILES[profile]
    ctry_codes = [c for c in COUNTRIES if weights.get(c, 0) > 0]
    p = np.array([weights[c] for c in ctry_codes])
    ent_ctry_idx = rng.choice(len(ctry_codes), size=n_ent, p=p / p.sum())
    country = [ctry_codes[i] for i in ent_ctry_idx.tolist()]

    n_comp_total = int(np.clip(rows / 25, 8, 5000))
    counts = {c: max(2, int(round(n_comp_total * weights[c] / p.sum()))) for c in ctry_codes}
    companies = _make_companies(counts, rnd)
    comp_by_country: dict[str, list[int]] = {}
    for i, comp in enumerate(companies):
        comp_by_country.setdefault(comp.country, []).append(i)
    company = np.full(n_ent, -1, dtype=np.int64)
    independent = rng.random(n_ent) < (B2C_INDEPENDENT_RATE if profile == "b2c" else INDEPENDENT_RATE)
    for ci, c in enumerate(ctry_codes):
        idx = np.flatnonzero((ent_ctry_idx == ci) & ~independent & (kind != KIND_EMPTY))
        members = np.asarray(comp_by_country[c])
        # Zipf company sizes: a few companies hold hundreds of contacts, most a handful.
        company[idx] = members[rng.choice(len(members), size=len(idx), p=_zipf_p(len(members), 0.9, 5.0))]

    # --- name origin, gender, name ranks ------------------------------------------------------
    pool = [""] * n_ent
    u = rng.random(n_ent).tolist()
    mix_w = {c: _Weighted(ORIGIN_MIX[c]) for c in COUNTRIES}
    for e in range(n_ent):
        pool[e] = mix_w[country[e]].pick(u[e])
    gender_m = rng.random(n_ent) < 0.56
    gender = ["M" if g else "F" for g in gender_m.tolist()]
    first_idx = np.zeros(n_ent, dtype=np.int64)
    last_idx = np.zeros(n_ent, dtype=np.int64)
    last2_idx = np.full(n_ent, -1, dtype=np.int64)
    pool_arr = np.array(pool)
    for pl in POOLS:
        in_pool = pool_arr == pl
        for g, gm in (("M", gender_m), ("F", ~gender_m)):
            idx = np.flatnonzero(in_pool & gm)
            names = ND.FIRST_NAMES[pl][g]
            first_idx[idx] = rng.choice(len(names), size=len(idx), p=_zipf_p(len(names), 0.9, 5.0))
        idx = np.flatnonzero(in_pool)
        lasts = ND.LAST_NAMES[pl]
        lp = _zipf_p(len(lasts), 0.8, 10.0)
        last_idx[idx] = rng.choice(len(lasts), size=len(idx), p=lp)
        if pl == "ES":  # Spaniards carry two surnames; CRMs often keep only the first
            two = idx[rng.random(len(idx)) < 0.8]
            last2_idx[two] = rng.choice(len(lasts), size=len(two), p=lp)

    # --- job titles -------------------------------------------------------------------------
    n_titles = len(ND.JOB_TITLES)
    title_concept = rng.choice(n_titles, size=n_ent, p=_zipf_p(n_titles, 0.6, 2.0))

    # --- file order ---------------------------------------------------------------------------
    row_entity = np.repeat(np.arange(n_ent, dtype=np.int64), n_copies)
    row_entity = row_entity[rng.permutation(len(row_entity))]
    if rows and kind[row_entity[-1]] == KIND_EMPTY:
        # Spreadsheet readers drop trailing blank rows; keep the last row a real one.
        j = int(np.flatnonzero(kind[row_entity] != KIND_EMPTY)[-1]) if (kind[row_entity] != KIND_EMPTY).any() else len(row_entity) - 1
        row_entity[[j, -1]] = row_entity[[-1, j]]
    order = np.argsort(row_entity, kind="stable")
    sorted_ent = row_entity[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_ent)) + 1] if len(order) else np.array([], dtype=np.int64)
    group_start = np.zeros(len(order), dtype=np.int64)
    if len(order):
        group_start[starts] = starts
        group_start = np.maximum.accumulate(group_start)
    row_copy = np.empty(len(order), dtype=np.int64)
    row_copy[order] = np.arange(len(order)) - group_start + 1
    first_pos = np.full(n_ent, len(row_entity), dtype=np.int64)
    np.minimum.at(first_pos, row_entity, np.arange(len(row_entity)))
    public_id = np.empty(n_ent, dtype=np.int64)
    public_id[np.argsort(first_pos, kind="stable")] = np.arange(1, n_ent + 1)
    orig_copy = (rng.random(n_ent) * n_copies).astype(np.int64) + 1

    household_head = None
    if profile == "b2c":  # its own random stream: the other profiles' draws stay as they were
        household_head = _b2c_households(seed, kind, country, pool, last_idx, last2_idx)
    plan = _Plan(
        rows=rows, seed=seed, lang=lang, full_name=full_name, companies=companies, kind=kind,
        n_copies=n_copies, orig_copy=orig_copy, country=country, company=company, pool=pool,
        gender=gender, first=[], last=[], last1=[], email=[], email_kind=[], alt_email=[],
        alt_email_kind=[], phone=[], alt_phone=[], title=[], title_concept=title_concept, pro_email=[],
        title_lang=[], linkedin=[], public_id=public_id, row_entity=row_entity, row_copy=row_copy,
        crm_base=int(rng.integers(1000, 90000)), owners=[],
    )
    _fill_entities(plan, first_idx, last_idx, last2_idx, rnd)
    plan.owners = _make_owners(lang, rnd)
    plan.profile, plan.email_variants = profile, email_variants or profile == "b2c"
    if household_head is not None:
        plan.b2c = _b2c_plan(plan, household_head)
    return plan


# Which of a company's 1-3 generic mailboxes a person uses: mostly the main one.
_GENERIC_RANK = {n: _Weighted(zip(range(n), (0.7, 0.2, 0.1)[:n])) for n in (1, 2, 3)}
_PERSO_PATTERNS = _Weighted([("{f}.{l}", 0.35), ("{f}{l}", 0.15), ("{f}.{l}{yy}", 0.12), ("{i}{l}", 0.10),
                             ("{f}_{l}", 0.05), ("{l}.{f}", 0.06), ("{f}{l}{nn}", 0.07), ("{i}.{l}", 0.05),
                             ("{f}-{l}", 0.05)])


def _fill_entities(plan: _Plan, first_idx: np.ndarray, last_idx: np.ndarray, last2_idx: np.ndarray,
                   rnd: random.Random) -> None:
    """Per-entity strings: names, real addresses and numbers (the same for every copy)."""
    companies = plan.companies
    used_webmail: set[str] = set()
    used_slugs: set[str] = set()
    webmail_w = {c: _Weighted(zip(ND.WEBMAIL[c], _zipf_weights(len(ND.WEBMAIL[c]), 1.1, 0.5))) for c in COUNTRIES}
    fi_l, la_l, l2_l = first_idx.tolist(), last_idx.tolist(), last2_idx.tolist()
    comp_l = plan.company.tolist()
    concept_l = plan.title_concept.tolist()
    first, last, last1 = plan.first, plan.last, plan.last1
    email, email_kind, alt_email, alt_email_kind = plan.email, plan.email_kind, plan.alt_email, plan.alt_email_kind
    phone, alt_phone, title, title_lang, linkedin = plan.phone, plan.alt_phone, plan.title, plan.title_lang, plan.linkedin
    for e, k in enumerate(plan.kind.tolist()):
        if k == KIND_EMPTY:
            for lst in (first, last, last1, email, email_kind, alt_email, alt_email_kind, title, title_lang, linkedin,
                        plan.pro_email):
                lst.append("")
            phone.append(None)
            alt_phone.append(None)
            continue
        country, pl, g = plan.country[e], plan.pool[e], plan.gender[e]
        fn = ND.FIRST_NAMES[pl][g][fi_l[e]]
        lasts = ND.LAST_NAMES[pl]
        ln1 = lasts[la_l[e]]
        ln = f"{ln1} {lasts[l2_l[e]]}" if l2_l[e] >= 0 else ln1
        first.append(fn)
        last.append(ln)
        last1.append(ln1)
        ci = comp_l[e]
        comp = companies[ci] if ci >= 0 else None

        # -- phones: own mobile, direct line or the company switchboard --
        u = rnd.random()
        if comp is None:
            ph = _make_phone(country, True, rnd) if u < 0.85 else None
            aph = None
        else:
            if u < 0.45:
                ph = _make_phone(country, True, rnd)
                aph = comp.switchboard if rnd.random() < 0.25 else None
            elif u < 0.72:
                ph = _make_phone(country, False, rnd)
                aph = _make_phone(country, True, rnd) if rnd.random() < 0.3 else None
            elif u < 0.92:
                ph = comp.switchboard
                aph = _make_phone(country, True, rnd) if rnd.random() < 0.3 else None
            else:
                ph, aph = None, None
        phone.append(ph)
        alt_phone.append(aph)

        # -- e-mails --
        pro = perso = generic = ""
        if comp is not None:
            fi = _email_token(fn, comp.keep_hyphen, comp.umlaut)
            la = _last_token(ln1 if comp.es_first_surname else ln, comp.umlaut)
            pro = _pro_local(comp, fi, la, rnd)
            generic = comp.generic[_GENERIC_RANK[len(comp.generic)].pick(rnd.random())]
        u = rnd.random()
        wants_perso = comp is None or (0.72 <= u < 0.84) or rnd.random() < 0.15
        if wants_perso:
            perso = _perso_address(fn, ln1, country, webmail_w[country], used_webmail, rnd)
        if comp is None:
            kinds = (("perso", perso), ("", "")) if u < 0.85 else (("", ""), ("", ""))
        elif u < 0.72:
            kinds = (("pro", pro), ("perso", perso) if perso else ("", ""))
        elif u < 0.84:
            kinds = (("perso", perso), ("pro", pro) if rnd.random() < 0.5 else ("", ""))
        elif u < 0.93:
            kinds = (("generic", generic), ("pro", pro) if rnd.random() < 0.3 else ("", ""))
        else:
            kinds = (("", ""), ("", ""))
        plan.pro_email.append(pro)  # truth for e-mail finding, whether or not the file shows it
        email_kind.append(kinds[0][0])
        email.append(kinds[0][1])
        alt_email_kind.append(kinds[1][0])
        alt_email.append(kinds[1][1])

        # -- job title: in the person's language or in English --
        # Belgians write Dutch or French, Swiss German, French or Italian, by their origin.
        if country == "BE":
            tl = "nl" if pl == "NL" or (pl == "BE" and rnd.random() < 0.55) else "fr"
        elif country == "CH":
            tl = "fr" if pl == "FR" else "it" if pl == "IT" else "de"
        else:
            tl = _TITLE_LANG_OF_COUNTRY[country]
        if rnd.random() < 0.35:
            tl = "en"
        col_m, col_f = TITLE_COL[tl]
        title.append(ND.JOB_TITLES[concept_l[e]][col_m if g == "M" else col_f])
        title_lang.append(tl)

        # -- LinkedIn profile slug --
        if rnd.random() < 0.35:
            ft, lt = _email_token(fn, True, False), _last_token(ln, False)
            v = rnd.random()
            if v < 0.05:  # LinkedIn keeps accents in vanity URLs
                slug = f"{fn.lower().replace(' ', '-')}-{ln.lower().replace(' ', '-')}-{_rr(rnd, 0, 16**6):06x}"
            elif v < 0.65:
                slug = f"{ft}-{lt}-{_rr(rnd, 0, 16**8):08x}"[: 50]
            elif v < 0.80:
                slug = f"{ft}{lt}"
            elif v < 0.93:
                slug = f"{ft}-{lt}"
            else:
                slug = f"{ft}-{lt}-{_rr(rnd, 1, 999)}"
            # LinkedIn vanity URLs are unique: a namesake gets a suffix, as on the real site.
            while slug in used_slugs:
                slug = f"{ft}-{lt}-{_rr(rnd, 0, 16**8):08x}"[: 50]
            used_slugs.add(slug)
            linkedin.append(slug)
        else:
            linkedin.append("")


def _pro_local(comp: Company, fi: str, la: str, rnd: random.Random) -> str:
    init = _initials(fi, comp.compound_initials)
    pattern = comp.pattern
    if pattern == "first.last":
        local = f"{fi}.{la}"
    elif pattern == "flast":
        local = init.replace("-", "") + la
    elif pattern == "f.last":
        local = f"{init}.{la}"
    elif pattern == "first":
        local = fi
    elif pattern == "firstlast":
        local = fi.replace("-", "") + la
    elif pattern == "first_last":
        local = f"{fi}_{la}"
    else:
        local = f"{la}.{fi}"
    local = local.strip("._-") or "contact"
    if local in comp.used_locals:
        # Homonym at the same company (or "first" pattern clash): IT adds the last name, a digit.
        if pattern == "first" and f"{fi}.{la}" not in comp.used_locals:
            local = f"{fi}.{la}"
        else:
            n = 2
            while f"{local}{n}" in comp.used_locals:
                n += 1
            local = f"{local}{n}"
    comp.used_locals.add(local)
    return f"{local}@{comp.email_domain}"


def _perso_address(fn: str, ln: str, country: str, webmail: _Weighted, used: set[str],
                   rnd: random.Random) -> str:
    f = _email_token(fn, rnd.random() < 0.5, False)
    lt = _last_token(ln, False)
    pattern = _PERSO_PATTERNS.pick(rnd.random())
    yy = f"{_ch(rnd, (_rr(rnd, 55, 100), _rr(rnd, 0, 6))):02d}"
    local = pattern.format(f=f, l=lt, i=f[:1], yy=yy, nn=_rr(rnd, 1, 100))
    domain = webmail.pick(rnd.random())
    addr = f"{local}@{domain}"
    while addr in used:
        addr = f"{local}{_rr(rnd, 1, 1000)}@{domain}"
    used.add(addr)
    return addr


def _make_owners(lang: str, rnd: random.Random) -> list[str]:
    pool = {"fr": "FR", "en": "GB", "de": "DE", "es": "ES", "it": "IT"}[lang]
    owners = []
    for _ in range(10):
        g = _ch(rnd, "MF")
        owners.append(f"{_ch(rnd, ND.FIRST_NAMES[pool][g][:40])} {_ch(rnd, ND.LAST_NAMES[pool][:80])}")
    return owners


# =============================================================================================
# Row materialisation: one degraded copy of an entity per row
# =============================================================================================
_EMAIL_CORRUPTIONS = _Weighted([("none", 0.795), ("case", 0.065), ("space", 0.035), ("typo_domain", 0.025),
                                ("typo_tld", 0.02), ("display_name", 0.015), ("mailto", 0.005),
                                ("multiple", 0.01), ("accent", 0.008), ("punct", 0.012), ("syntax", 0.01)])
_TLD_TYPOS = {
    "com": ("con", "cm", "co", "comm", "om", "cpm", "vom"),
    "fr": ("ff", "fe", "frr", "f", "fr.", "rf"),
    "de": ("dee", "d", "ed", "de."),
    "es": ("ess", "e", "se"),
    "it": ("itt", "iy", "ti"),
    "co.uk": ("co.uj", "couk", "co.k", "co.uk.", "uk"),
    "be": ("bee", "b", "eb"),
    "ch": ("chh", "c", "hc"),
    "nl": ("nll", "n", "ln"),
    "net": ("ne", "nett", "met"),
    "eu": ("e", "euu"),
    "io": ("oi", "i"),
}


def _corrupt_email(addr: str, kind: str, rnd: random.Random, fn: str, ln: str, other: str) -> tuple[str, str]:
    corr = _EMAIL_CORRUPTIONS.pick(rnd.random())
    if corr == "none":
        return addr, corr
    local, _, domain = addr.partition("@")
    if corr == "case":
        v = rnd.random()
        if v < 0.35:
            return addr.upper(), corr
        if v < 0.7:
            return ".".join(p[:1].upper() + p[1:] for p in local.split(".")) + "@" + domain, corr
        if v < 0.85:
            return local + "@" + domain.upper(), corr
        return local[:1].upper() + local[1:] + "@" + domain[:1].upper() + domain[1:], corr
    if corr == "space":
        v = rnd.random()
        if v < 0.3:
            return " " + addr, corr
        if v < 0.6:
            return addr + _ch(rnd, (" ", "  ", "\u00a0")), corr
        if v < 0.8:
            return local + _ch(rnd, (" @", "@ ", " @ ")) + domain, corr
        i = _rr(rnd, 1, max(2, len(local)))
        return local[:i] + " " + local[i:] + "@" + domain, corr
    if corr == "typo_domain":
        typos = ND.WEBMAIL_TYPOS.get(domain)
        if typos:
            return f"{local}@{_ch(rnd, typos)}", corr
        label, dot, tld = domain.partition(".")
        return f"{local}@{_typo(label, rnd) if len(label) >= 3 else label + label[-1]}{dot}{tld}", corr
    if corr == "typo_tld":
        label, _, tld = domain.partition(".")
        v = rnd.random()
        if v < 0.15:
            return f"{local}@{label}", corr  # TLD forgotten
        if v < 0.3:
            return f"{local}@{label}{_ch(rnd, ('..', ',', '.,'))}{tld}", corr
        return f"{local}@{label}.{_ch(rnd, _TLD_TYPOS.get(tld, (tld + tld[-1],)))}", corr
    if corr == "display_name":
        if kind == "generic" or not fn:
            return f"<{addr}>", corr
        if rnd.random() < 0.6:
            return f"{fn} {ln} <{addr}>", corr
        return f'"{ln.upper()}, {fn}" <{addr}>', corr
    if corr == "mailto":
        return "mailto:" + addr, corr
    if corr == "multiple":
        if not other or other == addr:
            return addr, "none"
        return addr + _ch(rnd, ("; ", ";", " / ", ", ", " ou " if rnd.random() < 0.5 else "\n")) + other, corr
    if corr == "accent":
        if kind != "pro" or strip_accents(fn + ln) == fn + ln:
            return addr, "none"
        # Someone typed the accents the mail system never had: hélène.dupont@...
        acc = local
        for name in (fn, ln):
            plain = _fold_lower(name).replace(" ", "")
            if plain and plain in acc:
                acc = acc.replace(plain, name.lower().replace(" ", ""), 1)
        if acc == local:
            return addr, "none"
        return f"{acc}@{domain}", corr
    if corr == "punct":
        v = rnd.random()
        if v < 0.4:
            return addr + _ch(rnd, (".", ",", ";", ":")), corr
        if v < 0.7:
            return f"<{addr}>", corr
        return _ch(rnd, ("'{}'", "({})", "[{}]", '"{}"')).format(addr), corr
    # syntax
    v = rnd.random()
    if v < 0.3:
        return local + _ch(rnd, ("(at)", " at ", "[at]", " [at] ")) + domain, corr
    if v < 0.55:
        return local + "@@" + domain, corr
    if v < 0.8:
        return local + domain if rnd.random() < 0.5 else local + "." + domain, corr
    return local.replace(".", ",", 1) + "@" + domain if "." in local else local + "@" + domain.replace(".", ",", 1), corr


_PARTICLES = {"de", "la", "le", "du", "des", "van", "von", "der", "den", "ter", "ten", "zu", "del",
              "della", "di", "da", "dos", "in", "'t", "het", "el", "al", "ben", "dal", "dalla", "lo", "li"}


def _particle_variant(ln: str, rnd: random.Random) -> str:
    """How multi-part last names get mangled: case, glued, particle dropped, inverted, abbreviated."""
    if "'" in ln or "’" in ln:
        v = rnd.random()
        if v < 0.35:
            return ln.replace("'", "’")
        if v < 0.55:
            return ln.replace("'", " ")
        if v < 0.75:
            return ln.replace("'", "")
        return _titlecase_words(ln.replace("'", "' ")).replace("' ", "'")
    words = ln.split(" ")
    if len(words) > 1:
        v = rnd.random()
        if v < 0.35:
            return _titlecase_words(ln)
        if v < 0.55:
            glued = "".join(words)
            return glued[:1].upper() + glued[1:].lower()
        lead = 0
        while lead < len(words) - 1 and words[lead].lower() in _PARTICLES:
            lead += 1
        if lead and v < 0.75:
            return " ".join(words[lead:])
        if lead and v < 0.88:
            return f"{' '.join(words[lead:])}, {' '.join(words[:lead])}"
        if lead and words[0].lower() in ("van", "von"):
            abbrev = {"van der": "v.d.", "van den": "v.d.", "van de": "v.d.", "von der": "v.d."}.get(
                " ".join(w.lower() for w in words[:lead]), words[0][0].lower() + ".")
            return f"{abbrev} {' '.join(words[lead:])}"
        return ln.upper()
    k = 2 if ln.startswith("Mc") else 3 if ln.startswith("Mac") else 0
    if k and len(ln) > k + 1 and ln[k].isupper():  # McDonald -> Mcdonald / Mc Donald
        if rnd.random() < 0.5:
            return ln[:1] + ln[1:].lower()
        return ln[:k] + " " + ln[k:]
    if "-" in ln:
        v = rnd.random()
        if v < 0.5:
            return ln.replace("-", " ")
        if v < 0.8:
            return ln.split("-")[0]
        return ln.replace("-", "")
    return ln


def _initial_form(fn: str, rnd: random.Random) -> str:
    parts = [p for p in re.split(r"[- ]", fn) if p]
    if len(parts) > 1 and rnd.random() < 0.6:
        return _ch(rnd, ("{}.-{}.", "{}{}", "{}-{}", "{}. {}.")).format(parts[0][0], parts[1][0])
    return fn[0] + _ch(rnd, (".", ".", ""))


def _compound_variant(fn: str, rnd: random.Random) -> str:
    sep = "-" if "-" in fn else " "
    parts = fn.split(sep)
    v = rnd.random()
    if v < 0.45:
        return parts[0]
    if v < 0.75:
        return (" " if sep == "-" else "-").join(parts)
    if v < 0.9:
        return parts[0] + (" " if sep == "-" else "-") + " ".join(parts[1:]).lower()
    return "".join(parts[:1] + [p.lower() for p in parts[1:]])


_ABBREV_WORDS = {
    "Établissements": "Ets", "Etablissements": "Ets", "Société": "Sté", "Compagnie": "Cie",
    "Fratelli": "F.lli", "Brothers": "Bros", "Gebrüder": "Gebr.", "Hermanos": "Hnos.",
    "Associés": "Assoc.", "Laboratoires": "Labo", "International": "Intl", "Transports": "Transp.",
    "Groupe": "Gpe", "Gebroeders": "Gebr.", "Technologies": "Tech", "Solutions": "Sol.",
    "Ingénierie": "Ing.", "Ingenieurbüro": "Ing.-Büro", "Distribuciones": "Dist.",
}
_AMP = {"&": ("et", "and", "+", "und", "y", "e", "en", "&amp;")}
_PREFIX_FORM_COUNTRIES = {"FR", "BE", "CH"}


def _company_text(comp: Company, rnd: random.Random, div: bool, tags: list[str]) -> str:
    base, form = comp.base, comp.form
    # legal form: canonical, a messy spelling, dropped, or in front (French "SAS Dupont")
    if form:
        v = rnd.random()
        drop = 0.40 if div else 0.22
        if v < drop:
            form_txt = ""
            tags.append("form_dropped")
        elif v < drop + 0.15 and comp.form_variants:
            form_txt = _ch(rnd, comp.form_variants)
            tags.append("form_variant")
        elif v < drop + 0.19 and comp.country in _PREFIX_FORM_COUNTRIES:
            tags.append("form_prefix")
            base, form_txt = f"{form} {base}", ""
        elif v < drop + 0.21:
            form_txt = f"({form})"
            tags.append("form_variant")
        else:
            form_txt = form
    else:
        form_txt = ""
    if rnd.random() < (0.12 if div else 0.05):
        words = base.split(" ")
        changed = [_ABBREV_WORDS.get(w, w) for w in words]
        if changed != words:
            base = " ".join(changed)
            tags.append("abbrev")
        elif " & " in base:
            base = base.replace("&", _ch(rnd, _AMP["&"]), 1)
            tags.append("abbrev")
        elif len([w for w in words if w.lower() not in _DOMAIN_STOP]) >= 3 and rnd.random() < 0.5:
            base = "".join(w[0].upper() for w in words if w.lower() not in _DOMAIN_STOP)
            tags.append("acronym")
    text = f"{base} {form_txt}" if form_txt else base
    v = rnd.random()
    if v < (0.18 if div else 0.10):
        text = text.upper()
        tags.append("upper")
    elif v < (0.21 if div else 0.12):
        text = text.lower()
        tags.append("lower")
    if rnd.random() < (0.10 if div else 0.04):
        stripped = strip_accents(text)
        if stripped != text:
            text = stripped
            tags.append("accents")
    if rnd.random() < (0.05 if div else 0.015):
        typo = _typo(text, rnd)
        if typo != text:
            text = typo
            tags.append("typo")
    if rnd.random() < 0.05:
        text = _ch(rnd, (" {}", "{} ", "{}  ", " {} ")).format(text)
        tags.append("spaces")
    return text


def _title_text(e_title: str, concept: int, g: str, tl: str, country: str, rnd: random.Random, div: bool,
                tags: list[str]) -> str:
    text = e_title
    row = ND.JOB_TITLES[concept]
    native = _NATIVE_TITLE_LANG[country]
    if div and native != "en" and rnd.random() < 0.2:
        # The other copy has the title in English, or in the local language if it was English.
        other = "en" if tl != "en" else native
        text = row[TITLE_COL[other][0 if g == "M" else 1]]
        tags.append("title_lang")
    elif g == "F" and tl in ("fr", "de", "es", "it") and rnd.random() < 0.25:
        text = row[TITLE_COL[tl][0]]  # masculine form used for a woman: common in CRMs
    v = rnd.random()
    if v < 0.08 and text in ND.JOB_TITLE_SHORT:
        text = _ch(rnd, ND.JOB_TITLE_SHORT[text])
    elif v < 0.16:
        words = text.split(" ")
        text = " ".join(ND.JOB_WORD_ABBREV.get(w, w) for w in words)
    v = rnd.random()
    if v < 0.07:
        text = text.upper()
    elif v < 0.12:
        text = text.lower()
    elif v < 0.15:
        text += _ch(rnd, (" France", " EMEA", " - Export", " Europe", " (intérim)", " Sud-Ouest", " DACH", ", Benelux"))
    if rnd.random() < 0.01:
        text = _typo(text, rnd)
    if rnd.random() < 0.03:
        text = " " + text + " "
    return text


_WEBSITE_FORMS = _Weighted([("http://www.{d}/", 0.14), ("https://www.{d}", 0.14), ("www.{d}", 0.25),
                            ("{d}", 0.12), ("{D}", 0.04), ("https://{d}/", 0.06), ("http://{d}", 0.04),
                            ("www.{d}/fr/", 0.03), ("https://www.{d}/contact", 0.03), ("{d}/", 0.03),
                            ("Www.{d}", 0.03), ("WWW.{D}", 0.02), ("http//www.{d}", 0.01),
                            ("www.{d}.", 0.01), ("www,{d}", 0.01), (" www.{d} ", 0.02),
                            ("https://www.{d}/?utm_source=crm", 0.02)])
_LINKEDIN_SUB = {"FR": "fr", "DE": "de", "ES": "es", "IT": "it", "GB": "uk", "BE": "be", "CH": "ch", "NL": "nl"}
_LINKEDIN_FORMS = _Weighted([("https://www.linkedin.com/in/{s}/", 0.30), ("https://www.linkedin.com/in/{s}", 0.18),
                             ("http://linkedin.com/in/{s}", 0.05), ("www.linkedin.com/in/{s}", 0.10),
                             ("linkedin.com/in/{s}/", 0.07), ("https://{sub}.linkedin.com/in/{s}", 0.10),
                             ("{sub}.linkedin.com/in/{s}/", 0.04),
                             ("https://www.linkedin.com/in/{s}?originalSubdomain={sub}", 0.06),
                             ("https://www.linkedin.com/in/{s}/?locale={loc}", 0.03),
                             ("https://www.linkedin.com/in/{S}", 0.03),
                             ("https://www.linkedin.com/in/{s}/overlay/contact-info/", 0.02),
                             ("https://www.linkedin.com/in/{q}/", 0.02)])
_LOCALES = {"FR": "fr_FR", "DE": "de_DE", "ES": "es_ES", "IT": "it_IT", "GB": "en_GB", "BE": "fr_BE", "CH": "de_CH", "NL": "nl_NL"}
_COUNTRY_FORMS = _Weighted([("lang", 0.45), ("a2", 0.20), ("a3", 0.05), ("upper", 0.08), ("lower", 0.06),
                            ("native", 0.06), ("other", 0.08), ("pad", 0.02)])
_FULL_NAME_ORDER = _Weighted([("first_last", 0.55), ("LAST_first", 0.20), ("last_first", 0.08),
                              ("last_comma_first", 0.07), ("sal_first_last", 0.05), ("first_LAST", 0.05)])


def _notes_text(lang: str, rnd: random.Random, owners: list[str]) -> str:
    frags = ND.NOTES[lang]
    parts = []
    for _ in range(_ch(rnd, (1, 1, 1, 2, 2, 3))):
        d = f"{_rr(rnd, 1, 29):02d}/{_rr(rnd, 1, 13):02d}/{_rr(rnd, 2018, 2026)}"
        if lang == "en" and rnd.random() < 0.5:
            d = f"{_rr(rnd, 2018, 2026)}-{_rr(rnd, 1, 13):02d}-{_rr(rnd, 1, 29):02d}"
        parts.append(_ch(rnd, frags).format(
            event=_ch(rnd, ND.EVENTS), year=_rr(rnd, 2015, 2026), month=_ch(rnd, ND.MONTHS[lang]),
            owner=_ch(rnd, owners), date=d, amount=f"{_rr(rnd, 2, 250)} 000"))
    sep = _ch(rnd, ("; ", ", ", "\n", " - ", " / ", "\n- ", " | "))
    return sep.join(parts)


# A few account owners hold most of the contacts.
_OWNER_RANK = _Weighted(zip(range(10), _zipf_weights(10, 1.2, 0.0)))


def _owner_text(lang: str, rnd: random.Random, owners: list[str]) -> str:
    v = rnd.random()
    if v < 0.10:
        return ""
    name = _OWNER_RANK.pick(rnd.random()) if len(owners) == 10 else _ch(rnd, owners)
    name = owners[name] if isinstance(name, int) else name
    fn, _, ln = name.partition(" ")
    if v < 0.70:
        return name
    if v < 0.80:
        return f"{ln.upper()} {fn}"
    if v < 0.86:
        return f"{_email_token(fn, False, False)[:1]}.{_last_token(ln, False)}"
    if v < 0.92:
        return _ch(rnd, ND.TEAMS[lang])
    if v < 0.96:
        return f"{name}\n({_ch(rnd, ('remplaçant', 'intérim', 'backup', 'ex-' + _ch(rnd, owners)))})"
    return f"{name}, {_ch(rnd, owners)}"


def _chunk_rng(seed: int, chunk: int) -> random.Random:
    return random.Random(int(np.random.SeedSequence([seed, 21, chunk]).generate_state(1)[0]))


def _materialise(plan: _Plan, start: int, stop: int, chunk: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows start..stop-1 (file order) as (messy, truth) frames."""
    rnd = _chunk_rng(plan.seed, chunk)
    rand = rnd.random
    lang = plan.lang
    full = plan.full_name
    companies = plan.companies
    sal_m, sal_f, sal_n = ND.SALUTATIONS[lang]
    sal_m_w = _Weighted(zip(sal_m, _zipf_weights(len(sal_m), 1.2, 0.3)))
    sal_f_w = _Weighted(zip(sal_f, _zipf_weights(len(sal_f), 1.2, 0.3)))
    nick = ND.NICKNAMES
    owners = plan.owners
    caps_last = 0.30 if lang == "fr" else 0.08
    phone_formats = _PHONE_FORMATS
    ents = plan.row_entity[start:stop]
    n = len(ents)
    kind_rows = plan.kind[ents]

    # Messy columns built per row; truth columns that only depend on the entity are vectorised
    # below, only what a row decides itself (which address, how it was corrupted...) is appended.
    m_sal: list[str] = []
    m_first: list[str] = []
    m_last: list[str] = []
    m_full: list[str] = []
    m_comp: list[str] = []
    m_title: list[str] = []
    m_email: list[str] = []
    m_phone: list[str] = []
    m_web: list[str] = []
    m_li: list[str] = []
    m_ctry: list[str] = []
    m_owner: list[str] = []
    m_notes: list[str] = []
    t_email: list[str] = []
    t_email_kind: list[str] = []
    t_corr: list[str] = []
    t_phone: list[str] = []
    t_pfmt: list[str] = []
    t_nvar: list[str] = []
    t_cvar: list[str] = []

    ent_l = ents.tolist()
    div_l = (plan.row_copy[start:stop] != plan.orig_copy[ents]).tolist()
    kind_l = kind_rows.tolist()
    comp_l = plan.company[ents].tolist()
    concept_l = plan.title_concept[ents].tolist()
    P = plan
    for e, k, div, ci, concept in zip(ent_l, kind_l, div_l, comp_l, concept_l):
        if k == KIND_EMPTY:
            for lst in (m_sal, m_first, m_last, m_full, m_comp, m_title, m_email, m_phone, m_web, m_li,
                        m_ctry, m_owner, m_notes, t_email, t_email_kind, t_phone):
                lst.append("")
            t_corr.append("none")
            t_pfmt.append("none")
            t_nvar.append("none")
            t_cvar.append("none")
            continue
        country, g = P.country[e], P.gender[e]
        comp = companies[ci] if ci >= 0 else None
        noid = k == KIND_NO_IDENTITY

        # ---------------- names ----------------
        fn0, ln0 = P.first[e], P.last[e]
        tags: list[str] = []
        if noid:
            fn = ln = ""
        else:
            fn, ln = fn0, ln0
            if div:
                v = rand()
                if v < 0.10 and fn in nick:
                    fn = _ch(rnd, nick[fn])
                    tags.append("nickname")
                elif v < 0.16:
                    fn = _initial_form(fn, rnd)
                    tags.append("initial")
                elif v < 0.46 and ("-" in fn or " " in fn):
                    fn = _compound_variant(fn, rnd)
                    tags.append("compound")
                if ln != P.last1[e] and rand() < 0.4:
                    ln = P.last1[e]  # Spanish double surname cut to the first one
                    tags.append("first_surname")
            if rand() < (0.25 if div else 0.08) and (" " in ln or "'" in ln or "-" in ln or ln[:2] == "Mc" or ln[:3] == "Mac"):
                ln2 = _particle_variant(ln, rnd)
                if ln2 != ln:
                    ln = ln2
                    tags.append("particle")
            if rand() < (0.08 if div else 0.012):
                if rand() < 0.5 and len(fn) >= 3:
                    fn2, ln2 = _typo(fn, rnd), ln
                else:
                    fn2, ln2 = fn, _typo(ln, rnd)
                if (fn2, ln2) != (fn, ln):
                    fn, ln = fn2, ln2
                    tags.append("typo")
            v = rand()
            if v < (0.15 if div else 0.05):
                a, b = fn.translate(_ACCENTS), ln.translate(_ACCENTS)
                if a != fn or b != ln:
                    fn, ln = a, b
                    tags.append("accents")
            elif v < (0.25 if div else 0.10) and P.pool[e] in ("DE", "CH"):
                a, b = fn.translate(_UMLAUTS), ln.translate(_UMLAUTS)
                if a != fn or b != ln:
                    fn, ln = a, b
                    tags.append("translit")
            v = rand()
            if v < caps_last:
                ln = ln.upper()
                tags.append("last_upper")
            elif v < caps_last + 0.03:
                fn, ln = fn.upper(), ln.upper()
                tags.append("upper")
            elif v < caps_last + 0.06:
                fn, ln = fn.lower(), ln.lower()
                tags.append("lower")
            elif v < caps_last + 0.09:
                fn, ln = _titlecase_words(fn), _titlecase_words(ln)
                tags.append("titlecase")
            v = rand()
            p_nfd = 0.05 if div else 0.015
            if v < p_nfd:
                fn, ln = unicodedata.normalize("NFD", fn), unicodedata.normalize("NFD", ln)
                tags.append("nfd")
            elif v < p_nfd + 0.003:
                fn, ln = _mojibake(fn), _mojibake(ln)
                tags.append("mojibake")
            if rand() < 0.06:
                if rand() < 0.5:
                    fn = _ch(rnd, (" {}", "{} ", "{}  ", "\u00a0{}")).format(fn)
                else:
                    ln = _ch(rnd, (" {}", "{} ", "{}  ")).format(ln)
                tags.append("spaces")
            if rand() < 0.003:
                fn = _ch(rnd, ("Dr ", "Dr. ", "Pr ")) + fn
                tags.append("title_in_name")
            if rand() < (0.02 if div else 0.005):
                fn, ln = ln, fn
                tags.append("swapped")
            v = rand()
            p_miss = 0.03 if div else 0.007
            if v < p_miss:
                fn = ""
                tags.append("missing_first")
            elif v < p_miss + 0.003:
                ln = ""
                tags.append("missing_last")
        if full:
            if noid:
                m_full.append("")
            else:
                order = _FULL_NAME_ORDER.pick(rand())
                if not fn or not ln:
                    txt = fn or ln
                elif order == "first_last":
                    txt = f"{fn} {ln}"
                elif order == "LAST_first":
                    txt = f"{ln.upper()} {fn}"
                elif order == "last_first":
                    txt = f"{ln} {fn}"
                elif order == "last_comma_first":
                    txt = f"{ln}, {fn}"
                elif order == "sal_first_last":
                    txt = f"{(sal_m_w if g == 'M' else sal_f_w).pick(rand())} {fn} {ln}"
                else:
                    txt = f"{fn} {ln.upper()}"
                m_full.append(txt)
                tags.append(f"order_{order}")
        else:
            m_first.append(fn)
            m_last.append(ln)

        # ---------------- salutation ----------------
        v = rand()
        if noid or v < 0.30:
            m_sal.append("")
        elif v < 0.31:
            m_sal.append((sal_f_w if g == "M" else sal_m_w).pick(rand()))  # entered wrong
            tags.append("salutation_wrong")
        elif v < 0.33:
            m_sal.append(_ch(rnd, sal_n))
        else:
            m_sal.append((sal_m_w if g == "M" else sal_f_w).pick(rand()))

        # ---------------- company ----------------
        ctags: list[str] = []
        if comp is None or noid:
            m_comp.append("")
        elif rand() < (0.08 if div else 0.025):
            m_comp.append("")
            ctags.append("missing")
        else:
            m_comp.append(_company_text(comp, rnd, div, ctags))

        # ---------------- job title ----------------
        if rand() < (0.30 if div else 0.15):
            m_title.append("")
        else:
            m_title.append(_title_text(P.title[e], concept, g, P.title_lang[e], country, rnd, div, tags))

        # ---------------- e-mail ----------------
        te, tk = P.email[e], P.email_kind[e]
        alt = P.alt_email[e]
        if div and alt and rand() < 0.35:
            te, tk = alt, P.alt_email_kind[e]  # the other address of the person on this copy
        if noid:
            te, tk = "", ""
        if not te:
            m_email.append("")
            corr = "none"
        elif rand() < (0.15 if div else 0.03):
            m_email.append("")
            corr = "missing"
        else:
            other = alt if alt and alt != te else (comp.generic[0] if comp is not None else "")
            txt, corr = _corrupt_email(te, tk, rnd, fn0, ln0, other)
            m_email.append(txt)
        t_email.append(te)
        t_email_kind.append(tk)
        t_corr.append(corr)

        # ---------------- phone ----------------
        ph, aph = P.phone[e], P.alt_phone[e]
        if div and aph is not None and rand() < 0.2:
            ph, aph = aph, ph
        if ph is None:
            m_phone.append("")
            t_phone.append("")
            t_pfmt.append("none")
        else:
            if rand() < (0.20 if div else 0.05):
                m_phone.append("")
                pfmt = "missing"
            else:
                txt, pfmt = _format_phone(ph, phone_formats[ph.country].pick(rand()), rnd, lang, aph)
                m_phone.append(txt)
            t_phone.append(ph.e164)
            t_pfmt.append(pfmt)

        # ---------------- website, LinkedIn ----------------
        if comp is not None and not noid and rand() < 0.40:
            d = comp.domain
            m_web.append(_WEBSITE_FORMS.pick(rand()).format(d=d, D=d.upper()))
        else:
            m_web.append("")
        slug = P.linkedin[e]
        if slug and not noid and rand() < (0.6 if div else 0.85):
            form = _LINKEDIN_FORMS.pick(rand())
            if "{S}" in form:
                m_li.append(form.format(S="-".join(p.capitalize() for p in slug.split("-"))))
            elif "{q}" in form:
                m_li.append(form.format(q=urllib.parse.quote(slug)))
            else:
                m_li.append(form.format(s=slug, sub=_LINKEDIN_SUB[country], loc=_LOCALES[country]))
        else:
            m_li.append("")

        # ---------------- country ----------------
        if rand() < 0.22:
            m_ctry.append("")
        else:
            f = _COUNTRY_FORMS.pick(rand())
            names = ND.COUNTRY_NAMES[country]
            if f == "lang":
                m_ctry.append(names[lang])
            elif f == "a2":
                m_ctry.append(country)
            elif f == "a3":
                m_ctry.append(names["a3"])
            elif f == "upper":
                m_ctry.append(names[lang].upper())
            elif f == "lower":
                m_ctry.append(names[lang].lower())
            elif f == "native":
                m_ctry.append(names["native"])
            elif f == "other":
                m_ctry.append(_ch(rnd, ND.COUNTRY_OTHER_SPELLINGS[country]))
            else:
                m_ctry.append(f" {names[lang]} ")

        # ---------------- custom columns ----------------
        m_owner.append(_owner_text(lang, rnd, owners))
        m_notes.append(_notes_text(lang, rnd, owners) if rand() < 0.25 else "")
        t_nvar.append("+".join(tags) if tags else "none")
        t_cvar.append("+".join(ctags) if ctags else "none")

    row_numbers = np.arange(start + 1, stop + 1, dtype=np.int64)
    crm = [f"CRM-{plan.crm_base + r:06d}" for r in row_numbers.tolist()]
    empty_mask = kind_rows == KIND_EMPTY
    if empty_mask.any():
        for i in np.flatnonzero(empty_mask).tolist():
            crm[i] = ""
    cols: dict[str, list[str]] = {"crm_id": crm, "salutation": m_sal}
    if full:
        cols["full_name"] = m_full
    else:
        cols["first_name"] = m_first
        cols["last_name"] = m_last
    cols.update(company=m_comp, job_title=m_title, email=m_email, phone=m_phone, website=m_web,
                linkedin=m_li, country=m_ctry, owner=m_owner, notes=m_notes)
    messy = pd.DataFrame(cols, dtype="str")

    # Entity-level truth, by numpy fancy indexing over per-entity string arrays.
    ent_arr = plan.entity_arrays()
    person = kind_rows == KIND_CONTACT  # no-identity and empty rows carry no identity truth
    has_comp = person & (plan.company[ents] >= 0)
    comp_idx = np.where(has_comp, plan.company[ents], 0)

    def take(name: str, mask: np.ndarray) -> np.ndarray:
        vals = ent_arr[name][ents]
        return np.where(mask, vals, "")

    truth = pd.DataFrame({
        "row_number": row_numbers,
        "entity_id": plan.public_id[ents],
        "row_kind": np.asarray(ROW_KIND_NAMES, dtype=object)[kind_rows],
        "copy_index": plan.row_copy[start:stop],
        "n_copies": plan.n_copies[ents],
        "true_first_name": take("first", person),
        "true_last_name": take("last", person),
        "true_gender": take("gender", person),
        "true_email": t_email,
        "true_email_kind": t_email_kind,
        "is_generic_email": np.asarray(t_email_kind, dtype=object) == "generic",
        "email_corruption": t_corr,
        "true_phone_e164": t_phone,
        "phone_format": t_pfmt,
        "true_country": take("country", ~empty_mask),
        "true_company": np.where(has_comp, ent_arr["company_name"][comp_idx], ""),
        "true_domain": np.where(has_comp, ent_arr["company_domain"][comp_idx], ""),
        "true_job_title": take("title", ~empty_mask),
        "true_linkedin": np.where(person & (ent_arr["linkedin"][ents] != ""),
                                  np.char.add("https://www.linkedin.com/in/", ent_arr["linkedin"][ents].astype(str)), ""),
        "name_variation": t_nvar,
        "company_variation": t_cvar,
        # Hidden truth for the enrichment benchmark (bench/bench_enrichment.py).
        "true_pro_email": take("pro_email", person),
        "true_name_origin": take("pool", person),
    })
    str_cols = [c for c in TRUTH_COLUMNS if c not in ("row_number", "entity_id", "copy_index", "n_copies", "is_generic_email")]
    truth = truth.astype({c: "str" for c in str_cols} | {"is_generic_email": "bool"})
    return messy, truth


# =============================================================================================
# Additions drawn after the rows: e-mail variants (any profile) and the B2C columns
# =============================================================================================
def _aux_rng(seed: int, stream: int, chunk: int = 0) -> random.Random:
    return random.Random(int(np.random.SeedSequence([seed, stream, chunk]).generate_state(1)[0]))


EMAIL_LOCAL_TYPO_RATE = 0.05  # of duplicate copies showing a nominative address as it is
EMAIL_ALIAS_RATE = 0.05


def _alias_local(local: str, first: str) -> str:
    """Another address the same person receives mail at: john.doe <-> j.doe, johndoe <-> jdoe."""
    fi = _email_token(first, False, False)
    if not fi:
        return local
    if len(fi) > 1 and local.startswith(fi):
        return fi[0] + local[len(fi):]
    if local[:1] == fi[0]:
        return fi + local[1:]
    for sep in (".", "_", "-"):
        if local.endswith(sep + fi) and len(fi) > 1:  # doe.john -> doe.j
            return local[: -len(fi)] + fi[0]
    return local


def _email_variants(plan: _Plan, messy: pd.DataFrame, truth: pd.DataFrame, start: int, stop: int,
                    chunk: int) -> None:
    """In place: on duplicate copies (not the entity's reference copy) that show their nominative
    address untouched, a one-letter typo in the local part (never its first letter) or an alias.
    The truth keeps the true address; email_corruption says `local_typo` or `alias`."""
    rnd = _aux_rng(plan.seed, 31, chunk)
    ents = plan.row_entity[start:stop]
    div = plan.row_copy[start:stop] != plan.orig_copy[ents]
    emails = messy["email"].tolist()
    corr = truth["email_corruption"].tolist()
    kinds = truth["true_email_kind"].tolist()
    true_email = truth["true_email"].tolist()
    first = truth["true_first_name"].tolist()
    for i in np.flatnonzero(div).tolist():
        u = rnd.random()  # one draw per divergent row, whatever happens: the stream stays aligned
        if corr[i] != "none" or kinds[i] not in ("pro", "perso") or emails[i] != true_email[i]:
            continue
        local, _, domain = emails[i].partition("@")
        if u < EMAIL_LOCAL_TYPO_RATE:
            new = _typo(local, rnd)
            tag = "local_typo"
        elif u < EMAIL_LOCAL_TYPO_RATE + EMAIL_ALIAS_RATE:
            new = _alias_local(local, first[i])
            tag = "alias"
        else:
            continue
        if len(new) >= 3 and new != local and not new.startswith(".") and not new.endswith("."):
            emails[i] = f"{new}@{domain}"
            corr[i] = tag
    messy["email"] = pd.Series(emails, dtype="str", index=messy.index)
    truth["email_corruption"] = pd.Series(corr, dtype="str", index=truth.index)


B2C_HOUSEHOLD_RATE = 0.06  # persons who live with another person of the file (same surname, home)
B2C_SHARED_LANDLINE = 0.35  # of households: the home phone is the number both give
B2C_FAMILY_MAILBOX = 0.12  # of households: one family mailbox (famille.dubois@free.fr) for both
B2C_MOVED_RATE = 0.15  # duplicated persons who moved house between two copies
_FAMILY_WORD = {"FR": "famille", "BE": "famille", "CH": "famille", "DE": "familie", "NL": "familie",
                "GB": "family", "ES": "familia", "IT": "famiglia"}


@dataclass(slots=True)
class _B2CPlan:
    dob: list[tuple[int, int, int] | None]
    home: list[tuple[str, int, str, int] | None]  # number, street type index, street name, city index
    moved_to: list[tuple[str, int, str, int] | None]
    household: np.ndarray  # household id (1-based) or 0


def _b2c_households(seed: int, kind: np.ndarray, country: list[str], pool: list[str],
                    last_idx: np.ndarray, last2_idx: np.ndarray) -> np.ndarray:
    """Some persons join the household of an earlier one of the same country and name origin and
    take their surname (in place in last_idx). Returns each entity's head (-1: none)."""
    rnd = _aux_rng(seed, 41)
    head = np.full(len(kind), -1, dtype=np.int64)
    seen: dict[tuple[str, str], list[int]] = {}
    for e, k in enumerate(kind.tolist()):
        if k != KIND_CONTACT:
            continue
        key = (country[e], pool[e])
        group = seen.setdefault(key, [])
        if group and rnd.random() < B2C_HOUSEHOLD_RATE:
            h = _ch(rnd, group)
            h = head[h] if head[h] >= 0 else h
            head[e] = h
            last_idx[e], last2_idx[e] = last_idx[h], last2_idx[h]
        else:
            group.append(e)
    return head


def _b2c_home(country: str, rnd: random.Random) -> tuple[str, int, str, int]:
    from bench import b2c_data as BD

    n = _rr(rnd, 1, 150 if country in ("FR", "ES", "IT") else 90)
    number = str(n)
    if country in ("FR", "BE") and rnd.random() < 0.03:
        number += _ch(rnd, (" bis", " ter"))
    elif country in ("DE", "NL", "GB") and rnd.random() < 0.04:
        number += _ch(rnd, "abc")
    return (number, _rr(rnd, 0, len(BD.STREET_TYPES[country])), _ch(rnd, BD.STREET_NAMES[country]),
            _rr(rnd, 0, len(BD.CITIES[country])))


def _b2c_plan(plan: _Plan, head: np.ndarray) -> _B2CPlan:
    """Per entity: date of birth, home, a later home for some duplicated persons; households share
    the head's home, and some their home phone or a family mailbox."""
    import calendar

    rnd = _aux_rng(plan.seed, 42)
    n_ent = len(plan.kind)
    dob: list[tuple[int, int, int] | None] = []
    home: list[tuple[str, int, str, int] | None] = []
    moved: list[tuple[str, int, str, int] | None] = []
    for e, k in enumerate(plan.kind.tolist()):
        if k == KIND_EMPTY:
            dob.append(None)
            home.append(None)
            moved.append(None)
            continue
        country = plan.country[e]
        y = _rr(rnd, 1930, 2006)
        m = _rr(rnd, 1, 13)
        d = _rr(rnd, 1, calendar.monthrange(y, m)[1] + 1)
        dob.append((y, m, d))
        home.append(_b2c_home(country, rnd))
        moved.append(_b2c_home(country, rnd) if plan.n_copies[e] > 1 and rnd.random() < B2C_MOVED_RATE else None)
    household = np.zeros(n_ent, dtype=np.int64)
    landline: dict[int, Phone] = {}
    family_mail: dict[int, str] = {}
    for e in np.flatnonzero(head >= 0).tolist():
        h = int(head[e])
        household[e] = household[h] = h + 1
        home[e] = home[h]
        if rnd.random() < B2C_SHARED_LANDLINE:
            if h not in landline:
                landline[h] = _make_phone(plan.country[h], False, rnd)
                plan.alt_phone[h], plan.phone[h] = plan.phone[h], landline[h]
            plan.alt_phone[e], plan.phone[e] = plan.phone[e], landline[h]
        if rnd.random() < B2C_FAMILY_MAILBOX:
            if h not in family_mail:
                word = _FAMILY_WORD[plan.country[h]]
                domain = _ch(rnd, ND.WEBMAIL[plan.country[h]])
                family_mail[h] = f"{word}.{_last_token(plan.last1[h], False)}@{domain}"
                plan.alt_email[h], plan.alt_email_kind[h] = plan.email[h], plan.email_kind[h]
                plan.email[h], plan.email_kind[h] = family_mail[h], "family"
            plan.alt_email[e], plan.alt_email_kind[e] = plan.email[e], plan.email_kind[e]
            plan.email[e], plan.email_kind[e] = family_mail[h], "family"
    # The household id is published in truth with 1-based public ids of the head.
    public = np.where(household > 0, plan.public_id[np.maximum(household - 1, 0)], 0)
    return _B2CPlan(dob=dob, home=home, moved_to=moved, household=public)


def _street_text(country: str, type_idx: int, name: str, abbreviate: bool, rnd: random.Random) -> str:
    from bench import b2c_data as BD

    full, abbrevs = BD.STREET_TYPES[country][type_idx]
    t = _ch(rnd, abbrevs) if abbreviate and abbrevs else full
    if country in ("DE", "NL"):
        if abbreviate and t.endswith("."):
            return f"{name}{t}"
        return f"{name}{t}" if t[:1].islower() else f"{name} {t}"
    if country == "GB":
        return f"{name} {t}"
    return f"{t} {name}"


def _dob_text(country: str, y: int, m: int, d: int, rnd: random.Random) -> str:
    """Day first or ISO, never month first: the file proves one order (pipelines/fields/dates.py)."""
    v = rnd.random()
    if v < 0.15:
        return f"{y:04d}-{m:02d}-{d:02d}"
    if country in ("DE", "CH"):
        return f"{d:02d}.{m:02d}.{y:04d}" if v < 0.8 else f"{d}.{m}.{y}"
    if country == "NL":
        return f"{d:02d}-{m:02d}-{y:04d}"
    return f"{d:02d}/{m:02d}/{y:04d}" if v < 0.9 else f"{d}/{m}/{y}"


def _b2c_columns(plan: _Plan, messy: pd.DataFrame, truth: pd.DataFrame, start: int, stop: int,
                 chunk: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The home address and date of birth columns of the "b2c" profile, each row a possibly
    degraded copy: street typos, abbreviated or spelled-out street types, the number typed in the
    street, a postcode missing or without its leading zero, the city in capitals or without
    accents; another home on some copies of persons who moved; dates of birth missing, with day
    and month swapped or one digit off. address_variation / dob_variation tag what was done."""
    import calendar

    from bench import b2c_data as BD

    rnd = _aux_rng(plan.seed, 43, chunk)
    b = plan.b2c
    assert b is not None
    ents = plan.row_entity[start:stop]
    div_l = (plan.row_copy[start:stop] != plan.orig_copy[ents]).tolist()
    cols = {c: [] for c in B2C_COLUMNS}
    tcols = {c: [] for c in B2C_TRUTH_COLUMNS if c != "household_id"}
    for e, k, div in zip(ents.tolist(), plan.kind[ents].tolist(), div_l):
        if k != KIND_CONTACT:
            for lst in (*cols.values(), *tcols.values()):
                lst.append("")
            continue
        country = plan.country[e]
        atags: list[str] = []
        h = b.home[e]
        if b.moved_to[e] is not None and div and rnd.random() < 0.6:
            h = b.moved_to[e]
            atags.append("moved")
        number, ti, name, ci = h
        city, postcode = BD.CITIES[country][ci]
        tcols["true_street_number"].append(number)
        tcols["true_street"].append(_street_text(country, ti, name, False, rnd))
        tcols["true_postcode"].append(postcode)
        tcols["true_city"].append(city)
        if rnd.random() < (0.12 if div else 0.05):
            m_num = m_street = m_post = m_city = ""
            atags.append("missing")
        else:
            abbreviate = rnd.random() < (0.35 if div else 0.2)
            if abbreviate:
                atags.append("street_type")
            street_name = name
            if rnd.random() < (0.08 if div else 0.01):
                typo = _typo(street_name, rnd)
                if typo != street_name:
                    street_name = typo
                    atags.append("street_typo")
            m_street = _street_text(country, ti, street_name, abbreviate, rnd)
            m_num = number
            v = rnd.random()
            if v < 0.08:
                m_street = f"{number} {m_street}" if country not in ("DE", "NL", "IT", "ES") else f"{m_street} {number}"
                m_num = ""
                atags.append("number_in_street")
            elif v < 0.11:
                m_num = ""
                atags.append("number_missing")
            v = rnd.random()
            if v < 0.2:
                m_street = m_street.upper()
            elif v < 0.3:
                m_street = m_street.lower()
            m_post = postcode
            v = rnd.random()
            if v < (0.06 if div else 0.02):
                m_post = ""
                atags.append("postcode_missing")
            elif v < 0.08 and postcode.startswith("0"):
                m_post = postcode[1:]  # a numeric cell in Excel
                atags.append("postcode_lost_zero")
            m_city = city
            v = rnd.random()
            if v < 0.2:
                m_city = city.upper()
            elif v < 0.3:
                m_city = strip_accents(city)
            elif v < (0.35 if div else 0.32):
                m_city = ""
                atags.append("city_missing")
        cols["street_number"].append(m_num)
        cols["street"].append(m_street)
        cols["postcode"].append(m_post)
        cols["city"].append(m_city)
        tcols["address_variation"].append("+".join(atags) if atags else "none")

        y, mo, d = b.dob[e]
        tcols["true_date_of_birth"].append(f"{y:04d}-{mo:02d}-{d:02d}")
        dtag = "none"
        v = rnd.random()
        if v < (0.15 if div else 0.05):
            cols["date_of_birth"].append("")
            dtag = "missing"
            continue_dob = False
        else:
            continue_dob = True
        if continue_dob:
            if div and v < 0.15 + 0.03 and d <= 12 and d != mo:
                y2, m2, d2 = y, d, mo
                dtag = "day_month_swapped"
            elif div and v < 0.15 + 0.06:
                y2, m2, d2 = y, mo, d
                w = rnd.random()
                if w < 0.4:
                    y2 = y + _ch(rnd, (-1, 1))
                elif w < 0.7:
                    last = calendar.monthrange(y, mo)[1]
                    d2 = (d // 10) * 10 + _rr(rnd, 0, 10)
                    d2 = d2 if 1 <= d2 <= last and d2 != d else (d + 1 if d < last else d - 1)
                else:
                    m2 = mo + 1 if mo < 12 else mo - 1
                    d2 = min(d, calendar.monthrange(y, m2)[1])
                dtag = "one_digit_off"
            else:
                y2, m2, d2 = y, mo, d
            cols["date_of_birth"].append(_dob_text(country, y2, m2, d2, rnd))
        tcols["dob_variation"].append(dtag)
    for c, vals in cols.items():
        messy[c] = pd.Series(vals, dtype="str", index=messy.index)
    # A private person has no job title in a members' or customers' file.
    private = plan.company[ents] < 0
    messy["job_title"] = messy["job_title"].where(~private, "")
    for c, vals in tcols.items():
        truth[c] = pd.Series(vals, dtype="str", index=truth.index)
    hh = b.household[ents]
    truth["household_id"] = np.where(plan.kind[ents] == KIND_CONTACT, hh, 0)
    truth = truth[[*TRUTH_COLUMNS, *B2C_TRUTH_COLUMNS]]
    return messy, truth


# =============================================================================================
# Public API
# =============================================================================================
def _default_lang(profile: str) -> str:
    return "fr" if profile == "fr" else "en"


def iter_generate(rows: int, seed: int = 0, profile: str = "mixed", *, lang: str | None = None,
                  full_name: bool = False, email_variants: bool = False) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Yield (messy, truth) chunks of at most CHUNK_ROWS rows, in file order.

    The concatenation of the chunks is exactly `generate(...)`; use this to stream large files
    without holding every row in memory.
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    plan = _build_plan(rows, seed, profile, lang or _default_lang(profile), full_name, email_variants)
    # rows == 0 still yields one (empty, correctly typed) chunk so callers always get columns.
    for chunk, start in enumerate(range(0, max(rows, 1), CHUNK_ROWS)):
        stop = min(rows, start + CHUNK_ROWS)
        messy, truth = _materialise(plan, start, stop, chunk)
        # Additions run after the rows are made, each from random streams of its own, so that
        # without them the output is exactly what it always was.
        if plan.email_variants:
            _email_variants(plan, messy, truth, start, stop, chunk)
        if plan.b2c is not None:
            messy, truth = _b2c_columns(plan, messy, truth, start, stop, chunk)
        yield messy, truth


def generate(rows: int, seed: int = 0, profile: str = "mixed", *, lang: str | None = None,
             full_name: bool = False, email_variants: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a messy contact list and its ground truth.

    rows: number of data rows (header excluded). seed: same seed, same output.
    profile: "mixed" (~50% France, rest DE ES IT GB BE CH NL), "fr" (~90% France) or "b2c"
      (private persons, ~70% France: home address and date of birth columns, households at one
      address, duplicates that moved house or have their date of birth typed wrong; see _b2c_columns).
    email_variants: on duplicate copies, a nominative address with a one-letter typo in its local
      part or an alias of it (j.doe@ for john.doe@), tagged `local_typo` / `alias` in
      email_corruption. Always on for "b2c"; off by default for the others, whose output must not
      change.
    lang: language of the values that depend on the file's language (salutations, country names,
      notes); defaults to "fr" for profile "fr", else "en". Pass the same value as `header_lang`
      to `write_file` for a coherent file.
    full_name: one "full_name" column instead of first_name/last_name.

    Returns (messy, truth). messy: string columns (MESSY_COLUMNS or MESSY_COLUMNS_FULL_NAME, file
    order), "" when empty. truth: TRUTH_COLUMNS, one row per messy row, same order.
    """
    messy_parts, truth_parts = [], []
    for messy, truth in iter_generate(rows, seed, profile, lang=lang, full_name=full_name,
                                      email_variants=email_variants):
        messy_parts.append(messy)
        truth_parts.append(truth)
    if len(messy_parts) == 1:
        return messy_parts[0], truth_parts[0]
    return pd.concat(messy_parts, ignore_index=True), pd.concat(truth_parts, ignore_index=True)


def header_names(columns: Iterable[str], lang: str = "en") -> list[str]:
    """File headers for canonical messy columns; unknown columns keep their own name."""
    if lang not in HEADERS:
        raise ValueError(f"unknown header language {lang!r}; expected one of {sorted(HEADERS)}")
    return [HEADERS[lang].get(c, c) for c in columns]


def _cell_for_encoding(encoding: str):
    """Values as they survive the target encoding: what a reader of the file gets back.

    cp1252 cannot hold decomposed accents or most non-Western letters: like Excel's "CSV
    (separator)" export we compose first (NFC) and replace what is left with "?".
    """
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8", "utf-8-sig", "utf-16", "utf16", "utf-16-le", "utf-16-be"):
        return None

    @functools.lru_cache(maxsize=200_000)
    def conv(s: str) -> str:
        if s.isascii():
            return s
        return unicodedata.normalize("NFC", s).encode(encoding, errors="replace").decode(encoding)

    return conv


def encodable(messy: pd.DataFrame, encoding: str) -> pd.DataFrame:
    """`messy` as it reads back from a file written in `encoding` (identity for UTF encodings)."""
    conv = _cell_for_encoding(encoding)
    if conv is None:
        return messy
    return messy.apply(lambda col: col.map(conv))


def _row_tuples(df: pd.DataFrame) -> Iterator[tuple]:
    # Column lists zipped: far faster than itertuples over Arrow-backed string columns.
    return zip(*(df[c].tolist() for c in df.columns))


def write_file(messy: pd.DataFrame | Iterable[pd.DataFrame], path: str | Path, fmt: str = "csv",
               encoding: str = "utf-8", delimiter: str = ",", header_lang: str = "en", *,
               excel_numbers: bool = True) -> None:
    """Write messy rows (a DataFrame or an iterable of chunk DataFrames) as a CSV or XLSX export.

    fmt: "csv" or "xlsx". encoding (CSV only): "utf-8", "utf-8-sig", "cp1252", "utf-16" (BOM, LE)
    or any Python codec; unencodable characters become "?" (see `encodable`). Fields containing
    the delimiter, quotes or newlines are quoted; records end with CRLF like Excel's exports.
    header_lang: fr, en, de, es, it (see HEADERS).
    excel_numbers (XLSX only): phone cells made of digits only (no leading zero, <= 15 digits)
      are stored as numbers, as in a workbook where Excel ate the leading zero; they read back
      as the same digits.
    """
    chunks: Iterable[pd.DataFrame] = [messy] if isinstance(messy, pd.DataFrame) else messy
    path = Path(path)
    if fmt == "csv":
        conv = _cell_for_encoding(encoding)
        with open(path, "w", encoding=encoding, errors="replace", newline="") as fh:
            writer = csv.writer(fh, delimiter=delimiter, quotechar='"', quoting=csv.QUOTE_MINIMAL,
                                lineterminator="\r\n")
            header_done = False
            for df in chunks:
                if not header_done:
                    writer.writerow(header_names(df.columns, header_lang))
                    header_done = True
                cols = [df[c].tolist() for c in df.columns]
                if conv is not None:
                    cols = [[v if v.isascii() else conv(v) for v in col] for col in cols]
                writer.writerows(zip(*cols))
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Contacts")
        header_done = False
        for df in chunks:
            if not header_done:
                ws.append(header_names(df.columns, header_lang))
                header_done = True
            phone_pos = list(df.columns).index("phone") if excel_numbers and "phone" in df.columns else -1
            for r in _row_tuples(df):
                # Empty cells stay empty (None), as in a real workbook.
                row = [v if v != "" else None for v in r]
                if phone_pos >= 0:
                    v = row[phone_pos]
                    if v and v.isdigit() and v.isascii() and v[0] != "0" and len(v) <= 15:
                        row[phone_pos] = int(v)
                ws.append(row)
        wb.save(path)
    else:
        raise ValueError(f"unknown format {fmt!r}; expected 'csv' or 'xlsx'")


def duplicate_stats(truth: pd.DataFrame) -> dict[str, float]:
    """Summary used by tests and benchmarks: how many entities/rows are duplicated."""
    contact = truth[truth["row_kind"] == "contact"]
    per_entity = contact.groupby("entity_id")["n_copies"].first()
    n_ent = len(per_entity)
    dup_ent = int((per_entity > 1).sum())
    return {
        "rows": float(len(truth)),
        "entities": float(truth["entity_id"].nunique()),
        "contact_entities": float(n_ent),
        "duplicated_entity_rate": dup_ent / n_ent if n_ent else 0.0,
        "rows_in_duplicate_groups_rate": float((contact["n_copies"] > 1).sum()) / len(truth) if len(truth) else 0.0,
        "redundant_row_rate": float(len(contact) - n_ent) / len(truth) if len(truth) else 0.0,
        "empty_rows": float((truth["row_kind"] == "empty").sum()),
        "no_identity_rows": float((truth["row_kind"] == "no_identity").sum()),
    }


# =============================================================================================
# CLI
# =============================================================================================
class _TruthWriter:
    """Streams truth chunks to Parquet (via pyarrow) or CSV."""

    def __init__(self, path: Path):
        self.path = path
        self.parquet = path.suffix.lower() == ".parquet"
        self._writer = None
        self._first = True

    def write(self, df: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)
        else:
            df.to_csv(self.path, mode="w" if self._first else "a", header=self._first, index=False)
        self._first = False

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generator",
                                     description="Generate a messy contact list with ground truth.")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output file (.csv or .xlsx)")
    parser.add_argument("--format", choices=("csv", "xlsx"), default=None,
                        help="default: from the --out extension, else csv")
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--delimiter", default=",")
    parser.add_argument("--lang", choices=LANGS, default=None,
                        help="header and value language (default: fr for --profile fr, else en)")
    parser.add_argument("--truth", default=None, help="truth file: .parquet or .csv")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="mixed")
    parser.add_argument("--full-name", action="store_true", help="one full-name column")
    parser.add_argument("--email-variants", action="store_true",
                        help="typo'd local parts and aliases on duplicate copies (always on for b2c)")
    args = parser.parse_args(argv)
    fmt = args.format or ("xlsx" if args.out.lower().endswith(".xlsx") else "csv")
    lang = args.lang or _default_lang(args.profile)
    delimiter = "\t" if args.delimiter in ("\\t", "tab") else args.delimiter
    truth_writer = _TruthWriter(Path(args.truth)) if args.truth else None
    chunks = iter_generate(args.rows, args.seed, args.profile, lang=lang, full_name=args.full_name,
                           email_variants=args.email_variants)

    def messy_chunks() -> Iterator[pd.DataFrame]:
        for messy, truth in chunks:
            if truth_writer is not None:
                truth_writer.write(truth)
            yield messy

    try:
        write_file(messy_chunks(), args.out, fmt=fmt, encoding=args.encoding, delimiter=delimiter,
                   header_lang=lang)
    finally:
        if truth_writer is not None:
            truth_writer.close()
    print(f"wrote {args.rows} rows to {args.out}" + (f", truth to {args.truth}" if args.truth else ""),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
