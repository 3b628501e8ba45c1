"""Documented instructions (DPA III.2, Art. 28(3)(a)): every setting, change of setting and manual
run is an instruction of the controller, recorded with an id, a content hash, a time and an origin;
every run points to the instruction it followed; a run without a valid instruction is refused.

Kinds:
- `settings`: the controller's standing settings (its stored `controllers/<c>/settings.yaml`, or
  recorded with `refinery instructions record`); a new one each time their hash changes.
- `run`: one manual run (`refinery run`, a launch or re-execution from the Dagster UI), based on
  the settings it used.
- `contract`, `retention`: end of the contract (`refinery offboard`), retention period.
- `dsr`: a data-subject request the controller asked the processor to carry out.

The log is append-only and hash-chained (each row's hash covers the previous row's), so a
deleted or edited row shows in `verify_chain`. It holds no personal data: settings are recorded
as their hash plus a summary in which free-text values (a sender address, a file path) are
reduced to "set"; the full settings stay in the upload manifest, next to the data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from resources.instruction_log import RecordsDB
from resources.layout import check_controller

KINDS = ("settings", "run", "contract", "retention", "dsr")
INSTRUCTION_TAG = "refinery/instruction"
OPTION_KEY = "instruction_id"
GENESIS = "genesis"


class InstructionRefused(RuntimeError):
    """A run or action without a valid instruction; the message is one line for the operator."""


@dataclass(frozen=True)
class Instruction:
    id: str
    seq: int
    controller: str
    kind: str
    origin: str
    actor: str | None
    created_at: str
    content_hash: str
    summary: dict[str, Any]
    based_on: str | None
    prev_hash: str
    row_hash: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def content_hash(content: Any) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _row_hash(fields: Mapping[str, Any]) -> str:
    keys = ("id", "seq", "controller", "kind", "origin", "actor", "created_at", "content_hash", "summary", "based_on", "prev_hash")
    return content_hash({k: fields[k] for k in keys})


def _from_row(row: Mapping[str, Any]) -> Instruction:
    return Instruction(
        id=row["id"], seq=int(row["seq"]), controller=row["controller"], kind=row["kind"], origin=row["origin"],
        actor=row["actor"], created_at=row["created_at"], content_hash=row["content_hash"],
        summary=json.loads(row["summary"]), based_on=row["based_on"], prev_hash=row["prev_hash"], row_hash=row["row_hash"],
    )


def append(
    db: RecordsDB,
    controller: str,
    kind: str,
    origin: str,
    content: Any,
    summary: Mapping[str, Any],
    *,
    based_on: str | None = None,
    actor: str | None = None,
    now: dt.datetime | None = None,
    hash_of_content: str | None = None,
) -> Instruction:
    """Append one instruction. `content` is hashed (never stored); `summary` is stored and must hold
    nothing personal. `hash_of_content` overrides the hash (settings keep the pipeline's own)."""
    if kind not in KINDS:
        raise ValueError(f"unknown instruction kind {kind!r}")
    check_controller(controller)
    moment = now or utc_now()
    with db.tx(lock="instructions"):
        last = db.one("SELECT seq, row_hash FROM instructions ORDER BY seq DESC LIMIT 1")
        seq = int(last["seq"]) + 1 if last else 1
        fields: dict[str, Any] = {
            "id": f"ins-{moment.astimezone(dt.timezone.utc):%Y%m%dt%H%M%S}-{secrets.token_hex(4)}",
            "seq": seq,
            "controller": controller,
            "kind": kind,
            "origin": origin,
            "actor": actor,
            "created_at": iso(moment),
            "content_hash": hash_of_content or content_hash(content),
            "summary": RecordsDB.dumps(dict(summary)),
            "based_on": based_on,
            "prev_hash": last["row_hash"] if last else GENESIS,
        }
        fields["row_hash"] = _row_hash(fields)
        db.run(
            "INSERT INTO instructions (id, seq, controller, kind, origin, actor, created_at, content_hash, summary, "
            "based_on, prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [fields[k] for k in ("id", "seq", "controller", "kind", "origin", "actor", "created_at", "content_hash",
                                 "summary", "based_on", "prev_hash", "row_hash")],
        )
    return _from_row(fields)


def get(db: RecordsDB, instruction_id: str) -> Instruction | None:
    row = db.one("SELECT * FROM instructions WHERE id = ?", [instruction_id])
    return _from_row(row) if row else None


def latest(db: RecordsDB, controller: str, kind: str) -> Instruction | None:
    row = db.one(
        "SELECT * FROM instructions WHERE controller = ? AND kind = ? ORDER BY seq DESC LIMIT 1", [controller, kind]
    )
    return _from_row(row) if row else None


def history(db: RecordsDB, controller: str | None = None) -> list[Instruction]:
    if controller is None:
        rows = db.all("SELECT * FROM instructions ORDER BY seq")
    else:
        rows = db.all("SELECT * FROM instructions WHERE controller = ? ORDER BY seq", [controller])
    return [_from_row(r) for r in rows]


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    rows: int
    problem: str | None = None


def verify_chain(db: RecordsDB) -> ChainCheck:
    """Every row's hash is right and links to the previous one; sequence numbers have no gap."""
    previous, expected_seq = GENESIS, 1
    rows = db.all("SELECT * FROM instructions ORDER BY seq")
    for row in rows:
        if int(row["seq"]) != expected_seq:
            return ChainCheck(False, len(rows), f"sequence gap before instruction {row['id']} (a row was deleted)")
        if row["prev_hash"] != previous:
            return ChainCheck(False, len(rows), f"instruction {row['id']} does not follow the previous row (chain broken)")
        if _row_hash(row) != row["row_hash"]:
            return ChainCheck(False, len(rows), f"instruction {row['id']} was altered after it was recorded")
        previous, expected_seq = row["row_hash"], expected_seq + 1
    return ChainCheck(True, len(rows))


# ------------------------------------------------------------------------------------------------
# Settings as instructions
# ------------------------------------------------------------------------------------------------
def settings_summary(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings without free text that could name a person (a sender address, a file path)."""
    out = json.loads(json.dumps(settings))
    verification = out.get("verification")
    if isinstance(verification, dict) and "mail_from" in verification:
        verification["mail_from"] = "set" if verification["mail_from"] else ""
    reference = out.get("reference")
    if isinstance(reference, dict) and "path" in reference:
        reference["path"] = "set" if reference["path"] else None
    if isinstance(out.get("mailboxes"), list):
        from pipelines.mailbox_settings import summary as mailbox_summary

        out["mailboxes"] = mailbox_summary(out["mailboxes"])
    return out


def _source_summary(sources: Sequence[str]) -> list[str]:
    # "--settings clients/jean_dupont.yaml" -> "--settings (file)": a file name can name someone.
    return ["--settings (file)" if s.startswith("--settings") else s for s in sources]


def settings_hash(settings: Mapping[str, Any]) -> str:
    from pipelines.controller_settings import settings_hash as pipeline_hash

    return pipeline_hash(settings)


def record_settings(
    db: RecordsDB,
    controller: str,
    settings: Mapping[str, Any],
    sources: Sequence[str],
    origin: str,
    *,
    actor: str | None = None,
    now: dt.datetime | None = None,
) -> Instruction:
    """The controller's standing settings; recorded again only when they changed (new hash)."""
    digest = settings_hash(settings)
    current = latest(db, controller, "settings")
    if current is not None and current.content_hash == digest:
        return current
    summary = {"settings": settings_summary(settings), "sources": _source_summary(sources)}
    return append(db, controller, "settings", origin, settings, summary, actor=actor, now=now, hash_of_content=digest)


# ------------------------------------------------------------------------------------------------
# Contract state (end of services) and refusal
# ------------------------------------------------------------------------------------------------
def contract(db: RecordsDB, controller: str) -> dict[str, Any] | None:
    return db.one("SELECT * FROM contracts WHERE controller = ?", [controller])


def check_contract(db: RecordsDB, controller: str, at: dt.datetime) -> None:
    row = contract(db, controller)
    if row is None:
        return
    if row.get("purged_at"):
        raise InstructionRefused(
            f"controller {controller} was off-boarded and its data deleted on {row['purged_at'][:10]}: no processing is instructed"
        )
    end = row.get("end_date")
    if end and at.astimezone(dt.timezone.utc).date() > dt.date.fromisoformat(end):
        raise InstructionRefused(
            f"controller {controller}: the contract ended on {end} (refinery offboard); no processing after the end of the services"
        )


# ------------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------------
def origin_from_tags(tags: Mapping[str, str]) -> str:
    """Who started a run, from its Dagster tags: a UI launch or re-execution is a manual run."""
    if tags.get("dagster/from_ui") == "true":
        return "ui"
    if "dagster/parent_run_id" in tags:
        return "reexecution"
    if "dagster/backfill" in tags:
        return "backfill"
    origin = tags.get("refinery/origin")
    if origin:
        return origin
    if "dagster/schedule_name" in tags:
        return "schedule"
    if "dagster/sensor_name" in tags:
        return "sensor"
    return "api"


MANUAL_ORIGINS = ("ui", "reexecution", "backfill", "api", "cli")


def link_run(
    db: RecordsDB, run_id: str, upload_id: str, controller: str, instruction_id: str, origin: str,
    detail: Mapping[str, Any] | None = None, now: dt.datetime | None = None,
) -> None:
    """Which instruction a run followed (the Dagster run also gets it as a tag)."""
    db.run("DELETE FROM run_links WHERE run_id = ? AND upload_id = ?", [run_id, upload_id])
    db.run(
        "INSERT INTO run_links (run_id, upload_id, controller, instruction_id, origin, recorded_at, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [run_id, upload_id, controller, instruction_id, origin, iso(now or utc_now()), RecordsDB.dumps(dict(detail or {}))],
    )


def run_instruction(db: RecordsDB, run_id: str) -> str | None:
    row = db.one("SELECT instruction_id FROM run_links WHERE run_id = ? LIMIT 1", [run_id])
    return row["instruction_id"] if row else None


def _record_manual_run(
    db: RecordsDB, controller: str, origin: str, followed: Instruction, settings_digest: str,
    detail: Mapping[str, Any], *, actor: str | None, now: dt.datetime | None,
) -> Instruction:
    summary = {"settings_hash": settings_digest, **detail}
    return append(db, controller, "run", origin, summary, summary, based_on=followed.id, actor=actor, now=now)


def authorise_cli_run(
    db: RecordsDB,
    controller: str,
    settings: Mapping[str, Any],
    sources: Sequence[str],
    options: Mapping[str, Any],
    *,
    stored_settings: Mapping[str, Any] | None = None,
    stored_sources: Sequence[str] = ("defaults",),
    actor: str | None = None,
    now: dt.datetime | None = None,
) -> Instruction:
    """`refinery run`: the command itself is the controller's instruction (DPA III.2). Records the
    standing settings if they changed, then this run (its effective settings hash, the layers and
    the options); refused after the end of the contract. Returns the run instruction, whose id goes
    into the upload manifest (`instruction_id`) and the run tags (`refinery/instruction`)."""
    moment = now or utc_now()
    check_contract(db, controller, moment)
    standing = stored_settings if stored_settings is not None else settings
    base = record_settings(db, controller, standing, stored_sources if stored_settings is not None else sources, "cli",
                           actor=actor, now=moment)
    detail = {
        "sources": _source_summary(sources),
        # Only the options' names and flags: no file names.
        "options": {k: v for k, v in sorted(options.items()) if isinstance(v, (bool, int, float)) or k == "origin"},
    }
    return _record_manual_run(db, controller, "cli", base, settings_hash(settings), detail, actor=actor, now=moment)


def record_standing_settings(
    db: RecordsDB, store: Any, controller: str, *, settings_file: str | None = None, origin: str = "operator",
    actor: str | None = None, now: dt.datetime | None = None,
) -> Instruction:
    """`refinery instructions record`: the controller's standing settings (stored file, or a file
    given here, or the defaults) become its instruction for automatic (sensor) runs."""
    from pipelines import controller_settings

    check_contract(db, controller, now or utc_now())
    try:
        settings, sources = controller_settings.resolve(store, controller, settings_file=settings_file)
    except controller_settings.SettingsError as exc:
        raise InstructionRefused(str(exc)) from None
    return record_settings(db, controller, settings.to_dict(), sources, origin, actor=actor, now=now)


def authorise_run(
    db: RecordsDB,
    store: Any,
    manifest: Any,
    *,
    run_id: str,
    run_tags: Mapping[str, str],
    now: dt.datetime | None = None,
) -> tuple[Instruction, Any]:
    """The instruction an upload's run follows, or InstructionRefused. Call it first in the run.

    - The controller's contract must not have ended.
    - An upload registered by `refinery run` carries its run instruction in the manifest; the
      recorded settings must still hash to what that instruction recorded.
    - Any other upload (the sensor) follows the controller's standing settings: its stored
      settings file is recorded as an instruction when new or changed; without one, the latest
      `settings` instruction must match the settings the run will use.
    - A manual run (UI launch, re-execution, backfill) is itself recorded as a `run` instruction.

    Returns the instruction and the manifest (updated with the recorded settings and the
    instruction id; saved to the store when it changed)."""
    from pipelines import controller_settings

    moment = now or utc_now()
    controller, upload_id = manifest.controller, manifest.upload_id
    check_contract(db, controller, moment)
    origin = origin_from_tags(run_tags)
    try:
        settings, to_record = controller_settings.for_upload(store, controller, manifest.options)
    except controller_settings.SettingsError as exc:
        raise InstructionRefused(f"upload {upload_id}: {exc}") from None
    options = dict(to_record if to_record is not None else manifest.options)
    digest = settings.content_hash()
    followed: Instruction | None = None
    recorded_id = options.get(OPTION_KEY)
    if recorded_id:
        followed = get(db, recorded_id)
        if followed is None or followed.controller != controller:
            raise InstructionRefused(
                f"upload {upload_id}: the instruction it names ({recorded_id}) is not in the instruction log of controller {controller}"
            )
        recorded_digest = followed.content_hash if followed.kind == "settings" else followed.summary.get("settings_hash")
        if recorded_digest != digest:
            raise InstructionRefused(
                f"upload {upload_id}: its settings no longer match instruction {recorded_id} (altered after it was recorded); "
                "register the file again"
            )
    else:
        stored_key = controller_settings.stored_settings_key(store, controller)
        if stored_key is not None:
            followed = record_settings(db, controller, settings.to_dict(), options.get("settings_sources", [stored_key]),
                                       "stored settings", now=moment)
        else:
            current = latest(db, controller, "settings")
            if current is None or current.content_hash != digest:
                raise InstructionRefused(
                    f"upload {upload_id}: controller {controller} has no recorded instruction for these settings; record its "
                    f"settings first (refinery instructions record --controller {controller} [--settings FILE])"
                )
            followed = current
        if followed.content_hash != digest:
            raise InstructionRefused(f"upload {upload_id}: the controller's settings changed while the run was starting; run it again")
    base = followed
    if origin in MANUAL_ORIGINS and origin != "cli":
        followed = _record_manual_run(
            db, controller, origin, base, digest, {"upload_id": upload_id, "run_id": run_id}, actor=None, now=moment
        )
    if options.get(OPTION_KEY) != base.id or to_record is not None:
        # The manifest keeps the instruction the upload was registered under; manual runs of it
        # are in the log (based_on) and in run_links.
        options[OPTION_KEY] = base.id
        manifest = dataclasses.replace(manifest, options=options)
        manifest.save(store)
    link_run(db, run_id, upload_id, controller, followed.id, origin,
             {"settings_hash": digest, "enrichments": list(settings.enabled_names)}, now=moment)
    return followed, manifest


def tag_run(instance: Any, run_id: str, instruction: Instruction) -> None:
    """Show the instruction on the Dagster run (an opaque id: nothing personal)."""
    try:
        instance.add_run_tags(run_id, {INSTRUCTION_TAG: instruction.id})
    except Exception:  # an ephemeral or read-only instance: the log's run_links still has it
        pass
