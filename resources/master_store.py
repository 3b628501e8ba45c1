"""A controller's master data: immutable versions in the object store, made current by one
transaction in the records database, written by one run at a time.

The master (records with their person ids, keep-apart decisions, the trained model) is what keeps
one person one id across uploads. Two runs that both read version N and both publish, or a crash
between two of its files, would give one id to two people. So:

Files, each version under keys of its own (never overwritten; erasure alone rewrites them in place,
under the lock, see pipelines/dsr.py and pipelines/retention.py):

    controllers/<c>/master/v/<version:08d>-<token>/records.parquet
    controllers/<c>/master/v/<version:08d>-<token>/decisions.parquet
    controllers/<c>/master/v/<version:08d>-<token>/model.json
    controllers/<c>/master/HEAD.json                a copy of the current head, written after each commit
    controllers/<c>/master/email_events.parquet     the mailbox history (not part of a version)

Records database (resources/instruction_log.py), nothing personal in either table:

    master_heads   (store, controller) → current version, its files, the next free person id
    master_locks   (store, controller) → the run that may write the next version, until when

**Lock.** A run takes the controller's lock before it reads the master for linkage and holds it
through the commit and the export (`acquire`, kept alive by `held`/`locked`). It is a lease in the
records database, not a database session lock, because one run's stages may each run in a process
of their own: the holder is the Dagster run id, every stage of the run renews it while it works,
and a killed run's lease lapses after `REFINERY_MASTER_LOCK_TTL_SECONDS` (default 300), or at once
for a waiter on the same machine when the process that owns the run is gone. Another
run waits for it at most `REFINERY_MASTER_LOCK_WAIT_SECONDS` (default 1800), then fails with one
line saying who holds it.

**Commit.** The files of version N+1 are written under new keys; then one transaction checks that
this run still holds the lock and that N is still current, and points the head at N+1; then every
version file N+1 does not name is deleted (N's, and orphans). A crash before the transaction leaves
N current (the new files are orphans, removed by the next commit or, for a controller that sends
nothing more, by the nightly maintenance after a day); after it, N+1.

Why our own log rather than Delta Lake or Iceberg: see docs/architecture.md ("Master data").
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.env_settings import env_number
from pipelines.master import Master, parquet_bytes, person_numbers
from resources import failpoints
from resources.instruction_log import RecordsDB
from resources.layout import controller_prefix
from resources.object_store import ObjectStore

# The parts of a version, and the file each is kept in.
PART_FILES = {"records": "records.parquet", "decisions": "decisions.parquet", "model": "model.json"}
# The unversioned layout written before versions existed: read as the current version until the
# first commit, which replaces it.
LEGACY_FILES = ("records.parquet", "golden.parquet", "decisions.parquet", "model.json", "state.json")
VERSIONS_FOLDER = "v/"
# A copy of the current head next to the versions (which files, which version; nothing personal).
HEAD_COPY = "HEAD.json"


def master_prefix(controller: str) -> str:
    return controller_prefix(controller) + "master/"


def versions_prefix(controller: str) -> str:
    return master_prefix(controller) + VERSIONS_FOLDER


class MasterChangedError(RuntimeError):
    """Another writer committed a version since this one read the master: nothing was published."""


class MasterBusyError(RuntimeError):
    """The controller's lock stayed with another run for longer than this one may wait."""


class MasterIntegrityError(RuntimeError):
    """The records database and the object store disagree about a controller's master."""


# -- settings --------------------------------------------------------------------------------------
def lock_ttl_seconds() -> float:
    return env_number(os.environ, "REFINERY_MASTER_LOCK_TTL_SECONDS", 300.0, minimum=5.0)


def lock_wait_seconds() -> float:
    return env_number(os.environ, "REFINERY_MASTER_LOCK_WAIT_SECONDS", 1800.0, minimum=0.0)


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the head --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Head:
    """What a version is: its number, the key of each of its parts, the next free person id, and
    which commit made it (`committed_by`: 'upload <id>' or the kind of request, on top of
    `based_on`), so that a commit re-executed after it succeeded is recognised, not refused."""

    version: int = 0
    files: dict[str, str] = field(default_factory=dict)
    next_person: int = 1
    last_upload: str = ""
    legacy: bool = False  # files of the layout before versions (moved into a version at the next commit)
    committed_by: str = ""
    based_on: int = -1

    def to_json(self) -> str:
        return RecordsDB.dumps({
            "version": self.version, "files": self.files, "next_person": self.next_person,
            "last_upload": self.last_upload, "legacy": self.legacy, "committed_by": self.committed_by,
            "based_on": self.based_on,
        })

    @classmethod
    def from_json(cls, text: str) -> "Head":
        data = json.loads(text)
        return cls(int(data["version"]), dict(data["files"]), int(data["next_person"]), str(data.get("last_upload", "")),
                   bool(data.get("legacy", False)), str(data.get("committed_by", "")), int(data.get("based_on", -1)))


def _get(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get_bytes(key)
    except KeyError:
        return None


def _legacy_head(store: ObjectStore, controller: str) -> Head | None:
    """The layout before versions. Read as it is, except that the next free person id is never below
    the highest id its records hold (a records.parquet written before a failed state.json write
    left a stale one, which would give ids a second time), nor is the records file ignored when
    state.json is missing altogether."""
    prefix = master_prefix(controller)
    state = _get(store, prefix + "state.json")
    files = {part: prefix + name for part, name in PART_FILES.items() if store.exists(prefix + name)}
    if state is None and "records" not in files:
        return None
    st = json.loads(state) if state else {}
    next_person = int(st.get("next_person", 1))
    if "records" in files:
        import pyarrow.parquet as pq

        persons = pq.read_table(io.BytesIO(store.get_bytes(files["records"])), columns=["person_id"]).column("person_id")
        highest = pc.max(person_numbers(persons)).as_py() if len(persons) else None
        next_person = max(next_person, (highest or 0) + 1)
    return Head(int(st.get("version", 0)), files, next_person, str(st.get("last_upload", "")), legacy=True)


def _head_row(db: RecordsDB, store: ObjectStore, controller: str) -> Head | None:
    row = db.one("SELECT head FROM master_heads WHERE store = ? AND controller = ?", (store.identity(), controller))
    return Head.from_json(row["head"]) if row else None


def read_head(store: ObjectStore, db: RecordsDB, controller: str) -> Head:
    """The controller's current version (version 0, no files, when it has none yet)."""
    head = _head_row(db, store, controller)
    if head is not None:
        return head
    if store.exists(master_prefix(controller) + HEAD_COPY):
        # A version was committed, but this records database does not know it: the run is pointed
        # at another database than the one that committed it. Going on would hand out person ids a
        # second time. (Version files with no copy of a head are a first commit that never finished.)
        raise MasterIntegrityError(
            f"controller {controller} has master data versions in the object store but none in the records "
            f"database ({db.where}): check REFINERY_INSTRUCTIONS_DSN / REFINERY_GDPR_DIR"
        )
    return _legacy_head(store, controller) or Head()


def _read_parts(store: ObjectStore, head: Head) -> dict[str, bytes | None]:
    parts: dict[str, bytes | None] = {}
    for part, key in head.files.items():
        data = _get(store, key)
        if data is None:
            raise KeyError(key)
        parts[part] = data
    return parts


def load_master(store: ObjectStore, controller: str, *, db: RecordsDB | None = None) -> Master:
    """The current version of the master; `master.state["version"]` says which."""
    with records_db(db) as conn:
        for _ in range(3):
            head = read_head(store, conn, controller)
            try:
                parts = _read_parts(store, head)
            except KeyError:  # a commit replaced the version meanwhile and removed its files: read again
                if read_head(store, conn, controller) != head:
                    continue
                raise MasterIntegrityError(
                    f"master version {head.version} of controller {controller} misses one of its files: restore it "
                    "from the bucket's object versions, or off-board and re-upload"
                ) from None
            master = Master.from_parts(
                records=parts.get("records"), state=None, decisions=parts.get("decisions"), model=parts.get("model")
            )
            master.next_person = head.next_person
            master.state = {"version": head.version, "next_person": head.next_person, "last_upload": head.last_upload}
            return master
    raise MasterChangedError(f"the master data of controller {controller} kept changing while it was read: re-run")


@contextmanager
def records_db(db: RecordsDB | None) -> Iterator[RecordsDB]:
    """`db`, or the records database the environment names, opened for the block."""
    if db is not None:
        yield db
        return
    with RecordsDB.from_env() as own:
        yield own


# -- the lock --------------------------------------------------------------------------------------
# A process that outlives every stage of its run (the `refinery run` command) names itself here;
# stages record it in the lease, so that a waiter on the same machine sees at once when that
# process is gone (killed) instead of waiting for the lease to lapse. Runs launched by the daemon
# have no such process here: their leases lapse after the TTL.
OWNER_ENV = "REFINERY_RUN_OWNER"


def this_owner() -> str:
    """'<host>:<pid>' of the process that owns this run."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LockHolder:
    holder: str
    purpose: str
    acquired_at: str
    expires_at: float
    owner: str | None = None

    def gone(self, now: float) -> bool:
        """The lease lapsed, or the process that owns it is known dead on this machine."""
        if self.expires_at < now:
            return True
        host, _, pid = (self.owner or "").rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False


def lock_holder(db: RecordsDB, store: ObjectStore, controller: str) -> LockHolder | None:
    row = db.one("SELECT holder, purpose, acquired_at, expires_at, owner FROM master_locks WHERE store = ? AND controller = ?",
                 (store.identity(), controller))
    return LockHolder(row["holder"], row["purpose"], row["acquired_at"], float(row["expires_at"]), row["owner"]) if row else None


def _try_acquire(db: RecordsDB, store: ObjectStore, controller: str, holder: str, purpose: str, ttl: float,
                 owner: str | None = None) -> LockHolder | None:
    """Take or renew the lease; returns None when taken, else who holds it."""
    now = time.time()
    owner = owner or os.environ.get(OWNER_ENV) or None
    with db.tx(lock="master_locks"):
        current = lock_holder(db, store, controller)
        if current is None:
            db.run(
                "INSERT INTO master_locks (store, controller, holder, purpose, acquired_at, expires_at, owner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (store.identity(), controller, holder, purpose, _now_iso(), now + ttl, owner),
            )
            return None
        if current.holder == holder or current.gone(now):
            acquired_at = current.acquired_at if current.holder == holder else _now_iso()
            db.run(
                "UPDATE master_locks SET holder = ?, purpose = ?, acquired_at = ?, expires_at = ?, owner = ? "
                "WHERE store = ? AND controller = ?",
                (holder, purpose, acquired_at, now + ttl, owner, store.identity(), controller),
            )
            return None
        return current


def acquire(
    db: RecordsDB, store: ObjectStore, controller: str, holder: str, purpose: str, *,
    wait_s: float | None = None, ttl_s: float | None = None, on_wait: Callable[[LockHolder], None] | None = None,
    owner: str | None = None,
) -> None:
    """Take the controller's lock for `holder` (an opaque run id), waiting at most `wait_s` for
    another holder to finish or its lease to lapse. Taking it again as its holder renews it."""
    wait = lock_wait_seconds() if wait_s is None else wait_s
    ttl = lock_ttl_seconds() if ttl_s is None else ttl_s
    deadline = time.monotonic() + wait
    pause, told = 0.2, False
    while True:
        other = _try_acquire(db, store, controller, holder, purpose, ttl, owner)
        if other is None:
            return
        if not told and on_wait is not None:
            on_wait(other)
            told = True
        left = deadline - time.monotonic()
        if left <= 0:
            raise MasterBusyError(
                f"the master data of controller {controller} is being updated by {other.purpose} (since {other.acquired_at}); "
                f"waited {wait:.0f} s (REFINERY_MASTER_LOCK_WAIT_SECONDS): re-run this later"
            )
        time.sleep(min(pause, left))
        pause = min(pause * 1.5, 2.0)


def renew(db: RecordsDB, store: ObjectStore, controller: str, holder: str, ttl_s: float | None = None) -> bool:
    """Extend the lease; False if `holder` no longer holds it."""
    ttl = lock_ttl_seconds() if ttl_s is None else ttl_s
    return db.run(
        "UPDATE master_locks SET expires_at = ? WHERE store = ? AND controller = ? AND holder = ?",
        (time.time() + ttl, store.identity(), controller, holder),
    ) > 0


def release(db: RecordsDB, store: ObjectStore, controller: str, holder: str) -> None:
    db.run("DELETE FROM master_locks WHERE store = ? AND controller = ? AND holder = ?", (store.identity(), controller, holder))


class _Heartbeat:
    """Renews a lease from a thread of its own (its own database connection) while work goes on."""

    def __init__(self, store: ObjectStore, controller: str, holder: str, ttl: float, open_db: Callable[[], RecordsDB]):
        self.store, self.controller, self.holder, self.ttl, self.open_db = store, controller, holder, ttl, open_db
        self.interval = max(1.0, min(30.0, ttl / 5))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refinery-master-lease", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        db = None
        while db is None:  # the database away for a moment: try again at the next beat
            try:
                db = self.open_db()
            except Exception:
                if self._stop.wait(self.interval):
                    return
        with db:
            while not self._stop.wait(self.interval):
                try:
                    if not renew(db, self.store, self.controller, self.holder, self.ttl):
                        return  # another holder has it now: the commit's own check refuses this run
                except Exception:  # a passing database fault: the next beat tries again
                    continue


@contextmanager
def held(store: ObjectStore, controller: str, holder: str, purpose: str, *, take: bool = True, keep: bool = True,
         on_wait: Callable[[LockHolder], None] | None = None, owner: str | None = None,
         db: RecordsDB | None = None) -> Iterator[None]:
    """Inside: `holder` holds the controller's lock, renewed while the block runs. `take` acquires it
    (waiting if needed), otherwise it is only renewed if this holder has it. On an error the lock is
    released (the run has failed); on success it is kept for the run's next stage, unless not `keep`."""
    ttl = lock_ttl_seconds()
    open_db = db.reopen if db is not None else RecordsDB.from_env
    with records_db(db) as db:
        if take:
            acquire(db, store, controller, holder, purpose, ttl_s=ttl, on_wait=on_wait, owner=owner)
        elif not renew(db, store, controller, holder, ttl):
            yield  # this holder does not have it (a stage re-executed alone): nothing to keep alive
            return
        try:
            with _Heartbeat(store, controller, holder, ttl, open_db):
                yield
        except BaseException:
            _release_quietly(db, store, controller, holder)
            raise
        if not keep:
            release(db, store, controller, holder)


def _release_quietly(db: RecordsDB, store: ObjectStore, controller: str, holder: str) -> None:
    try:
        release(db, store, controller, holder)
    except Exception:  # the lease lapses by itself
        pass


# A run started by a process that holds the controller's lock for the whole run (`refinery run`)
# carries that lease's holder id in this run tag (opaque); other runs hold it under their run id.
RUN_LEASE_TAG = "refinery/lease"


def run_holder(run_tags: dict[str, str], run_id: str) -> str:
    """Who holds the lock for this run's stages. A re-execution inherits its parent's tags, the
    lease's included, but not the process that held it: it holds the lock under its own run id."""
    if run_tags.get("dagster/parent_run_id"):
        return run_id
    return run_tags.get(RUN_LEASE_TAG) or run_id


def holds_for_whole_run(run_tags: dict[str, str]) -> bool:
    """The process that started this run holds the lock for all of it (`refinery run`)."""
    return bool(run_tags.get(RUN_LEASE_TAG)) and not run_tags.get("dagster/parent_run_id")


def one_off_holder(kind: str) -> str:
    """A holder id for work done in one process (unmerge, retraining, erasure): opaque."""
    return f"{kind}-{secrets.token_hex(8)}"


@contextmanager
def locked(store: ObjectStore, controller: str, purpose: str, kind: str = "cli", db: RecordsDB | None = None) -> Iterator[str]:
    """Hold the controller's lock for a piece of work done in this process; yields the holder id.
    `db`: the records database the work uses (default: the one the environment names)."""
    holder = one_off_holder(kind)
    with held(store, controller, holder, purpose, keep=False, owner=this_owner(), db=db):
        yield holder


# -- the commit ------------------------------------------------------------------------------------
def commit(
    store: ObjectStore,
    db: RecordsDB,
    controller: str,
    *,
    holder: str,
    read_version: int,
    next_person: int,
    last_upload: str,
    committed_by: str,
    upload_id: str | None = None,
    records: pa.Table | None = None,
    decisions: pa.Table | None = None,
    model: dict | None = None,
) -> int:
    """Publish version read_version + 1: the parts given are written anew, the others carried
    over from the current version. Refused (MasterChangedError, nothing published) if `holder` no
    longer holds the lock or another version was committed since `read_version`. `committed_by`
    names the commit ('upload <id>', 'an unmerge'...): the same commit re-executed after it
    succeeded (a stage re-run after a crash) returns its version instead of being refused.
    `upload_id`: the upload whose linkage this is (recorded, so its export can check it)."""
    head = read_head(store, db, controller)
    if head.version == read_version + 1 and head.based_on == read_version and head.committed_by == committed_by:
        return head.version
    if head.version != read_version:
        raise _changed(controller, read_version, head.version)
    version = read_version + 1
    folder = f"{versions_prefix(controller)}{version:08d}-{secrets.token_hex(4)}/"
    new_parts: dict[str, bytes] = {}
    if records is not None:
        new_parts["records"] = parquet_bytes(records)
    if decisions is not None:
        new_parts["decisions"] = parquet_bytes(decisions)
    if model is not None:
        new_parts["model"] = json.dumps(model).encode("utf-8")
    files: dict[str, str] = {}
    for part, key in head.files.items():
        if part in new_parts:
            continue
        if head.legacy:  # the legacy files go at this commit: what is kept moves into the version
            new_parts[part] = store.get_bytes(key)
        else:
            files[part] = key
    written: list[str] = []
    outcome_known = True
    try:
        for part, data in new_parts.items():
            key = folder + PART_FILES[part]
            store.put_bytes(key, data)
            written.append(key)
            files[part] = key
            failpoints.reached(f"master-write-{part}")
        new_head = Head(version, files, next_person, last_upload, committed_by=committed_by, based_on=read_version)
        outcome_known = False
        _switch_head(db, store, controller, holder, read_version, head, new_head, upload_id)
        outcome_known = True
    except MasterChangedError:
        _delete_quietly(store, written)  # refused: nothing names them
        raise
    except BaseException:
        # A write that failed leaves files nothing names: removed. A transaction whose outcome is
        # unknown (the connection dropped during COMMIT) may have made them current: left for the
        # next commit or the nightly sweep, which remove only what no head names.
        if outcome_known:
            _delete_quietly(store, written)
        raise
    failpoints.reached("master-commit")
    _after_commit(store, controller, head, new_head)
    return version


def _switch_head(db: RecordsDB, store: ObjectStore, controller: str, holder: str, read_version: int,
                 head: Head, new_head: Head, upload_id: str | None) -> None:
    """The commit itself: one transaction that checks the lease and the version read."""
    with db.tx(lock="master_locks"):
        lease = lock_holder(db, store, controller)
        if lease is None or lease.holder != holder:
            raise MasterChangedError(
                f"this run's hold on the master data of controller {controller} lapsed"
                + (f" and {lease.purpose} took it" if lease is not None else "")
                + ": nothing was published; re-run this upload"
            )
        row = _head_row(db, store, controller)
        current = row.version if row is not None else head.version
        if current != read_version:
            raise _changed(controller, read_version, current)
        if row is None:
            db.run(
                "INSERT INTO master_heads (store, controller, version, head, committed_at) VALUES (?, ?, ?, ?, ?)",
                (store.identity(), controller, new_head.version, new_head.to_json(), _now_iso()),
            )
        elif db.run(
            "UPDATE master_heads SET version = ?, head = ?, committed_at = ? WHERE store = ? AND controller = ? AND version = ?",
            (new_head.version, new_head.to_json(), _now_iso(), store.identity(), controller, read_version),
        ) != 1:
            raise _changed(controller, read_version, -1)
        if upload_id is not None:
            db.run("DELETE FROM master_commits WHERE store = ? AND controller = ? AND upload_id = ?",
                   (store.identity(), controller, upload_id))
            db.run("INSERT INTO master_commits (store, controller, upload_id, version, committed_at) VALUES (?, ?, ?, ?, ?)",
                   (store.identity(), controller, upload_id, new_head.version, _now_iso()))


def _after_commit(store: ObjectStore, controller: str, head: Head, new_head: Head) -> None:
    try:  # a copy for people and for the check in read_head; the records database is the authority
        store.put_bytes(master_prefix(controller) + HEAD_COPY, new_head.to_json().encode("utf-8"))
    except Exception:  # the next commit writes it again
        pass
    # Under the lock no other commit is under way: every version file the new head does not name is
    # superseded, or an orphan of a commit that was killed or failed before its transaction.
    current = set(new_head.files.values())
    stale = [o.key for o in store.list(versions_prefix(controller)) if o.key not in current]
    if head.legacy and not new_head.legacy:
        stale += [master_prefix(controller) + name for name in LEGACY_FILES]
    _delete_quietly(store, stale)


def committed_version(db: RecordsDB, store: ObjectStore, controller: str, upload_id: str) -> int | None:
    """The version in which this upload's linkage was last committed, None if never."""
    row = db.one("SELECT version FROM master_commits WHERE store = ? AND controller = ? AND upload_id = ?",
                 (store.identity(), controller, upload_id))
    return int(row["version"]) if row else None


def bump_version(store: ObjectStore, db: RecordsDB, controller: str, *, holder: str, committed_by: str) -> int:
    """A new version with the same files, after erasure or retention rewrote them in place (under
    the lock): a run that read the master before the rewrite can no longer commit what it read."""
    head = read_head(store, db, controller)
    if head.version == 0 and not head.files:
        return 0
    new_head = Head(head.version + 1, dict(head.files), head.next_person, head.last_upload, legacy=head.legacy,
                    committed_by=committed_by, based_on=head.version)
    _switch_head(db, store, controller, holder, head.version, head, new_head, None)
    return new_head.version


def _changed(controller: str, read: int, current: int) -> MasterChangedError:
    now = f" -> {current}" if current >= 0 else ""
    return MasterChangedError(
        f"the master data of controller {controller} changed during this run (version {read}{now}): "
        "nothing was published; re-run this upload"
    )


def _delete_quietly(store: ObjectStore, keys: list[str]) -> None:
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # left for the nightly sweep (sweep_orphans), which lists what no head names
            pass


def sweep_orphans(store: ObjectStore, db: RecordsDB, controller: str, older_than_s: float) -> int:
    """Delete version files that no head names (a commit that failed or was killed), once older
    than `older_than_s` (younger ones may belong to a commit under way). Returns how many."""
    head = read_head(store, db, controller)
    current = set(head.files.values())
    cutoff = time.time() - older_than_s
    stale = [o.key for o in store.list(versions_prefix(controller)) if o.key not in current and o.last_modified < cutoff]
    if not head.legacy:  # the layout before versions, left by a crash after the first commit
        legacy = {master_prefix(controller) + name for name in LEGACY_FILES} - current
        stale += [o.key for o in store.list(master_prefix(controller)) if o.key in legacy and o.last_modified < cutoff]
    for key in stale:
        store.delete(key)
    return len(stale)


def master_data_keys(store: ObjectStore, controller: str) -> list[str]:
    """Every stored file of the controller's master that can hold personal data: every version's
    files (current, superseded not yet removed, orphans) and the legacy layout. What erasure and
    the retention sweep must reach."""
    prefix = master_prefix(controller)
    return [o.key for o in store.list(prefix) if o.key.endswith(".parquet")]


def drop_head(db: RecordsDB, store: ObjectStore, controller: str) -> None:
    """Forget a controller's master (off-boarding: its files are deleted with its prefix)."""
    with db.tx(lock="master_locks"):
        for table in ("master_heads", "master_commits"):
            db.run(f"DELETE FROM {table} WHERE store = ? AND controller = ?", (store.identity(), controller))
