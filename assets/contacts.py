"""The per-upload asset graph. Thin: each asset calls one framework-free stage in pipelines/.

raw_upload -> validated_rows (+ quarantined_rows) -> standardised_contacts -> enriched_contacts
-> linked_contacts -> golden_records -> contact_export
"""


import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetOut,
    Failure,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from assets.metadata import same_name_lineage, table_metadata
from assets.uploads import uploads_partitions
from pipelines import audit as audit_stage
from pipelines import dsr
from pipelines import duckdb_config
from pipelines import retention
from pipelines.instructions import InstructionRefused, authorise_run, tag_run
from pipelines import enrich as enrich_stage
from pipelines import export as export_stage
from pipelines import golden as golden_stage
from pipelines import linkage as linkage_stage
from pipelines import standardise as standardise_stage
from pipelines.headers import CANONICAL_FIELDS
from pipelines.reader import InputFileError, parse_contact_bytes, source_info
from pipelines.validate import split_rows
from assets.run_settings import run_settings, settings_metadata
from pipelines import email_patterns_store
from pipelines import progress as progress_notes
from pipelines.fields.company_reference import ReferenceFileError
from resources.dagster_resources import ObjectStoreResource, ProgressResource
from resources.verification import verifier_from_settings
from resources.instruction_log import RecordsDB
from resources.keys import KeyStore
from resources import master_store
from resources.layout import export_prefix, work_key

GROUP = "contacts"
PURPOSE = "clean, correct, enrich and deduplicate the controller's contact list (DPA III.1)"


def _without_client_headers(table: pa.Table, info) -> pa.Table:
    client = set(export_stage.output_header_names(info).values())
    return table.rename_columns(
        [f"input_column_{i}" if name in client else name for i, name in enumerate(table.column_names)]
    )


def _report(context: AssetExecutionContext, progress: ProgressResource, name: str, rows: int, seconds: float,
            detail: str = "") -> None:
    """The stage's row count and rate in the run's log (counts only, never values) and on the CLI."""
    rate = f", {rows / seconds:,.0f} rows/s" if seconds > 0 else ""
    context.log.info(f"{name}: {rows:,} rows in {seconds:.1f} s{rate}" + (f"; {detail}" if detail else ""))
    progress_notes.finish(name)
    progress.reporter().stage(name, rows, seconds, detail)


def _started(context: AssetExecutionContext, name: str, rows: int | None = None) -> None:
    """Say a stage has started (and on how many rows): long stages are otherwise silent."""
    text = f"started on {rows:,} rows" if rows is not None else "started"
    context.log.info(f"{name}: {text}")
    progress_notes.note(name, text)


@asset(
    partitions_def=uploads_partitions,
    group_name=GROUP,
    description="The uploaded contact file, parsed: one string column per input column, row_number 1-based.",
    metadata={"purpose": PURPOSE},
)
def raw_upload(
    context: AssetExecutionContext, object_store: ObjectStoreResource, progress: ProgressResource
) -> Output[pa.Table]:
    started = time.perf_counter()
    _started(context, "raw_upload")
    manifest = object_store.manifest(context.partition_key)
    # Only on a documented instruction of the controller (DPA III.2): refused otherwise.
    with RecordsDB.from_env() as db:
        try:
            instruction, manifest = authorise_run(
                db, object_store.get(), manifest, run_id=context.run.run_id, run_tags=context.run.tags
            )
        except InstructionRefused as exc:
            raise Failure(description=str(exc)) from None
        tag_run(context.instance, context.run.run_id, instruction)
        try:
            # The exact version the sensor registered: a re-upload meanwhile is another upload.
            data = object_store.read_upload(manifest)
        except KeyError:
            raise Failure(description=f"upload {manifest.upload_id}: its source object is missing") from None
        # The columns the controller names as its own person identifier (settings
        # `identifier_columns`) are recognised with the headers.
        identifiers = run_settings(object_store, manifest).identifier_columns
        try:
            table = parse_contact_bytes(data, identifier_columns=identifiers)
        except InputFileError as exc:
            # The message names the problem, never a value from the file.
            raise Failure(description=f"upload {manifest.upload_id} cannot be read: {exc}") from None
        # People who objected, asked for erasure or restriction are screened before anything is stored.
        screened = dsr.screen_upload(table, manifest.controller, db, KeyStore.from_env())
        table = screened.table
    info = source_info(table)
    seconds = time.perf_counter() - started
    _report(context, progress, "raw_upload", table.num_rows, seconds, f"{info.format}, {info.encoding or '-'}")
    return Output(
        table,
        metadata=table_metadata(
            table,
            seconds,
            format=info.format,
            encoding=info.encoding or "n/a",
            delimiter=repr(info.delimiter) if info.delimiter else "n/a",
            input_columns=info.columns,
            recognised_fields=MetadataValue.json({f: f"src_{i}" for f, i in info.fields.items()}),
            controller=manifest.controller,
            bytes=len(data),
            instruction_id=instruction.id,
            rows_screened=screened.count,
        ),
    )


@multi_asset(
    partitions_def=uploads_partitions,
    group_name=GROUP,
    outs={
        "validated_rows": AssetOut(description="Rows fit to process, canonical fields as sent (trimmed)."),
        "quarantined_rows": AssetOut(description="Rows set aside, kept with their reason; exported as quarantined."),
    },
)
def validate_rows(context: AssetExecutionContext, raw_upload: pa.Table, progress: ProgressResource):
    started = time.perf_counter()
    _started(context, "validated_rows", raw_upload.num_rows)
    info = source_info(raw_upload)
    validated, quarantined = split_rows(raw_upload, info)
    validated, quarantined = dsr.quarantine_screened(raw_upload, validated, quarantined)
    seconds = time.perf_counter() - started
    lineage = {
        f: {"raw_upload": [f"src_{info.fields[f]}"]} for f in CANONICAL_FIELDS if f in info.fields
    } | {"row_number": {"raw_upload": ["row_number"]}}
    reasons: dict[str, int] = {}
    for r in quarantined.column("status_reason").to_pylist():
        reasons[r] = reasons.get(r, 0) + 1
    _report(context, progress, "validated_rows", validated.num_rows, seconds, f"{quarantined.num_rows:,} quarantined")
    yield Output(validated, output_name="validated_rows", metadata=table_metadata(validated, seconds, lineage))
    yield Output(
        quarantined,
        output_name="quarantined_rows",
        metadata=table_metadata(quarantined, seconds, lineage, reasons=MetadataValue.json(reasons)),
    )


@asset(partitions_def=uploads_partitions, group_name=GROUP, description="Every field in canonical form, matching keys added.")
def standardised_contacts(
    context: AssetExecutionContext, validated_rows: pa.Table, object_store: ObjectStoreResource, progress: ProgressResource
) -> Output[pa.Table]:
    started = time.perf_counter()
    _started(context, "standardised_contacts", validated_rows.num_rows)
    settings = run_settings(object_store, object_store.manifest(context.partition_key))
    table = standardise_stage.standardise(
        validated_rows, default_country=settings.default_country, language=settings.language
    )
    seconds = time.perf_counter() - started
    lineage = {c: {"validated_rows": ups} for c, ups in standardise_stage.LINEAGE.items()}
    with_notes = table.num_rows - table.column("notes").null_count
    _report(context, progress, "standardised_contacts", table.num_rows, seconds, f"{with_notes:,} with notes")
    return Output(
        table,
        metadata=table_metadata(table, seconds, lineage, rows_with_notes=with_notes) | settings_metadata(settings),
    )


@asset(partitions_def=uploads_partitions, group_name=GROUP, description="E-mail qualification, company domain, provenance; inferring enrichments only when the controller's settings enable them.")
def enriched_contacts(
    context: AssetExecutionContext,
    standardised_contacts: pa.Table,
    object_store: ObjectStoreResource,
    progress: ProgressResource,
) -> Output[pa.Table]:
    started = time.perf_counter()
    _started(context, "enriched_contacts", standardised_contacts.num_rows)
    manifest = object_store.manifest(context.partition_key)
    settings = run_settings(object_store, manifest)
    store = object_store.get()
    finding = settings.enabled("email_finding")
    history = (
        email_patterns_store.history(store, manifest.controller, exclude_upload=manifest.upload_id)
        if finding and settings.email_finding.use_history
        else None
    )
    verifier = verifier_from_settings(settings.verification) if settings.enabled("verification") else None
    try:
        output = enrich_stage.enrich_with_report(
            standardised_contacts, settings, history=history, verifier=verifier, received_at=manifest.received_at
        )
    except ReferenceFileError as exc:
        raise Failure(description=f"upload {manifest.upload_id}: {exc}") from None
    if finding:  # domains and counts only: what later uploads of this controller learn from
        email_patterns_store.save_upload(store, manifest.controller, manifest.upload_id, output.observations)
    # What the controller's mailboxes said of these addresses (bounced, departed), kept in its
    # master's e-mail history by mailbox scans (issue #9).
    from pipelines import mailbox_updates
    from pipelines.retention import read_parquet
    from resources.master_store import master_prefix

    table = mailbox_updates.with_email_status(
        output.table, read_parquet(store, master_prefix(manifest.controller) + "email_events.parquet"))
    seconds = time.perf_counter() - started
    lineage = same_name_lineage(standardised_contacts, "standardised_contacts") | {
        c: {"standardised_contacts": ups} for c, ups in enrich_stage.LINEAGE.items()
    }
    enabled = ", ".join(settings.enabled_names) or "none"
    _report(context, progress, "enriched_contacts", table.num_rows, seconds, f"enrichments: {enabled}")
    return Output(
        table,
        metadata=table_metadata(
            table, seconds, lineage,
            enrichment_seconds=MetadataValue.json({k: round(v, 3) for k, v in output.seconds.items()}),
        )
        | settings_metadata(settings),
    )


@asset(
    partitions_def=uploads_partitions,
    group_name=GROUP,
    description="contacts.csv / golden.csv and Parquet copies under exports/<controller>/<upload>/, once the master is committed.",
    io_manager_key="nothing_io_manager",
    # Published only after the commit: an export never shows person ids the master does not hold.
    deps=["controller_master"],
    # Of the master, the review file shows a few values of the records to decide on.
    ins={"master_records": AssetIn(metadata={"columns": ["record_key", "person_id", *audit_stage.SHOWN]})},
)
def contact_export(
    context: AssetExecutionContext,
    raw_upload: pa.Table,
    quarantined_rows: pa.Table,
    linked_contacts: pa.Table,
    golden_records: pa.Table,
    merge_audit: pa.Table,
    review_pairs: pa.Table,
    master_records: pa.Table,
    object_store: ObjectStoreResource,
    progress: ProgressResource,
) -> Output[None]:
    manifest = object_store.manifest(context.partition_key)
    # The lock this run took for linkage is released once the export is out (and on a failure),
    # unless the process that started the run holds it for the whole run (`refinery run`); a
    # re-execution of this stage alone holds none and only republishes (resources/master_store.py).
    store = object_store.get()
    external = master_store.holds_for_whole_run(context.run.tags)
    with master_store.held(store, manifest.controller, master_store.run_holder(context.run.tags, context.run.run_id),
                           f"upload {manifest.upload_id}", take=False, keep=external):
        # Only the linkage the master holds is published: not one whose commit failed or lost to
        # another run (this stage re-executed alone after that, for instance).
        read_version = int((master_records.schema.metadata or {}).get(b"refinery.read_version", b"0"))
        with RecordsDB.from_env() as db:
            committed = master_store.committed_version(db, store, manifest.controller, manifest.upload_id)
        if committed is None or committed <= read_version:
            raise Failure(description=(
                f"upload {manifest.upload_id}: its linkage was not committed to the master of controller "
                f"{manifest.controller} (the commit failed or another run changed the master first): nothing "
                "was published; re-run this upload"))
        started = time.perf_counter()
        _started(context, "contact_export", raw_upload.num_rows)
        info = source_info(raw_upload)
        is_master = golden_stage.master_flags(linked_contacts.rename_columns(
            ["person_id" if c == "cluster_id" else c for c in linked_contacts.column_names]))
        linked = linked_contacts.append_column("is_master", is_master)
        golden = golden_records.select(list(export_stage.GOLDEN_COLUMNS))
        fmt = (
            export_stage.CsvFormat.like_input(info)
            if manifest.options.get("keep_input_format")
            else export_stage.CsvFormat()
        )
        prefix = export_prefix(manifest.controller, manifest.upload_id)
        # Written slice by slice into a private folder, published from there, then deleted: the
        # export of a multi-million-row upload is never whole in memory. The folder is DuckDB's spill
        # folder, the place the operator gives room for large uploads (REFINERY_DUCKDB_TEMP_DIR).
        spill = duckdb_config.DuckDBSettings.from_env().temp_directory
        Path(spill).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="export-", dir=spill) as folder:
            out = Path(folder)
            files: dict[str, Path] = {name: out / name for name in (
                "contacts.parquet", "golden.parquet", "contacts.csv", "golden.csv",
                "duplicates.csv", "duplicates.xlsx", "merge_audit.csv", "review.csv")}
            rows_out, used = export_stage.write_contacts_files(
                raw_upload, info, linked, quarantined_rows, files["contacts.csv"], files["contacts.parquet"], fmt)
            contacts_schema = pq.read_schema(files["contacts.parquet"])
            export_stage.write_table_files(golden, used, files["golden.csv"], files["golden.parquet"])
            # The deduplication, shown to the client: what was merged, on what evidence, what to decide.
            duplicates = audit_stage.duplicates_report(linked, golden_records)
            export_stage.write_table_files(duplicates, used, files["duplicates.csv"])
            audit_stage.write_xlsx(duplicates, "duplicates", files["duplicates.xlsx"])
            del duplicates
            audit = audit_stage.merge_audit_report(merge_audit, golden_records)
            export_stage.write_table_files(audit, used, files["merge_audit.csv"])
            del audit
            review = audit_stage.review_report(review_pairs, master_records, threshold=linkage_stage.MATCH_THRESHOLD)
            export_stage.write_table_files(review, used, files["review.csv"])
            summary = {
                "upload_id": manifest.upload_id,
                "rows_in": raw_upload.num_rows,
                "rows_out": rows_out,
                "rows_ok": linked_contacts.num_rows,
                "rows_quarantined": quarantined_rows.num_rows,
                "golden_records": golden.num_rows,
                "merges": merge_audit.num_rows,
                "pairs_to_review": review_pairs.num_rows,
                "csv_encoding": used.encoding,
                "csv_delimiter": used.delimiter,
                "files": sorted(files),
            }
            # summary.json is written last: its presence marks the export as complete.
            store.publish(prefix, files, marker=("summary.json", json.dumps(summary, indent=2).encode("utf-8")))
        # The first complete export starts the retention clock; a re-run does not move it.
        with RecordsDB.from_env() as db:
            retention.record_export(db, manifest.controller, manifest.upload_id, received_at=manifest.received_at)
        # The committed master is the copy of record: the run's working copy would make storage grow
        # with every upload (each holds every earlier record) and slow every deletion. Last: a
        # re-execution of this stage needs it until here.
        store.delete(work_key(manifest.controller, manifest.upload_id, "master_records.parquet"))
        seconds = time.perf_counter() - started
        _report(context, progress, "contact_export", rows_out, seconds, f"{golden.num_rows:,} golden records")
        return Output(
            None,
            # The client's own headers may be anything, personal data included: the published schema
            # names those columns by position only.
            metadata=table_metadata(_without_client_headers(contacts_schema.empty_table(), info), seconds, rows=rows_out)
            | {
                "export_prefix": prefix,
                "rows_in": summary["rows_in"],
                "rows_out": summary["rows_out"],
                "rows_quarantined": summary["rows_quarantined"],
                "golden_records": summary["golden_records"],
                "csv_encoding": used.encoding,
            },
        )
