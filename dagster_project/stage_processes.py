"""Large uploads: every stage in a process of its own.

`refinery run` and the daemon's `process_upload` runs execute the upload's stages in its own process (in_process_executor): for a
usual file that is the fastest way, since every stage imports the same heavy libraries. For a
multi-million-row file it is not the memory-safe way: a stage's transient memory (standardise
holds several copies of its columns at its peak) stays with the process as fragmented heap after
the stage ends, and the next stage adds its own on top (5M rows: 10.9 GiB held once the enriched
contacts were written, before linkage started). A fresh process per stage hands everything back
to the system when the stage ends; stages hand over their tables through the Parquet IO manager
either way, and they still run one at a time (`max_concurrent: 1`), so the run's memory is that of
its largest stage.

The upload sensor asks for a process per stage in the run config of large files; for
`refinery run`, the job below is the same selection as its in-process run, on Dagster's
multiprocess executor; `reconstructable` needs it built by a module-level function, which each stage's process
calls again (resources come from the same environment as the CLI's).
"""

from __future__ import annotations

import os

from dagster import Definitions, JobDefinition

from pipelines.env_settings import env_number

# Uploads of at least this many MB run a process per stage (REFINERY_PROCESS_PER_STAGE_MB; 0:
# always). 300 MB is about 2M rows of a typical CRM export: below it the in-process run is
# faster (a process start and the imports cost a few seconds per stage) and fits easily.
DEFAULT_PROCESS_PER_STAGE_MB = 300


# Run configs of the production job (process_upload, on multi_or_in_process_executor): in one
# process by default, a process per stage for a large upload (the upload sensor chooses by size).
IN_PROCESS_RUN_CONFIG = {"execution": {"config": {"in_process": {}}}}
STAGE_PROCESSES_RUN_CONFIG = {"execution": {"config": {"multiprocess": {"max_concurrent": 1}}}}


def process_per_stage(file_bytes: int, env: dict[str, str] | None = None) -> bool:
    """Whether an upload of this size runs each stage in a process of its own."""
    env = dict(os.environ if env is None else env)
    threshold = env_number(env, "REFINERY_PROCESS_PER_STAGE_MB", DEFAULT_PROCESS_PER_STAGE_MB, whole=True)
    return file_bytes >= threshold * 2**20


def upload_job() -> JobDefinition:
    """process_upload with a line per stage on standard error, as `refinery run` prints them; run
    it with STAGE_PROCESSES_RUN_CONFIG."""
    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)  # as in the CLI's own process (cli.main)
    from assets.checks import ALL_CHECKS
    from dagster_project.definitions import CONTACT_ASSETS, build_resources, process_upload_job
    from dagster_project.settings import Settings
    from resources.dagster_resources import ProgressResource

    resources = build_resources(Settings.from_env()) | {"progress": ProgressResource(stage_lines=True)}
    defs = Definitions(assets=CONTACT_ASSETS, asset_checks=ALL_CHECKS, jobs=[process_upload_job], resources=resources)
    return defs.resolve_job_def(process_upload_job.name)
