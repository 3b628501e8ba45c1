"""Auto-replies: a departure notice ("no longer with the company") yields a `departed` signal for the
auto-reply's sender, with the replacement address it gives; out-of-office and anything else yield nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from pipelines.mailbox import phrases
from pipelines.mailbox.envelope import (
    NOT_A_REPLACEMENT,
    autoreply_hints,
    display_name,
    header_addresses,
    is_system_address,
)
from pipelines.mailbox.text import addresses, flatten, message_text, normalise

# Shared mailboxes that company signatures and footers carry: a replacement only when a cue introduces them.
ROLE_LOCALS = re.compile(
    r"^(info|contact|office|hello|hallo|hola|accueil|kontakt|contacto|sales|ventes|vertrieb|ventas|support|service"
    r"|admin|reception|mail|email|team|zentrale|standard|secretariat|sekretariat|recepcion)$"
)
CUE_REACH = 250  # characters after a cue within which the address it introduces must start
CUE_BACK = 120  # characters before a "takes over"-style cue where the address may stand instead


@dataclass(frozen=True)
class Departure:
    address: str
    replacement_email: str | None
    replacement_kind: str | None
    language: str


def is_autoreply(message: Message, subject: str) -> bool:
    return autoreply_hints(message) or phrases.first_match(subject, "autoreply_subject") is not None


def own_words(normalised: str) -> str:
    """The auto-reply's own text: up to its signature ("-- " line, where company footers with generic addresses
    live) or the quoted original ("-----Original Message-----", "Le … a écrit :", "> " lines)."""
    cut = len(normalised)
    signature = re.search(r"^-- ?$", normalised, re.M)
    if signature:
        cut = signature.start()
    first = phrases.all_matches(normalised, "quote_markers")
    if first:
        cut = min(cut, first[0][1].start())
    quoted = re.search(r"^>", normalised, re.M)
    if quoted:
        cut = min(cut, quoted.start())
    return normalised[:cut]


def _name_tokens(name: str) -> list[str]:
    """Words of a name, letters only ("O'Brien" -> "obrien", "Müller" -> "muller")."""
    words = (re.sub(r"[^a-z]", "", w) for w in re.split(r"[\s,._]+", normalise(name)))
    return [w for w in words if w]


def _first_last_pairs(tokens: list[str]) -> list[tuple[str, str]]:
    """Ways to read (first, last) from a name's words: "Jean Le Goff", "DUPONT Jean", "Dupont, Jean"."""
    if len(tokens) < 2:
        return []
    return [(tokens[0], "".join(tokens[1:])), (tokens[0], tokens[-1]), (tokens[-1], "".join(tokens[:-1])), (tokens[-1], tokens[0])]


def same_person(candidate: str, departed: str, name: str) -> bool:
    """Whether an address looks like the departed person's own (same local part, or built from their name)."""
    local = candidate.partition("@")[0]
    if local == departed.partition("@")[0]:
        return True
    tokens = _name_tokens(name) or _name_tokens(departed.partition("@")[0])
    compact = re.sub(r"[^a-z]", "", local)
    parts = set(re.split(r"[^a-z]+", local))
    for first, last in _first_last_pairs(tokens):
        if len(last) < 2:
            continue
        if compact in (first + last, first[0] + last, last + first, last + first[0]) or {first, last} <= parts:
            return True
    return False


def find_replacement(text: str, excluded: set[str], departed: str, name: str) -> tuple[str | None, str | None]:
    """The address the text gives to write to instead, and whether it is the person's own new address."""
    found = [(a, p) for a, p in addresses(text)
             if a not in excluded and not is_system_address(a) and not NOT_A_REPLACEMENT.match(a.partition("@")[0])]
    if not found:
        return None, None
    best: tuple[int, str, str] | None = None  # (rank, address, kind): new-address cues outrank contact cues
    for rank, category in ((0, "replacement_new"), (1, "replacement_contact")):
        for _, cue in phrases.all_matches(text, category):
            # The nearest address: after the cue ("please contact x@"), or just before it ("x@ has taken over").
            after = [(p - cue.end(), a) for a, p in found if cue.end() <= p <= cue.end() + CUE_REACH]
            before = [(cue.start() - p - len(a), a) for a, p in found if cue.start() - CUE_BACK <= p < cue.start()]
            near = sorted(after[:1] + (before[-1:] if category == "replacement_contact" else []))
            pick = near[0][1] if near else None
            if pick and (best is None or rank < best[0]):
                kind = "new_address" if rank == 0 or same_person(pick, departed, name) else "colleague"
                best = (rank, pick, kind)
        if best is not None:
            break
    if best is None:
        # No cue, but a departure notice whose own words (signature and quote cut off) hold exactly one
        # personal address: that is the address it gives. Shared mailboxes (info@, contact@) only count with a cue.
        personal = {a for a, _ in found if not ROLE_LOCALS.match(a.partition("@")[0])}
        if len(personal) == 1:
            only = personal.pop()
            return only, "new_address" if same_person(only, departed, name) else "colleague"
        return None, None
    return best[1], best[2]


def extract_departure(message: Message, subject: str, owner_side: set[str]) -> Departure | None:
    """A departure notice's signal, or None (not an auto-reply, an out-of-office, anything else)."""
    if not is_autoreply(message, subject):
        return None
    senders = header_addresses(message, "From") or header_addresses(message, "Sender", "Return-Path")
    departed = next((a for a in senders if not is_system_address(a)), None)
    if departed is None:
        return None
    text = flatten(own_words(normalise(message_text(message))))
    hit = phrases.first_match(text, "departure")
    if hit is None:
        return None  # out of office, vacation notice, challenge-response, acknowledgement...
    name = display_name(message)
    excluded = owner_side | {departed}
    replacement, kind = find_replacement(text, excluded, departed, name)
    return Departure(departed, replacement, kind, hit[0])
