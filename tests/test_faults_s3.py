"""S3 faults injected between boto3 and a real S3 API (moto over HTTP, behind tests/fault_proxy.py):
throttling, server errors, dropped connections and cut-off bodies are retried and the export is
the clean run's; a fault that persists fails the run with one actionable line and publishes no
summary.json, so the client never sees a partial export as complete."""

from __future__ import annotations

import time

import pytest

from dagster_project.cli import main
from resources.layout import EXPORTS_PREFIX
from resources.retry import RetryPolicy
from resources.s3_store import S3ClientSettings, S3ObjectStore, S3StoreError
from resources.s3_target import check_s3_target
from tests.fault_proxy import FaultProxy
from tests.faults_fixtures import ROWS, assert_same_export, clean_export, export_files, fault_input  # noqa: F401
from tests.s3_fixtures import REGION, bucket, free_port, moto_endpoint, s3_client, s3_env  # noqa: F401

FAST = RetryPolicy(attempts=3, base_seconds=0.05, max_seconds=0.2, deadline_seconds=10)
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture()
def proxy(moto_endpoint):
    with FaultProxy(moto_endpoint) as p:
        yield p


def store_at(endpoint: str, bucket_name: str, attempts: int = 3) -> S3ObjectStore:
    return S3ObjectStore(
        bucket_name, check_s3_target(REGION, endpoint, ()), credentials=CREDENTIALS,
        client_settings=S3ClientSettings(max_attempts=attempts, connect_timeout=2, read_timeout=5), retry=FAST,
    )


def test_transient_faults_are_retried_until_the_operation_succeeds(proxy, bucket):
    store = store_at(proxy.url, bucket)
    proxy.inject("503", method="PUT", times=2)
    proxy.inject("reset", method="PUT", times=1)
    store.put_bytes("work/acme/up-1/raw_upload.parquet", b"x" * 10_000)
    proxy.inject("500", method="GET", times=1)
    # A body cut half-way is not retried by botocore (the response had begun): our layer is.
    proxy.inject("truncate", method="GET", times=2)
    assert store.get_bytes("work/acme/up-1/raw_upload.parquet") == b"x" * 10_000
    proxy.inject("503", method="GET", path=r"list-type=2", times=1)
    assert [o.key for o in store.list("work/acme/")] == ["work/acme/up-1/raw_upload.parquet"]
    assert proxy.injected == 7


def test_persistent_throttling_ends_in_one_clear_line_quickly(proxy, bucket):
    store = store_at(proxy.url, bucket, attempts=2)
    proxy.inject("503", method="PUT", times=None)
    started = time.monotonic()
    with pytest.raises(S3StoreError) as info:
        store.put_bytes("exports/acme/up-1/contacts.csv", b"row\n")
    message = str(info.value)
    assert time.monotonic() - started < 10
    assert message.startswith("S3 put of an export file (contacts.csv) failed after 3 attempt(s)")
    assert "SlowDown (HTTP 503)" in message and "re-run the upload" in message
    assert "\n" not in message and "acme" not in message  # the kind of object, never its key
    assert len(proxy.requests("PUT")) == 6  # 3 of ours x 2 of botocore's, then it stops


def test_an_upload_key_never_appears_in_errors(proxy, bucket):
    store = store_at(proxy.url, bucket, attempts=1)
    proxy.inject("reset", method="GET", times=None)
    with pytest.raises(S3StoreError) as info:
        store.get_bytes("uploads/acme/Prospects Zéphyrine Canarywood.csv")
    assert "an uploaded file" in str(info.value)
    assert "Canarywood" not in str(info.value) and "Prospects" not in str(info.value)


def test_an_unreachable_endpoint_fails_with_a_message_not_a_hang(bucket):
    store = store_at(f"http://127.0.0.1:{free_port()}", bucket, attempts=2)
    started = time.monotonic()
    with pytest.raises(S3StoreError, match=r"S3 head of an upload manifest .* cannot be reached .* REFINERY_S3_ENDPOINT_URL"):
        store.head("manifests/up-1.json")
    assert time.monotonic() - started < 15


def test_a_silent_store_times_out_instead_of_hanging(proxy, bucket):
    store = S3ObjectStore(
        bucket, check_s3_target(REGION, proxy.url, ()), credentials=CREDENTIALS,
        client_settings=S3ClientSettings(max_attempts=2, connect_timeout=1, read_timeout=0.5), retry=FAST,
    )
    store.put_bytes("manifests/up-1.json", b"{}")
    proxy.inject("delay", method="GET", times=None, delay=3)
    started = time.monotonic()
    with pytest.raises(S3StoreError, match=r"S3 get of an upload manifest failed after 3 attempt\(s\) .*ReadTimeoutError: the S3 endpoint cannot be reached or does not answer"):
        store.get_bytes("manifests/up-1.json")
    assert time.monotonic() - started < 8  # 3 x 2 requests of 0.5 s, plus short pauses


def test_a_refusal_is_not_retried(proxy):
    with pytest.raises(S3StoreError, match=r"S3 put of working data \(raw_upload.parquet\) on s3://nonexistent-bucket-x .*NoSuchBucket"):
        store_at(proxy.url, "nonexistent-bucket-x").put_bytes("work/acme/up-1/raw_upload.parquet", b"x")
    assert len(proxy.requests("PUT")) == 1


# -- whole runs ----------------------------------------------------------------------------------
def _run(monkeypatch, capsys, path, out, endpoint: str, bucket_name: str, controller: str, **env: str):
    """`refinery run` in this process, on the production store (REFINERY_STORAGE=s3)."""
    for name, value in {**s3_env(endpoint, bucket_name), **env}.items():
        monkeypatch.setenv(name, value)
    code = main(["run", str(path), "--controller", controller, "--out", str(out)])
    return code, capsys.readouterr().err


def _exports(bucket_name: str, endpoint: str, controller: str) -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket_name, Prefix=f"{EXPORTS_PREFIX}{controller}/")
    return [o["Key"] for o in listing.get("Contents", [])]


def test_a_run_through_throttling_and_server_errors_gives_the_clean_export(
    proxy, moto_endpoint, bucket, fault_input, clean_export, monkeypatch, capsys, tmp_path
):
    # Faults spread over the run: stage outputs written and read back, manifests, the export.
    proxy.inject("503", method="PUT", path=r"/work/", after=1, times=2)
    proxy.inject("500", method="GET", path=r"/work/", after=2, times=2)
    proxy.inject("reset", method="PUT", path=r"/work/", after=4, times=1)
    proxy.inject("truncate", method="GET", path=r"/work/", after=6, times=1)
    proxy.inject("503", method="GET", path=r"/manifests/", after=3, times=1)
    proxy.inject("reset", method="PUT", path=r"/exports/", after=2, times=1)
    proxy.inject("503", method="PUT", path=r"summary\.json", times=1)
    proxy.inject("delay", method="GET", path=r"/work/", after=8, times=2, delay=0.5)
    out = tmp_path / "out"
    code, err = _run(monkeypatch, capsys, fault_input, out, proxy.url, bucket, "thr")
    assert code == 0, err
    assert f"{ROWS:,} rows in, {ROWS:,} rows out" in err
    assert proxy.injected == 11, [r for r in proxy.rules if r.fired < (r.times or 0)]
    assert_same_export(export_files(out), clean_export)


def test_a_persistent_error_fails_the_run_and_publishes_no_summary(
    proxy, moto_endpoint, bucket, fault_input, monkeypatch, capsys, tmp_path
):
    proxy.inject("503", method="PUT", path=r"/exports/.*/golden\.csv", times=None)
    out = tmp_path / "out"
    code, err = _run(
        monkeypatch, capsys, fault_input, out, proxy.url, bucket, "down",
        REFINERY_S3_MAX_ATTEMPTS="2", REFINERY_RETRY_ATTEMPTS="2", REFINERY_RETRY_BASE_SECONDS="0.05",
    )
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert "S3 put of an export file (golden.csv) failed after 2 attempt(s)" in last, err
    assert "SlowDown (HTTP 503)" in last and "re-run the upload" in last
    # Said as written for the operator: no "internal error", no class path.
    assert "internal error" not in last and "resources.s3_store" not in last
    published = _exports(bucket, moto_endpoint, "down")
    assert published and not any(k.endswith("/summary.json") for k in published)
    assert not out.exists() or not (out / "summary.json").exists()


def test_republishing_over_a_complete_export_never_shows_a_mixed_set(proxy, bucket):
    store = store_at(proxy.url, bucket, attempts=1)
    prefix = "exports/acme/up-1/"
    store.publish(prefix, {"contacts.csv": b"old", "golden.csv": b"old"}, marker=("summary.json", b"{}"))
    proxy.inject("500", method="PUT", path=r"golden\.csv", times=None)
    with pytest.raises(S3StoreError, match=r"golden\.csv"):
        store.publish(prefix, {"contacts.csv": b"new", "golden.csv": b"new"}, marker=("summary.json", b"{}"))
    assert store.get_bytes(prefix + "contacts.csv") == b"new"
    assert not store.exists(prefix + "summary.json")  # so the client does not take old+new as complete
    proxy.clear()
    store.publish(prefix, {"contacts.csv": b"new", "golden.csv": b"new"}, marker=("summary.json", b"{}"))
    assert store.exists(prefix + "summary.json") and store.get_bytes(prefix + "golden.csv") == b"new"
