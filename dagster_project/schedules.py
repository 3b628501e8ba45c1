"""Nightly batches (Europe/Paris), written by hand: `build_schedule_from_partitioned_job` refuses
dynamic partitions, and what to run depends on the instance's history, not on the calendar.

- 01:15 `nightly_catch_up`: a run of `process_upload` for every upload whose runs failed or never
  started (the daemon was down, a run was lost with its worker...), oldest first, bounded.
- 03:30 `nightly_maintenance`: per-controller work through `CONTROLLER_HOOKS`: each controller's
  linkage model is retrained on its master records and saved when it passes the checks; the processing register and the deletion sweep
  come with the GDPR issue and join this job as ops of their own.

The times avoid 02:00-03:00, which Paris skips in March and repeats in October.
"""


import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    in_process_executor,
    job,
    op,
    schedule,
)

from assets.uploads import uploads_partitions
from dagster_project.sensors import CONTROLLER_TAG, ORIGIN_TAG, PROCESS_UPLOAD_JOB
from dagster_project.stage_processes import STAGE_PROCESSES_RUN_CONFIG
from dagster_project.settings import Settings
from resources.dagster_resources import ObjectStoreResource
from resources.layout import CONTROLLER_RE, CONTROLLERS_PREFIX, UPLOADS_PREFIX, check_upload_id
from resources.object_store import ObjectStore
from resources.uploads import UploadManifest

TIMEZONE = "Europe/Paris"
CATCH_UP_CRON = "15 1 * * *"
MAINTENANCE_CRON = "30 3 * * *"
# A file that failed three times is not going to pass on the fourth: the operator looks at it.
MAX_ATTEMPTS = 3
# Uploads older than the retention period are not worth processing (and are due for deletion).
MAX_AGE_DAYS = 30
MAX_RUNS_PER_NIGHT = 200
EXPORT_ASSET = AssetKey("contact_export")
PARTITION_TAG = "dagster/partition"
# Statuses of a run that is still going to do something.
_IN_FLIGHT = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
}
_FAILED = {DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class CatchUp:
    upload_id: str
    controller: str
    attempts: int  # failed or cancelled runs so far


def _upload_time(upload_id: str) -> dt.datetime:
    return dt.datetime.strptime(check_upload_id(upload_id)[3:18], "%Y%m%dt%H%M%S").replace(tzinfo=dt.timezone.utc)


def uploads_to_catch_up(instance: DagsterInstance, store: ObjectStore, now: dt.datetime) -> list[CatchUp]:
    """Uploads registered by the sensor whose export does not exist and that no run is working on.

    Uploads made with `refinery run` are left out: whoever ran the command saw the outcome.
    """
    partitions = instance.get_dynamic_partitions(uploads_partitions.name)
    if not partitions:
        return []
    exported = instance.get_materialized_partitions(EXPORT_ASSET)
    oldest = now - dt.timedelta(days=MAX_AGE_DAYS)
    in_flight = {
        r.tags.get(PARTITION_TAG)
        for r in instance.get_runs(RunsFilter(job_name=PROCESS_UPLOAD_JOB, statuses=list(_IN_FLIGHT)))
    }
    # Every failed attempt counts (get_run_partition_data would only give the latest run).
    failures = Counter(
        r.tags.get(PARTITION_TAG)
        for r in instance.get_runs(
            RunsFilter(job_name=PROCESS_UPLOAD_JOB, statuses=list(_FAILED), created_after=oldest - dt.timedelta(days=1))
        )
    )
    out = []
    for upload_id in sorted(partitions):  # upload ids sort by arrival
        if upload_id in exported or upload_id in in_flight or failures[upload_id] >= MAX_ATTEMPTS:
            continue
        try:
            if _upload_time(upload_id) < oldest:
                continue
            manifest = UploadManifest.load(store, upload_id)
        except (ValueError, LookupError):
            continue  # not an upload id, or its data was deleted: nothing to run
        if manifest.options.get("origin") != "sensor":
            continue
        out.append(CatchUp(upload_id, manifest.controller, failures[upload_id]))
        if len(out) >= MAX_RUNS_PER_NIGHT:
            break
    return out


def build_catch_up_schedule(settings: Settings) -> ScheduleDefinition:
    @schedule(
        name="nightly_catch_up",
        cron_schedule=CATCH_UP_CRON,
        execution_timezone=TIMEZONE,
        job_name=PROCESS_UPLOAD_JOB,
        default_status=DefaultScheduleStatus.RUNNING if settings.production else DefaultScheduleStatus.STOPPED,
        description=(
            "Runs process_upload for uploads whose runs failed (fewer than "
            f"{MAX_ATTEMPTS} times) or never started, up to {MAX_RUNS_PER_NIGHT} a night, oldest first."
        ),
    )
    def nightly_catch_up(context: ScheduleEvaluationContext, object_store: ObjectStoreResource):
        now = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
        todo = uploads_to_catch_up(context.instance, object_store.get(), now.astimezone(dt.timezone.utc))
        if not todo:
            return SkipReason("every upload has its export or a run in progress")
        night = now.astimezone(dt.timezone.utc).strftime("%Y%m%d")
        context.log.info(
            f"nightly catch-up: {len(todo)} upload(s) to run again: "
            + ", ".join(f"{c.upload_id} ({c.attempts} failed)" for c in todo)
        )
        return [
            RunRequest(
                run_key=f"{c.upload_id}:nightly-{night}",
                partition_key=c.upload_id,
                tags={CONTROLLER_TAG: c.controller, ORIGIN_TAG: "nightly"},
                # A run that failed may have run out of memory: the retry runs a process per
                # stage (stage_processes.py), which costs seconds, not memory, and nobody waits.
                run_config=STAGE_PROCESSES_RUN_CONFIG,
            )
            for c in todo
        ]

    return nightly_catch_up


# ------------------------------------------------------------------------------------------------
# Per-controller nightly work
# ------------------------------------------------------------------------------------------------
# A hook refreshes one controller's derived data; it returns a short summary without personal data.
ControllerHook = Callable[[ObjectStore, str], str]


# Unfinished writes, spill files and master files no version names, older than this, are left
# over by a killed run.
STALE_SECONDS = 86_400


def refresh_master_and_model(store: ObjectStore, controller: str) -> str:
    """Retrain the controller's linkage model on all its master records and save it when it passes
    the training checks (pipelines/linkage_training.py); the master records themselves are kept
    up to date by every upload."""
    from pipelines.linkage_training import retrain_on_records
    from resources import master_store
    from resources.instruction_log import RecordsDB

    # Trained outside the lock (minutes at millions of records: uploads are not held up), then
    # committed under it on top of the version it read; if an upload committed meanwhile, tomorrow's
    # run retrains on its records too.
    master = master_store.load_master(store, controller)
    if not master.size:
        return "linkage model: no master data yet"
    result = retrain_on_records(master.records)
    if result.model is None:
        return f"linkage model: {result.outcome}"
    try:
        with RecordsDB.from_env() as db, master_store.locked(store, controller, "the nightly retraining", kind="retrain", db=db) as holder:
            master_store.commit(store, db, controller, holder=holder, read_version=int(master.state.get("version", 0)),
                                next_person=master.next_person, last_upload=master.state.get("last_upload", ""),
                                committed_by="the nightly retraining", model=result.model)
    except (master_store.MasterBusyError, master_store.MasterChangedError, master_store.MasterIntegrityError):
        return "linkage model: not retrained, the master changed or was busy"
    return "linkage model: retrained"


def sweep_master_orphans(store: ObjectStore, controller: str) -> str:
    """Master files no version names (a commit killed or failed before its transaction), a day old."""
    from resources import master_store
    from resources.instruction_log import RecordsDB

    with RecordsDB.from_env() as db:
        removed = master_store.sweep_orphans(store, db, controller, STALE_SECONDS)
    return f"master: {removed} orphaned file(s) removed" if removed else "master: no orphaned file"


CONTROLLER_HOOKS: list[ControllerHook] = [refresh_master_and_model, sweep_master_orphans]


def known_controllers(store: ObjectStore) -> list[str]:
    """Controllers with uploads or with settings/master data."""
    names = set()
    for prefix in (UPLOADS_PREFIX, CONTROLLERS_PREFIX):
        folders, _ = store.list_children(prefix)
        names.update(f[len(prefix) : -1] for f in folders)
    return sorted(n for n in names if CONTROLLER_RE.match(n))


@op(description="Refreshes each controller's derived data (master records, linkage model) through the registered hooks.")
def refresh_controllers(context: OpExecutionContext, object_store: ObjectStoreResource) -> None:
    store = object_store.get()
    controllers = known_controllers(store)
    summaries: Counter[str] = Counter()
    for controller in controllers:
        for hook in CONTROLLER_HOOKS:
            summaries[hook(store, controller)] += 1
    context.log.info(
        f"nightly maintenance: {len(controllers)} controller(s); "
        + ("; ".join(f"{summary} (x{n})" for summary, n in summaries.items()) or "no hook registered")
    )
    # What runs killed mid-write left behind (SIGKILL, a lost machine): a day old at least, so that
    # no running write or spill is touched.
    from pipelines.duckdb_config import remove_stale_spill

    temp_files = store.remove_stale_temp_files(STALE_SECONDS)
    spill = remove_stale_spill(older_than_s=STALE_SECONDS)
    context.log.info(f"nightly maintenance: {temp_files} unfinished store write(s) and {spill} stale spill item(s) removed")


@job(
    name="nightly_maintenance",
    executor_def=in_process_executor,
    tags={"refinery/nightly": "maintenance"},
    description="Nightly per-controller work; the GDPR issue's register and deletion sweep join it.",
)
def nightly_maintenance_job() -> None:
    refresh_controllers()


def build_maintenance_schedule(settings: Settings) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="nightly_maintenance",
        cron_schedule=MAINTENANCE_CRON,
        execution_timezone=TIMEZONE,
        job=nightly_maintenance_job,
        default_status=DefaultScheduleStatus.RUNNING if settings.production else DefaultScheduleStatus.STOPPED,
    )
