"""E-mail addresses: repair of common typing errors, syntax check, qualification."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from email_validator import EmailNotValidError, validate_email

from pipelines.fields._data import load_yaml
from pipelines.fields._domains import is_public_suffix
from pipelines.fields._text import fold_py
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique, map_unique_many, map_unique_rows

__all__ = [
    "email_domains",
    "qualify_emails",
    "repair_in_context",
    "standardise_emails",
    "standardise_emails_with_salvage",
]

NOTE_REPAIRED = "e-mail repaired"
NOTE_INVALID_PREFIX = "invalid e-mail"

_VOCAB = load_yaml("emails.yaml")


def _glob_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """True when the domain or one of its parent domains matches one of the globs."""
    regex = re.compile("|".join(fnmatch.translate(p) for p in patterns))

    def match(domain: str) -> bool:
        labels = domain.split(".")
        return any(regex.match(".".join(labels[i:])) for i in range(len(labels) - 1))

    return match


def _exact(patterns: Iterable[str]) -> set[str]:
    return {p for p in patterns if not any(c in p for c in "*?[")}


_is_webmail = _glob_matcher(_VOCAB["webmail"])
_is_disposable = _glob_matcher(_VOCAB["disposable"])
_is_school = _glob_matcher(_VOCAB["school"])
_TYPO_TARGETS: list[str] = _VOCAB["typo_targets"]
_DOMAIN_FIXES: dict[str, str] = _VOCAB["domain_fixes"]
_TLD_TYPOS: dict[str, str] = _VOCAB["tld_typos"]
_TYPO_EXCEPTIONS = frozenset(_VOCAB.get("typo_exceptions") or ())
_KNOWN_DOMAINS = (
    set(_TYPO_TARGETS)
    | _exact(_VOCAB["webmail"])
    | _exact(_VOCAB["disposable"])
    | _exact(_VOCAB["school"])
)
_GENERIC = frozenset(_VOCAB["generic_local_parts"])


def _keyboard_neighbours() -> dict[str, set[str]]:
    """Adjacent keys on QWERTY and AZERTY, to accept only plausible substitutions."""
    layouts = (
        ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"),
        ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn"),
    )
    near: dict[str, set[str]] = {}
    for rows in layouts:
        for r, row in enumerate(rows):
            for i, key in enumerate(row):
                for rr in (r - 1, r, r + 1):
                    if 0 <= rr < len(rows):
                        for j in (i - 1, i, i + 1):
                            if 0 <= j < len(rows[rr]) and rows[rr][j] != key:
                                near.setdefault(key, set()).add(rows[rr][j])
    return near


_NEAR = _keyboard_neighbours()


def _is_typo_of(typed: str, target: str) -> bool:
    """One keystroke away (insert, delete, adjacent-key substitution, swap), same first letter."""
    if typed == target or abs(len(typed) - len(target)) > 1 or typed[:1] != target[:1]:
        return False
    if len(typed) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(typed, target, strict=True)) if a != b]
        if len(diffs) == 1:
            i = diffs[0]
            return target[i] in _NEAR.get(typed[i], ())
        if len(diffs) == 2:
            i, j = diffs
            return j == i + 1 and typed[i] == target[j] and typed[j] == target[i]
        return False
    short, long_ = sorted((typed, target), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _fix_domain(domain: str) -> str:
    if domain in _DOMAIN_FIXES:
        return _DOMAIN_FIXES[domain]
    head, dot, tld = domain.rpartition(".")
    if dot and tld in _TLD_TYPOS and not is_public_suffix(tld):
        domain = f"{head}.{_TLD_TYPOS[tld]}"
    if domain in _KNOWN_DOMAINS or domain in _TYPO_EXCEPTIONS:
        return domain
    tld = domain.rpartition(".")[2]
    if "." in domain and is_public_suffix(tld) and _is_webmail(domain):
        return domain  # a real variant such as hotmail.de, not a typo
    for target in _TYPO_TARGETS:
        if _is_typo_of(domain, target):
            return target
    return domain


_ANGLE = re.compile(r"<([^<>]*@[^<>]*)>")
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
# "(bureau)" after an address is a comment; "(jean@acme.fr)" is the address in brackets.
_COMMENT = re.compile(r"\([^()@]*\)")
# "jean[at]acme.fr", "jean (at) acme.fr", "jean at acme dot fr": spam-proofed addresses.
_AT_WORD = re.compile(r"\s*(?:\[at\]|\(at\)|\{at\}|\sat\s|\s\(a\)\s)\s*", re.IGNORECASE)
_DOT_WORD = re.compile(r"\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s)\s*", re.IGNORECASE)
_LIST_SEPARATORS = re.compile(r"[;,\s/|]+")
_SPACES = re.compile(r"\s+")
_MULTI_AT = re.compile(r"@{2,}")
_MULTI_DOT = re.compile(r"\.{2,}")
_WRAPPING = " \t\"'<>[](){}.,;:"


def _invalid(reason: str, salvage: str | None = None) -> tuple[None, str, str | None]:
    return None, f"{NOTE_INVALID_PREFIX}: {reason}", salvage


def _short_reason(error: EmailNotValidError) -> str:
    # email-validator explains at length; keep its first sentence.
    text = str(error).removeprefix("The email address is not valid. ")
    first = text.split(". ")[0].rstrip(".")
    return (first[:1].lower() + first[1:])[:120]


def _standardise_full_py(value: str) -> tuple[str | None, str | None, str | None]:
    """(address, note, salvage): `salvage` is the cleaned text of an invalid value, kept for the
    repairs that need the rest of the file (a forgotten "@" or top-level domain)."""
    s = value
    angle = _ANGLE.search(s)  # "Jean Dupont <jean@acme.fr>"
    if angle:
        s = angle.group(1)
    s = _MAILTO.sub("", s.strip())
    if "@" not in s and _AT_WORD.search(s):
        s = _DOT_WORD.sub(".", _AT_WORD.sub("@", s, count=1))
    s = _COMMENT.sub(" ", s).strip(_WRAPPING)
    if s.count("@") > 1 and "@@" not in s:
        # Several addresses in one cell: keep the first one.
        parts = [p.strip(_WRAPPING) for p in _LIST_SEPARATORS.split(s) if "@" in p]
        if len(parts) > 1:
            s = parts[0]
    s = _MULTI_AT.sub("@", _SPACES.sub("", s))

    if "@" not in s:
        return _invalid("missing @", _MULTI_DOT.sub(".", s.replace(",", ".")).strip(".") or None)
    if s.count("@") > 1:
        return _invalid("several @")
    local, domain = s.split("@")
    # "," and ";" typed instead of "."; doubled or dangling dots.
    local = _MULTI_DOT.sub(".", local.replace(",", ".").replace(";", ".")).strip(".")
    domain = _MULTI_DOT.sub(".", domain.replace(",", ".").replace(";", ".")).strip(".-")
    if not local:
        return _invalid("nothing before @")
    if not domain:
        return _invalid("nothing after @")
    domain = _fix_domain(domain)
    if "." not in domain:
        return _invalid("domain has no dot", f"{local}@{domain}")
    if not local.isascii() and domain.isascii():
        # "jérôme@acme.fr": the accents were typed, the mailbox almost never has them (few
        # mail systems accept non-ASCII local parts; an internationalised domain might).
        local = "".join(c for c in fold_py(local) if c.isascii())
    try:
        email = validate_email(f"{local}@{domain}", check_deliverability=False).normalized
    except EmailNotValidError as error:
        return _invalid(_short_reason(error))
    return email, (None if email == value else NOTE_REPAIRED), None


def _standardise_py(value: str) -> tuple[str | None, str | None]:
    email, note, _ = _standardise_full_py(value)
    return email, note


# A plain address: lower-case ASCII dot-atom local part (no leading, trailing or doubled dot) and
# dot-separated host labels that neither start nor end with a hyphen. Such a value goes through
# _standardise_full_py unchanged up to the domain fixes and validate_email (none of its clean-up
# steps matches it), and validate_email's verdict on it depends only on the domain once the local
# part is a dot-atom of at most 64 characters and the address at most 254.
_PLAIN = r"^(?P<local>[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*)@(?P<domain>[a-z0-9]+(?:-+[a-z0-9]+)*(?:\.[a-z0-9]+(?:-+[a-z0-9]+)*)+)$"


def _domain_verdict(domain: str) -> str | None:
    """The domain a plain address on `domain` ends up with (typo fixes applied), or None when
    validate_email would refuse it: computed once per distinct domain, not per address."""
    try:
        return validate_email(f"a@{_fix_domain(domain)}", check_deliverability=False).normalized.split("@", 1)[1]
    except EmailNotValidError:
        return None


def _fast_standardise(prepared: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(e-mail, note) for plain addresses, null for the rest (which need `_standardise_full_py`).
    Same results as `_standardise_full_py`, with Python work per distinct *domain* only."""
    parts = pc.extract_regex(prepared, _PLAIN)
    local, domain = pc.struct_field(parts, "local"), pc.struct_field(parts, "domain")
    short = pc.and_(pc.less_equal(pc.utf8_length(local), 64), pc.less_equal(pc.utf8_length(prepared), 250))
    domain = pc.if_else(short.fill_null(False), domain, pa.scalar(None, pa.string()))
    fixed = map_unique(domain, _domain_verdict)
    email = pc.binary_join_element_wise(local, fixed, "@")  # null where the domain was refused
    if pc.any(pc.greater(pc.utf8_length(email), 254)).as_py():  # a fixed domain can be longer
        email = pc.if_else(pc.greater(pc.utf8_length(email), 254), pa.scalar(None, pa.string()), email)
    note = pc.if_else(pc.equal(email, prepared), pa.scalar(None, pa.string()), pa.scalar(NOTE_REPAIRED))
    return email, note


def _prepare(values: ArrayLike) -> pa.Array:
    # Vectorised first so "Jean@Acme.fr " and "jean@acme.fr" share one validation.
    arr = as_string_array(values)
    return pc.utf8_lower(pc.utf8_trim_whitespace(pc.utf8_normalize(arr, form="NFC")))


def standardise_emails(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """Return (e-mail, note): repaired/normalised address, and why it changed or was rejected.

    Trimming and lower-casing alone are normalisation, not repair (note stays null).
    """
    email, note, _ = standardise_emails_with_salvage(values)
    return email, note


def standardise_emails_with_salvage(values: ArrayLike) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Like :func:`standardise_emails`, plus the cleaned text of invalid values for
    :func:`repair_in_context`."""
    prepared = _prepare(values)
    fast_email, fast_note = _fast_standardise(prepared)
    rest = pc.if_else(pc.is_valid(fast_email), pa.scalar(None, pa.string()), prepared)
    email, note, salvage = map_unique_many(rest, _standardise_full_py, (pa.string(), pa.string(), pa.string()))
    claimed = pc.is_valid(fast_email)
    return pc.coalesce(fast_email, email), pc.if_else(claimed, fast_note, note), salvage


def email_domains(emails: ArrayLike) -> pa.Array:
    """Domain part of each address ("jean@mail.acme.fr" -> "mail.acme.fr")."""
    arr = as_string_array(emails)
    domain = pc.struct_field(pc.extract_regex(arr, r"^[^@]+@(?P<domain>[^@]+)$"), "domain")
    # extract_regex yields null for non-matching rows; also normalise case.
    return pc.utf8_lower(pc.utf8_trim_whitespace(domain))


def _local_class(local: str) -> str:
    local = local.split("+", 1)[0]  # sub-addressing tag: "contact+crm"
    if local in _GENERIC:
        return "generic"
    # "contact.paris", "info-fr", "sales2": role word plus a qualifier.
    head = re.split(r"[._\-]|(?=\d)", local, maxsplit=1)[0]
    if head in _GENERIC and head != local:
        return "generic"
    return "nominative"


def _domain_class(domain: str) -> str:
    if "." not in domain or domain.startswith(".") or ".." in domain:
        return "invalid"
    if _is_disposable(domain):
        return "disposable"
    if _is_webmail(domain):
        return "perso"
    if _is_school(domain):
        return "school"
    return "pro"


def _qualify_py(email: str) -> str:
    if email.count("@") != 1:
        return "invalid@invalid"
    local, domain = email.lower().split("@")
    local_class = _local_class(local) if local else "invalid"
    return f"{local_class}@{_domain_class(domain)}"


def _qualify(trimmed: pa.Array) -> pa.Array:
    """`_qualify_py` over a column, with Python work per distinct local part and per distinct
    domain rather than per address (almost every address is distinct; parts repeat)."""
    blank = pc.equal(trimmed, "").fill_null(True)
    one_at = pc.equal(pc.count_substring(trimmed, "@"), 1).fill_null(False)
    parts = pc.split_pattern(pc.if_else(one_at, trimmed, pa.scalar(None, pa.string())), "@")
    local, domain = pc.list_element(parts, 0), pc.list_element(parts, 1)
    # lower() per part is lower() of the address: it never adds or removes an "@".
    local_class = pc.if_else(
        pc.equal(local, ""), pa.scalar("invalid"), map_unique(local, lambda v: _local_class(v.lower()))
    )
    domain_class = map_unique(domain, lambda v: _domain_class(v.lower()))
    domain_class = pc.if_else(pc.equal(domain, ""), pa.scalar("invalid"), domain_class)
    both = pc.binary_join_element_wise(local_class, domain_class, "@")
    out = pc.if_else(one_at, both, pa.scalar("invalid@invalid"))
    return pc.if_else(blank, pa.scalar(None, pa.string()), out)


def qualify_emails(emails: ArrayLike, notes: ArrayLike | None = None) -> pa.Array:
    """"<local class>@<domain class>", e.g. "nominative@pro", "generic@perso".

    Local classes: nominative, generic, catch-all (reserved, never produced), invalid.
    Domain classes: pro, perso, school, disposable, invalid. A null e-mail whose
    note says it was invalid gives "invalid@invalid"; otherwise null stays null.
    """
    arr = as_string_array(emails)
    result = _qualify(pc.utf8_trim_whitespace(arr))
    if notes is None:
        return result
    notes_arr = as_string_array(notes)
    rejected = pc.and_kleene(
        pc.is_null(arr), pc.starts_with(notes_arr, NOTE_INVALID_PREFIX)
    ).fill_null(False)
    return pc.if_else(rejected, pa.scalar("invalid@invalid"), result)


# ------------------------------------------------------------------------------------------------
# Repairs that need the rest of the file
# ------------------------------------------------------------------------------------------------
# A domain seen this often in the file is "known": typos of it can be recognised.
_KNOWN_MIN_COUNT = 3
# A typed domain seen at most this often may be a typo of a known one.
_RARE_MAX_COUNT = 2


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance exactly 1 (insert, delete, substitute, swap adjacent)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


class _FileDomains:
    """What the file itself says about company domains: how often each e-mail domain is used,
    the websites given, and which domains each company (by matching key) uses."""

    def __init__(self, domains: pa.Array, websites: pa.Array, companies: pa.Array):
        counts = pc.value_counts(domains.drop_null())
        self.count = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
        self.websites = set(websites.drop_null().to_pylist())
        self.by_company: dict[str, set[str]] = {}
        for column in (domains, websites):
            pairs = pa.table({"c": companies, "d": column}).filter(
                pc.and_(pc.is_valid(companies), pc.is_valid(column))
            )
            grouped = pairs.group_by(["c", "d"]).aggregate([("d", "count")])
            for c, d, n in zip(*(grouped.column(x).to_pylist() for x in ("c", "d", "d_count")), strict=True):
                if column is websites or n >= 2:  # one stray address is no evidence
                    self.by_company.setdefault(c, set()).add(d)
        self.known = {d for d, n in self.count.items() if n >= _KNOWN_MIN_COUNT} | self.websites | _KNOWN_DOMAINS
        self.by_label: dict[str, list[str]] = {}
        for d in sorted(self.known, key=lambda d: -self.count.get(d, 0)):
            self.by_label.setdefault(d.split(".", 1)[0], []).append(d)

    def company_domains(self, website: str | None, company: str | None) -> list[str]:
        """Domains this row's company is known to use, the row's own website first."""
        out = [website] if website else []
        out += sorted(self.by_company.get(company or "", set()) - set(out), key=lambda d: -self.count.get(d, 0))
        return out


def _validated(local: str, domain: str) -> str | None:
    try:
        return validate_email(f"{local}@{domain}", check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _repair_missing_at(text: str, ctx: _FileDomains, own: list[str]) -> str | None:
    # "i.clementorange.fr", "jleclercq.boulangeriepetit.fr": the longest known domain ending the
    # text is the domain; what is before it is the local part.
    candidates = set(own) | ctx.known
    for i in range(1, len(text) - 3):
        if text[i:] in candidates:
            local = text[:i].rstrip(".")
            if not local or local.startswith(("www", "http")):  # a website typed in the e-mail column
                return None
            return _validated(local, text[i:])
    return None


def _repair_no_tld(local: str, label: str, ctx: _FileDomains, own: list[str]) -> str | None:
    # "newton@chevallierenergies": the company's own domain with that name, else the file's only one.
    for domain in own:
        if domain.split(".", 1)[0] == label:
            return _validated(local, domain)
    options = ctx.by_label.get(label, [])
    if len(options) == 1 or (len(options) > 1 and ctx.count.get(options[0], 0) >= 3 * max(1, ctx.count.get(options[1], 0))):
        return _validated(local, options[0])
    return None


def _repair_rare_domain(email: str, ctx: _FileDomains, own: list[str]) -> str | None:
    # "h.fink@junerrisrgoup.de" one keystroke from "junerrisgroup.de", which the same company uses.
    local, _, domain = email.rpartition("@")
    if ctx.count.get(domain, 0) > _RARE_MAX_COUNT or domain in _KNOWN_DOMAINS or len(domain) < 6:
        return None
    for target in own:
        if target != domain and _one_edit(domain, target) and (
            target in ctx.websites or ctx.count.get(target, 0) >= max(_KNOWN_MIN_COUNT, 3 * ctx.count.get(domain, 0))
        ):
            return _validated(local, target)
    return None


def repair_in_context(
    emails: ArrayLike,
    notes: ArrayLike,
    salvage: ArrayLike,
    website_domains: ArrayLike,
    company_keys: ArrayLike,
) -> tuple[pa.Array, pa.Array]:
    """Second pass over the file's addresses using what the other columns and rows say.

    - a forgotten "@" ("jleclercq.boulangeriepetit.fr") or top-level domain ("jean@acme") is
      restored when the domain is the row's website or a domain the file already uses;
    - a typo in a company domain ("acmr.fr") is repaired when the corrected domain is the
      row's website or used by the same company elsewhere in the file, and the typed one is rare.
    Two different companies one letter apart are left alone: the company must agree.
    Returns (e-mail, note) with "e-mail repaired" on what changed.
    """
    emails, notes = as_string_array(emails), as_string_array(notes)
    salvage, websites = as_string_array(salvage), as_string_array(website_domains)
    companies = as_string_array(company_keys)
    domains = email_domains(emails)
    ctx = _FileDomains(domains, websites, companies)
    rare = pc.is_in(domains, value_set=pa.array([d for d, n in ctx.count.items() if n <= _RARE_MAX_COUNT], pa.string()))
    candidate = pc.or_(pc.is_valid(salvage), rare.fill_null(False))
    if not pc.any(candidate).as_py():
        return emails, notes
    idx = pc.indices_nonzero(candidate)
    subject = pc.coalesce(emails, salvage).take(idx)

    def repair(value: str, invalid: str | None, website: str | None, company: str | None) -> tuple[str | None]:
        own = ctx.company_domains(website, company)
        if invalid is not None:
            if "@" not in value:
                return (_repair_missing_at(value, ctx, own),)
            local, _, label = value.partition("@")
            return (_repair_no_tld(local, label, ctx, own),)
        return (_repair_rare_domain(value, ctx, own),)

    (fixed,) = map_unique_rows(
        (subject, salvage.take(idx), websites.take(idx), companies.take(idx)), repair, (pa.string(),)
    )
    fixed_full = pc.replace_with_mask(pa.nulls(len(emails), pa.string()), candidate, fixed)
    changed = pc.is_valid(fixed_full)
    return (
        pc.if_else(changed, fixed_full, emails),
        pc.if_else(changed, pa.scalar(NOTE_REPAIRED), notes),
    )
