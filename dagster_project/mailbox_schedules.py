"""Mailbox scans without anyone at the keyboard (issue #9).

- `mailbox_export_sensor`: an mbox or .eml zip the client drops under
  uploads/<controller>/mailboxes/<mailbox id>/ becomes a scan (an "mb-" partition) and a run of
  `mailbox_scan`. The export is deleted once read, so the sensor only remembers the digests of
  exports still in the bucket: its cursor stays small.
- `nightly_mailbox_scan`: at 02:30 (Europe/Paris), one scan per IMAP mailbox named in each
  controller's stored settings (controllers/<c>/settings.yaml).

In both cases the run itself checks the controller's recorded instruction names the mailbox
(assets/mailboxes.py): the sensor and the schedule never decide what may be read.
"""


import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from assets.uploads import mailbox_scans_partitions
from dagster_project.schedules import TIMEZONE, known_controllers
from dagster_project.sensors import CONTROLLER_TAG, ORIGIN_TAG
from dagster_project.settings import Settings
from pipelines import controller_settings
from resources.dagster_resources import ObjectStoreResource
from resources.layout import (
    MAILBOX_EXPORT_SUFFIXES,
    MAILBOX_ID_RE,
    MAILBOXES_FOLDER,
    UPLOADS_PREFIX,
    is_pipeline_placed_upload,
)
from resources.mailbox_scans import register_scan
from resources.object_store import ObjectStore, StoredObject
from resources.uploads import object_digest

MAILBOX_SCAN_JOB = "mailbox_scan"
MAILBOX_CRON = "30 2 * * *"


@dataclass(frozen=True)
class ExportFound:
    obj: StoredObject
    controller: str
    mailbox_id: str
    digest: str

    @property
    def scan_id(self) -> str:
        # The same object write always gets the same scan id (a tick evaluated twice asks for the
        # same partition and run key).
        arrived = dt.datetime.fromtimestamp(self.obj.last_modified, dt.timezone.utc)
        return f"mb-{arrived:%Y%m%dt%H%M%S}-{self.digest[:8]}"


def find_exports(store: ObjectStore) -> list[ExportFound]:
    """Mailbox exports waiting under every controller's uploads/<c>/mailboxes/<mailbox id>/."""
    found = []
    for controller in known_controllers(store):
        prefix = f"{UPLOADS_PREFIX}{controller}/{MAILBOXES_FOLDER}"
        for obj in store.list(prefix):
            parts = obj.key[len(prefix):].split("/")
            if len(parts) != 2 or not MAILBOX_ID_RE.match(parts[0]) or is_pipeline_placed_upload(obj.key):
                continue  # `refinery mailbox scan` registers its own copy itself
            if not parts[1].lower().endswith(MAILBOX_EXPORT_SUFFIXES):
                continue
            found.append(ExportFound(obj, controller, parts[0], object_digest(obj)))
    return found


def plan_export_tick(store: ObjectStore, cursor: str | None) -> tuple[list[ExportFound], str]:
    """(exports to register now, the new cursor: digests of exports still in the bucket)."""
    seen = set(json.loads(cursor)) if cursor else set()
    present = find_exports(store)
    new = [e for e in present if e.digest not in seen]
    return new, json.dumps(sorted({e.digest for e in present}))


def build_mailbox_export_sensor(settings: Settings):
    @sensor(
        name="mailbox_export_sensor",
        job_name=MAILBOX_SCAN_JOB,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING if settings.production else DefaultSensorStatus.STOPPED,
        description="Registers each mailbox export (mbox, .eml zip) dropped under uploads/<controller>/mailboxes/"
        "<mailbox id>/ as a scan and runs mailbox_scan on it.",
    )
    def mailbox_export_sensor(context: SensorEvaluationContext, object_store: ObjectStoreResource) -> SensorResult:
        store = object_store.get()
        new, cursor = plan_export_tick(store, context.cursor)
        if not new:
            return SensorResult(skip_reason=SkipReason("no new mailbox export"), cursor=cursor)
        for export in new:
            register_scan(store, export.controller, export.mailbox_id, "export", source_key=export.obj.key,
                          options={"origin": "sensor"}, scan_id=export.scan_id)
        context.log.info(f"mailbox export sensor: {len(new)} export(s) registered: " + ", ".join(e.scan_id for e in new))
        return SensorResult(
            run_requests=[
                RunRequest(run_key=f"{e.scan_id}:{e.digest}", partition_key=e.scan_id,
                           tags={CONTROLLER_TAG: e.controller, ORIGIN_TAG: "sensor"})
                for e in new
            ],
            dynamic_partitions_requests=[mailbox_scans_partitions.build_add_request([e.scan_id for e in new])],
            cursor=cursor,
        )

    return mailbox_export_sensor


def imap_mailboxes(store: ObjectStore) -> list[tuple[str, str]]:
    """(controller, mailbox id) for every IMAP mailbox named in a controller's stored settings.
    A controller whose settings do not parse is skipped here; its uploads' runs report why."""
    out = []
    for controller in known_controllers(store):
        try:
            stored, _ = controller_settings.resolve(store, controller)
        except controller_settings.SettingsError:
            continue
        out += [(controller, m.id) for m in stored.mailboxes if m.source == "imap"]
    return out


def build_mailbox_schedule(settings: Settings):
    @schedule(
        name="nightly_mailbox_scan",
        cron_schedule=MAILBOX_CRON,
        execution_timezone=TIMEZONE,
        job_name=MAILBOX_SCAN_JOB,
        default_status=DefaultScheduleStatus.RUNNING if settings.production else DefaultScheduleStatus.STOPPED,
        description="Reads each IMAP mailbox named in the controllers' stored settings (read-only, within "
        "the folders and days the settings allow) and writes the update files.",
    )
    def nightly_mailbox_scan(context: ScheduleEvaluationContext, object_store: ObjectStoreResource):
        store = object_store.get()
        todo = imap_mailboxes(store)
        if not todo:
            return SkipReason("no controller names an IMAP mailbox in its settings")
        moment = (context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        night = moment.strftime("%Y%m%d")
        requests, scan_ids = [], []
        for controller, mailbox_id in todo:
            # The same night and mailbox always give the same scan id: a tick evaluated twice
            # registers nothing new.
            digest = hashlib.sha256(f"{controller}/{mailbox_id}/{night}".encode()).hexdigest()[:8]
            manifest = register_scan(store, controller, mailbox_id, "imap", options={"origin": "nightly"},
                                     scan_id=f"mb-{moment:%Y%m%dt%H%M%S}-{digest}", now=moment)
            scan_ids.append(manifest.upload_id)
            requests.append(RunRequest(run_key=f"{controller}:{mailbox_id}:nightly-{night}", partition_key=manifest.upload_id,
                                       tags={CONTROLLER_TAG: controller, ORIGIN_TAG: "nightly"}))
        # Schedules cannot send partition requests with their run requests: add them first.
        context.instance.add_dynamic_partitions(mailbox_scans_partitions.name, scan_ids)
        context.log.info(f"nightly mailbox scan: {len(requests)} mailbox(es): " + ", ".join(scan_ids))
        return requests

    return nightly_mailbox_scan
