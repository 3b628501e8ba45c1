"""The bucket layout, in one place (documented in docs/architecture.md and docs/operations.md).

uploads/<controller>/<client's own file name>      files the client drops (the only keys we do not name)
manifests/<upload_id>.json                          which controller and object an upload came from
work/<controller>/<upload_id>/<asset>.parquet       intermediate stage outputs
exports/<controller>/<upload_id>/<file>             what the client gets back
uploads/<controller>/mailboxes/<mailbox_id>/<file>  mailbox exports (mbox, .eml zip) the client drops
controllers/<controller>/...                        per-controller settings and master data
state/upload-sensor/ledger-<generation>.json        the upload sensor's ledger (digests only, nothing personal)

Keys the pipeline creates hold only controller codes, opaque upload ids and fixed names.
Everything of one controller is under a prefix naming it (or in a manifest naming it), so
access policies and deletion can work per controller.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

CONTROLLER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# "up-": a contact file; "mb-": a mailbox scan (issue #9). Both are "uploads" for storage,
# retention and data-subject requests: the same work/ and exports/ layout, the same manifests.
UPLOAD_ID_RE = re.compile(r"^(up|mb)-[0-9]{8}t[0-9]{6}-[0-9a-f]{8}$")
MAILBOX_SCAN_ID_RE = re.compile(r"^mb-[0-9]{8}t[0-9]{6}-[0-9a-f]{8}$")
MAILBOX_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAILBOXES_FOLDER = "mailboxes/"
MAILBOX_EXPORT_SUFFIXES = (".mbox", ".zip", ".eml")

UPLOADS_PREFIX = "uploads/"
MANIFESTS_PREFIX = "manifests/"
WORK_PREFIX = "work/"
EXPORTS_PREFIX = "exports/"
CONTROLLERS_PREFIX = "controllers/"
STATE_PREFIX = "state/"
SENSOR_STATE_PREFIX = f"{STATE_PREFIX}upload-sensor/"
# What the reader understands (pipelines/reader.py sniffs the content; the suffix only filters
# out what clients drop by mistake: PDFs, archives, screenshots).
CONTACT_FILE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xls")


def check_controller(controller: str) -> str:
    if not CONTROLLER_RE.match(controller or ""):
        raise ValueError(
            "controller id must be 1-63 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
        )
    return controller


def check_upload_id(upload_id: str) -> str:
    if not UPLOAD_ID_RE.match(upload_id or ""):
        raise ValueError("not an upload id (expected up-YYYYMMDDtHHMMSS-xxxxxxxx)")
    return upload_id


def check_mailbox_id(mailbox_id: str) -> str:
    if not MAILBOX_ID_RE.match(mailbox_id or ""):
        raise ValueError("mailbox id must be 1-63 characters of a-z, 0-9, '-' or '_' (an opaque name, not an address)")
    return mailbox_id


def is_mailbox_scan(upload_id: str) -> bool:
    return bool(MAILBOX_SCAN_ID_RE.match(upload_id or ""))


def mailbox_export_prefix(controller: str, mailbox_id: str | None = None) -> str:
    """Where a client drops a mailbox export: uploads/<controller>/mailboxes/<mailbox_id>/."""
    base = f"uploads/{check_controller(controller)}/{MAILBOXES_FOLDER}"
    return base if mailbox_id is None else f"{base}{check_mailbox_id(mailbox_id)}/"


def upload_prefix(controller: str) -> str:
    return f"uploads/{check_controller(controller)}/"


def manifest_key(upload_id: str) -> str:
    return f"manifests/{check_upload_id(upload_id)}.json"


def work_key(controller: str, upload_id: str, name: str) -> str:
    return f"work/{check_controller(controller)}/{check_upload_id(upload_id)}/{name}"


def export_prefix(controller: str, upload_id: str) -> str:
    return f"exports/{check_controller(controller)}/{check_upload_id(upload_id)}/"


def controller_prefix(controller: str) -> str:
    return f"controllers/{check_controller(controller)}/"


def sensor_ledger_key(generation: int) -> str:
    return f"{SENSOR_STATE_PREFIX}ledger-{generation:012d}.json"


def sensor_ledger_generation(key: str) -> int | None:
    """The generation of a ledger key, None for anything else under the sensor's prefix."""
    match = re.match(rf"^{re.escape(SENSOR_STATE_PREFIX)}ledger-([0-9]{{12}})\.json$", key)
    return int(match.group(1)) if match else None


def upload_controller(key: str) -> str | None:
    """The controller of an object under uploads/<controller>/..., None if the prefix is not one."""
    if not key.startswith(UPLOADS_PREFIX):
        return None
    parts = key[len(UPLOADS_PREFIX) :].split("/", 1)
    if len(parts) != 2 or not parts[1]:
        return None
    return parts[0] if CONTROLLER_RE.match(parts[0]) else None


def is_contact_file_name(key: str) -> bool:
    """A contact file for the upload sensor; never what sits in a controller's mailboxes/ folder."""
    if key.startswith(UPLOADS_PREFIX) and key[len(UPLOADS_PREFIX):].split("/", 1)[-1].startswith(MAILBOXES_FOLDER):
        return False
    return PurePosixPath(key).suffix.lower() in CONTACT_FILE_SUFFIXES


def is_pipeline_placed_upload(key: str) -> bool:
    """`refinery run` copies its file to uploads/<controller>/<upload_id>.<ext> and registers it
    itself; the upload sensor leaves those alone so that nothing is processed twice."""
    return bool(UPLOAD_ID_RE.match(PurePosixPath(key).stem))
