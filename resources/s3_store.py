"""The S3 object store (boto3): EU locations only, TLS, server-side encryption on every write,
deletion of every version of an object in versioned buckets, and bounded retries.

Retries, in two layers. botocore retries each request (throttling, 5xx, dropped connections) with
its own backoff: REFINERY_S3_RETRY_MODE (`standard`, or `adaptive` to also slow the client down
when throttled), REFINERY_S3_MAX_ATTEMPTS, REFINERY_S3_CONNECT_TIMEOUT / _READ_TIMEOUT. Around each
operation, resources/retry.py retries what botocore does not: a body cut off mid-read, a write
whose encryption check failed to arrive, botocore's own budget running out on a short outage.
When both give up, the operation fails with an S3StoreError naming the operation, the kind of
object (never its key: an upload's key is the client's file name) and what the operator can do.

Works with AWS S3 and S3-compatible EU providers (Scaleway, OVHcloud); tests speak to a moto
server on loopback over real HTTP.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import datetime as dt

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.utils import parse_timestamp

from resources.object_store import ObjectStore, ObjectVersion, StoredObject, check_delete_prefix, check_key
from pipelines.env_settings import env_number
from resources.retry import GaveUp, RetryPolicy, call_with_retry, key_kind
from resources.s3_target import SSE_MODES, S3Target, check_bucket

# S3 accepts at most 1,000 keys per DeleteObjects call and returns at most 1,000 per listing page.
_BATCH = 1000
# put_object reads a file in one request below this size; above, boto3's managed multipart upload.
_SINGLE_PUT_MAX = 64 * 1024 * 1024
_T = TypeVar("_T")


class EncryptionNotConfirmed(RuntimeError):
    """The store accepted a write without confirming server-side encryption."""


class S3StoreError(RuntimeError):
    """An S3 operation failed for good; the message is one line an operator can act on."""


@dataclass(frozen=True)
class S3ClientSettings:
    """botocore's per-request retries and timeouts (environment variables in the module doc)."""

    retry_mode: str = "standard"
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "S3ClientSettings":
        env = dict(os.environ if env is None else env)
        d = cls()
        mode = env.get("REFINERY_S3_RETRY_MODE", "").strip() or d.retry_mode
        if mode not in ("standard", "adaptive"):
            raise ValueError(f"REFINERY_S3_RETRY_MODE={mode!r}: expected 'standard' or 'adaptive'")

        def number(name: str, default: float) -> float:
            return env_number(env, name, default, positive=True)

        return cls(
            retry_mode=mode,
            max_attempts=int(number("REFINERY_S3_MAX_ATTEMPTS", d.max_attempts)),
            connect_timeout=number("REFINERY_S3_CONNECT_TIMEOUT", d.connect_timeout),
            read_timeout=number("REFINERY_S3_READ_TIMEOUT", d.read_timeout),
        )


# Codes S3 and S3-compatible providers use for "slow down" and "try again".
_THROTTLING = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled",
    "TooManyRequestsException", "TooManyRequests", "429",
})
_SERVER = frozenset({"InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeoutException", "BadGateway"})


def _error_code(exc: ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {}) or {}
    status = int((exc.response.get("ResponseMetadata", {}) or {}).get("HTTPStatusCode") or 0)
    return str(error.get("Code") or status or "?"), status


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: throttling, a server error, a connection dropped or timed out, a
    body cut short. Refusals (403, 404, a missing bucket) are not."""
    if isinstance(exc, ClientError):
        code, status = _error_code(exc)
        return status >= 500 or status == 429 or code in _THROTTLING or code in _SERVER
    if isinstance(exc, (BotoConnectionError, HTTPClientError, IncompleteReadError)):
        return True
    # Large files go through s3transfer, which wraps what it met (after its own retries).
    from s3transfer.exceptions import RetriesExceededError, S3DownloadFailedError, S3UploadFailedError

    if isinstance(exc, (RetriesExceededError, S3DownloadFailedError, S3UploadFailedError)):
        return True
    # A body read that urllib3 did not wrap (a reset in the middle of a chunk).
    from urllib3.exceptions import HTTPError as Urllib3Error

    return isinstance(exc, (Urllib3Error, ConnectionResetError, http.client.IncompleteRead))


def _why(exc: BaseException) -> str:
    """What went wrong and what to do, in words that hold no key, URL or value."""
    if isinstance(exc, ClientError):
        code, status = _error_code(exc)
        said = f"{code} (HTTP {status})" if status else code
        if code in _THROTTLING or status == 429 or (code == "ServiceUnavailable" and status == 503):
            return f"{said}: the store is throttling requests; wait, or lower the number of concurrent runs, then re-run the upload"
        if status >= 500 or code in _SERVER:
            return f"{said}: the S3 service keeps failing; check the provider's status, then re-run the upload"
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken") or status == 403:
            return f"{said}: access refused; check the credentials and the bucket policy for this prefix"
        if code == "NoSuchBucket":
            return f"{said}: the bucket does not exist; check REFINERY_BUCKET"
        return f"{said}: the request was refused"
    if isinstance(exc, (BotoConnectionError, HTTPClientError)) and not isinstance(exc, IncompleteReadError):
        return (
            f"{type(exc).__name__}: the S3 endpoint cannot be reached or does not answer; check the network and "
            "REFINERY_S3_ENDPOINT_URL, then re-run the upload"
        )
    return f"{type(exc).__name__}: the transfer was cut off; re-run the upload"


def _fast_timestamp(value: str) -> dt.datetime:
    # botocore parses every LastModified with dateutil: about half of the client's time when
    # listing 10,000 objects. Listings carry ISO 8601 ('2026-11-26T10:31:11.000Z'), which the
    # standard library reads in C; anything else (HTTP dates in headers) goes to botocore's parser.
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return parse_timestamp(value)


def _etag(raw: str | None) -> str:
    return (raw or "").strip('"')


def _not_found(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        bucket: str,
        target: S3Target,
        *,
        sse: str = "AES256",
        kms_key_id: str | None = None,
        credentials: dict[str, str] | None = None,
        page_size: int = _BATCH,
        list_workers: int = 8,
        client_settings: S3ClientSettings | None = None,
        retry: RetryPolicy | None = None,
    ):
        """`target` comes from s3_target.check_s3_target (the EU/TLS check); `credentials` are
        aws_access_key_id / aws_secret_access_key / aws_session_token, else boto3's default chain
        (instance profile, IRSA, environment). Retries and timeouts default to the environment's."""
        self.bucket = check_bucket(bucket)
        self.target = target
        if sse not in SSE_MODES:
            raise ValueError(f"REFINERY_S3_SSE={sse!r}: expected one of {', '.join(SSE_MODES)}")
        self.sse = sse
        self.kms_key_id = kms_key_id or None
        self.page_size = page_size
        self.list_workers = list_workers
        custom_endpoint = target.endpoint_url is not None
        client_settings = client_settings or S3ClientSettings.from_env()
        self.retry = retry or RetryPolicy.from_env()
        config = Config(
            region_name=target.region,
            signature_version="s3v4",
            # total_max_attempts counts the first request too (botocore's max_attempts would not).
            retries={"total_max_attempts": client_settings.max_attempts, "mode": client_settings.retry_mode},
            connect_timeout=client_settings.connect_timeout,
            read_timeout=client_settings.read_timeout,
            max_pool_connections=max(10, list_workers * 2),
            # Path-style for S3-compatible endpoints and loopback emulators (no per-bucket DNS).
            s3={"addressing_style": "path" if custom_endpoint else "virtual"},
            # boto3 >= 1.36 adds CRC checksums to every upload; some S3-compatible providers reject
            # them, so only send them when an operation requires one outside AWS.
            request_checksum_calculation="when_required" if custom_endpoint else "when_supported",
            response_checksum_validation="when_required" if custom_endpoint else "when_supported",
        )
        core = botocore.session.get_session()
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_fast_timestamp)
        session = boto3.session.Session(botocore_session=core, **{k: v for k, v in (credentials or {}).items() if v})
        self.client = session.client("s3", endpoint_url=target.endpoint_url, config=config)

    # -- description ---------------------------------------------------------------------------
    def describe(self) -> str:
        return f"s3://{self.bucket} on {self.target.where}"

    def identity(self) -> str:
        return f"s3://{self.bucket}"

    # -- retries -------------------------------------------------------------------------------
    def _call(self, operation: str, key: str, fn: Callable[[], _T]) -> _T:
        """fn() with bounded retries; a persistent or refused failure becomes one S3StoreError line.
        KeyError (absent) and EncryptionNotConfirmed pass through unchanged."""
        try:
            return call_with_retry(fn, transient=is_transient, policy=self.retry)
        except GaveUp as gave_up:
            raise S3StoreError(
                f"S3 {operation} of {key_kind(key)} failed after {gave_up.attempts} attempt(s) in "
                f"{gave_up.seconds:.0f} s on {self.describe()}: {_why(gave_up.last)}"
            ) from None
        except (ClientError, BotoCoreError) as exc:
            raise S3StoreError(f"S3 {operation} of {key_kind(key)} on {self.describe()}: {_why(exc)}") from None

    # -- writes --------------------------------------------------------------------------------
    def _sse_args(self) -> dict[str, str]:
        args = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args

    def _confirm_encrypted(self, key: str, confirmed: str | None) -> None:
        # Fail closed: a store that silently ignores the encryption header would otherwise hold
        # personal data in clear. The object is removed (every version) before raising.
        if confirmed != self.sse:
            self.delete(key)
            raise EncryptionNotConfirmed(
                f"{self.describe()} did not confirm server-side encryption ({self.sse}) for an object the "
                "pipeline wrote; it was deleted. Enable SSE on the bucket/provider or choose REFINERY_S3_SSE."
            )

    def put_bytes(self, key: str, data: bytes) -> None:
        check_key(key)

        def put() -> str | None:
            return self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **self._sse_args()).get(
                "ServerSideEncryption"
            )

        self._confirm_encrypted(key, self._call("put", key, put))

    def put_file(self, key: str, path: Path) -> None:
        check_key(key)
        path = Path(path)
        if path.stat().st_size <= _SINGLE_PUT_MAX:

            def put() -> str | None:
                # Reopened on every attempt: a retried request must send the file from its start.
                with path.open("rb") as fh:
                    response = self.client.put_object(Bucket=self.bucket, Key=key, Body=fh, **self._sse_args())
                return response.get("ServerSideEncryption")

            self._confirm_encrypted(key, self._call("put", key, put))
            return

        def upload() -> str | None:
            # Two steps (multipart upload, then the encryption check): retried together.
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=self._sse_args())
            return self.client.head_object(Bucket=self.bucket, Key=key).get("ServerSideEncryption")

        self._confirm_encrypted(key, self._call("put", key, upload))

    # -- reads ---------------------------------------------------------------------------------
    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        extra = {"VersionId": version_id} if version_id else {}
        check_key(key)

        def get() -> bytes:
            # The request and the body read are one attempt: botocore retries the request only,
            # a connection cut while the body streams in must start again from the request.
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
            except ClientError as exc:
                if _not_found(exc):
                    raise KeyError(key) from None
                raise
            with response["Body"] as body:
                return body.read()

        return self._call("get", key, get)

    def download(self, key: str, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        check_key(key)

        def download() -> None:
            try:
                self.client.download_file(self.bucket, key, str(path))
            except ClientError as exc:
                if _not_found(exc):
                    raise KeyError(key) from None
                raise

        self._call("download", key, download)

    def head(self, key: str) -> StoredObject | None:
        check_key(key)

        def head() -> dict | None:
            try:
                return self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _not_found(exc):
                    return None
                raise

        r = self._call("head", key, head)
        if r is None:
            return None
        version = r.get("VersionId")
        return StoredObject(
            key,
            int(r.get("ContentLength", 0)),
            _etag(r.get("ETag")),
            r["LastModified"].timestamp(),
            None if version in (None, "null") else version,
        )

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def _pages(self, operation: str, **kwargs: Any) -> Iterator[dict]:
        paginator = self.client.get_paginator(operation)
        yield from paginator.paginate(Bucket=self.bucket, PaginationConfig={"PageSize": self.page_size}, **kwargs)

    def list(self, prefix: str) -> list[StoredObject]:
        return self._call("listing", prefix, lambda: self._list(prefix))

    def _list(self, prefix: str) -> list[StoredObject]:
        out = []
        for page in self._pages("list_objects_v2", Prefix=prefix):
            for item in page.get("Contents", ()):
                out.append(
                    StoredObject(item["Key"], int(item["Size"]), _etag(item.get("ETag")), item["LastModified"].timestamp())
                )
        return out

    def list_children(self, prefix: str) -> tuple[list[str], list[StoredObject]]:
        if prefix and not prefix.endswith("/"):
            raise ValueError("list_children needs a prefix ending with '/'")
        return self._call("listing", prefix, lambda: self._list_children(prefix))

    def _list_children(self, prefix: str) -> tuple[list[str], list[StoredObject]]:
        folders, objects = [], []
        for page in self._pages("list_objects_v2", Prefix=prefix, Delimiter="/"):
            folders.extend(p["Prefix"] for p in page.get("CommonPrefixes", ()))
            for item in page.get("Contents", ()):
                objects.append(
                    StoredObject(item["Key"], int(item["Size"]), _etag(item.get("ETag")), item["LastModified"].timestamp())
                )
        return folders, objects

    def list_many(self, prefixes: Iterable[str]) -> list[StoredObject]:
        # Each listing page is a round trip: listing controllers' prefixes side by side hides the
        # latency when a bucket holds thousands of uploads.
        prefixes = list(prefixes)
        if len(prefixes) <= 1 or self.list_workers <= 1:
            return super().list_many(prefixes)
        with ThreadPoolExecutor(max_workers=min(self.list_workers, len(prefixes))) as pool:
            return [obj for listing in pool.map(self.list, prefixes) for obj in listing]

    def list_versions(self, prefix: str) -> list[ObjectVersion]:
        return self._call("version listing", prefix, lambda: self._list_versions(prefix))

    def _list_versions(self, prefix: str) -> list[ObjectVersion]:
        out = []
        for page in self._pages("list_object_versions", Prefix=prefix):
            for item in page.get("Versions", ()):
                out.append(
                    ObjectVersion(
                        item["Key"], item.get("VersionId"), bool(item.get("IsLatest")), False,
                        int(item.get("Size", 0)), item["LastModified"].timestamp(),
                    )
                )
            for item in page.get("DeleteMarkers", ()):
                out.append(
                    ObjectVersion(
                        item["Key"], item.get("VersionId"), bool(item.get("IsLatest")), True, 0,
                        item["LastModified"].timestamp(),
                    )
                )
        return out

    def local_path(self, key: str) -> Path | None:
        return None  # readers go through get_bytes

    # -- deletion ------------------------------------------------------------------------------
    def _delete_versions(self, versions: list[ObjectVersion]) -> int:
        # DeleteObjects with a VersionId removes that version for good; without one, a versioned
        # bucket would only add a delete marker and keep the data as a noncurrent version.
        removed = 0
        for start in range(0, len(versions), _BATCH):
            batch = versions[start : start + _BATCH]
            objects = [
                {"Key": v.key, "VersionId": v.version_id} if v.version_id else {"Key": v.key} for v in batch
            ]
            # Deleting versions again is harmless, so a batch is retried whole.
            response = self._call(
                "deletion", batch[0].key,
                lambda: self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}),
            )
            errors = response.get("Errors", [])
            if errors:
                codes = sorted({e.get("Code", "?") for e in errors})
                raise RuntimeError(
                    f"{len(errors)} object version(s) could not be deleted from {self.describe()} ({', '.join(codes)}); "
                    "nothing personal is named here, list the prefix's versions to see which"
                )
            removed += len(batch)
        return removed

    def delete(self, key: str) -> int:
        check_key(key)
        versions = [v for v in self.list_versions(key) if v.key == key]
        return self._delete_versions(versions)

    def delete_prefix(self, prefix: str) -> int:
        versions = self.list_versions(check_delete_prefix(prefix))
        self._delete_versions(versions)
        return len({v.key for v in versions})

    def delete_where(self, prefix: str, select: Callable[[str], bool]) -> int:
        versions = [v for v in self.list_versions(check_delete_prefix(prefix)) if select(v.key)]
        self._delete_versions(versions)
        return len({v.key for v in versions})
