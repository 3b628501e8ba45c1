"""The code location: assets, checks, jobs, the upload sensor, the nightly schedules and the
resources, assembled explicitly.

Resources are chosen per environment here and nowhere else (see docs/architecture.md and
docs/operations.md): REFINERY_STORAGE=local (the embedded default, a folder) or s3 (production).
"""

from __future__ import annotations

import os

from dagster import (
    AssetSelection,
    Definitions,
    EnvVar,
    define_asset_job,
    in_process_executor,
    load_assets_from_modules,
    multi_or_in_process_executor,
)

from assets import contacts, linkage
from assets.mailboxes import GROUP as MAILBOX_GROUP
from assets.mailboxes import MAILBOX_ASSETS
from assets.checks import ALL_CHECKS
from assets.gdpr import GDPR_ASSETS, build_gdpr_schedule, gdpr_nightly_job
from dagster_project.mailbox_schedules import build_mailbox_export_sensor, build_mailbox_schedule
from dagster_project.schedules import build_catch_up_schedule, build_maintenance_schedule, nightly_maintenance_job
from dagster_project.sensors import PROCESS_UPLOAD_JOB, build_upload_sensor
from dagster_project.settings import Settings
from dagster_project.stage_processes import IN_PROCESS_RUN_CONFIG
from resources.dagster_resources import (
    LazyParquetInputManager,
    NothingIOManager,
    ObjectStoreResource,
    ProgressResource,
    UploadParquetIOManager,
)
from resources.mailbox_reader import MailboxReaderResource

CONTACT_ASSETS = load_assets_from_modules([contacts, linkage])

process_upload_job = define_asset_job(
    name=PROCESS_UPLOAD_JOB,
    selection=AssetSelection.groups(contacts.GROUP),
    description="Carry one upload from the raw file to the exported, deduplicated list.",
    # The stages form a chain and each one imports the heavy libraries (Splink, DuckDB, GX): a
    # process per step would add seconds per stage and nothing could run in parallel anyway. A
    # large upload is the exception: the upload sensor asks for a process per stage, so that the
    # memory one stage used is back with the system before the next (stage_processes.py).
    executor_def=multi_or_in_process_executor,
    config=IN_PROCESS_RUN_CONFIG,
)

mailbox_scan_job = define_asset_job(
    name="mailbox_scan",
    selection=AssetSelection.groups(MAILBOX_GROUP),
    description="Read one staff mailbox (or mailbox export) and update the controller's contacts from its bounces "
    "and departure replies.",
    executor_def=in_process_executor,
)

# Secrets are passed as EnvVar: Dagster resolves them when a run starts and shows only the
# variable's name in the UI. Unset ones are left to boto3's default chain (instance profile, IRSA).
_SECRET_VARIABLES = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
}


def build_object_store(settings: Settings, env: dict[str, str] | None = None) -> ObjectStoreResource:
    if settings.storage == "local":
        return ObjectStoreResource(kind="local", local_root=str(settings.local_store))
    env = dict(os.environ if env is None else env)
    target = settings.s3_target
    assert target is not None and settings.bucket  # Settings.from_env checked both
    return ObjectStoreResource(
        kind="s3",
        bucket=settings.bucket,
        region=target.region,
        endpoint_url=target.endpoint_url,
        sse=settings.s3_sse,
        kms_key_id=settings.s3_kms_key_id,
        extra_eu_endpoints=list(settings.s3_extra_eu_endpoints),
        **{field: EnvVar(name) for field, name in _SECRET_VARIABLES.items() if env.get(name)},
    )


def build_resources(settings: Settings) -> dict:
    store = build_object_store(settings)
    return {
        "object_store": store,
        "io_manager": UploadParquetIOManager(object_store=store),
        "nothing_io_manager": NothingIOManager(),
        "lazy_parquet_input": LazyParquetInputManager(object_store=store),
        "progress": ProgressResource(),
        "mailbox_reader": MailboxReaderResource(ca_file=os.environ.get("REFINERY_IMAP_CA_FILE") or None),
    }


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or Settings.from_env()
    return Definitions(
        # GDPR assets (retention sweep, processing register) are not per upload: never in CONTACT_ASSETS.
        assets=[*CONTACT_ASSETS, *MAILBOX_ASSETS, *GDPR_ASSETS],
        asset_checks=ALL_CHECKS,
        jobs=[process_upload_job, mailbox_scan_job, nightly_maintenance_job, gdpr_nightly_job],
        sensors=[build_upload_sensor(settings), build_mailbox_export_sensor(settings)],
        schedules=[
            build_mailbox_schedule(settings),
            build_catch_up_schedule(settings),
            build_maintenance_schedule(settings),
            build_gdpr_schedule(settings.production),
        ],
        resources=build_resources(settings),
    )


defs = build_definitions()
