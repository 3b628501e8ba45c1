"""Upload manifests: what a dynamic partition (an opaque upload id) stands for.

The partition key, run tags and run config carry only the upload id; the controller, the
source object and the run options live here, in the object store, next to the data they
describe, so that they are deleted with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from resources.layout import check_controller, check_upload_id, manifest_key
from resources.object_store import ObjectStore, StoredObject


def new_upload_id(now: dt.datetime | None = None) -> str:
    """Sortable by arrival, opaque: 'up-20261126t095655-3fa2c1d0'."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"up-{now:%Y%m%dt%H%M%S}-{secrets.token_hex(4)}"


def object_digest(obj: StoredObject) -> str:
    """Identifies one write of one object: key, content (ETag) and time. A re-upload to the same
    key changes it, even with identical content (new LastModified). 64 bits: no collision to
    fear among the uploads a bucket holds, and nothing in it can be read back (not even the key)."""
    text = f"{obj.key}\0{obj.etag}\0{obj.last_modified!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def upload_id_for(obj: StoredObject) -> str:
    """The upload id of an object found by the upload sensor: the same object write always gets
    the same id, so a sensor tick evaluated twice (daemon restart before the cursor was saved)
    asks for the same partition and the same run key, and Dagster does not run it twice."""
    arrived = dt.datetime.fromtimestamp(obj.last_modified, dt.timezone.utc)
    return f"up-{arrived:%Y%m%dt%H%M%S}-{object_digest(obj)[:8]}"


_OPTIONAL_SOURCE_FIELDS = ("source_etag", "source_version_id")


@dataclass(frozen=True)
class UploadManifest:
    upload_id: str
    controller: str
    source_key: str
    received_at: str
    options: dict[str, Any] = field(default_factory=dict)
    # Which write of the source object this upload is (set by the upload sensor): the ETag, and the
    # version id in a versioned bucket, so a later re-upload to the same key cannot be mistaken for it.
    source_etag: str | None = None
    source_version_id: str | None = None

    def __post_init__(self) -> None:
        check_upload_id(self.upload_id)
        check_controller(self.controller)

    def save(self, store: ObjectStore) -> None:
        # Unset source fields are left out: manifests written by `refinery run` keep their shape.
        data = {k: v for k, v in asdict(self).items() if v is not None or k not in _OPTIONAL_SOURCE_FIELDS}
        store.put_bytes(manifest_key(self.upload_id), json.dumps(data, indent=2).encode("utf-8"))

    @classmethod
    def load(cls, store: ObjectStore, upload_id: str) -> "UploadManifest":
        try:
            data = store.get_bytes(manifest_key(upload_id))
        except KeyError:
            raise LookupError(f"upload {upload_id} has no manifest in the object store") from None
        return cls(**json.loads(data))

    def read_source(self, store: ObjectStore) -> bytes:
        """The uploaded file as it was when the upload was registered (KeyError if it is gone).

        The pinned version when the bucket keeps versions; otherwise the current object, refused
        if its ETag no longer matches (a re-upload replaced it: that one has its own upload)."""
        if self.source_version_id:
            return store.get_bytes(self.source_key, version_id=self.source_version_id)
        if self.source_etag:
            current = store.head(self.source_key)
            if current is None:
                raise KeyError(self.source_key)
            if current.etag != self.source_etag:
                raise LookupError(
                    f"upload {self.upload_id}: its source object was replaced by a newer upload, which is processed separately"
                )
        return store.get_bytes(self.source_key)
