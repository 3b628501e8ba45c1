"""Object stores behind one interface: a local folder (the embedded default) and S3 (s3_store.py).

Keys are '/'-separated like S3 keys. The pipeline only ever creates keys from opaque ids
(controller codes, upload ids, asset names), never from personal data: see docs/architecture.md.
Deleting personal data means deleting every version of an object, so listing and deletion both
understand versioned buckets (`list_versions`, `delete`, `delete_prefix`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from resources import failpoints


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str  # without quotes; changes whenever the content is written again
    last_modified: float  # POSIX seconds
    version_id: str | None = None  # set by head() on versioned buckets; listings leave it None


@dataclass(frozen=True)
class ObjectVersion:
    """One version of an object, or a delete marker, in a versioned bucket."""

    key: str
    version_id: str | None
    is_latest: bool
    is_delete_marker: bool
    size: int
    last_modified: float


# Where a local store keeps its own identity (ObjectStore.identity).
STORE_ID_KEY = "state/store-id"


class ObjectStore(ABC):
    """What the pipeline needs from an object store."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, for logs and errors (no credentials)."""

    @abstractmethod
    def identity(self) -> str:
        """Which store this is, stable across runs and processes: what the records database keys a
        controller's master head and lock by, so that one records database can serve several stores."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        """The object's content (a given version when version_id is set); KeyError if absent."""

    @abstractmethod
    def download(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def head(self, key: str) -> StoredObject | None:
        """The current version's description (with its version id when versioned), None if absent."""

    @abstractmethod
    def list(self, prefix: str) -> list[StoredObject]:
        """Current objects whose key starts with prefix, in key order."""

    @abstractmethod
    def list_children(self, prefix: str) -> tuple[list[str], list[StoredObject]]:
        """One level below prefix (which ends with '/'): (sub-prefixes, objects directly there)."""

    def list_many(self, prefixes: Iterable[str]) -> list[StoredObject]:
        """Several listings; stores with network latency override this to list in parallel."""
        return [obj for prefix in prefixes for obj in self.list(prefix)]

    @abstractmethod
    def list_versions(self, prefix: str) -> list[ObjectVersion]:
        """Every version and delete marker under prefix (a local folder has one version per file)."""

    @abstractmethod
    def delete(self, key: str) -> int:
        """Delete every version of one object (and its delete markers); returns versions removed."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object (and every version of it) under prefix; returns objects removed."""

    @abstractmethod
    def delete_where(self, prefix: str, select: Callable[[str], bool]) -> int:
        """Delete every version of the objects under prefix whose key `select` accepts, in one
        listing (not one per key); returns objects removed."""

    @abstractmethod
    def local_path(self, key: str) -> Path | None:
        """A path DuckDB/pyarrow can read directly, when the store is a local folder."""

    def remove_stale_temp_files(self, older_than_s: float) -> int:
        """Remove what writes cut short left behind (a process killed mid-write); how many.
        Nothing to do on S3, where an object appears whole or not at all."""
        return 0

    def publish(self, prefix: str, files: dict[str, bytes | Path], marker: tuple[str, bytes]) -> None:
        """Publish a set of files that only make sense together (an export): the marker object
        (summary.json) says the set is complete, so it is removed first, the files written, and
        the marker written last. A run that dies or fails half-way leaves no marker, and a re-run
        over an earlier complete set never shows old and new files as one complete set. A file
        is given as its content or as the path of a local file (large exports: never in memory)."""
        name, content = marker
        if self.exists(prefix + name):
            self.delete(prefix + name)
        for file_name, data in files.items():
            if isinstance(data, Path):
                self.put_file(prefix + file_name, data)
            else:
                self.put_bytes(prefix + file_name, data)
            failpoints.reached("publish-file")
        self.put_bytes(prefix + name, content)
        failpoints.reached("publish-marker")


def check_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or ".." in parts or any(p in ("", ".") for p in key.split("/")):
        raise ValueError("object key must be a relative path without '..' or empty parts")
    return key


def check_delete_prefix(prefix: str) -> str:
    # An empty or partial prefix would delete far more than meant (the whole bucket, or every
    # controller whose code starts the same way): deletions name a whole "folder".
    if not prefix or not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix.split("/"):
        raise ValueError("delete_prefix needs a non-empty prefix ending with '/' (a whole folder)")
    return prefix


_check_key = check_key  # former private name, kept for importers


class LocalObjectStore(ObjectStore):
    """A folder on disk laid out like the bucket; writes are atomic (temp file then rename).

    Encryption at rest is the file system's business here (use an encrypted volume); the local
    store is the embedded default for one machine, production uses S3.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return f"local folder {self.root}"

    def identity(self) -> str:
        """A random id kept in the store itself (state/store-id), made once: the store keeps its
        identity when its folder is moved, copied whole or mounted at another path."""
        if getattr(self, "_identity", None) is None:
            path = self._path(STORE_ID_KEY)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:  # created exclusively: two processes starting at once agree on one id
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(uuid.uuid4().hex)
            for _ in range(100):  # another process may be writing it this instant
                text = path.read_text().strip()
                if text:
                    break
                time.sleep(0.01)
            self._identity = f"local:{text}"
        return self._identity

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        if version_id is not None:
            raise KeyError(key)  # a folder keeps no versions: a pinned version cannot be here
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None

    def download(self, key: str, path: Path) -> None:
        src = self._path(key)
        if not src.is_file():
            raise KeyError(key)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _describe(self, path: Path) -> StoredObject:
        st = path.stat()
        # No content hash on every listing (10,000 files): size and nanosecond mtime change
        # whenever the file is written again, which is what the upload sensor needs.
        etag = hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
        return StoredObject(path.relative_to(self.root).as_posix(), st.st_size, etag, st.st_mtime)

    def head(self, key: str) -> StoredObject | None:
        path = self._path(key)
        return self._describe(path) if path.is_file() else None

    def list(self, prefix: str) -> list[StoredObject]:
        # S3 semantics: "exports/acme" also matches "exports/acme2/..."; keys in string order.
        base = self.root / prefix if prefix else self.root
        start = base if prefix == "" or (prefix.endswith("/") and base.is_dir()) else base.parent
        found = []
        for p in start.rglob("*") if start.is_dir() else []:
            if p.name.startswith(".tmp-") or not p.is_file():
                continue
            key = p.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                found.append((key, p))
        return [self._describe(p) for _, p in sorted(found)]

    def remove_stale_temp_files(self, older_than_s: float) -> int:
        """`.tmp-*` files (writes go to one, then are renamed into place) older than `older_than_s`:
        a write that a SIGKILL cut short. Never listed, never published, but they hold data."""
        cutoff = time.time() - older_than_s
        removed = 0
        for p in self.root.rglob(".tmp-*"):
            try:
                if p.is_file() and p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
            except FileNotFoundError:  # renamed into place or removed meanwhile
                continue
        return removed

    def list_children(self, prefix: str) -> tuple[list[str], list[StoredObject]]:
        base = self.root / prefix if prefix else self.root
        if not prefix.endswith("/") and prefix:
            raise ValueError("list_children needs a prefix ending with '/'")
        if not base.is_dir():
            return [], []
        folders, objects = [], []
        for p in sorted(base.iterdir()):
            if p.name.startswith(".tmp-"):
                continue
            if p.is_dir():
                folders.append(f"{prefix}{p.name}/")
            elif p.is_file():
                objects.append(self._describe(p))
        return folders, objects

    def list_versions(self, prefix: str) -> list[ObjectVersion]:
        return [
            ObjectVersion(o.key, None, True, False, o.size, o.last_modified) for o in self.list(prefix)
        ]

    def delete(self, key: str) -> int:
        path = self._path(key)
        if path.is_file():
            path.unlink()
            return 1
        return 0

    def delete_prefix(self, prefix: str) -> int:
        objects = self.list(check_delete_prefix(prefix))
        for obj in objects:
            self._path(obj.key).unlink(missing_ok=True)
        return len(objects)

    def delete_where(self, prefix: str, select: Callable[[str], bool]) -> int:
        chosen = [o for o in self.list(check_delete_prefix(prefix)) if select(o.key)]
        for obj in chosen:
            self._path(obj.key).unlink(missing_ok=True)
        return len(chosen)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
