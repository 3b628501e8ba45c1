"""What a mailbox message says about a contact address: hard/soft bounce or departure.

`extract_signals` is the only door: any bytes in, a list of `MailboxSignal` out, never an exception,
never a body. Out-of-office replies, ordinary mail, newsletters, read receipts and challenge-response
messages give no signal.
"""

from __future__ import annotations

import email
import re
from email.parser import BytesHeaderParser
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields

import pyarrow as pa

from pipelines.mailbox.autoreplies import extract_departure, is_autoreply
from pipelines.mailbox.bounces import extract_bounces, may_be_bounce
from pipelines.mailbox.envelope import POLICY, header, header_addresses, observed_at
from pipelines.mailbox.text import normalise

SIGNALS = ("hard_bounce", "soft_bounce", "departed")
MAX_HEADER_BYTES = 256 * 2**10  # header block read for the first triage
MAX_MULTIPARTS = 100  # multipart containers in one message
MULTIPART = re.compile(rb"(?i)content-type:\s*multipart/")
MAX_PARSE_BYTES = 2 * 2**20  # bytes of a message parsed: bounce reports and auto-replies say it in the first ones


@dataclass(frozen=True)
class MailboxSignal:
    address: str  # the contact address the signal is about, lower-cased, stripped
    signal: str  # one of SIGNALS
    observed_at: str  # ISO 8601 UTC date-time of the message (Date header; arrival fallback); '' if unknown
    source_mailbox: str  # opaque mailbox id given by the caller (never the mailbox owner's address)
    status_code: str | None = None  # enhanced status code for bounces, e.g. "5.1.1"
    replacement_email: str | None = None  # address given in a departure auto-reply (new address or colleague)
    replacement_kind: str | None = None  # "new_address" (the same person's new address) | "colleague"
    language: str | None = None  # "fr" | "en" | "de" | "es" when detected


def extract_signals(raw: bytes, source_mailbox: str, *, received_at: str | None = None) -> list[MailboxSignal]:
    """The signals one raw RFC 5322 message carries. `received_at` (ISO 8601 UTC, e.g. the IMAP
    INTERNALDATE) is used when the message has no usable Date or Received header. Raises ValueError only when
    `source_mailbox` is not an opaque id (it holds an "@"): the owner's address must never travel with signals."""
    if not isinstance(source_mailbox, str) or "@" in source_mailbox:
        raise ValueError("source_mailbox must be an opaque mailbox id, not an e-mail address")
    try:
        return _extract(raw, source_mailbox, received_at)
    except Exception:  # noqa: BLE001 - a malformed message is no signal, never a failed batch
        return []


def _extract(raw: bytes, source_mailbox: str, received_at: str | None) -> list[MailboxSignal]:
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return []
    raw = bytes(raw[:MAX_PARSE_BYTES])
    if not raw.strip():
        return []
    # Headers first: most mail is neither a bounce nor an auto-reply, and that shows in its headers alone.
    headers = BytesHeaderParser(policy=POLICY).parsebytes(raw[:MAX_HEADER_BYTES])
    subject = normalise(header(headers, "Subject") or "")
    bounce_possible = may_be_bounce(headers, subject, raw)
    if not bounce_possible and not is_autoreply(headers, subject):
        return []
    if len(MULTIPART.findall(raw, 0, len(raw))) > MAX_MULTIPARTS:
        return []  # deeply nested MIME takes the parser quadratic time; no report or auto-reply looks like that
    message = email.message_from_bytes(raw, policy=POLICY)
    # The owner's side of the conversation: the bounce or auto-reply was sent back to them.
    owner_side = set(header_addresses(message, "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"))
    when = observed_at(message, received_at)

    bounces = extract_bounces(message, subject, owner_side) if bounce_possible else None
    if bounces is not None:
        out: dict[tuple[str, str], MailboxSignal] = {}
        for b in bounces:
            out.setdefault((b.address, b.signal), MailboxSignal(
                b.address, b.signal, when, source_mailbox, status_code=b.status_code, language=b.language))
        return list(out.values())

    departure = extract_departure(message, subject, owner_side)
    if departure is None:
        return []
    return [MailboxSignal(
        departure.address, "departed", when, source_mailbox,
        replacement_email=departure.replacement_email, replacement_kind=departure.replacement_kind,
        language=departure.language,
    )]


SCHEMA = pa.schema([(f.name, pa.string()) for f in fields(MailboxSignal)])


def signals_table(signals: Iterable[MailboxSignal]) -> pa.Table:
    """One row per signal, one string column per MailboxSignal field (in field order)."""
    rows = [astuple(s) for s in signals]
    columns = list(zip(*rows)) if rows else [()] * len(SCHEMA)
    return pa.Table.from_arrays([pa.array(list(c), type=pa.string()) for c in columns], schema=SCHEMA)
