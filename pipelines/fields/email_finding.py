"""E-mail finding: propose a professional address from the pattern a company's domain uses.

Infers new personal data, so it only runs when the controller's settings enable
`email_finding`. Nothing is looked up outside the controller's own data:

1. Learn. Every contact with a nominative professional address and a first and last name is
   evidence of its domain's pattern (`first.last`, `flast`, `f.last`... see
   `pipelines/data/email_patterns.yaml`) and of how the domain spells names: compound first names
   kept, glued or cut (jean-pierre / jeanpierre / jean), particles and double surnames
   (delafontaine / fontaine, garcialopez / garcia), umlauts (mueller / muller). Observations are
   counts per domain, without names, so they can be kept per controller and summed with earlier
   uploads (the pattern store, pipelines/email_patterns_store.py).
2. Propose. A row with a first and last name, a known company mail domain (its generic address's
   domain, or the domain its website or company mails from elsewhere in the file) and no usable
   professional address gets the address its domain's pattern gives, with a confidence. Never in
   place of the client's address: in `email_found`.

Confidence: (k + 0.5) / (n + 1) for a pattern seen on k of the domain's n known contacts, lowered
when the name needs a spelling choice the domain never showed, halved when two different people
of the file would get the same address; the address of another person already in the file is
never proposed.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache
from itertools import product

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields._data import load_yaml
from pipelines.fields._text import fold_py
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique_many
from pipelines.fields.civility import known_first_names
from pipelines.fields.names import first_name_key as first_name_key_of

__all__ = ["DIMENSIONS", "FindingSettings", "choose_patterns", "find_emails", "learn_patterns", "name_tokens"]

STRING = pa.string()
OBSERVATIONS_SCHEMA = pa.schema([("domain", STRING), ("dimension", STRING), ("style", STRING), ("count", pa.int64())])
DIMENSIONS = ("first", "initial", "last", "translit")
CONTACTS = "contacts"  # dimension holding the number of contacts a domain's pattern was learnt from
TEMPLATE = "template"
# A name needing a spelling the domain never showed (compound first name, particle, umlaut):
# the controller's most common spelling is used, at this cost in confidence per choice.
UNSEEN_STYLE_FACTOR = 0.85
# Two different people of the file would get the same address: the company must have told them
# apart (a digit, a middle initial) in a way the pattern cannot know.
SHARED_CANDIDATE_FACTOR = 0.5
# The first name is not in the bundled name list: often a typo, which the address would copy.
UNKNOWN_NAME_FACTOR = 0.7
# The first name is a short form (nicknames.yaml): the address likely uses the full name.
NICKNAME_FACTOR = 0.7
# Letters, spaces, hyphens, apostrophes and dots only: "Wi?Niewski" lost letters to the encoding.
_PLAUSIBLE_NAME = r"^[\p{L}][\p{L} .'\x{2019}-]*$"
# The address already belongs to this very name in the file: it is known, not guessed.
KNOWN_ADDRESS_CONFIDENCE = 0.97

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_APOSTROPHES = re.compile(r"['\u2019\u2018`´]")
_NOT_NAME = re.compile(r"[^a-z0-9\- ]+")


@cache
def _vocab() -> dict:
    return load_yaml("email_patterns.yaml")


@cache
def _templates() -> dict[str, tuple[tuple[str, str | None], ...]]:
    """name -> ((literal, token), ...) parsed once from the format strings."""
    parsed = {}
    for name, fmt in _vocab()["templates"].items():
        parsed[name] = tuple((literal, field) for literal, field, _, _ in string.Formatter().parse(fmt))
    return parsed


@cache
def _nicknames() -> pa.Array:
    """Every short form listed in pipelines/data/nicknames.yaml (keys as first_name_key gives)."""
    nicks = {str(n) for names in load_yaml("nicknames.yaml").values() for forms in names.values() for n in forms}
    return pa.array(sorted(nicks), STRING)


def _styles(dimension: str) -> list[str]:
    return list(_vocab()["styles"][dimension])


@dataclass(frozen=True)
class FindingSettings:
    min_known_contacts: int = 2
    min_confidence: float = 0.8


# ------------------------------------------------------------------------------------------------
# Name tokens
# ------------------------------------------------------------------------------------------------
def _words(value: str, translit: bool) -> list[str]:
    text = _APOSTROPHES.sub("", value)
    text = text.translate(_UMLAUTS) if translit else text
    text = _NOT_NAME.sub(" ", fold_py(text))
    return [w for w in re.split(r"\s+", text.replace("-", " - ")) if w]


def _is_initials(part: str) -> bool:
    # "j", and "jp" / "jb" typed without dots (no vowel: not a name)
    return len(part) == 1 or (len(part) <= 3 and not set(part) & set("aeiouy"))


def _first_py(value: str) -> tuple[str | None, ...]:
    """keep/glue/part spellings in (u, ue) transliteration, then compound and single initials."""
    out: list[str | None] = []
    initials: tuple[str | None, str | None] = (None, None)
    titles = set(_vocab()["titles"])
    for translit in (False, True):
        words = _words(value, translit)
        while len(words) > 1 and words[0] in titles:
            words = words[1:]
        parts = [w for w in words if w != "-"]
        if not parts:
            out += [None, None, None]
            continue
        if any(_is_initials(p) for p in parts):  # "J.", "J.-P.", "JP": no full first name
            out += [None, None, None]
            letters = [c for p in parts for c in (p if _is_initials(p) else p[0])]
        else:
            out += ["-".join(parts), "".join(parts), parts[0]]
            letters = [p[0] for p in parts]
        if not translit:
            initials = ("".join(letters), letters[0])
    return (*out, *initials)


def _last_py(value: str) -> tuple[str | None, ...]:
    """glue/keep/main/first spellings in (u, ue) transliteration, then the last initial."""
    particles, followers = set(_vocab()["particles"]), set(_vocab()["followers"])
    out: list[str | None] = []
    for translit in (False, True):
        words = _words(value, translit)
        if not words:
            out += [None] * 4
            continue
        glue = "".join(w for w in words if w != "-")
        keep = "".join(words)
        core = [w for w in words if w != "-"]
        dropped = False
        while len(core) > 1 and (core[0] in particles or (dropped and core[0] in followers)):
            core, dropped = core[1:], True
        main = "".join(core)
        first = core[0]
        out += [glue, keep, main, first]
    return (*out, out[0][:1] if out[0] else None)


def name_tokens(first_names: ArrayLike, last_names: ArrayLike) -> dict[str, pa.Array]:
    """Token columns keyed "f:<style>:<translit>", "i:<style>", "l:<style>:<translit>", "li"."""
    cols: dict[str, pa.Array] = {}
    first = map_unique_many(first_names, _first_py, [STRING] * 8)
    keys = [f"f:{s}:{t}" for t in ("u", "ue") for s in ("keep", "glue", "part")] + ["i:compound", "i:single"]
    cols.update(zip(keys, first, strict=True))
    last = map_unique_many(last_names, _last_py, [STRING] * 9)
    keys = [f"l:{s}:{t}" for t in ("u", "ue") for s in ("glue", "keep", "main", "first")] + ["li"]
    cols.update(zip(keys, last, strict=True))
    return cols


def _token(tokens: dict[str, pa.Array], token: str, combo: dict[str, str]) -> pa.Array:
    if token == "f":
        return tokens[f"f:{combo['first']}:{combo['translit']}"]
    if token == "i":
        return tokens[f"i:{combo['initial']}"]
    if token == "l":
        return tokens[f"l:{combo['last']}:{combo['translit']}"]
    return tokens["li"]


def _render(template: str, tokens: dict[str, pa.Array], combo: dict[str, str]) -> pa.Array:
    pieces: list[pa.Array | pa.Scalar] = []
    for literal, token in _templates()[template]:
        if literal:
            pieces.append(pa.scalar(literal))
        if token:
            pieces.append(_token(tokens, token, combo))
    return pc.binary_join_element_wise(*pieces, "")


def _dimensions_of(template: str) -> list[str]:
    used = {token for _, token in _templates()[template] if token}
    dims = [d for d, t in (("first", "f"), ("initial", "i"), ("last", "l")) if t in used]
    if used & {"f", "l"}:
        dims.append("translit")
    return dims


def _combos(template: str) -> list[dict[str, str]]:
    dims = _dimensions_of(template)
    defaults = {d: _styles(d)[0] for d in DIMENSIONS}
    return [defaults | dict(zip(dims, values, strict=True)) for values in product(*(_styles(d) for d in dims))]


def _discriminative(tokens: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Per dimension: does this row's name spell differently depending on the style?"""
    def differs(keys: list[str]) -> pa.Array:
        out = pa.array([False] * len(tokens[keys[0]]))
        base = pc.fill_null(tokens[keys[0]], "")
        for key in keys[1:]:
            out = pc.or_(out, pc.not_equal(base, pc.fill_null(tokens[key], "")))
        return out

    return {
        "first": differs(["f:keep:u", "f:glue:u", "f:part:u"]),
        "initial": differs(["i:compound", "i:single"]),
        "last": differs(["l:glue:u", "l:keep:u", "l:main:u", "l:first:u"]),
        "translit": pc.or_(differs(["f:keep:u", "f:keep:ue"]), differs(["l:keep:u", "l:keep:ue"])),
    }


# ------------------------------------------------------------------------------------------------
# Learning
# ------------------------------------------------------------------------------------------------
def _count_by_domain(domains: pa.Array, mask: pa.Array, dimension: str, style: str) -> pa.Table:
    hit = domains.filter(mask)
    if len(hit) == 0:
        return OBSERVATIONS_SCHEMA.empty_table()
    counts = pc.value_counts(hit)
    n = len(counts)
    return pa.table(
        {
            "domain": counts.field("values"),
            "dimension": pa.array([dimension] * n, STRING),
            "style": pa.array([style] * n, STRING),
            "count": counts.field("counts").cast(pa.int64()),
        },
        schema=OBSERVATIONS_SCHEMA,
    )


def learn_patterns(first_names: ArrayLike, last_names: ArrayLike, emails: ArrayLike, qualifications: ArrayLike) -> pa.Table:
    """Observations (domain, dimension, style, count) from the contacts whose nominative
    professional address matches a known pattern of their own name."""
    emails, quals = as_string_array(emails), as_string_array(qualifications)
    usable = pc.and_(pc.equal(quals, "nominative@pro"), pc.and_(pc.is_valid(first_names), pc.is_valid(last_names)))
    usable = usable.fill_null(False)
    if not pc.any(usable).as_py():
        return OBSERVATIONS_SCHEMA.empty_table()
    first = as_string_array(first_names).filter(usable)
    last = as_string_array(last_names).filter(usable)
    addresses = emails.filter(usable)
    parts = pc.split_pattern(addresses, "@", max_splits=1)
    local = pc.replace_substring_regex(pc.list_element(parts, 0), r"\+.*$", "")  # sub-address tag
    domain = pc.list_element(parts, 1)
    tokens = name_tokens(first, last)
    has_full = pc.is_valid(tokens["f:keep:u"])
    discriminative = _discriminative(tokens)

    any_hit = pa.array([False] * len(local))
    style_hit = {d: {s: pa.array([False] * len(local)) for s in _styles(d)} for d in DIMENSIONS}
    tables = []
    for template in _templates():
        hit = pa.array([False] * len(local))
        for combo in _combos(template):
            match = pc.equal(_render(template, tokens, combo), local).fill_null(False)
            hit = pc.or_(hit, match)
            for dim in _dimensions_of(template):
                style_hit[dim][combo[dim]] = pc.or_(style_hit[dim][combo[dim]], match)
        if "f" in {t for _, t in _templates()[template]}:
            hit = pc.and_(hit, has_full)
        any_hit = pc.or_(any_hit, hit)
        tables.append(_count_by_domain(domain, hit, TEMPLATE, template))
    tables.append(_count_by_domain(domain, any_hit, CONTACTS, ""))
    for dim in DIMENSIONS:
        for style, hit in style_hit[dim].items():
            tables.append(_count_by_domain(domain, pc.and_(pc.and_(hit, any_hit), discriminative[dim]), dim, style))
    return pa.concat_tables(tables)


def merge_observations(*tables: pa.Table | None) -> pa.Table:
    """Sum observation tables (this upload and the pattern store's earlier uploads)."""
    present = [t.select(OBSERVATIONS_SCHEMA.names).cast(OBSERVATIONS_SCHEMA) for t in tables if t is not None and t.num_rows]
    if not present:
        return OBSERVATIONS_SCHEMA.empty_table()
    summed = pa.concat_tables(present).group_by(["domain", "dimension", "style"]).aggregate([("count", "sum")])
    return summed.rename_columns(["domain", "dimension", "style", "count"]).select(OBSERVATIONS_SCHEMA.names)


# ------------------------------------------------------------------------------------------------
# Choosing each domain's pattern
# ------------------------------------------------------------------------------------------------
def _argmax(observations: pa.Table, dimension: str, order: list[str]) -> pa.Table:
    """domain, <dimension>, <dimension>_count: the most observed style per domain (ties: `order`)."""
    rows = observations.filter(pc.equal(observations["dimension"], dimension))
    rank = pc.index_in(rows["style"], value_set=pa.array(order, STRING))
    rows = rows.append_column("rank", rank).sort_by([("domain", "ascending"), ("count", "descending"), ("rank", "ascending")])
    best = rows.group_by("domain", use_threads=False).aggregate([("style", "first"), ("count", "first")])
    return best.rename_columns(["domain", dimension, f"{dimension}_count"])


def choose_patterns(observations: pa.Table) -> tuple[pa.Table, dict[str, str]]:
    """(per domain: contacts, template, template_count and a style per dimension where the domain
    showed one; the controller-wide default style per dimension)."""
    contacts = observations.filter(pc.equal(observations["dimension"], CONTACTS))
    contacts = contacts.select(["domain", "count"]).rename_columns(["domain", "contacts"])
    chosen = contacts.join(_argmax(observations, TEMPLATE, list(_templates())), "domain", join_type="left outer")
    for dim in DIMENSIONS:
        chosen = chosen.join(_argmax(observations, dim, _styles(dim)).drop_columns([f"{dim}_count"]), "domain", join_type="left outer")
    defaults = {}
    for dim in DIMENSIONS:
        rows = observations.filter(pc.equal(observations["dimension"], dim))
        totals = {s: 0 for s in _styles(dim)}
        if rows.num_rows:
            summed = rows.group_by("style").aggregate([("count", "sum")])
            for style, count in zip(summed["style"].to_pylist(), summed["count_sum"].to_pylist(), strict=True):
                totals[style] = count
        defaults[dim] = max(_styles(dim), key=lambda s: (totals[s], -_styles(dim).index(s)))
    return chosen, defaults


# ------------------------------------------------------------------------------------------------
# Proposing addresses
# ------------------------------------------------------------------------------------------------
def company_mail_domains(
    email_domains: ArrayLike, qualifications: ArrayLike, website_domains: ArrayLike, company_keys: ArrayLike
) -> pa.Array:
    """The domain each row's company mails from: its own generic professional address's domain,
    else the domain most used by the file's professional addresses sharing its website, else
    sharing its company name, else its website's domain."""
    domains, quals = as_string_array(email_domains), as_string_array(qualifications)
    websites, companies = as_string_array(website_domains), as_string_array(company_keys)
    is_pro = pc.ends_with(pc.fill_null(quals, ""), "@pro")
    pro_domain = pc.if_else(is_pro, domains, pa.scalar(None, STRING))

    def most_used(keys: pa.Array) -> pa.Array:
        table = pa.table({"k": keys, "d": pro_domain}).filter(pc.and_(pc.is_valid(keys), pc.is_valid(pro_domain)))
        if table.num_rows == 0:
            return pa.nulls(len(keys), STRING)
        counts = table.group_by(["k", "d"]).aggregate([("d", "count")]).sort_by([("k", "ascending"), ("d_count", "descending"), ("d", "ascending")])
        best = counts.group_by("k", use_threads=False).aggregate([("d", "first")])
        return pc.take(best["d_first"], pc.index_in(keys, value_set=best["k"]))

    return pc.coalesce(pro_domain, most_used(websites), most_used(companies), websites)


def _pick(tokens: dict[str, pa.Array], prefix: str, styles: pa.Array, options: list[str], suffix: str = "") -> pa.Array:
    out = pa.nulls(len(styles), STRING)
    for style in options:
        out = pc.if_else(pc.equal(styles, style).fill_null(False), tokens[f"{prefix}:{style}{suffix}"], out)
    return out


def find_emails(
    first_names: ArrayLike,
    last_names: ArrayLike,
    emails: ArrayLike,
    qualifications: ArrayLike,
    mail_domains: ArrayLike,
    observations: pa.Table,
    settings: FindingSettings = FindingSettings(),
) -> tuple[pa.Array, pa.Array]:
    """(proposed address, confidence) per row; null where nothing is proposed.

    `observations`: this upload's and earlier uploads' pattern counts (`learn_patterns`,
    `merge_observations`). Rows with a nominative professional or school address are left alone.
    """
    first, last = as_string_array(first_names), as_string_array(last_names)
    emails, quals = as_string_array(emails), as_string_array(qualifications)
    domains = as_string_array(mail_domains)
    n = len(first)
    usable_pro = pc.is_in(quals, value_set=pa.array(["nominative@pro", "nominative@school"])).fill_null(False)
    wanted = pc.and_(pc.invert(usable_pro), pc.and_(pc.is_valid(last), pc.is_valid(domains)))
    wanted = pc.and_(wanted, pc.is_valid(first)).fill_null(False)
    plausible = pc.and_(
        pc.match_substring_regex(pc.fill_null(first, ""), _PLAUSIBLE_NAME),
        pc.match_substring_regex(pc.fill_null(last, ""), _PLAUSIBLE_NAME),
    )
    wanted = pc.and_(wanted, plausible)
    chosen, defaults = choose_patterns(observations)
    chosen = chosen.filter(pc.greater_equal(chosen["contacts"], settings.min_known_contacts))
    if not pc.any(wanted).as_py() or chosen.num_rows == 0:
        return pa.nulls(n, STRING), pa.nulls(n, pa.float64())

    chosen = {c: chosen[c].combine_chunks() for c in chosen.column_names}
    position = pc.index_in(domains, value_set=chosen["domain"])
    wanted = pc.and_(wanted, pc.is_valid(position))
    idx = pc.indices_nonzero(wanted)
    if len(idx) == 0:
        return pa.nulls(n, STRING), pa.nulls(n, pa.float64())
    pos = pc.take(position, idx)
    tokens = name_tokens(first.take(idx), last.take(idx))
    template = pc.take(chosen["template"], pos)
    contacts = pc.take(chosen["contacts"], pos).cast(pa.float64())
    support = pc.take(chosen["template_count"], pos).cast(pa.float64())
    confidence = pc.divide(pc.add(support, 0.5), pc.add(contacts, 1.0))

    # A first name the name list does not know is often a typo the address would copy; a last
    # name that is a known first name beside an unknown first name is a swapped pair.
    # Initials ("J.") are no typo: only initial patterns ("jdupont") can use them anyway.
    first_known = pc.or_(known_first_names(first.take(idx)), pc.is_null(tokens["f:keep:u"])).fill_null(True)
    last_as_first = known_first_names(last.take(idx))
    swapped = pc.and_(pc.invert(first_known), last_as_first)
    confidence = pc.if_else(first_known, confidence, pc.multiply(confidence, UNKNOWN_NAME_FACTOR))
    confidence = pc.if_else(swapped, pa.scalar(0.0), confidence)
    # "Dave", "Val", "Fede": the mailbox is usually made from the full name the CRM does not show.
    nickname = pc.is_in(first_name_key_of(first.take(idx)), value_set=_nicknames()).fill_null(False)
    confidence = pc.if_else(nickname, pc.multiply(confidence, NICKNAME_FACTOR), confidence)

    discriminative = _discriminative(tokens)
    styles = {}
    for dim in DIMENSIONS:
        seen = pc.take(chosen[dim], pos)
        styles[dim] = pc.coalesce(seen, pa.scalar(defaults[dim]))
        using = pa.array([t for t in _templates() if dim in _dimensions_of(t)], STRING)
        needs = pc.and_(pc.and_(discriminative[dim], pc.is_null(seen)), pc.is_in(template, value_set=using))
        confidence = pc.if_else(needs, pc.multiply(confidence, UNSEEN_STYLE_FACTOR), confidence)
    translit = styles["translit"]
    chosen_tokens = {
        "f": pc.if_else(pc.equal(translit, "ue"), _pick(tokens, "f", styles["first"], _styles("first"), ":ue"),
                        _pick(tokens, "f", styles["first"], _styles("first"), ":u")),
        "i": _pick(tokens, "i", styles["initial"], _styles("initial")),
        "l": pc.if_else(pc.equal(translit, "ue"), _pick(tokens, "l", styles["last"], _styles("last"), ":ue"),
                        _pick(tokens, "l", styles["last"], _styles("last"), ":u")),
        "li": tokens["li"],
    }
    local = pa.nulls(len(idx), STRING)
    for name in pc.unique(template).to_pylist():
        pieces: list[pa.Array | pa.Scalar] = []
        for literal, token in _templates()[name]:
            if literal:
                pieces.append(pa.scalar(literal))
            if token:
                pieces.append(chosen_tokens[token])
        local = pc.if_else(pc.equal(template, name), pc.binary_join_element_wise(*pieces, ""), local)
    domain = domains.take(idx)
    candidate = pc.binary_join_element_wise(local, domain, "@")

    # The file's own addresses: another person's is never proposed, this name's is known.
    first_key = pc.utf8_lower(first.take(idx))
    last_key = pc.utf8_lower(last.take(idx))
    owners = pa.table({"email": emails, "f": pc.utf8_lower(first), "l": pc.utf8_lower(last)}).filter(pc.is_valid(emails))
    owners = {c: owners[c].combine_chunks() for c in owners.column_names}
    owner_pos = pc.index_in(candidate, value_set=owners["email"])
    taken = pc.is_valid(owner_pos)
    same_name = pc.and_(
        pc.equal(pc.take(owners["f"], owner_pos), first_key), pc.equal(pc.take(owners["l"], owner_pos), last_key)
    ).fill_null(False)
    confidence = pc.if_else(same_name, pc.max_element_wise(confidence, KNOWN_ADDRESS_CONFIDENCE), confidence)
    candidate = pc.if_else(pc.and_(taken, pc.invert(same_name)), pa.scalar(None, STRING), candidate)

    # Two different names, one candidate ("j.martin" for Jean and Julie Martin).
    people = pa.table({"c": candidate, "who": pc.binary_join_element_wise(first_key, last_key, "|")})
    people = people.filter(pc.is_valid(people["c"]))
    if people.num_rows:
        distinct = people.group_by("c").aggregate([("who", "count_distinct")])
        shared = distinct.filter(pc.greater(distinct["who_count_distinct"], 1))["c"]
        is_shared = pc.is_in(candidate, value_set=shared).fill_null(False)
        confidence = pc.if_else(is_shared, pc.multiply(confidence, SHARED_CANDIDATE_FACTOR), confidence)

    keep = pc.and_(pc.is_valid(candidate), pc.greater_equal(confidence, settings.min_confidence)).fill_null(False)
    candidate = pc.if_else(keep, candidate, pa.scalar(None, STRING))
    confidence = pc.if_else(keep, pc.round(confidence, 2), pa.scalar(None, pa.float64()))
    full_candidate = pc.replace_with_mask(pa.nulls(n, STRING), wanted, candidate)
    full_confidence = pc.replace_with_mask(pa.nulls(n, pa.float64()), wanted, confidence)
    return full_candidate, full_confidence
