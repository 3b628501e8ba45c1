"""The `mailboxes` section of a controller's settings: which staff mailboxes may be read (issue #9).

Reading a mailbox of the client's staff is processing the controller must decide (DPA II (iii),
with the staff's consent, which the controller obtains): a mailbox is read only when the
controller's recorded settings name it. The section is part of the settings, so it is recorded in
the instruction log like any setting (its usernames reduced to "set" there) and a change of it is
a new instruction.

    mailboxes:
      - id: sales-inbox            # opaque id: the only name logs, metadata and files ever show
        source: imap               # imap | export (an mbox / .eml zip dropped under uploads/<c>/mailboxes/<id>/)
        host: imap.example.com
        port: 993
        security: tls              # tls | starttls
        auth: xoauth2              # password | xoauth2 (the secret comes from the environment)
        username: jeanne.martin@client.example
        folders: [INBOX]
        since_days: 90             # only messages of the last N days

The secret (password or OAuth2 access token) is never in the settings: the operator provides it
as REFINERY_IMAP_SECRET_<ID> (see resources/imap_source.secret_from_env).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resources.layout import MAILBOX_ID_RE

SOURCES = ("imap", "export")
SECURITY = ("tls", "starttls")
AUTH = ("password", "xoauth2")
_IMAP_KEYS = ("host", "port", "security", "auth", "username", "folders", "since_days")
_KEYS = ("id", "source", *_IMAP_KEYS)
MAX_SINCE_DAYS = 3650


@dataclass(frozen=True)
class MailboxSource:
    id: str
    source: str = "imap"
    host: str | None = None
    port: int = 993
    security: str = "tls"
    auth: str = "password"
    username: str | None = None
    folders: tuple[str, ...] = ("INBOX",)
    since_days: int = 90

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["folders"] = list(self.folders)
        if self.source == "export":
            # An export has no server: only its id and kind are the instruction.
            return {"id": self.id, "source": self.source}
        return data


def parse(source: str, value: Any, error: type[Exception]) -> tuple[MailboxSource, ...]:
    """The section as given (a list of mappings); `error(source, key, problem)` for any problem."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise error(source, "mailboxes", f"expected a list of mailboxes, got {type(value).__name__}")
    out: list[MailboxSource] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"mailboxes[{i}]"
        if not isinstance(item, Mapping):
            raise error(source, where, f"expected a mapping, got {type(item).__name__}")
        for key in item:
            if key not in _KEYS:
                raise error(source, f"{where}.{key}", f"unknown key (expected one of: {', '.join(_KEYS)})")
        mailbox_id = item.get("id")
        if not isinstance(mailbox_id, str) or not MAILBOX_ID_RE.match(mailbox_id):
            raise error(source, f"{where}.id", "expected an opaque id of a-z, 0-9, '-' or '_' (not an address)")
        if mailbox_id in seen:
            raise error(source, f"{where}.id", f"mailbox id {mailbox_id!r} is given twice")
        seen.add(mailbox_id)
        kind = item.get("source", "imap")
        if kind not in SOURCES:
            raise error(source, f"{where}.source", f"expected one of {', '.join(SOURCES)}, got {kind!r}")
        if kind == "export":
            extra = [k for k in item if k in _IMAP_KEYS]
            if extra:
                raise error(source, f"{where}.{extra[0]}", "an export mailbox takes no server settings")
            out.append(MailboxSource(id=mailbox_id, source="export"))
            continue
        kwargs: dict[str, Any] = {"id": mailbox_id, "source": "imap"}
        host = item.get("host")
        if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host.strip()):
            raise error(source, f"{where}.host", "expected the IMAP server's host name")
        kwargs["host"] = host.strip()
        username = item.get("username")
        if not isinstance(username, str) or not username.strip():
            raise error(source, f"{where}.username", "expected the mailbox's login")
        kwargs["username"] = username.strip()
        if "port" in item:
            port = item["port"]
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise error(source, f"{where}.port", f"not a TCP port: {port!r}")
            kwargs["port"] = port
        for key, allowed in (("security", SECURITY), ("auth", AUTH)):
            if key in item:
                if item[key] not in allowed:
                    raise error(source, f"{where}.{key}", f"expected one of {', '.join(allowed)}, got {item[key]!r}")
                kwargs[key] = item[key]
        if "folders" in item:
            folders = item["folders"]
            if not isinstance(folders, list) or not folders or not all(isinstance(f, str) and f.strip() for f in folders):
                raise error(source, f"{where}.folders", "expected a non-empty list of folder names")
            kwargs["folders"] = tuple(f.strip() for f in folders)
        if "since_days" in item:
            days = item["since_days"]
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_SINCE_DAYS:
                raise error(source, f"{where}.since_days", f"expected a number of days from 1 to {MAX_SINCE_DAYS}, got {days!r}")
            kwargs["since_days"] = days
        out.append(MailboxSource(**kwargs))
    return tuple(out)


def summary(section: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The section for the instruction log: a login names a person, so it is reduced to "set"."""
    return [{**m, "username": "set"} if m.get("username") else dict(m) for m in section]
