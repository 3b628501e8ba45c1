"""Delivery failures: RFC 3464 delivery status notifications and the common plain-text bounces.

A bounce yields (address, signal, status code, language) for each *failed recipient* only: the
postmaster, the bounce's own sender and recipient (the mailbox owner who sent the original) and
anyone named in the returned original's headers are never reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from pipelines.mailbox import phrases
from pipelines.mailbox.envelope import header, header_addresses, is_system_address
from pipelines.mailbox.text import (
    addresses,
    clean_address,
    content_param,
    flatten,
    message_text,
    normalise,
    safe_content_type,
)

# Enhanced status code (RFC 3463) not inside an IP address or version number; qmail writes "(#5.1.1)".
# Only failure classes: a 2.x.x success code in a transcript says nothing about the failure.
ENHANCED = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# Basic SMTP reply codes that speak about a recipient.
BASIC = re.compile(r"(?<![\d.])(4[25]\d|5[05]\d)(?=[ -])")
DAEMON_NAMES = re.compile(r"mail delivery (system|subsystem)|mailer-?daemon|postmaster|microsoft outlook|mail administrator")
# 5.x.y codes about the message or the sender's reputation, or a full mailbox: the address itself is fine.
HELP_CONTEXT = 80  # characters before an address where a "contact your administrator" phrase disqualifies it
SENDER_SIDE = {("1", "7"), ("1", "8")}  # 5.1.7 / 5.1.8: bad *sender* mailbox or system address
SOFT_PERMANENT = {("2", "2"), ("2", "3"), ("3", "4"), ("4", "6"), ("4", "7")}
SOFT_PERMANENT_CLASSES = {"6", "7"}


@dataclass(frozen=True)
class Bounce:
    address: str
    signal: str  # "hard_bounce" | "soft_bounce"
    status_code: str | None
    language: str | None


def classify(status: str | None, basic: str | None, reason: str, delayed: bool) -> str:
    """Hard (the address is wrong) or soft (try again later, or a problem that is not the address)."""
    if delayed:
        return "soft_bounce"
    soft_words = phrases.any_match(reason, "soft") is not None
    hard_words = phrases.any_match(reason, "hard") is not None
    if phrases.any_match(reason, "not_address") and not (status and status.startswith("5.1.") and hard_words):
        return "soft_bounce"  # the sender or the message was refused; the address may well be right
    if status:
        klass, subject, detail = status.split(".")
        if klass == "4":
            return "soft_bounce"
        if klass == "5":
            if (subject, detail) in SENDER_SIDE:
                return "soft_bounce"  # the owner's own address was refused: nothing wrong with the recipient
            if subject == "1":
                return "hard_bounce"  # 5.1.x: the address itself is bad, whatever the text adds
            if (subject, detail) in SOFT_PERMANENT or subject in SOFT_PERMANENT_CLASSES:
                return "soft_bounce"
            return "soft_bounce" if soft_words and not hard_words else "hard_bounce"
    if basic:
        if basic.startswith("4") or basic == "552":
            return "soft_bounce"
        if basic == "554":
            return "hard_bounce" if hard_words else "soft_bounce"
        return "soft_bounce" if soft_words and not hard_words else "hard_bounce"
    if soft_words and not hard_words:
        return "soft_bounce"
    return "hard_bounce"


def status_in(text: str) -> str | None:
    m = ENHANCED.search(text)
    return f"{m.group(1)}.{m.group(2)}.{m.group(3)}" if m else None


def basic_in(text: str) -> str | None:
    m = BASIC.search(text)
    return m.group(1) if m else None


# ----------------------------------------------------------------------------------------------
# RFC 3464
# ----------------------------------------------------------------------------------------------
def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The delivery-status part's field blocks (lower-cased field names), per-message block first."""
    try:
        payload = part.get_payload()
    except Exception:  # noqa: BLE001
        return []
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for block in payload:
            if isinstance(block, Message):
                fields = {}
                try:
                    for name, value in block.items():
                        fields.setdefault(name.lower(), str(value))
                except Exception:  # noqa: BLE001
                    continue
                blocks.append(fields)
    elif isinstance(payload, str):
        for chunk in re.split(r"\r?\n\s*\r?\n", payload[:100_000]):
            fields = {}
            for line in chunk.splitlines():
                name, sep, value = line.partition(":")
                if sep and name.strip() and " " not in name.strip():
                    fields.setdefault(name.strip().lower(), value.strip())
            if fields:
                blocks.append(fields)
    return blocks


def _delivery_status_parts(message: Message) -> list[Message]:
    found: list[Message] = []

    def visit(part: Message, depth: int) -> None:
        if depth > 5 or len(found) > 5:
            return
        ctype = safe_content_type(part)
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            found.append(part)
        elif ctype.startswith("multipart/"):
            try:
                children = part.get_payload()
            except Exception:  # noqa: BLE001
                return
            if isinstance(children, list):
                for child in children:
                    if isinstance(child, Message):
                        visit(child, depth + 1)

    visit(message, 0)
    return found


def dsn_bounces(message: Message, language: str | None, excluded: set[str]) -> list[Bounce] | None:
    """Failed or delayed recipients of an RFC 3464 report; None when the message carries no readable one."""
    parts = _delivery_status_parts(message)
    if not parts:
        return None
    out: list[Bounce] = []
    seen_recipient_block = False
    for part in parts:
        for fields in _status_blocks(part):
            recipient = clean_address(fields.get("original-recipient")) or clean_address(fields.get("final-recipient"))
            if not recipient:
                continue
            seen_recipient_block = True
            action = (fields.get("action") or "").strip().lower()
            if action in ("delivered", "relayed", "expanded"):
                continue
            if action not in ("failed", "delayed") and (fields.get("status") or "").strip().startswith("2"):
                continue  # no Action, success status
            if recipient in excluded or is_system_address(recipient):
                continue
            status = status_in(fields.get("status") or "")
            diagnostic = normalise(fields.get("diagnostic-code") or "")
            if status is None:
                status = status_in(diagnostic)
            signal = classify(status, basic_in(diagnostic), diagnostic, delayed=action == "delayed")
            out.append(Bounce(recipient, signal, status, language))
    return out if seen_recipient_block else None


# ----------------------------------------------------------------------------------------------
# Plain-text bounces (Postfix, Exim, Sendmail, qmail, Exchange, Gmail, Yahoo, localised NDRs)
# ----------------------------------------------------------------------------------------------
def human_part(text: str) -> str:
    """The bounce's own explanation: its text up to where it starts quoting the returned message."""
    cut = len(text)
    for _, m in phrases.all_matches(text, "returned_markers")[:1]:
        cut = m.start()
    return text[:cut]


def returned_original_addresses(message: Message) -> set[str]:
    """Sender-side addresses of the returned original (attached message or headers): never a failed recipient."""
    out: set[str] = set()
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > 5:
            continue
        ctype = safe_content_type(part)
        try:
            payload = part.get_payload()
        except Exception:  # noqa: BLE001
            continue
        if ctype == "message/rfc822" and isinstance(payload, list):
            for inner in payload:
                if isinstance(inner, Message):
                    out.update(header_addresses(inner, "From", "Sender", "Reply-To", "Return-Path"))
        elif ctype == "text/rfc822-headers" and isinstance(payload, str):
            for line in payload[:50_000].splitlines():
                if re.match(r"(?i)(from|sender|reply-to|return-path):", line):
                    out.update(a for a, _ in addresses(line))
        elif ctype.startswith("multipart/") and isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return out


def _header_evidence(message: Message, subject: str) -> tuple[bool, bool, object, bool]:
    """(sent by a mail system, null return path, bounce subject match, X-Failed-Recipients present)."""
    sender = normalise(header(message, "From") or "")
    return_path = header(message, "Return-Path")
    from_daemon = bool(DAEMON_NAMES.search(sender)) or any(is_system_address(a) for a, _ in addresses(sender))
    null_sender = return_path is not None and return_path.strip() in ("<>", "")
    subject_hit = phrases.first_match(subject, "bounce_subject")
    return from_daemon, null_sender, subject_hit, header(message, "X-Failed-Recipients") is not None


DELIVERY_STATUS = re.compile(rb"(?i)content-type:\s*message/(global-)?delivery-status")


def may_be_bounce(headers: Message, subject: str, raw: bytes) -> bool:
    """From the headers alone (and a byte search for a delivery-status part): False when extract_bounces
    could not find a bounce in this message, so ordinary mail skips the body entirely."""
    from_daemon, null_sender, subject_hit, failed = _header_evidence(headers, subject)
    return from_daemon or null_sender or bool(subject_hit) or failed or DELIVERY_STATUS.search(raw) is not None


def looks_like_bounce(message: Message, subject: str, body: str) -> tuple[bool, str | None]:
    """(is it a non-delivery report, language of the phrase that says so)."""
    from_daemon, null_sender, subject_hit, failed = _header_evidence(message, subject)
    body_hit = phrases.first_match(flatten(body), "bounce_body")
    language = (body_hit or subject_hit or (None,))[0]
    if failed:
        return True, language
    # A null return path alone is not enough: auto-replies (RFC 3834) are sent with one too, and a departure
    # notice saying "your message was not delivered to him" must not make its colleague a failed recipient.
    if body_hit and (from_daemon or subject_hit):
        return True, language
    return bool(from_daemon and subject_hit), language


def text_bounces(message: Message, subject: str, excluded: set[str], language: str | None) -> list[Bounce]:
    raw_text = message_text(message)
    human = human_part(normalise(raw_text))
    flat = flatten(human)
    delayed_message = (phrases.any_match(subject, "delay") or phrases.any_match(flat, "delay")) is not None
    failed = header_addresses(message, "X-Failed-Recipients")
    found = addresses(flat)
    candidates: list[tuple[str, int]] = [(a, -1) for a in failed] + found
    seen: dict[str, int] = {}
    for addr, pos in candidates:
        if addr in excluded or is_system_address(addr) or addr in seen:
            continue
        if pos >= 0 and phrases.any_match(flat[max(0, pos - HELP_CONTEXT):pos], "bounce_not_recipient"):
            continue  # "contact your administrator at helpdesk@…": a helper, not a failed recipient
        seen[addr] = pos
    out = []
    for addr in seen:
        segment = _reason_segment(flat, found, addr)
        status = status_in(segment or flat)
        basic = None if status else basic_in(segment or flat)
        delayed = delayed_message and not (status or "").startswith("5")
        signal = classify(status, basic, segment or flat, delayed)
        out.append(Bounce(addr, signal, status, language))
    return out


def _reason_segment(flat: str, found: list[tuple[str, int]], addr: str) -> str | None:
    """The text after an occurrence of the address, up to the next other address, that carries a status code
    (Exchange lists the recipients first and their codes further down, so any occurrence may be the one)."""
    for a, pos in found:
        if a != addr:
            continue
        later = [p for b, p in found if p > pos and b != addr]
        segment = flat[pos:min(later[0] if later else len(flat), pos + 1500)]
        if status_in(segment) or basic_in(segment):
            return segment
    return None


def extract_bounces(message: Message, subject: str, owner_side: set[str]) -> list[Bounce] | None:
    """The failed recipients of a bounce; None when the message is not a bounce."""
    excluded = owner_side | returned_original_addresses(message)
    body_text = normalise(message_text(message, limit=20_000))
    report_type = content_param(message, "report-type") if safe_content_type(message) == "multipart/report" else None
    is_bounce, language = looks_like_bounce(message, subject, human_part(body_text))
    if report_type == "disposition-notification":
        return None  # read receipt
    dsn = dsn_bounces(message, language or phrases.guess_language(human_part(body_text)), excluded)
    if dsn is not None:
        return dsn
    if not is_bounce:
        return None
    return text_bounces(message, subject, excluded, language or phrases.guess_language(body_text))
