"""The per-mailbox-scan asset graph (issue #9): mailbox_signals -> mailbox_updates.

A scan reads one staff mailbox of a controller (over IMAP, or an mbox / .eml zip the client
dropped under uploads/<controller>/mailboxes/<mailbox id>/), keeps only the signals (address,
bounce or departure, date, mailbox id, replacement address), matches them to the controller's
master records and gives back an update file for the CRM. Thin: the work is in pipelines/.
"""


import datetime as dt
import json
import time

import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetExecutionContext, Failure, MetadataValue, Output, asset

from assets.metadata import table_metadata
from assets.uploads import mailbox_scans_partitions
from pipelines import controller_settings, email_patterns_store, retention
from pipelines import export as export_stage
from pipelines import mailbox_updates as updates_stage
from pipelines.instructions import InstructionRefused, authorise_run, tag_run
from pipelines.register_catalog import asset_metadata
from resources.dagster_resources import ObjectStoreResource, ProgressResource
from resources.instruction_log import RecordsDB
from resources.layout import export_prefix
from resources.mailbox_reader import MailboxReaderResource
from resources import master_store
from resources.master_store import load_master, master_prefix

GROUP = "mailboxes"
EVENTS_FILE = "email_events.parquet"
UPDATE_FILES = ("mailbox_updates.csv", "mailbox_updates.parquet", "summary.json")


def _report(progress: ProgressResource, name: str, rows: int, seconds: float, detail: str = "") -> None:
    progress.reporter().stage(name, rows, seconds, detail)


def _count(table: pa.Table, column: str, value: str) -> int:
    if table.num_rows == 0:
        return 0
    return int(pc.sum(pc.cast(pc.equal(table.column(column), value).fill_null(False), pa.int64())).as_py() or 0)


@asset(
    partitions_def=mailbox_scans_partitions,
    group_name=GROUP,
    description="Bounces and departure auto-replies found in one staff mailbox: address, signal, date, mailbox id. "
    "Message bodies are never stored.",
    metadata=asset_metadata("mailbox_signals"),
)
def mailbox_signals(
    context: AssetExecutionContext,
    object_store: ObjectStoreResource,
    mailbox_reader: MailboxReaderResource,
    progress: ProgressResource,
) -> Output[pa.Table]:
    from pipelines.mailbox.exports import MailboxExportError, iter_messages
    from pipelines.mailbox.signals import extract_signals, signals_table

    started = time.perf_counter()
    store = object_store.get()
    manifest = object_store.manifest(context.partition_key)
    # A mailbox is read only on the controller's documented instruction naming it (DPA III.2).
    with RecordsDB.from_env() as db:
        try:
            instruction, manifest = authorise_run(db, store, manifest, run_id=context.run_id, run_tags=context.run.tags)
        except InstructionRefused as exc:
            raise Failure(description=str(exc)) from None
        tag_run(context.instance, context.run_id, instruction)
    settings = controller_settings.from_options(manifest.options) or controller_settings.ControllerSettings()
    mailbox_id = manifest.options.get("mailbox_id", "")
    mailbox = settings.mailbox(mailbox_id)
    kind = manifest.options.get("mailbox_source")
    if mailbox is None or mailbox.source != kind:
        raise Failure(
            description=f"scan {manifest.upload_id}: mailbox {mailbox_id or '(none)'} is not an {kind} mailbox in the "
            f"recorded settings of controller {manifest.controller}; it is not read"
        )
    if kind == "export":
        try:
            data = object_store.read_upload(manifest)
        except KeyError:
            raise Failure(
                description=f"scan {manifest.upload_id}: the mailbox export is no longer stored (it is deleted once its "
                "signals are extracted); upload it again"
            ) from None
        name = manifest.source_key.rsplit("/", 1)[-1]
        messages = iter_messages(name, data)
        fetch_stats = None
    else:
        from resources.imap_source import FetchStats

        fetch_stats = FetchStats()
        messages = mailbox_reader.messages(mailbox, stats=fetch_stats)
    signals, read = [], 0
    try:
        for raw in messages:
            read += 1
            # One parse per message: the e-mail library works message by message (measured in
            # bench/bench_mailbox.py); only the signal fields leave this loop.
            signals.extend(extract_signals(raw, mailbox.id))
    except MailboxExportError as exc:
        raise Failure(description=f"scan {manifest.upload_id}: {exc}") from None
    except Exception as exc:
        from resources.imap_source import ImapError

        if isinstance(exc, ImapError):
            raise Failure(description=f"scan {manifest.upload_id}: {exc}") from None
        raise
    table = signals_table(signals)
    if kind == "export":
        # Data minimisation: the export holds whole messages; only the signals are kept.
        store.delete(manifest.source_key)
    seconds = time.perf_counter() - started
    counts = {s: _count(table, "signal", s) for s in ("hard_bounce", "soft_bounce", "departed")}
    _report(progress, "mailbox_signals", read, seconds, f"{table.num_rows:,} signals")
    return Output(
        table,
        metadata=table_metadata(table, seconds)
        | {
            "mailbox_id": mailbox.id,
            "mailbox_source": kind,
            "messages_read": read,
            "signals": table.num_rows,
            **{f"signals_{k}": v for k, v in counts.items()},
            "messages_per_s": MetadataValue.float(round(read / seconds, 1) if seconds > 0 else 0.0),
        }
        | ({"imap_folders_read": fetch_stats.folders_read, "imap_messages_in_range": fetch_stats.messages_in_range,
            "imap_skipped_oversized": fetch_stats.skipped_oversized, "imap_skipped_over_limit": fetch_stats.skipped_over_limit}
           if fetch_stats is not None else {}),
    )


@asset(
    partitions_def=mailbox_scans_partitions,
    group_name=GROUP,
    description="The signals matched to the controller's master records: the update file for the CRM "
    "(addresses to mark invalid, departed persons, proposed replacements), and the master's e-mail history.",
    metadata=asset_metadata("mailbox_updates"),
)
def mailbox_updates(
    context: AssetExecutionContext,
    mailbox_signals: pa.Table,
    object_store: ObjectStoreResource,
    progress: ProgressResource,
) -> Output[pa.Table]:
    started = time.perf_counter()
    store = object_store.get()
    manifest = object_store.manifest(context.partition_key)
    controller = manifest.controller
    # The mailbox history is read, updated and written under the controller's master lock: erasure
    # and retention rewrite the same file under it (resources/master_store.py).
    with master_store.locked(store, controller, "a mailbox scan", kind="mailbox"):
        master = load_master(store, controller)
        records = master.records
        events_key = master_prefix(controller) + EVENTS_FILE
        history = retention.read_parquet(store, events_key)
        if records is None or records.num_rows == 0:
            decided = updates_stage.decide(
                updates_stage.match_signals(mailbox_signals, pa.table({"email": pa.array([], pa.string())}), history),
                history, email_patterns_store.history(store, controller),
            )
        else:
            events = updates_stage.match_signals(mailbox_signals, records, history)
            decided = updates_stage.decide(events, history, email_patterns_store.history(store, controller))
        updates = updates_stage.update_file(decided)
        # Re-running a scan replaces its own events; a hard bounce stays in the history (it is never
        # erased from the record's past, only marked).
        store.put_bytes(
            events_key,
            export_stage.to_parquet_bytes(updates_stage.new_history(history, decided, manifest.upload_id, dt.datetime.now(dt.timezone.utc))),
        )
    prefix = export_prefix(controller, manifest.upload_id)
    csv_bytes, _ = export_stage.to_csv_bytes(updates)
    counts = updates_stage.summary_counts(mailbox_signals, decided)
    summary = {"scan_id": manifest.upload_id, "mailbox_id": manifest.options.get("mailbox_id"), **counts,
               "files": list(UPDATE_FILES[:2])}
    # summary.json is removed first and written last: its presence marks the export as complete.
    store.publish(
        prefix,
        {"mailbox_updates.csv": csv_bytes, "mailbox_updates.parquet": export_stage.to_parquet_bytes(updates)},
        marker=("summary.json", json.dumps(summary, indent=2).encode("utf-8")),
    )
    with RecordsDB.from_env() as db:
        retention.record_export(db, controller, manifest.upload_id, received_at=manifest.received_at)
    seconds = time.perf_counter() - started
    _report(progress, "mailbox_updates", updates.num_rows, seconds,
            f"{counts['emails_marked_invalid']:,} invalid, {counts['departed_flagged']:,} departed")
    return Output(
        decided,
        metadata=table_metadata(decided, seconds) | {"export_prefix": prefix, **counts},
    )


MAILBOX_ASSETS = [mailbox_signals, mailbox_updates]
