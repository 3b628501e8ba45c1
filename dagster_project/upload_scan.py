"""What the upload sensor does on each tick, without Dagster: find new or re-uploaded files under
uploads/<controller>/, register each as an upload (manifest), and remember what it has seen.

Why a ledger in the object store and not the cursor: S3 has no change sequence, so a poller that
cannot skip anything must compare the whole listing with what it has already seen. A timestamp
high-water mark skips objects that share a timestamp, and multipart uploads carry the time the
upload *started* (an object can appear later with an older LastModified). The set of seen objects
(64-bit digests of key + ETag + LastModified: nothing personal, nothing readable back) is too big
for a Dagster cursor, which is copied into every tick row of the instance's database. So:

- the ledger is an object, `state/upload-sensor/ledger-<generation>.json`, written only when it
  changes, as a new generation;
- the cursor is just that generation number, saved by Dagster with the tick's run requests. A tick
  whose result was lost (daemon restart) is evaluated again from the previous generation; since
  upload ids and run keys are derived from the object write (resources/uploads.upload_id_for), it
  asks for the same partitions and run keys, and Dagster does not launch a run twice;
- generations older than the committed one are deleted by the next quiet tick (the cursor says
  when there are some), so a busy tick spends nothing on housekeeping;
- digests of objects that are no longer in the bucket are dropped, so the ledger tracks the
  bucket, not history (a deleted controller leaves nothing behind here).

Bounded work per tick: at most `max_files` registrations, taken round-robin across controllers
(one client dropping 500 files does not hold back the others), oldest first within a controller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from resources.layout import (
    SENSOR_STATE_PREFIX,
    UPLOADS_PREFIX,
    is_contact_file_name,
    is_pipeline_placed_upload,
    sensor_ledger_generation,
    sensor_ledger_key,
    upload_controller,
)
from resources.object_store import ObjectStore, StoredObject
from resources.uploads import UploadManifest, object_digest, upload_id_for

CURSOR_VERSION = 1
ORIGIN = "sensor"
_REGISTER_WORKERS = 8


def object_ref(key: str) -> str:
    """How logs refer to an object without naming it (file names can be personal data). An
    operator who knows the key can compute it: sha256 of the key, first 10 hex digits."""
    return "k:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


# ------------------------------------------------------------------------------------------------
# Cursor and ledger
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensorCursor:
    generation: int = 0  # the committed ledger generation (0: nothing seen yet)
    stale: bool = False  # older generations may still be stored: the next quiet tick deletes them

    def dump(self) -> str:
        data: dict[str, int] = {"v": CURSOR_VERSION, "generation": self.generation}
        if self.stale:
            data["stale"] = 1
        return json.dumps(data, separators=(",", ":"))


def parse_cursor(cursor: str | None) -> SensorCursor:
    if not cursor:
        return SensorCursor()
    try:
        data = json.loads(cursor)
        if data.get("v") != CURSOR_VERSION:
            raise ValueError
        return SensorCursor(int(data["generation"]), bool(data.get("stale")))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(
            "the upload sensor's cursor is not one it wrote; reset it in the UI (every upload present is then checked "
            "again, and run keys keep already-processed ones from running twice)"
        ) from None


@dataclass(frozen=True)
class Ledger:
    generation: int
    accepted: frozenset[str] = frozenset()  # digests of object writes registered as uploads
    ignored: frozenset[str] = frozenset()  # digests of objects (or folders) logged as ignored once

    @classmethod
    def load(cls, store: ObjectStore, generation: int) -> tuple["Ledger", bool]:
        """(ledger, found). A missing generation means an empty ledger (see module docstring)."""
        if generation == 0:
            return cls(0), True
        try:
            data = json.loads(store.get_bytes(sensor_ledger_key(generation)))
        except KeyError:
            return cls(generation), False
        return cls(generation, frozenset(data.get("accepted", ())), frozenset(data.get("ignored", ()))), True

    def save(self, store: ObjectStore) -> None:
        data = {"v": CURSOR_VERSION, "accepted": sorted(self.accepted), "ignored": sorted(self.ignored)}
        store.put_bytes(sensor_ledger_key(self.generation), json.dumps(data, separators=(",", ":")).encode("utf-8"))


# ------------------------------------------------------------------------------------------------
# Listing and deciding
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    obj: StoredObject
    controller: str
    digest: str


@dataclass
class Listing:
    candidates: list[Candidate] = field(default_factory=list)  # contact files, seen or not
    ignorable: dict[str, str] = field(default_factory=dict)  # digest -> reason, for objects/folders we skip
    refs: dict[str, str] = field(default_factory=dict)  # digest -> object_ref, for the ignored log line
    objects: int = 0


def list_uploads(store: ObjectStore) -> Listing:
    """Everything under uploads/, classified. Controllers' folders are listed side by side."""
    listing = Listing()
    folders, direct = store.list_children(UPLOADS_PREFIX)
    controller_prefixes = []
    for prefix in folders:
        if upload_controller(prefix + "x") is None:
            digest = hashlib.sha256(prefix.encode("utf-8")).hexdigest()[:16]
            listing.ignorable[digest] = "folder name is not a controller id"
            listing.refs[digest] = object_ref(prefix)
        else:
            controller_prefixes.append(prefix)
    for obj in direct:
        _classify(listing, obj, None)
    for obj in store.list_many(controller_prefixes):
        _classify(listing, obj, upload_controller(obj.key))
    return listing


def _classify(listing: Listing, obj: StoredObject, controller: str | None) -> None:
    listing.objects += 1
    if obj.key.endswith("/"):
        return  # a "folder" placeholder made by consoles and sync tools: nothing to say
    if controller is not None and is_pipeline_placed_upload(obj.key):
        return  # placed and registered by `refinery run` itself
    digest = object_digest(obj)
    if controller is None:
        reason = "not inside a controller folder (uploads/<controller>/...)"
    elif not is_contact_file_name(obj.key):
        suffix = PurePosixPath(obj.key).suffix.lower()
        # The extension is kept in the reason only when it is a plausible one (no free text).
        shown = suffix if suffix[1:].isalnum() and len(suffix) <= 6 else "other"
        reason = f"not a contact file type ({shown or 'no extension'})"
    elif obj.size == 0:
        reason = "empty file"
    else:
        listing.candidates.append(Candidate(obj, controller, digest))
        return
    listing.ignorable[digest] = reason
    listing.refs[digest] = object_ref(obj.key)


@dataclass
class TickPlan:
    chosen: list[Candidate]
    waiting: int  # new contact files left for later ticks (the per-tick bound)
    newly_ignored: dict[str, str]  # digest -> reason
    ledger_accepted: frozenset[str]  # what the next ledger keeps (before adding registrations)
    ledger_ignored: frozenset[str]


def plan_tick(listing: Listing, ledger: Ledger, max_files: int) -> TickPlan:
    new = [c for c in listing.candidates if c.digest not in ledger.accepted]
    by_controller: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in sorted(new, key=lambda c: (c.obj.last_modified, c.obj.key)):
        by_controller[candidate.controller].append(candidate)
    chosen: list[Candidate] = []
    queues = [by_controller[c] for c in sorted(by_controller)]
    depth = 0
    while len(chosen) < max_files and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < max_files:
                chosen.append(queue[depth])
        depth += 1
    present = {c.digest for c in listing.candidates}
    newly_ignored = {d: r for d, r in listing.ignorable.items() if d not in ledger.ignored}
    return TickPlan(
        chosen=chosen,
        waiting=len(new) - len(chosen),
        newly_ignored=newly_ignored,
        ledger_accepted=frozenset(ledger.accepted & present),
        ledger_ignored=frozenset(ledger.ignored & set(listing.ignorable)) | frozenset(newly_ignored),
    )


# ------------------------------------------------------------------------------------------------
# One tick
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Registration:
    upload_id: str
    controller: str
    etag: str
    size: int = 0  # bytes of the uploaded file: a large one runs a process per stage

    @property
    def run_key(self) -> str:
        # The ETag is in the run key so that a re-upload to the same key is a new run; the upload
        # id (derived from key, ETag and time) makes a re-upload of identical content one too.
        return f"{self.upload_id}:{self.etag}"


@dataclass
class TickOutcome:
    registrations: list[Registration]
    cursor: str
    log_lines: list[str]
    objects_listed: int
    seconds: float = 0.0


def run_tick(store: ObjectStore, cursor: str | None, max_files: int) -> TickOutcome:
    """List, decide, register the chosen uploads (manifests), write the next ledger generation."""
    state = parse_cursor(cursor)
    committed = state.generation
    ledger, found = Ledger.load(store, committed)
    log: list[str] = []
    if not found:
        log.append(
            f"upload sensor: ledger generation {committed} is missing from the object store; every upload present is "
            "checked again (run keys keep processed ones from running twice)"
        )
    listing = list_uploads(store)
    plan = plan_tick(listing, ledger, max_files)

    # Registrations are independent round trips (HEAD, then PUT of the manifest): side by side.
    with ThreadPoolExecutor(max_workers=_REGISTER_WORKERS) as pool:
        outcomes = list(pool.map(lambda c: _register(store, c), plan.chosen))
    registrations = [r for r in outcomes if r is not None]
    changed = len(outcomes) - len(registrations)
    accepted = set(plan.ledger_accepted) | {c.digest for c, r in zip(plan.chosen, outcomes) if r is not None}

    next_ledger = Ledger(committed + 1, frozenset(accepted), plan.ledger_ignored)
    if next_ledger.accepted != ledger.accepted or next_ledger.ignored != ledger.ignored or not found:
        next_ledger.save(store)
        new_cursor = SensorCursor(next_ledger.generation, stale=committed > 0 or state.stale).dump()
    else:
        if state.stale:
            # A quiet tick tidies up: generations older than the committed one are superseded
            # (never the committed one, which a lost tick's replay starts from). Busy ticks skip
            # this so that new files are not kept waiting by housekeeping.
            store.delete_where(SENSOR_STATE_PREFIX, lambda key: _superseded(key, committed))
        new_cursor = SensorCursor(committed).dump()

    log.extend(_log_lines(registrations, plan, changed, listing, max_files))
    return TickOutcome(registrations, new_cursor, log, listing.objects)


def _superseded(key: str, committed: int) -> bool:
    generation = sensor_ledger_generation(key)
    return generation is not None and generation < committed


def _register(store: ObjectStore, candidate: Candidate) -> Registration | None:
    """Write the manifest of one new object write; None if it changed since the listing."""
    current = store.head(candidate.obj.key)
    if current is None or current.etag != candidate.obj.etag:
        return None  # replaced or removed since the listing: the next tick sees the new state
    upload_id = upload_id_for(candidate.obj)
    arrived = dt.datetime.fromtimestamp(candidate.obj.last_modified, dt.timezone.utc)
    UploadManifest(
        upload_id=upload_id,
        controller=candidate.controller,
        source_key=candidate.obj.key,
        received_at=arrived.strftime("%Y-%m-%dT%H:%M:%SZ"),
        options={"origin": ORIGIN},
        source_etag=candidate.obj.etag,
        source_version_id=current.version_id,
    ).save(store)
    return Registration(upload_id, candidate.controller, candidate.obj.etag, candidate.obj.size)


def _log_lines(
    registrations: list[Registration], plan: TickPlan, changed: int, listing: Listing, max_files: int
) -> list[str]:
    """Upload ids, controller codes, counts and object refs only: never a key or file name."""
    lines = []
    if registrations:
        per_controller = Counter(r.controller for r in registrations)
        lines.append(
            f"upload sensor: {len(registrations)} new upload(s) registered: "
            + ", ".join(r.upload_id for r in registrations)
            + " (" + ", ".join(f"{c}: {n}" for c, n in sorted(per_controller.items())) + ")"
        )
    if plan.waiting:
        lines.append(f"upload sensor: {plan.waiting} more new file(s) wait for the next ticks (at most {max_files} per tick)")
    if changed:
        lines.append(f"upload sensor: {changed} file(s) changed while being registered; the next tick takes the new version")
    if plan.newly_ignored:
        reasons = Counter(plan.newly_ignored.values())
        refs = ", ".join(sorted(listing.refs[d] for d in plan.newly_ignored)[:20])
        more = len(plan.newly_ignored) - 20
        lines.append(
            f"upload sensor: ignored {len(plan.newly_ignored)} object(s) that are not contact files: "
            + "; ".join(f"{reason} x{n}" for reason, n in sorted(reasons.items()))
            + f" [refs {refs}{f' and {more} more' if more > 0 else ''}]"
        )
    return lines
