"""Linkage assets: this upload against itself and the controller's master, golden records,
the merge audit and review pairs, and the master published once the export is complete."""

import json
import time

import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetExecutionContext, AssetIn, AssetKey, AssetOut, MetadataValue, Output, asset, multi_asset

from assets.contacts import GROUP  # one group: the process_upload job selects it
from assets.metadata import same_name_lineage, table_metadata
from assets.uploads import uploads_partitions
from pipelines import golden as golden_stage
from pipelines import linkage as linkage_stage
from pipelines.master import strip_inferred
from resources.dagster_resources import ObjectStoreResource, ProgressResource
from resources import master_store
from resources.instruction_log import RecordsDB



def keeps_lock(context: AssetExecutionContext) -> bool:
    """Whether a stage keeps the controller's lock for the run's next stage: when the run goes on to
    its export (which releases it), or when the process that started the run holds it for all of
    it. A run of a subset that stops before the export (a retry of some stages) releases it at the
    end of each stage, rather than leave it to lapse."""
    if master_store.holds_for_whole_run(context.run.tags):
        return True
    selection = context.run.asset_selection
    return selection is None or AssetKey("contact_export") in selection


@multi_asset(
    partitions_def=uploads_partitions,
    group_name=GROUP,
    outs={
        "linked_contacts": AssetOut(description="This upload's contacts with their stable person id (cluster_id) and match probability."),
        "master_records": AssetOut(description="The controller's records of every batch after this upload, with person ids."),
        "merge_audit": AssetOut(description="Every merging link of this upload: records, probability, deciding comparisons."),
        "review_pairs": AssetOut(description="Likely matches left unmerged for a person to decide, with the reason."),
    },
)
def link_contacts(
    context: AssetExecutionContext,
    enriched_contacts: pa.Table,
    object_store: ObjectStoreResource,
    progress: ProgressResource,
):
    started = time.perf_counter()
    manifest = object_store.manifest(context.partition_key)
    store = object_store.get()
    # One run of a controller at a time from here to its published export (resources/master_store.py):
    # the lock is taken before the master is read, and kept (renewed by each stage) until then.
    holder = master_store.run_holder(context.run.tags, context.run.run_id)
    with master_store.held(store, manifest.controller, holder, f"upload {manifest.upload_id}", keep=keeps_lock(context),
                           on_wait=lambda other: context.log.info(
                               f"waiting for the master of controller {manifest.controller}: held by {other.purpose}")):
        with RecordsDB.from_env() as db:
            master = master_store.load_master(store, manifest.controller, db=db)
        version = int(master.state.get("version", 0))
        result = linkage_stage.link_upload(
            enriched_contacts,
            upload_id=manifest.upload_id,
            received_at=manifest.received_at,
            source=str(manifest.options.get("source", "upload")),
            master=master,
        )
        # The outputs are written (the IO manager) while the generator waits here: still renewed.
        linked = result.linked.rename_columns(["cluster_id" if c == "person_id" else c for c in result.linked.column_names])
        seconds = time.perf_counter() - started
        persons = pc.count_distinct(linked.column("cluster_id")).as_py()
        source_cols = list(linkage_stage.linkage_model.LINKAGE_COLUMNS_SOURCE)
        lineage = same_name_lineage(enriched_contacts, "enriched_contacts") | {
            "cluster_id": {"enriched_contacts": source_cols, "master_records": ["person_id"]},
            "match_probability": {"enriched_contacts": source_cols},
        }
        context.log.info(f"linked_contacts: {linked.num_rows:,} rows in {seconds:.1f} s, {result.pairs_scored:,} pairs scored, "
                         f"{persons:,} persons")  # counts only (progress for long runs, issue 7)
        progress.reporter().stage(
            "linked_contacts", linked.num_rows, seconds,
            f"{persons:,} persons, {result.pairs_matched:,} merging links, {result.review.num_rows:,} to review",
        )
        common = {"master_version_read": version}
        yield Output(
            linked,
            output_name="linked_contacts",
            metadata=table_metadata(
                linked, seconds, lineage,
                persons=persons,
                rows_merged=linked.num_rows - persons,
                pairs_scored=result.pairs_scored,
                pairs_matched=result.pairs_matched,
                components_split_to_avoid_chaining=result.components_split,
                persons_absorbed=result.persons_absorbed,
                master_records_before=master.size,
                model="trained on this upload" if result.trained else ("controller model" if master.model else "shipped default model"),
                match_threshold=linkage_stage.MATCH_THRESHOLD,
                training=MetadataValue.json(result.training),
                **common,
            ),
        )
        # What controller_master publishes travels with the records (Parquet schema metadata).
        meta = {
            b"refinery.next_person": str(result.next_person).encode(),
            b"refinery.read_version": str(version).encode(),
        }
        if result.trained or master.model is None:
            meta[b"refinery.model"] = json.dumps(result.model).encode("utf-8")
        yield Output(
            result.records.replace_schema_metadata(meta),
            output_name="master_records",
            metadata=table_metadata(result.records, seconds, **common),
        )
        yield Output(result.merges, output_name="merge_audit", metadata=table_metadata(result.merges, seconds))
        yield Output(result.review, output_name="review_pairs", metadata=table_metadata(result.review, seconds))


@asset(
    partitions_def=uploads_partitions,
    group_name=GROUP,
    description="One golden record per person of this upload, over all the person's records (survivorship rules in sql/golden_records.sql).",
    # Only the columns survivorship reads: the master's other columns (provenance above all) are
    # most of its size, several GiB at 5M records.
    ins={"master_records": AssetIn(metadata={"columns": sorted(golden_stage.GOLDEN_INPUTS)})},
)
def golden_records(
    context: AssetExecutionContext, master_records: pa.Table, object_store: ObjectStoreResource, progress: ProgressResource
) -> Output[pa.Table]:
    started = time.perf_counter()
    manifest = object_store.manifest(context.partition_key)
    options = manifest.options
    with master_store.held(object_store.get(), manifest.controller, master_store.run_holder(context.run.tags, context.run.run_id),
                           f"upload {manifest.upload_id}", take=False, keep=keeps_lock(context)):
        records = golden_stage.touched_records(master_records, manifest.upload_id)
        table = golden_stage.golden_records(
            records, manifest.upload_id, rules=options.get("survivorship"), preferred_source=options.get("preferred_source")
        )
    seconds = time.perf_counter() - started
    lineage = {c: {"master_records": [c]} for c in table.column_names if c in master_records.column_names} | {
        "cluster_id": {"master_records": ["person_id"]},
        "master_row_number": {"master_records": ["row_number"]},
        "source_rows": {"master_records": ["row_number"]},
        "other_emails": {"master_records": ["email"]},
        "other_phones": {"master_records": ["phone_e164", "other_phones"]},
    }
    context.log.info(f"golden_records: {table.num_rows:,} rows in {seconds:.1f} s")
    progress.reporter().stage("golden_records", table.num_rows, seconds)
    return Output(table, metadata=table_metadata(table, seconds, lineage))


@asset(
    partitions_def=uploads_partitions,
    group_name=GROUP,
    io_manager_key="nothing_io_manager",
    description="Commits the controller's master (records, person ids, model) as a new version; the export is published after it.",
)
def controller_master(
    context: AssetExecutionContext,
    master_records: pa.Table,
    object_store: ObjectStoreResource,
    progress: ProgressResource,
) -> Output[None]:
    started = time.perf_counter()
    manifest = object_store.manifest(context.partition_key)
    store = object_store.get()
    meta = master_records.schema.metadata or {}
    model = meta.get(b"refinery.model")
    # Inferred and reference values stay in this upload's export, not in the master (privacy by default).
    records = strip_inferred(master_records.replace_schema_metadata(None))
    # Taken again, not only renewed: a re-execution of this stage alone is another run, which must
    # hold the lock to commit (and fails, publishing nothing, if the master moved on meanwhile).
    holder = master_store.run_holder(context.run.tags, context.run.run_id)
    with RecordsDB.from_env() as db, master_store.held(store, manifest.controller, holder, f"upload {manifest.upload_id}",
                                                       keep=keeps_lock(context), db=db):
        version = master_store.commit(
            store,
            db,
            manifest.controller,
            holder=holder,
            read_version=int(meta.get(b"refinery.read_version", b"0")),
            next_person=int(meta.get(b"refinery.next_person", b"1")),
            last_upload=manifest.upload_id,
            committed_by=f"upload {manifest.upload_id}",
            upload_id=manifest.upload_id,
            records=records,
            model=json.loads(model) if model else None,
        )
    seconds = time.perf_counter() - started
    progress.reporter().stage("controller_master", records.num_rows, seconds, f"version {version}")
    return Output(None, metadata=table_metadata(records, seconds, master_version=version))
