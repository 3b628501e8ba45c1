"""Environment settings, read and checked in one place. Documented in README (Configuration) and
docs/operations.md.

Everything that decides where personal data goes is checked here, when the code location loads:
a non-EU region, a plain-HTTP endpoint or an unencrypted remote database connection stops the
start-up with a message saying which variable is wrong, before any data moves.
"""

from __future__ import annotations

from resources.hosts import is_local_host
import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.linkage_backend import LinkageBackend
from resources.s3_target import SSE_MODES, S3Target, check_bucket, check_s3_target, parse_extra_endpoints

STORAGE_KINDS = ("local", "s3")
DEFAULT_SENSOR_INTERVAL_SECONDS = 15
DEFAULT_SENSOR_MAX_FILES = 25
# libpq modes that encrypt the connection to PostgreSQL (the Dagster instance's database).
_PG_TLS_MODES = ("require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class Settings:
    storage: str  # REFINERY_STORAGE: "local" (default) or "s3"
    local_store: Path  # REFINERY_LOCAL_STORE: the folder used as object store in local mode
    default_controller: str  # REFINERY_DEFAULT_CONTROLLER: controller id for `refinery run` without --controller
    bucket: str | None = None  # REFINERY_BUCKET (s3)
    s3_target: S3Target | None = None  # AWS_REGION + REFINERY_S3_ENDPOINT_URL, checked EU + TLS (s3)
    s3_sse: str = "AES256"  # REFINERY_S3_SSE: AES256 (SSE-S3) or aws:kms
    s3_kms_key_id: str | None = None  # REFINERY_S3_KMS_KEY_ID (aws:kms; unset = the account's aws/s3 key)
    s3_extra_eu_endpoints: tuple[str, ...] = ()  # REFINERY_S3_EXTRA_EU_ENDPOINTS
    sensor_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_SECONDS  # REFINERY_SENSOR_INTERVAL_SECONDS
    sensor_max_files: int = DEFAULT_SENSOR_MAX_FILES  # REFINERY_SENSOR_MAX_FILES

    @property
    def production(self) -> bool:
        """Production is the S3 deployment: its sensor and schedules start on their own."""
        return self.storage == "s3"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        storage = env.get("REFINERY_STORAGE", "local").strip().lower() or "local"
        if storage not in STORAGE_KINDS:
            raise ValueError(f"REFINERY_STORAGE={storage!r} is not supported (expected 'local' or 's3')")
        s3: dict = {}
        if storage == "s3":
            s3 = _s3_settings(env)
        _check_postgres_tls(env)
        LinkageBackend.from_env(env)  # REFINERY_LINKAGE_BACKEND, REFINERY_SPARK_* (docs/scale.md)
        return cls(
            storage=storage,
            local_store=Path(env.get("REFINERY_LOCAL_STORE", ".refinery/store")).expanduser(),
            default_controller=env.get("REFINERY_DEFAULT_CONTROLLER", "default"),
            sensor_interval_seconds=_positive_int(env, "REFINERY_SENSOR_INTERVAL_SECONDS", DEFAULT_SENSOR_INTERVAL_SECONDS),
            sensor_max_files=_positive_int(env, "REFINERY_SENSOR_MAX_FILES", DEFAULT_SENSOR_MAX_FILES),
            **s3,
        )


def _s3_settings(env: dict[str, str]) -> dict:
    bucket = env.get("REFINERY_BUCKET", "").strip()
    if not bucket:
        raise ValueError("REFINERY_STORAGE=s3 needs REFINERY_BUCKET (the bucket name)")
    sse = env.get("REFINERY_S3_SSE", "AES256").strip() or "AES256"
    if sse not in SSE_MODES:
        raise ValueError(f"REFINERY_S3_SSE={sse!r}: expected one of {', '.join(SSE_MODES)}")
    extra = parse_extra_endpoints(env.get("REFINERY_S3_EXTRA_EU_ENDPOINTS"))
    target = check_s3_target(env.get("AWS_REGION"), env.get("REFINERY_S3_ENDPOINT_URL") or None, extra)
    return {
        "bucket": check_bucket(bucket),
        "s3_target": target,
        "s3_sse": sse,
        "s3_kms_key_id": env.get("REFINERY_S3_KMS_KEY_ID") or None,
        "s3_extra_eu_endpoints": extra,
    }


def _check_postgres_tls(env: dict[str, str]) -> None:
    """The instance's database is reached over TLS unless it is on this machine (DPA III.10)."""
    host = env.get("DAGSTER_PG_HOST", "").strip()
    if not host or _is_local_host(host):
        return
    mode = env.get("PGSSLMODE", "").strip()
    if mode not in _PG_TLS_MODES:
        raise ValueError(
            f"DAGSTER_PG_HOST={host!r} is not on this machine and PGSSLMODE={mode or '(unset)'!r} does not "
            f"require TLS: set PGSSLMODE to one of {', '.join(_PG_TLS_MODES)} (verify-full recommended)"
        )


def _is_local_host(host: str) -> bool:
    return is_local_host(host, unix_socket_dir=True)  # a Unix socket directory is local too


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{name}={raw!r} must be at least 1")
    return value
