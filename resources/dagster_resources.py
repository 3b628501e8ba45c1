"""Dagster resources: the object store, the Parquet IO manager over it, and run progress."""


import io
import os
import sys
import time
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Optional

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    ConfigurableIOManager,
    ConfigurableResource,
    EnvVar,
    InitResourceContext,
    InputContext,
    OutputContext,
    ResourceDependency,
)

from resources.layout import work_key
from resources.object_store import LocalObjectStore, ObjectStore
from resources.uploads import UploadManifest


class ObjectStoreResource(ConfigurableResource):
    """Where uploads, working files and exports live: `kind` 'local' (a folder, the embedded
    default) or 's3' (a bucket in an EU region or at an allowed EU endpoint, over TLS).

    Secrets (access keys) are given as EnvVar by dagster_project/definitions.py, so the UI and
    the run config show the variable's name, never its value. Without keys boto3 uses its
    default chain (instance profile, IRSA, AWS_* variables).
    """

    kind: str = "local"
    local_root: str = ".refinery/store"
    bucket: str = ""
    region: Optional[str] = None  # AWS_REGION as configured; None = eu-west-1 or the endpoint's own
    endpoint_url: Optional[str] = None
    sse: str = "AES256"
    kms_key_id: Optional[str] = None
    extra_eu_endpoints: list[str] = []
    aws_access_key_id: Optional[str] = None
    aws_secret_access_key: Optional[str] = None
    aws_session_token: Optional[str] = None

    @cached_property
    def _store(self) -> ObjectStore:
        if self.kind == "local":
            return LocalObjectStore(self.local_root)
        if self.kind == "s3":
            # Imported here: boto3 is not needed by the embedded default.
            from resources.s3_store import S3ObjectStore
            from resources.s3_target import check_s3_target

            target = check_s3_target(self.region, self.endpoint_url, tuple(self.extra_eu_endpoints))
            credentials = {
                "aws_access_key_id": _resolved(self.aws_access_key_id),
                "aws_secret_access_key": _resolved(self.aws_secret_access_key),
                "aws_session_token": _resolved(self.aws_session_token),
            }
            return S3ObjectStore(self.bucket, target, sse=self.sse, kms_key_id=self.kms_key_id, credentials=credentials)
        raise ValueError(f"unknown object store kind {self.kind!r} (expected 'local' or 's3')")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Build the store when the run starts, so a refused location fails the run at once with
        # its own message instead of in the middle of a stage.
        self._store  # noqa: B018

    def get(self) -> ObjectStore:
        return self._store

    def manifest(self, upload_id: str) -> UploadManifest:
        return UploadManifest.load(self._store, upload_id)

    def read_upload(self, manifest: UploadManifest) -> bytes:
        """The upload's file as registered (the pinned version in a versioned bucket)."""
        return manifest.read_source(self._store)


def _resolved(value: Optional[str]) -> Optional[str]:
    """An EnvVar used outside a Dagster run (the CLI, tests) is still only the variable's name."""
    if isinstance(value, EnvVar):
        return value.get_value()
    return value or None


class UploadParquetIOManager(ConfigurableIOManager):
    """Stage outputs (Arrow tables) as Parquet under work/<controller>/<upload>/ in the object store.

    Compression: LZ4 on a local store, where writing and reading the stage files is CPU time
    between the stages (at 1M rows, over the seven large stage tables: zstd 10.3 s to write and
    12.2 s to read, LZ4 8.9 s and 6.8 s, files 1.5x larger); zstd on S3, where bytes cost
    transfer time."""

    object_store: ResourceDependency[ObjectStoreResource]

    LOCAL_COMPRESSION: ClassVar[str] = "lz4"
    REMOTE_COMPRESSION: ClassVar[str] = "zstd"

    def _key(self, context: "InputContext | OutputContext") -> str:
        upload_id = context.partition_key
        manifest = self.object_store.manifest(upload_id)
        name = "_".join(context.asset_key.path)
        return work_key(manifest.controller, upload_id, f"{name}.parquet")

    def handle_output(self, context: OutputContext, obj: pa.Table) -> None:
        if obj is None:
            return
        store = self.object_store.get()
        key = self._key(context)
        path = store.local_path(key)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".tmp-{path.name}")
            pq.write_table(obj, tmp, compression=self.LOCAL_COMPRESSION)
            tmp.replace(path)  # atomic publish: readers never see a half-written stage
        else:
            buf = io.BytesIO()
            pq.write_table(obj, buf, compression=self.REMOTE_COMPRESSION)
            store.put_bytes(key, buf.getvalue())

    def load_input(self, context: InputContext) -> pa.Table:
        """The stage's table; only the columns an input's metadata lists under "columns" (a
        stage that reads a few columns of a wide table does not hold the whole table: at 5M
        records the master is several GiB)."""
        wanted = (context.definition_metadata or {}).get("columns")
        source = self._source(context)
        if wanted is None:
            return pq.read_table(source)
        parquet = pq.ParquetFile(source)
        present = set(parquet.schema_arrow.names)
        table = parquet.read(columns=[c for c in wanted if c in present])
        # Schema metadata travels with the table (master_records carries next person id, model).
        return table.replace_schema_metadata(parquet.schema_arrow.metadata)

    def _source(self, context: InputContext) -> "Path | io.BytesIO":
        store = self.object_store.get()
        key = self._key(context)
        path = store.local_path(key)
        return path if path is not None else io.BytesIO(store.get_bytes(key))


class LazyParquetInputManager(UploadParquetIOManager):
    """Input manager (AssetIn(input_manager_key="lazy_parquet_input")) over the same files: hands
    the consumer a `pq.ParquetFile` (only the footer read) rather than the whole table, so that a
    consumer needing a few columns or the row count (the asset checks) reads just those."""

    def load_input(self, context: InputContext) -> pq.ParquetFile:
        return pq.ParquetFile(self._source(context))


def release_memory() -> None:
    """Hand memory freed by the stage that just ended back to the system before the next one.

    Stage outputs are in the store by then; what their tables and Python objects used is free
    but kept by the allocators (glibc's arenas, Arrow's pool) and shows as RSS that the next
    stage adds to. Measured by bench/bench_scale.py (per-stage RSS)."""
    import ctypes
    import gc

    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - only an optimisation
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def memory_note() -> str:
    """'[RSS 812 MiB, peak 1,930 MiB]': this process now and at its highest so far (the stage
    that raised the peak is the one whose line shows it first); the benchmarks read it."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    try:
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return f"[peak {peak:,.0f} MiB]"
    return f"[RSS {rss:,.0f} MiB, peak {peak:,.0f} MiB]"


class ProgressReporter:
    """Per-stage progress for people watching a run; counts and timings only, never values.
    With `memory`, the process's memory after the stage (freed memory handed back first)."""

    def __init__(self, stream: Any | None = None, enabled: bool = True, memory: bool = False):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.memory = memory
        self.started = time.perf_counter()

    def stage(self, name: str, rows: int, seconds: float, detail: str = "") -> None:
        if not self.enabled:
            return
        if self.memory:
            release_memory()
            note = memory_note()
            detail = f"{detail}  {note}" if detail else note
        rate = f"{rows / seconds:,.0f} rows/s" if seconds > 0 else ""
        extra = f"  {detail}" if detail else ""
        print(f"  {name:<24} {rows:>10,} rows  {seconds:7.2f} s  {rate:>16}{extra}", file=self.stream, flush=True)


class ProgressResource(ConfigurableResource):
    """Silent in the UI (the event log shows the same counts); the CLI passes a live reporter instead,
    or, when each stage runs in a process of its own, sets `stage_lines` (a line per stage on
    standard error, as the CLI prints them, from the stage's process)."""

    stage_lines: bool = False

    def reporter(self) -> ProgressReporter:
        return ProgressReporter(enabled=self.stage_lines, memory=self.stage_lines)


class NothingIOManager(ConfigurableIOManager):
    """For assets whose product is written elsewhere (the export files): stores nothing."""

    def handle_output(self, context: OutputContext, obj: object) -> None:
        return None

    def load_input(self, context: InputContext) -> None:
        return None
