"""The bucket layout, in one place (documented in docs/architecture.md).

uploads/<controller>/<client's own file name>      files the client drops (the only keys we do not name)
manifests/<upload_id>.json                          which controller and object an upload came from
work/<controller>/<upload_id>/<asset>.parquet       intermediate stage outputs
exports/<controller>/<upload_id>/<file>             what the client gets back
controllers/<controller>/...                        per-controller settings and master data

Keys the pipeline creates hold only controller codes, opaque upload ids and fixed names.
"""

from __future__ import annotations

import re

CONTROLLER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
UPLOAD_ID_RE = re.compile(r"^up-[0-9]{8}t[0-9]{6}-[0-9a-f]{8}$")


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
