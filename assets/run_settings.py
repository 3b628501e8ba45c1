"""The controller's settings for one upload, as recorded in its manifest (the instruction log).

`refinery run` records them before the run; an upload that arrives another way gets the
controller's stored settings, recorded here the first time a stage asks. Only the settings hash
and the enabled enrichment names ever reach Dagster metadata.
"""

from __future__ import annotations

import dataclasses

from dagster import Failure, MetadataValue

from pipelines import controller_settings
from resources.dagster_resources import ObjectStoreResource
from resources.uploads import UploadManifest


def run_settings(object_store: ObjectStoreResource, manifest: UploadManifest) -> controller_settings.ControllerSettings:
    try:
        settings, options = controller_settings.for_upload(object_store.get(), manifest.controller, manifest.options)
    except controller_settings.SettingsError as exc:
        raise Failure(description=f"upload {manifest.upload_id}: {exc}") from None
    if options is not None:
        dataclasses.replace(manifest, options=options).save(object_store.get())
    return settings


def settings_metadata(settings: controller_settings.ControllerSettings) -> dict[str, object]:
    """Hash and enabled names only: nothing personal, nothing the controller typed."""
    return {
        "settings_hash": settings.content_hash(),
        "enrichments": MetadataValue.json(settings.enabled_names),
    }
