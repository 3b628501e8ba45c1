"""Mailbox exports uploaded by the client: `.mbox` files, `.zip` archives of `.eml` files, single `.eml`.

Every refusal is a `MailboxExportError` with a one-line message that names no file, folder or person:
the message may reach logs and Dagster's event log, which cannot be cleaned per partition.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import BinaryIO
from dataclasses import dataclass


class MailboxExportError(ValueError):
    """An export that cannot or must not be read (unknown format, corrupt, a zip bomb, over a limit)."""


@dataclass(frozen=True)
class ExportLimits:
    max_messages: int = 500_000
    max_message_bytes: int = 50 * 2**20  # above the largest message common providers accept (25-35 MB)
    max_expansion: int = 100  # how many times larger than the archive its content may be
    max_expanded_bytes: int = 8 * 2**30  # all the archive's members together


DEFAULT_LIMITS = ExportLimits()

# An mbox From_ line: "From <sender> <asctime date>" (Thunderbird writes "From - Thu Nov 26 ...").
FROM_SEPARATOR = re.compile(rb"From \S*[ \t]+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
QUOTED_FROM_LINE = re.compile(rb">+From ")
LINE_CHUNK = 1 << 20  # longest piece of a line read at once: a line without end cannot fill the memory


def export_format(name: str, data: bytes) -> str:
    """'mbox', 'zip' or 'eml', from the name's extension and, failing that, the content."""
    lowered = name.lower()
    head = data[:4096].lstrip(b"\r\n\t \xef\xbb\xbf")
    if lowered.endswith(".zip") or data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return "zip"
    if lowered.endswith((".mbox", ".mbx", ".mbs")) or head.startswith(b"From "):
        return "mbox"
    if lowered.endswith(".eml") or re.match(rb"[A-Za-z0-9-]{1,76}:[ \t]", head):
        return "eml"
    raise MailboxExportError("unknown mailbox export format: expected .mbox, a .zip of .eml files, or .eml")


def iter_messages(name: str, data: bytes, limits: ExportLimits = DEFAULT_LIMITS) -> Iterator[bytes]:
    """Raw RFC 5322 messages from an export: `.mbox` (mboxrd/mboxo, From_ lines, >From unquoting), a `.zip` of
    `.eml` files (possibly in folders) or of `.mbox` files (Google Takeout), or a single `.eml`. Raises MailboxExportError (one line, no personal data)
    on an unknown format, a corrupt zip, a zip bomb, too many messages, or a message above the size limit."""
    for _, raw in iter_folder_messages(name, data, limits):
        yield raw


def iter_folder_messages(name: str, data: bytes, limits: ExportLimits = DEFAULT_LIMITS) -> Iterator[tuple[str, bytes]]:
    """Like iter_messages, with the folder each message came from ('' when the export has none). The folder is
    the client's own naming: keep it out of logs and metadata like any other content."""
    fmt = export_format(name, data)
    if fmt == "zip":
        yield from _zip_messages(data, limits)
    elif fmt == "mbox":
        yield from (("", m) for m in _mbox_messages(data, limits))
    else:
        _check_size(len(data), limits)
        yield "", data


def _check_size(size: int, limits: ExportLimits) -> None:
    if size > limits.max_message_bytes:
        raise MailboxExportError(
            f"a message of {size / 2**20:,.1f} MB is above the {limits.max_message_bytes / 2**20:,.0f} MB limit per message"
        )


def _check_count(count: int, limits: ExportLimits) -> None:
    if count > limits.max_messages:
        raise MailboxExportError(f"the export holds more than {limits.max_messages:,} messages, the limit per export")


def _mbox_messages(data: bytes, limits: ExportLimits) -> Iterator[bytes]:
    yield from _mbox_stream(io.BytesIO(data), limits)


def _mbox_stream(stream: BinaryIO, limits: ExportLimits, counted: list[int] | None = None) -> Iterator[bytes]:
    """Messages of an mbox read line by line (an mbox inside a zip is never inflated whole). A From_ line with
    an asctime date separates messages; an mbox whose first From_ line has no recognisable date is split on
    "From " lines after a blank line instead. Undoes mboxrd quoting (">From " -> "From ", ">>From " -> ">From "),
    which also reads mboxo files right (their only quoting is ">From ")."""
    counted = counted if counted is not None else [0]
    message: bytearray | None = None
    strict: bool | None = None  # whether separators carry a date, decided by the first one
    at_line_start, previous_blank = True, True
    while True:
        line = stream.readline(LINE_CHUNK)
        if not line:
            break
        if message is None and strict is None:
            line = line.lstrip(b"\xef\xbb\xbf") if counted[0] == 0 else line
            if not line.strip():
                continue  # blank lines before the first From_ line
            if not line.startswith(b"From "):
                raise MailboxExportError("the file is not an mbox (it does not start with a 'From ' separator line)")
            strict = FROM_SEPARATOR.match(line) is not None
        separator = at_line_start and line.startswith(b"From ") and (
            FROM_SEPARATOR.match(line) is not None if strict else previous_blank)
        if separator:
            if message is not None:
                yield _finish(message)
            counted[0] += 1
            _check_count(counted[0], limits)
            message = bytearray()
        elif message is not None:
            if at_line_start and line.startswith(b">") and QUOTED_FROM_LINE.match(line):
                line = line[1:]
            message += line
            if len(message) > limits.max_message_bytes:
                _check_size(len(message), limits)
        previous_blank = at_line_start and line in (b"\n", b"\r\n")
        at_line_start = line.endswith(b"\n")
    if message is not None:
        yield _finish(message)


def _finish(message: bytearray) -> bytes:
    # The blank line that precedes the next From_ belongs to the mbox format, not to the message.
    if message.endswith(b"\r\n\r\n"):
        del message[-2:]
    elif message.endswith(b"\n\n"):
        del message[-1:]
    return bytes(message)


def _zip_messages(data: bytes, limits: ExportLimits) -> Iterator[tuple[str, bytes]]:
    """.eml members of a zip, and .mbox members (Google Takeout exports a zip holding an mbox) read as a stream,
    after checking the declared sizes (count, per message, total, ratio) before inflating anything. zipfile stops
    reading a member at its declared size and checks its CRC, so a member that lies about its size fails instead
    of expanding."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise MailboxExportError("the zip archive is corrupt or truncated and cannot be read") from None
    members = [i for i in infos if not i.is_dir() and _member_kind(i.filename)]
    _check_count(sum(_member_kind(i.filename) == "eml" for i in members), limits)
    declared = sum(i.file_size for i in members)
    budget = min(max(len(data), 1) * limits.max_expansion, limits.max_expanded_bytes)
    if declared > budget:
        raise MailboxExportError(
            f"the zip archive expands to {declared / 2**20:,.0f} MB from {len(data) / 2**20:,.1f} MB, beyond the "
            "allowed expansion: refused as a possible zip bomb"
        )
    for info in members:
        if _member_kind(info.filename) == "eml":
            _check_size(info.file_size, limits)
        if info.compress_size and info.file_size > 2**20 and info.file_size / info.compress_size > limits.max_expansion:
            raise MailboxExportError("a zip member expands more than the allowed ratio: refused as a possible zip bomb")
        if info.flag_bits & 0x1:
            raise MailboxExportError("the zip archive is encrypted: export it without a password")
    counted = [sum(_member_kind(i.filename) == "eml" for i in members)]
    for info in members:
        folder = info.filename.rsplit("/", 1)[0] if "/" in info.filename else ""
        if _member_kind(info.filename) == "mbox":
            folder = info.filename.rsplit(".", 1)[0]
            try:
                with archive.open(info) as member:
                    for raw in _mbox_stream(member, limits, counted):
                        yield folder, raw
            except MailboxExportError:
                raise
            except Exception:  # noqa: BLE001 - BadZipFile (CRC), zlib.error, OSError: the archive is damaged
                raise MailboxExportError("a member of the zip archive is corrupt and cannot be read") from None
            continue
        try:
            with archive.open(info) as member:
                raw = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError):
            raise MailboxExportError("a member of the zip archive is corrupt and cannot be read") from None
        except Exception:  # noqa: BLE001 - zlib.error and friends: the archive is damaged
            raise MailboxExportError("a member of the zip archive is corrupt and cannot be read") from None
        if len(raw) > info.file_size:
            raise MailboxExportError("a zip member is larger than it declares: refused as a possible zip bomb")
        yield folder, raw


def _member_kind(filename: str) -> str | None:
    """'eml', 'mbox' or None (not mail: folders' metadata, macOS resource forks, anything else)."""
    base = filename.rsplit("/", 1)[-1]
    if filename.startswith("__MACOSX/") or base.startswith("._"):
        return None
    lowered = base.lower()
    if lowered.endswith(".eml"):
        return "eml"
    if lowered.endswith((".mbox", ".mbx")):
        return "mbox"
    return None
