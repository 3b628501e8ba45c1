"""The S3 object store (boto3): EU locations only, TLS, server-side encryption on every write,
and deletion of every version of an object in versioned buckets.

Works with AWS S3 and S3-compatible EU providers (Scaleway, OVHcloud); tests speak to a moto
server on loopback over real HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import datetime as dt

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.utils import parse_timestamp

from resources.object_store import ObjectStore, ObjectVersion, StoredObject, check_delete_prefix, check_key
from resources.s3_target import SSE_MODES, S3Target, check_bucket

# S3 accepts at most 1,000 keys per DeleteObjects call and returns at most 1,000 per listing page.
_BATCH = 1000
# put_object reads a file in one request below this size; above, boto3's managed multipart upload.
_SINGLE_PUT_MAX = 64 * 1024 * 1024


class EncryptionNotConfirmed(RuntimeError):
    """The store accepted a write without confirming server-side encryption."""


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
    ):
        """`target` comes from s3_target.check_s3_target (the EU/TLS check); `credentials` are
        aws_access_key_id / aws_secret_access_key / aws_session_token, else boto3's default chain
        (instance profile, IRSA, environment)."""
        self.bucket = check_bucket(bucket)
        self.target = target
        if sse not in SSE_MODES:
            raise ValueError(f"REFINERY_S3_SSE={sse!r}: expected one of {', '.join(SSE_MODES)}")
        self.sse = sse
        self.kms_key_id = kms_key_id or None
        self.page_size = page_size
        self.list_workers = list_workers
        custom_endpoint = target.endpoint_url is not None
        config = Config(
            region_name=target.region,
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
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
        response = self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, **self._sse_args())
        self._confirm_encrypted(key, response.get("ServerSideEncryption"))

    def put_file(self, key: str, path: Path) -> None:
        check_key(key)
        path = Path(path)
        if path.stat().st_size <= _SINGLE_PUT_MAX:
            with path.open("rb") as fh:
                response = self.client.put_object(Bucket=self.bucket, Key=key, Body=fh, **self._sse_args())
            self._confirm_encrypted(key, response.get("ServerSideEncryption"))
            return
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=self._sse_args())
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        self._confirm_encrypted(key, head.get("ServerSideEncryption"))

    # -- reads ---------------------------------------------------------------------------------
    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        extra = {"VersionId": version_id} if version_id else {}
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key), **extra)
        except ClientError as exc:
            if _not_found(exc):
                raise KeyError(key) from None
            raise
        with response["Body"] as body:
            return body.read()

    def download(self, key: str, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, check_key(key), str(path))
        except ClientError as exc:
            if _not_found(exc):
                raise KeyError(key) from None
            raise

    def head(self, key: str) -> StoredObject | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise
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
            response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
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
