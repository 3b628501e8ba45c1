"""Object stores behind one interface: a local folder (embedded default) and, later, S3.

Keys are '/'-separated like S3 keys. The pipeline only ever creates keys from opaque ids
(controller codes, upload ids, asset names), never from personal data: see docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    last_modified: float  # POSIX seconds


class ObjectStore(ABC):
    """What the pipeline needs from an object store."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def download(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> list[StoredObject]: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object (and every version of it) under prefix; returns objects removed."""

    @abstractmethod
    def local_path(self, key: str) -> Path | None:
        """A path DuckDB/pyarrow can read directly, when the store is a local folder."""


def _check_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or ".." in parts or any(p in ("", ".") for p in key.split("/")):
        raise ValueError("object key must be a relative path without '..' or empty parts")
    return key


class LocalObjectStore(ObjectStore):
    """A folder on disk laid out like the bucket; writes are atomic (temp file then rename)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

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

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def download(self, key: str, path: Path) -> None:
        src = self._path(key)
        if not src.exists():
            raise KeyError(key)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[StoredObject]:
        base = self.root / prefix if prefix else self.root
        start = base if base.is_dir() else base.parent
        out = []
        for p in sorted(start.rglob("*")) if start.exists() else []:
            if not p.is_file() or p.name.startswith(".tmp-"):
                continue
            key = p.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                st = p.stat()
                etag = hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
                out.append(StoredObject(key, st.st_size, etag, st.st_mtime))
        return out

    def delete_prefix(self, prefix: str) -> int:
        objects = self.list(prefix)
        for obj in objects:
            self._path(obj.key).unlink(missing_ok=True)
        return len(objects)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
