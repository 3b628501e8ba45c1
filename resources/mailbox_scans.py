"""Registering a mailbox scan: an opaque scan id ("mb-...") and its manifest (issue #9).

Like an upload, a scan is a dynamic partition whose key says nothing; the manifest in the object
store names the controller, the mailbox id and where the messages come from (an export object
under uploads/<controller>/mailboxes/<mailbox id>/, or "imap:<mailbox id>").
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from resources.layout import check_controller, check_mailbox_id
from resources.object_store import ObjectStore
from resources.uploads import UploadManifest

IMAP_SOURCE_PREFIX = "imap:"


def new_scan_id(now: dt.datetime | None = None) -> str:
    """Sortable by time, opaque: 'mb-20261126t095655-3fa2c1d0'."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"mb-{now:%Y%m%dt%H%M%S}-{secrets.token_hex(4)}"


def register_scan(
    store: ObjectStore,
    controller: str,
    mailbox_id: str,
    source: str,
    *,
    source_key: str | None = None,
    options: dict[str, Any] | None = None,
    scan_id: str | None = None,
    now: dt.datetime | None = None,
) -> UploadManifest:
    """Save the manifest of a new scan. `source` is "imap" or "export" (then `source_key` is the
    export object)."""
    check_controller(controller)
    check_mailbox_id(mailbox_id)
    if source not in ("imap", "export"):
        raise ValueError(f"unknown mailbox source {source!r}")
    if source == "export" and not source_key:
        raise ValueError("an export scan needs the export's object key")
    moment = now or dt.datetime.now(dt.timezone.utc)
    manifest = UploadManifest(
        upload_id=scan_id or new_scan_id(moment),
        controller=controller,
        source_key=source_key if source == "export" else f"{IMAP_SOURCE_PREFIX}{mailbox_id}",
        received_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        options={**(options or {}), "kind": "mailbox_scan", "mailbox_id": mailbox_id, "mailbox_source": source},
    )
    manifest.save(store)
    return manifest
