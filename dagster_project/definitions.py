"""The code location: assets, checks, jobs and resources, assembled explicitly.

Resources are chosen per environment here and nowhere else (see docs/architecture.md).
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, load_assets_from_modules

from assets import contacts, linkage
from assets.checks import ALL_CHECKS
from dagster_project.settings import Settings
from resources.dagster_resources import NothingIOManager, ObjectStoreResource, ProgressResource, UploadParquetIOManager

CONTACT_ASSETS = load_assets_from_modules([contacts, linkage])

process_upload_job = define_asset_job(
    name="process_upload",
    selection=AssetSelection.groups(contacts.GROUP),
    description="Carry one upload from the raw file to the exported, deduplicated list.",
)


def build_resources(settings: Settings) -> dict:
    store = ObjectStoreResource(kind=settings.storage, local_root=str(settings.local_store))
    return {
        "object_store": store,
        "io_manager": UploadParquetIOManager(object_store=store),
        "nothing_io_manager": NothingIOManager(),
        "progress": ProgressResource(),
    }


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or Settings.from_env()
    return Definitions(
        assets=CONTACT_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[process_upload_job],
        resources=build_resources(settings),
    )


defs = build_definitions()
