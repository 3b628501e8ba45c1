"""GDPR processor duties as assets: the nightly deletion sweep and the Art. 30(2) register.

Both are unpartitioned and in their own group ("gdpr"), so the per-upload job (group "contacts")
never runs them. They need only the `object_store` resource; the records database and the key
folder are opened from the environment (REFINERY_INSTRUCTIONS_DSN or REFINERY_GDPR_DIR,
REFINERY_KEYS_DIR), like the CLI does, so that loading this module cannot break a code location
that does not know about them. Metadata carries counts, ids and controller codes only.
"""


import time

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    Failure,
    MetadataValue,
    Output,
    ScheduleDefinition,
    asset,
    define_asset_job,
    in_process_executor,
)

from pipelines import register as register_stage
from pipelines import retention
from resources.dagster_resources import ObjectStoreResource
from resources.instruction_log import RecordsDB
from resources.keys import KeyStore

GROUP = "gdpr"
GDPR_NIGHTLY_JOB = "gdpr_nightly"
# After the nightly maintenance (03:30) and outside the 02:00-03:00 DST gap.
GDPR_NIGHTLY_CRON = "15 4 * * *"
TIMEZONE = "Europe/Paris"


class RetentionConfig(Config):
    """`as_of`: delete what is due at this date/time (ISO; empty = now). `dry_run`: list only."""

    as_of: str = ""
    dry_run: bool = False


@asset(
    group_name=GROUP,
    description=(
        "Deletes every upload past its retention (default 30 days after its first export, per controller, never beyond "
        "one month after the end of the contract) and every off-boarded controller past its purge date, from every "
        "object version, working file, master data, local cache and dynamic partition; leaves a certificate per deletion."
    ),
    metadata={"purpose": "retention and deletion of personal data (DPA III.10, Art. 28(3)(g))"},
)
def retention_sweep(
    context: AssetExecutionContext, config: RetentionConfig, object_store: ObjectStoreResource
) -> Output[None]:
    started = time.perf_counter()
    try:
        as_of = retention.parse_as_of(config.as_of or None)
    except retention.RetentionError as exc:
        raise Failure(description=str(exc)) from None
    with RecordsDB.from_env() as db:
        report = retention.sweep(
            object_store.get(), db, KeyStore.from_env(), as_of=as_of, instance=context.instance,
            cache_dirs=retention.cache_dirs_from_env(), dry_run=config.dry_run,
        )
    seconds = time.perf_counter() - started
    metadata = {
        "as_of": retention.iso(report.as_of),
        "dry_run": config.dry_run,
        "controllers_checked": report.controllers_checked,
        "uploads_checked": report.uploads_checked,
        "deletions_due": len(report.planned),
        "certificates": MetadataValue.json([c["id"] for c in report.certificates]),
        "objects_removed": sum(c["objects_removed"] for c in report.certificates),
        "versions_removed": sum(c["versions_removed"] for c in report.certificates),
        "verification_failures": len(report.failed),
        "duration_s": round(seconds, 3),
    }
    if report.failed:
        # The certificates say what was found where (locations, never values); the run fails so
        # that someone looks at it before the next night.
        raise Failure(
            description=f"{len(report.failed)} deletion(s) left something behind: see certificates "
            + ", ".join(c["id"] for c in report.failed),
            metadata=metadata,
        )
    return Output(None, metadata=metadata)


@asset(
    group_name=GROUP,
    deps=[retention_sweep],
    description=(
        "The Art. 30(2) register of processing activities, per controller, rebuilt from the Dagster event log (what "
        "ran), the asset declarations (pipelines/register_catalog.py) and the processor's records: JSON, CSV, Markdown "
        "and HTML under compliance/register/<controller>/ in the object store."
    ),
    metadata={"purpose": "register of processing activities (DPA III.11, Art. 30(2))"},
)
def processing_register(context: AssetExecutionContext, object_store: ObjectStoreResource) -> Output[None]:
    started = time.perf_counter()
    store = object_store.get()
    with RecordsDB.from_env() as db:
        registers = register_stage.build_all(store, db, instance=context.instance)
        keys = register_stage.publish(store, registers)
    return Output(
        None,
        metadata={
            "controllers": len(registers),
            "register_hashes": MetadataValue.json({r["controller"]["id"]: register_stage.register_hash(r) for r in registers}),
            "objects_written": len(keys),
            "duration_s": round(time.perf_counter() - started, 3),
        },
    )


GDPR_ASSETS = [retention_sweep, processing_register]

# HOOKS for dagster_project/definitions.py: Definitions(assets=[*CONTACT_ASSETS, *GDPR_ASSETS],
# jobs=[..., gdpr_nightly_job], schedules=[..., build_gdpr_schedule(settings.production)]).
# Never in CONTACT_ASSETS: `refinery run` materialises that list for one upload.
gdpr_nightly_job = define_asset_job(
    name=GDPR_NIGHTLY_JOB,
    selection=AssetSelection.groups(GROUP),
    executor_def=in_process_executor,
    tags={"refinery/nightly": "gdpr"},
    description="Deletion sweep, then the processing register.",
)


def build_gdpr_schedule(production: bool) -> ScheduleDefinition:
    return ScheduleDefinition(
        name=GDPR_NIGHTLY_JOB,
        cron_schedule=GDPR_NIGHTLY_CRON,
        execution_timezone=TIMEZONE,
        job=gdpr_nightly_job,
        default_status=DefaultScheduleStatus.RUNNING if production else DefaultScheduleStatus.STOPPED,
    )
