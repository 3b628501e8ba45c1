"""Reading a staff mailbox over IMAP, read-only (issue #9: bounces and auto-replies).

Which mailboxes may be read is part of the controller's recorded instructions; each one is an
`ImapMailbox` named by an opaque `mailbox_id`. `fetch_messages` yields the raw messages of the allowed
folders and date range and never changes the mailbox:

- folders are opened with EXAMINE (read-only) and bodies fetched with BODY.PEEK[], so no \\Seen flag is
  set; no STORE, COPY, MOVE, EXPUNGE or CLOSE is ever sent;
- only the folders named in the instruction are opened (never a LIST-and-read-everything);
- only messages whose INTERNALDATE (the day the server received them) is on/after `since` and
  strictly before `before` (IMAP SEARCH SINCE/BEFORE compare days, ignoring time and time zone);
- TLS is required: implicit TLS (port 993) or STARTTLS (143), certificate and host name verified.
  Plain text is accepted only for a server on this machine with `allow_plaintext_loopback` (tests).

Any IMAP server works, Gmail included: host `imap.gmail.com`, port 993, `auth="xoauth2"` and an OAuth2
access token (scope `https://mail.google.com/`) as the secret; Gmail's folders are `INBOX`,
`[Gmail]/All Mail`, ... The secret (password or access token) comes from the environment, never from
settings files (`secret_from_env`). Nothing is downloaded and no token is refreshed here: a token
refresher, if any, writes the `..._FILE` the secret is read from.

Personal data: the login name is a staff address and the messages are personal data. Neither is
logged nor put in an exception message: errors name the mailbox id, the folder's position in the
instruction and the port, and say what the operator can do.
"""

from __future__ import annotations

import base64
import datetime as dt
import imaplib
import logging
import os
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from resources.hosts import is_local_host

log = logging.getLogger(__name__)

SECURITY_MODES = ("tls", "starttls", "plain")
AUTH_METHODS = ("password", "xoauth2")
# How many messages one FETCH asks for, and how many bytes of bodies one FETCH may bring back at most
# (a batch holds its bodies in memory until they are yielded).
FETCH_BATCH = 200
FETCH_BATCH_BYTES = 16_000_000
_MAILBOX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# SEARCH dates are English whatever the locale (RFC 3501 date-month), so no strftime("%b").
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapError(RuntimeError):
    """A mailbox could not be read; one line naming the mailbox id only, saying what to check."""


@dataclass(frozen=True)
class ImapMailbox:
    """One staff mailbox the controller's recorded instruction allows us to read."""

    mailbox_id: str
    host: str
    # A staff address: personal data, so kept out of repr() (tracebacks, logs of the dataclass).
    username: str = field(repr=False)
    port: int = 993
    security: str = "tls"
    auth: str = "password"
    folders: tuple[str, ...] = ("INBOX",)
    since: dt.date | None = None
    before: dt.date | None = None
    ca_file: str | None = None
    allow_plaintext_loopback: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.mailbox_id, str) or not _MAILBOX_ID.fullmatch(self.mailbox_id):
            raise ImapError("mailbox_id must be an opaque id of letters, digits, '.', '_' or '-' (at most 64)")
        where = f"mailbox {self.mailbox_id}"
        if not self.host or not isinstance(self.host, str):
            raise ImapError(f"{where}: no IMAP host")
        if not self.username:
            raise ImapError(f"{where}: no login name")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ImapError(f"{where}: port must be 1-65535")
        if self.security not in SECURITY_MODES:
            raise ImapError(f"{where}: security must be one of {', '.join(SECURITY_MODES)}")
        if self.security == "plain" and not (self.allow_plaintext_loopback and is_local_host(self.host)):
            raise ImapError(f"{where}: plain-text IMAP is refused (a mailbox is personal data): "
                            "use security 'tls' (port 993) or 'starttls' (port 143)")
        if self.auth not in AUTH_METHODS:
            raise ImapError(f"{where}: auth must be one of {', '.join(AUTH_METHODS)}")
        if isinstance(self.folders, str):
            # ("INBOX") without the comma is a string: refuse it rather than read folders "I", "N", ...
            raise ImapError(f"{where}: folders must be a list of folder names, not one string")
        folders = tuple(self.folders)
        if not folders or any(not isinstance(f, str) or not f for f in folders):
            raise ImapError(f"{where}: folders must be a non-empty list of folder names")
        object.__setattr__(self, "folders", folders)
        for name in ("since", "before"):
            value = getattr(self, name)
            if isinstance(value, dt.datetime):
                object.__setattr__(self, name, value.date())
            elif value is not None and not isinstance(value, dt.date):
                raise ImapError(f"{where}: {name} must be a date")
        if self.since and self.before and self.since >= self.before:
            raise ImapError(f"{where}: since ({self.since}) must be before 'before' ({self.before})")


@dataclass
class FetchStats:
    """Counts of one `fetch_messages` run (safe to log or put in asset metadata)."""

    folders_read: int = 0
    messages_in_range: int = 0
    messages_read: int = 0
    bytes_read: int = 0
    skipped_oversized: int = 0
    skipped_over_limit: int = 0


def secret_env_name(mailbox_id: str) -> str:
    """REFINERY_IMAP_SECRET_<MAILBOX_ID upper-cased, anything not a letter or digit as _>."""
    return "REFINERY_IMAP_SECRET_" + re.sub(r"[^A-Z0-9]", "_", mailbox_id.upper())


def secret_from_env(mailbox: ImapMailbox, environ: Mapping[str, str] = os.environ) -> str:
    """The password or access token of `mailbox`, from REFINERY_IMAP_SECRET_<ID> or from the file named by
    REFINERY_IMAP_SECRET_<ID>_FILE (a mounted secret; trailing newline ignored). Never from settings files."""
    name = secret_env_name(mailbox.mailbox_id)
    value, path = environ.get(name, ""), environ.get(name + "_FILE", "")
    if value and path:
        raise ImapError(f"mailbox {mailbox.mailbox_id}: both {name} and {name}_FILE are set; keep one")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImapError(f"mailbox {mailbox.mailbox_id}: cannot read the file named by {name}_FILE "
                            f"({exc.__class__.__name__})") from None
        if not value:
            raise ImapError(f"mailbox {mailbox.mailbox_id}: the file named by {name}_FILE is empty")
    if not value:
        raise ImapError(f"mailbox {mailbox.mailbox_id}: no secret; set {name} (password or OAuth2 access token) "
                        f"or {name}_FILE (a file holding it)")
    return value


def xoauth2_string(username: str, token: str) -> bytes:
    """The XOAUTH2 SASL initial response (before base64, which imaplib adds): Google's and Microsoft's format."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01".encode("utf-8")


def imap_utf7(folder: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): 'Envoyés' -> 'Envoy&AOk-s'."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in folder:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _quoted(folder: str) -> str:
    encoded = imap_utf7(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _imap_date(day: dt.date) -> str:
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d}"


def search_criteria(mailbox: ImapMailbox) -> str:
    """UID SEARCH criteria for the mailbox's date range ('ALL' when it has none)."""
    parts = []
    if mailbox.since:
        parts.append(f"SINCE {_imap_date(mailbox.since)}")
    if mailbox.before:
        parts.append(f"BEFORE {_imap_date(mailbox.before)}")
    return " ".join(parts) or "ALL"


def _response_code(exc: BaseException) -> str:
    """The bracketed response code of a server reply ('[AUTHENTICATIONFAILED]'): safe to show, unlike its text."""
    match = re.search(r"\[([A-Z][A-Z0-9-]*)", str(exc))
    return f" [{match.group(1)}]" if match else ""


def _network_error(mailbox: ImapMailbox, exc: BaseException, timeout: float, doing: str) -> ImapError:
    where = f"mailbox {mailbox.mailbox_id}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = "the certificate does not match the host name" if "mismatch" in str(exc.verify_message).lower() \
            else (exc.verify_message or "not trusted")
        return ImapError(f"{where}: TLS certificate of the IMAP server not accepted ({reason}); "
                         "check the host name, or set ca_file to the CA of a private server")
    if isinstance(exc, ssl.SSLError):
        return ImapError(f"{where}: TLS handshake with the IMAP server failed ({exc.reason or exc.__class__.__name__}); "
                         "check that port and security (tls on 993, starttls on 143) match")
    if isinstance(exc, ConnectionRefusedError):
        return ImapError(f"{where}: connection refused on port {mailbox.port}; check host and port")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return ImapError(f"{where}: no answer from the IMAP server within {timeout:g}s while {doing}; "
                         "check host, port and firewall")
    if isinstance(exc, socket.gaierror):
        return ImapError(f"{where}: the IMAP host name cannot be resolved; check the host")
    if isinstance(exc, imaplib.IMAP4.abort):
        return ImapError(f"{where}: the IMAP server closed the connection while {doing}; try again later")
    if isinstance(exc, OSError):
        return ImapError(f"{where}: network error while {doing} ({exc.__class__.__name__}, errno {exc.errno})")
    return ImapError(f"{where}: IMAP error while {doing}{_response_code(exc)}")


def _connect(mailbox: ImapMailbox, timeout: float) -> imaplib.IMAP4:
    context = ssl.create_default_context(cafile=mailbox.ca_file)  # verifies certificate and host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if mailbox.security == "tls":
        return imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=timeout)
    conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
    if mailbox.security == "starttls":
        if "STARTTLS" not in conn.capabilities:
            _logout(conn)
            # Required, not opportunistic: without it the password would cross the network in clear.
            raise ImapError(f"mailbox {mailbox.mailbox_id}: the server does not offer STARTTLS on port "
                            f"{mailbox.port}; use security 'tls' (port 993)")
        try:
            conn.starttls(ssl_context=context)
        except BaseException:
            _logout(conn)
            raise
    return conn


def _login(conn: imaplib.IMAP4, mailbox: ImapMailbox, secret: str) -> None:
    where = f"mailbox {mailbox.mailbox_id}"
    try:
        if mailbox.auth == "xoauth2":
            if "AUTH=XOAUTH2" not in conn.capabilities:
                raise ImapError(f"{where}: the server does not offer XOAUTH2; use auth 'password'")
            replies = iter([xoauth2_string(mailbox.username, secret)])
            # A failed XOAUTH2 gets a challenge holding an error; the client answers it with an empty line.
            conn.authenticate("XOAUTH2", lambda _challenge: next(replies, b""))
        elif secret.isascii() and mailbox.username.isascii():
            conn.login(mailbox.username, secret)
        else:
            # LOGIN is ASCII-only in imaplib; SASL PLAIN carries UTF-8.
            plain = b"\0" + mailbox.username.encode() + b"\0" + secret.encode()
            conn.authenticate("PLAIN", lambda _challenge: plain)
    except imaplib.IMAP4.abort as exc:
        raise _network_error(mailbox, exc, 0, "logging in") from None
    except imaplib.IMAP4.error as exc:
        what = "access token" if mailbox.auth == "xoauth2" else "password"
        raise ImapError(f"{where}: the IMAP server refused the login{_response_code(exc)}; check the {what} "
                        f"in {secret_env_name(mailbox.mailbox_id)} and that IMAP access is enabled for "
                        "the account") from None


def _logout(conn: imaplib.IMAP4) -> None:
    # LOGOUT only: CLOSE would be harmless on an EXAMINEd folder, but nothing that could expunge is ever sent.
    try:
        conn.logout()
    except Exception:  # the connection may already be gone; nothing to report
        try:
            conn.shutdown()
        except Exception:
            pass


_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


def _fetch_sizes(conn: imaplib.IMAP4, uids: list[bytes]) -> dict[bytes, int]:
    typ, data = conn.uid("FETCH", b",".join(uids).decode(), "(RFC822.SIZE)")
    if typ != "OK":
        raise imaplib.IMAP4.error("FETCH RFC822.SIZE failed")
    sizes: dict[bytes, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid and size:  # unsolicited FETCH responses (a flag changed elsewhere) carry neither
            sizes[uid.group(1)] = int(size.group(1))
    return sizes


def _fetch_bodies(conn: imaplib.IMAP4, uids: list[bytes]) -> list[tuple[bytes, bytes]]:
    """(uid, raw message) for `uids`, with BODY.PEEK[] so that no \\Seen flag is set."""
    typ, data = conn.uid("FETCH", b",".join(uids).decode(), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error("FETCH BODY.PEEK[] failed")
    out: list[tuple[bytes, bytes]] = []
    for i, item in enumerate(data):
        if not (isinstance(item, tuple) and b"BODY[]" in item[0]):
            continue
        uid = _UID.search(item[0])
        if uid is None and i + 1 < len(data) and isinstance(data[i + 1], bytes):
            uid = _UID.search(data[i + 1])  # some servers put UID after the literal
        if uid is not None:
            out.append((uid.group(1), item[1]))
    return out


def _batches(uids: list[bytes], sizes: dict[bytes, int], batch: int) -> Iterator[list[bytes]]:
    """Groups of at most `batch` messages and FETCH_BATCH_BYTES bytes (a single larger message on its own)."""
    group: list[bytes] = []
    total = 0
    for uid in uids:
        size = sizes[uid]
        if group and (len(group) >= batch or total + size > FETCH_BATCH_BYTES):
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def fetch_messages(
    mailbox: ImapMailbox,
    secret: str,
    *,
    max_messages: int = 50_000,
    max_message_bytes: int = 25_000_000,
    timeout: float = 60.0,
    batch_size: int = FETCH_BATCH,
    stats: FetchStats | None = None,
) -> Iterator[tuple[str, str, bytes]]:
    """Yield (folder, uid, raw message bytes) for the mailbox's allowed folders and date range, read-only.

    `secret` is the password, or the OAuth2 access token when `mailbox.auth == "xoauth2"`. Messages larger
    than `max_message_bytes` (by the server's RFC822.SIZE, checked before any body is fetched) are skipped
    and counted; after `max_messages` the rest are counted, not read. Counts go into `stats` when given, and
    to the log. Every failure is an ImapError; messages yielded before it stay valid. Every socket operation
    is bounded by `timeout` seconds.
    """
    # Settings are checked now, not at the first next(): the connection itself opens lazily.
    if not secret:
        raise ImapError(f"mailbox {mailbox.mailbox_id}: empty secret")
    if batch_size < 1 or timeout <= 0 or max_messages < 0 or max_message_bytes < 1:
        raise ImapError(f"mailbox {mailbox.mailbox_id}: batch_size, timeout and max_message_bytes must be "
                        "positive and max_messages not negative")
    return _fetch(mailbox, secret, max_messages=max_messages, max_message_bytes=max_message_bytes,
                  timeout=timeout, batch_size=batch_size, stats=stats if stats is not None else FetchStats())


def _fetch(mailbox: ImapMailbox, secret: str, *, max_messages: int, max_message_bytes: int, timeout: float,
           batch_size: int, stats: FetchStats) -> Iterator[tuple[str, str, bytes]]:
    doing = "connecting"
    try:
        conn = _connect(mailbox, timeout)
    except ImapError:
        raise
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _network_error(mailbox, exc, timeout, doing) from None
    try:
        doing = "logging in"
        _login(conn, mailbox, secret)
        for index, folder in enumerate(mailbox.folders):
            doing = f"reading folder #{index}"
            typ, _ = conn.select(_quoted(folder), readonly=True)  # EXAMINE
            if typ != "OK":
                raise ImapError(f"mailbox {mailbox.mailbox_id}: folder #{index} of the instruction cannot be "
                                "opened (no such folder on the server?); check its name, e.g. "
                                "Gmail's are '[Gmail]/...'")
            typ, data = conn.uid("SEARCH", search_criteria(mailbox))
            if typ != "OK":
                raise imaplib.IMAP4.error("SEARCH failed")
            uids = [u for line in data if line for u in line.split()]
            uids.sort(key=int)
            stats.folders_read += 1
            stats.messages_in_range += len(uids)
            room = max(0, max_messages - stats.messages_read)
            if len(uids) > room:
                stats.skipped_over_limit += len(uids) - room
                uids = uids[:room]
            oversized = 0
            for start in range(0, len(uids), batch_size):
                chunk = uids[start:start + batch_size]
                sizes = _fetch_sizes(conn, chunk)
                wanted = [u for u in chunk if u in sizes and sizes[u] <= max_message_bytes]
                oversized += sum(1 for u in chunk if sizes.get(u, 0) > max_message_bytes)
                # A UID without a size was expunged by another client meanwhile: nothing to read.
                for group in _batches(wanted, sizes, batch_size):
                    for uid, raw in _fetch_bodies(conn, group):
                        if len(raw) > max_message_bytes:  # the server under-reported its size
                            oversized += 1
                            continue
                        stats.messages_read += 1
                        stats.bytes_read += len(raw)
                        yield folder, uid.decode("ascii"), raw
            stats.skipped_oversized += oversized
            log.info("mailbox %s: folder #%d: %d messages in range, %d skipped over %d bytes",
                     mailbox.mailbox_id, index, len(uids), oversized, max_message_bytes)
        if stats.skipped_over_limit:
            log.warning("mailbox %s: %d messages not read beyond max_messages=%d; narrow the date range",
                        mailbox.mailbox_id, stats.skipped_over_limit, max_messages)
    except ImapError:
        raise
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _network_error(mailbox, exc, timeout, doing) from None
    finally:
        _logout(conn)
