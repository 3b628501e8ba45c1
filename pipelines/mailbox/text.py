"""Turning a parsed message into bounded, normalised text: decoding, HTML stripping, addresses.

Everything here is defensive: mail in the wild declares wrong charsets, truncates MIME and carries
binary junk, and a malformed message must yield no text rather than an exception.
"""

from __future__ import annotations

import html
import re
import unicodedata
from email.message import EmailMessage, Message

MAX_TEXT_CHARS = 200_000  # text scanned per message, all parts together: bounds the time per message
MAX_PART_BYTES = 400_000  # encoded bytes of one part decoded at most (base64 inflates ~4/3)

# Deliberately plain: ASCII local parts and domains (what CRMs hold); trailing dots are not part of it.
ADDRESS = re.compile(
    r"(?<![A-Za-z0-9._%+=-])[A-Za-z0-9][A-Za-z0-9._%+'=-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)

_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]{0,2000}>", re.S | re.I)
_BLOCK = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d|p|div|tr|li)\b[^>]{0,2000}>", re.I)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'", "\u201c": '"', "\u201d": '"',
                         "\u00a0": " ", "\u202f": " ", "\u2013": "-", "\u2014": "-", "\u00df": "ss",
                         # letters NFKD does not decompose, as address slugs write them
                         "\u0131": "i", "\u0142": "l", "\u0141": "l", "\u00f8": "o", "\u00d8": "o", "\u0111": "d",
                         "\u00e6": "ae", "\u00c6": "ae", "\u0153": "oe", "\u0152": "oe"})


def html_to_text(markup: str) -> str:
    """Cheap tag stripping: block tags become line breaks, entities are decoded."""
    markup = _BLOCK.sub("\n", markup)
    return html.unescape(_TAGS.sub(" ", markup))


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Declared charset first, then UTF-8, then Windows-1252 (which never fails): mail lies about charsets."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return payload.decode("cp1252", errors="replace")


def part_text(part: Message) -> str:
    """The decoded text of one leaf part, at most MAX_PART_BYTES of it; '' when it cannot be read."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encodings raise various errors
        return ""
    if not isinstance(payload, bytes):
        return ""
    payload = payload[:MAX_PART_BYTES].replace(b"\x00", b"")
    text = decode_bytes(payload, content_param(part, "charset"))
    if safe_content_type(part) == "text/html":
        text = html_to_text(text)
    return text


def _content_info(part: Message) -> tuple[str, dict[str, str]]:
    """(content type, its parameters), parsed once per part: policy.default re-parses the header on every
    get_content_type/get_param call, which was most of the extraction time."""
    cached = part.__dict__.get("_mailbox_ctype")
    if cached is None:
        try:
            ctype = part.get_content_type()
        except Exception:  # noqa: BLE001
            ctype = "text/plain"
        params: dict[str, str] = {}
        try:
            for key, value in part.get_params() or []:
                params.setdefault(str(key).lower(), str(value))
        except Exception:  # noqa: BLE001
            pass
        cached = part.__dict__["_mailbox_ctype"] = (ctype, params)
    return cached


def safe_content_type(part: Message) -> str:
    return _content_info(part)[0]


def content_param(part: Message, name: str) -> str | None:
    """A Content-Type parameter (charset, report-type), lower-cased, or None."""
    value = _content_info(part)[1].get(name)
    return value.strip().strip('"').lower() if value else None


def own_text_parts(message: Message) -> list[Message]:
    """The message's own text leaves, not descending into attached messages (a returned original, a
    quoted mail): plain text preferred, HTML only where an alternative has no plain text."""
    leaves: list[Message] = []

    def visit(part: Message, depth: int) -> None:
        if depth > 20 or len(leaves) > 50:
            return
        ctype = safe_content_type(part)
        if ctype.startswith("multipart/"):
            try:
                children = part.get_payload()
            except Exception:  # noqa: BLE001
                return
            if not isinstance(children, list):
                return
            if ctype == "multipart/alternative":
                plain = [c for c in children if isinstance(c, Message) and safe_content_type(c) == "text/plain"]
                if plain:
                    children = plain
            for child in children:
                if isinstance(child, Message):
                    visit(child, depth + 1)
        elif ctype in ("text/plain", "text/html"):
            try:
                disposition = part.get_content_disposition()
            except Exception:  # noqa: BLE001
                disposition = None
            if disposition != "attachment" or depth == 0:
                leaves.append(part)

    visit(message, 0)
    return leaves


def message_text(message: Message, limit: int = MAX_TEXT_CHARS) -> str:
    """The message's own text (see own_text_parts), joined, at most `limit` characters."""
    chunks, size = [], 0
    for part in own_text_parts(message):
        text = part_text(part)
        chunks.append(text[: limit - size])
        size += len(chunks[-1])
        if size >= limit:
            break
    return "\n".join(chunks)


def normalise(text: str) -> str:
    """Case-folded, accents removed, typographic quotes and spaces made ASCII, runs of blanks collapsed
    within lines (line starts stay, for markers like `From:` or `> quoted`)."""
    text = text.translate(_QUOTES).casefold()
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n ", "\n", text)


def flatten(text: str) -> str:
    """Normalised text on one line, for phrases that wrap across lines."""
    return re.sub(r"\s+", " ", text)


def addresses(text: str) -> list[tuple[str, int]]:
    """Addresses in the text, lower-cased, with their positions, in order."""
    out = []
    for m in ADDRESS.finditer(text):
        addr = m.group(0).strip(".'").lower()
        local, _, domain = addr.partition("@")
        if local and domain and ".." not in addr:
            out.append((addr, m.start()))
    return out


def clean_address(value: str | None) -> str | None:
    """One address from a header value or a DSN field (`rfc822; <a@b.c>`), lower-cased, or None."""
    if not value:
        return None
    found = addresses(str(value))
    return found[0][0] if found else None
