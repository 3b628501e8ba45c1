"""The upload sensor: every new or re-uploaded contact file under uploads/<controller>/ becomes a
dynamic partition (an opaque upload id) and a run of `process_upload`.

The work is in dagster_project/upload_scan.py (testable without Dagster); this module only wires
it to Dagster: the cursor, the partitions, the run requests and the log lines. Works the same on
S3 (production) and on the local folder (embedded mode).
"""


import time

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.uploads import uploads_partitions
from dagster_project.settings import Settings
from dagster_project.upload_scan import ORIGIN, run_tick
from dagster_project.stage_processes import STAGE_PROCESSES_RUN_CONFIG, process_per_stage
from resources.dagster_resources import ObjectStoreResource

PROCESS_UPLOAD_JOB = "process_upload"
CONTROLLER_TAG = "refinery/controller"
ORIGIN_TAG = "refinery/origin"


def build_upload_sensor(settings: Settings) -> SensorDefinition:
    max_files = settings.sensor_max_files

    @sensor(
        name="upload_sensor",
        job_name=PROCESS_UPLOAD_JOB,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        # Production runs with nobody at the keyboard; in the embedded mode an operator turns it on.
        default_status=DefaultSensorStatus.RUNNING if settings.production else DefaultSensorStatus.STOPPED,
        description=(
            "Registers each new or re-uploaded contact file under uploads/<controller>/ as an upload "
            f"(partition) and runs process_upload on it; at most {max_files} files per tick, every "
            f"{settings.sensor_interval_seconds} s (REFINERY_SENSOR_MAX_FILES, REFINERY_SENSOR_INTERVAL_SECONDS)."
        ),
    )
    def upload_sensor(context: SensorEvaluationContext, object_store: ObjectStoreResource) -> SensorResult:
        started = time.perf_counter()
        outcome = run_tick(object_store.get(), context.cursor, max_files)
        for line in outcome.log_lines:
            context.log.info(line)
        seconds = time.perf_counter() - started
        context.log.info(f"upload sensor: {outcome.objects_listed} object(s) listed in {seconds:.2f} s")
        if not outcome.registrations:
            return SensorResult(skip_reason=SkipReason("no new upload"), cursor=outcome.cursor)
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=r.run_key,
                    partition_key=r.upload_id,
                    tags={CONTROLLER_TAG: r.controller, ORIGIN_TAG: ORIGIN},
                    # A large file: each stage in a process of its own (dagster_project/stage_processes.py).
                    run_config=STAGE_PROCESSES_RUN_CONFIG if process_per_stage(r.size) else {},
                )
                for r in outcome.registrations
            ],
            dynamic_partitions_requests=[
                uploads_partitions.build_add_request([r.upload_id for r in outcome.registrations])
            ],
            cursor=outcome.cursor,
        )

    return upload_sensor
