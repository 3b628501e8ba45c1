"""Upload manifests: what a dynamic partition (an opaque upload id) stands for.

The partition key, run tags and run config carry only the upload id; the controller, the
source object and the run options live here, in the object store, next to the data they
describe, so that they are deleted with it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from resources.layout import check_controller, check_upload_id, manifest_key
from resources.object_store import ObjectStore


def new_upload_id(now: dt.datetime | None = None) -> str:
    """Sortable by arrival, opaque: 'up-20261126t095655-3fa2c1d0'."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"up-{now:%Y%m%dt%H%M%S}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class UploadManifest:
    upload_id: str
    controller: str
    source_key: str
    received_at: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_upload_id(self.upload_id)
        check_controller(self.controller)

    def save(self, store: ObjectStore) -> None:
        store.put_bytes(manifest_key(self.upload_id), json.dumps(asdict(self), indent=2).encode("utf-8"))

    @classmethod
    def load(cls, store: ObjectStore, upload_id: str) -> "UploadManifest":
        try:
            data = store.get_bytes(manifest_key(upload_id))
        except KeyError:
            raise LookupError(f"upload {upload_id} has no manifest in the object store") from None
        return cls(**json.loads(data))
