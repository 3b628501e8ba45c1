"""Per-controller secrets for keyed hashes (HMAC-SHA256), kept apart from the data.

Why keyed: a plain hash of an e-mail address is still personal data (anyone can hash a guess and
compare). Where the refinery must keep an identifier after the data is gone — the suppression
list, deletion certificates, the DSR log — it keeps HMAC(controller key, value). Destroying the
controller's key (off-boarding) makes every such hash unlinkable for good: nobody, the operator
included, can test a guess against it any more.

Where the keys live: one file per controller in a folder of their own (`REFINERY_KEYS_DIR`,
default `<parent of REFINERY_LOCAL_STORE>/keys`, mode 0700, files 0600), never in the object
store: a copy of the bucket (a backup, a leaked listing) does not carry the keys, and deleting a
bucket prefix cannot destroy a key by accident. In production mount it from a secret store
(Kubernetes secret, encrypted volume) shared by the run workers. A destroyed key leaves a
tombstone (controller, time, fingerprint), so the refinery refuses to silently mint a new key
for an off-boarded controller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from resources.layout import check_controller

KEY_BYTES = 32
# 128 bits of the HMAC: no collision to fear among a controller's identifiers, shorter to store.
HASH_HEX = 32
HASH_PREFIX = "h1:"  # versioned: a change of normalisation or algorithm gets a new prefix


class KeyProblem(RuntimeError):
    """Base class: a key problem the operator must see as one line."""


class KeyDestroyed(KeyProblem):
    pass


class KeyMissing(KeyProblem):
    pass


def default_keys_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if env is None else env)
    if env.get("REFINERY_KEYS_DIR"):
        return Path(env["REFINERY_KEYS_DIR"]).expanduser()
    store = Path(env.get("REFINERY_LOCAL_STORE", ".refinery/store")).expanduser()
    return store.resolve().parent / "keys"


@dataclass(frozen=True)
class Tombstone:
    controller: str
    destroyed_at: str
    fingerprint: str


class KeyStore:
    """Files `<controller>.key` (hex) in a private folder; `<controller>.destroyed` once destroyed."""

    def __init__(self, root: str | Path, *, data_root: str | Path | None = None):
        self.root = Path(root).expanduser().resolve()
        if data_root is not None:
            data = Path(data_root).expanduser().resolve()
            if self.root == data or data in self.root.parents:
                # Keys inside the object store would be copied, listed and deleted with the data.
                raise ValueError(
                    f"REFINERY_KEYS_DIR ({self.root}) is inside the object store ({data}): keys must be kept apart from the data"
                )
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.root, 0o700)
        except OSError:
            pass  # a mounted secret volume may be read-only: its own permissions apply

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "KeyStore":
        env = dict(os.environ if env is None else env)
        data_root = None
        if env.get("REFINERY_STORAGE", "local").strip().lower() in ("", "local"):
            data_root = Path(env.get("REFINERY_LOCAL_STORE", ".refinery/store")).expanduser()
        return cls(default_keys_dir(env), data_root=data_root)

    def _key_path(self, controller: str) -> Path:
        return self.root / f"{check_controller(controller)}.key"

    def _tomb_path(self, controller: str) -> Path:
        return self.root / f"{check_controller(controller)}.destroyed"

    def tombstone(self, controller: str) -> Tombstone | None:
        path = self._tomb_path(controller)
        if not path.is_file():
            return None
        return Tombstone(**json.loads(path.read_text("utf-8")))

    def exists(self, controller: str) -> bool:
        return self._key_path(controller).is_file()

    def key(self, controller: str, *, create: bool = True) -> bytes:
        path = self._key_path(controller)
        if path.is_file():
            return bytes.fromhex(path.read_text("ascii").strip())
        tomb = self.tombstone(controller)
        if tomb is not None:
            raise KeyDestroyed(
                f"controller {controller}: its key was destroyed on {tomb.destroyed_at} (off-boarding); "
                "its keyed hashes can no longer be computed"
            )
        if not create:
            raise KeyMissing(f"controller {controller} has no key yet")
        data = secrets.token_bytes(KEY_BYTES)
        # O_EXCL: two processes creating the same controller's key at once keep the first one.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return bytes.fromhex(path.read_text("ascii").strip())
        with os.fdopen(fd, "w") as fh:
            fh.write(data.hex())
            fh.flush()
            os.fsync(fh.fileno())
        return data

    def fingerprint(self, controller: str) -> str | None:
        """Names a key without revealing it (certificates say which key their hashes used)."""
        if not self.exists(controller):
            tomb = self.tombstone(controller)
            return tomb.fingerprint if tomb else None
        return _fingerprint(self.key(controller, create=False))

    def destroy(self, controller: str, now: dt.datetime | None = None) -> Tombstone | None:
        """Overwrite then remove the key; leaves a tombstone. None if there was no key."""
        path = self._key_path(controller)
        if not path.is_file():
            return self.tombstone(controller)
        fingerprint = _fingerprint(self.key(controller, create=False))
        # Overwriting first: on file systems without copy-on-write the old bytes are gone, not
        # just unlinked. (On SSD/CoW storage, encryption of the volume is the real guarantee.)
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(secrets.token_bytes(size))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        tomb = Tombstone(controller, when, fingerprint)
        self._tomb_path(controller).write_text(json.dumps(tomb.__dict__), "utf-8")
        return tomb

    def hasher(self, controller: str, *, create: bool = True) -> "Hasher":
        return Hasher(controller, self.key(controller, create=create))


def _fingerprint(key: bytes) -> str:
    return "kf:" + hashlib.sha256(b"refinery-key-fingerprint\0" + key).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------
# Normalisation: the same person written differently must give the same hash
# ------------------------------------------------------------------------------------------------
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str | None) -> str:
    """'  Zéphyrine-Œuvray ' -> 'zephyrine oeuvray' (accents, case, punctuation ignored)."""
    if not text:
        return ""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("ß", "ss").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", ascii_only.casefold()).strip()


def normalise_email(value: str | None) -> str:
    return (value or "").strip().strip("<>").strip().lower()


def name_tokens(*parts: str | None) -> str:
    """Order-insensitive: 'Dupont Jean' and 'Jean DUPONT' give 'dupont jean'."""
    tokens = sorted(t for p in parts for t in fold(p).split() if t)
    return " ".join(tokens)


@dataclass(frozen=True)
class Hasher:
    controller: str
    _key: bytes

    def __repr__(self) -> str:  # never print the key
        return f"Hasher({self.controller})"

    def hash(self, kind: str, value: str) -> str:
        """HMAC of `kind` + value: an e-mail hash can never equal a name hash."""
        mac = hmac.new(self._key, f"{kind}\0{value}".encode("utf-8"), hashlib.sha256).hexdigest()
        return HASH_PREFIX + mac[:HASH_HEX]

    def email(self, value: str | None) -> str | None:
        value = normalise_email(value)
        return self.hash("email", value) if value and "@" in value else None

    def person(self, name: str | None, company_key: str | None) -> str | None:
        """Name tokens (any order) with the company's matching key (legal form dropped)."""
        tokens = name_tokens(name)
        company = fold(company_key)
        if not tokens or not company:
            return None
        return self.hash("person", f"{tokens}|{company}")

    def object_key(self, key: str) -> str:
        """Client-named object keys (file names can be personal data) in certificates."""
        return self.hash("object", key)

    def subject(self, value: str) -> str:
        """Any other identifier of a data subject (DSR log)."""
        return self.hash("subject", value)
