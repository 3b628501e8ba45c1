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
from pipelines.fields._vector import ArrayLike, as_string_array, map_unique, map_unique_many

__all__ = ["email_domains", "qualify_emails", "standardise_emails"]

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
_COMMENT = re.compile(r"\([^()]*\)")
_LIST_SEPARATORS = re.compile(r"[;,\s/|]+")
_SPACES = re.compile(r"\s+")
_MULTI_AT = re.compile(r"@{2,}")
_MULTI_DOT = re.compile(r"\.{2,}")
_WRAPPING = " \t\"'<>[](){}.,;:"


def _invalid(reason: str) -> tuple[None, str]:
    return None, f"{NOTE_INVALID_PREFIX}: {reason}"


def _short_reason(error: EmailNotValidError) -> str:
    # email-validator explains at length; keep its first sentence.
    text = str(error).removeprefix("The email address is not valid. ")
    first = text.split(". ")[0].rstrip(".")
    return (first[:1].lower() + first[1:])[:120]


def _standardise_py(value: str) -> tuple[str | None, str | None]:
    s = value
    angle = _ANGLE.search(s)  # "Jean Dupont <jean@acme.fr>"
    if angle:
        s = angle.group(1)
    s = _MAILTO.sub("", s.strip())
    s = _COMMENT.sub(" ", s).strip(_WRAPPING)
    if s.count("@") > 1 and "@@" not in s:
        # Several addresses in one cell: keep the first one.
        parts = [p.strip(_WRAPPING) for p in _LIST_SEPARATORS.split(s) if "@" in p]
        if len(parts) > 1:
            s = parts[0]
    s = _MULTI_AT.sub("@", _SPACES.sub("", s))

    if "@" not in s:
        return _invalid("missing @")
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
        return _invalid("domain has no dot")
    try:
        email = validate_email(f"{local}@{domain}", check_deliverability=False).normalized
    except EmailNotValidError as error:
        return _invalid(_short_reason(error))
    return email, (None if email == value else NOTE_REPAIRED)


def standardise_emails(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """Return (e-mail, note): repaired/normalised address, and why it changed or was rejected.

    Trimming and lower-casing alone are normalisation, not repair (note stays null).
    """
    arr = as_string_array(values)
    # Vectorised first so "Jean@Acme.fr " and "jean@acme.fr" share one validation.
    arr = pc.utf8_lower(pc.utf8_trim_whitespace(pc.utf8_normalize(arr, form="NFC")))
    email, note = map_unique_many(arr, _standardise_py, (pa.string(), pa.string()))
    return email, note


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


def qualify_emails(emails: ArrayLike, notes: ArrayLike | None = None) -> pa.Array:
    """"<local class>@<domain class>", e.g. "nominative@pro", "generic@perso".

    Local classes: nominative, generic, catch-all (reserved, never produced), invalid.
    Domain classes: pro, perso, school, disposable, invalid. A null e-mail whose
    note says it was invalid gives "invalid@invalid"; otherwise null stays null.
    """
    arr = as_string_array(emails)
    result = map_unique(pc.utf8_trim_whitespace(arr), _qualify_py)
    if notes is None:
        return result
    notes_arr = as_string_array(notes)
    rejected = pc.and_kleene(
        pc.is_null(arr), pc.starts_with(notes_arr, NOTE_INVALID_PREFIX)
    ).fill_null(False)
    return pc.if_else(rejected, pa.scalar("invalid@invalid"), result)
