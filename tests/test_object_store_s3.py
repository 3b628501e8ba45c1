"""The two object stores keep one contract; the S3 one, against a moto server over HTTP with a
versioned bucket, encrypts every write and deletes every version."""

from __future__ import annotations

import pytest

from resources.object_store import LocalObjectStore, ObjectStore
from resources.s3_store import EncryptionNotConfirmed, S3ObjectStore
from resources.s3_target import check_s3_target
from tests.s3_fixtures import REGION, TEST_CREDENTIALS, bucket, make_bucket, moto_endpoint, s3_client  # noqa: F401


def _s3_store(endpoint: str, bucket_name: str, **kwargs) -> S3ObjectStore:
    credentials = {
        "aws_access_key_id": TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }
    return S3ObjectStore(bucket_name, check_s3_target(REGION, endpoint), credentials=credentials, **kwargs)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, moto_endpoint) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    return _s3_store(moto_endpoint, make_bucket(moto_endpoint), page_size=2)  # tiny pages: pagination is exercised


def test_same_contract_on_both_stores(store, tmp_path):
    store.put_bytes("exports/acme/up-20261126t101547-b393bb9f/contacts.csv", b"a,b\n1,2\n")
    store.put_bytes("exports/acme/up-20261126t101547-b393bb9f/golden.csv", b"g")
    store.put_bytes("exports/acme2/up-20261126t101547-b393bb9f/contacts.csv", b"other")
    source = tmp_path / "in.bin"
    source.write_bytes(b"x" * 1000)
    store.put_file("uploads/acme/file.csv", source)

    assert store.get_bytes("exports/acme/up-20261126t101547-b393bb9f/contacts.csv") == b"a,b\n1,2\n"
    assert store.exists("uploads/acme/file.csv") and not store.exists("uploads/acme/nope.csv")
    with pytest.raises(KeyError):
        store.get_bytes("uploads/acme/nope.csv")
    assert store.head("uploads/acme/nope.csv") is None
    head = store.head("uploads/acme/file.csv")
    assert head is not None and head.size == 1000 and head.etag

    keys = [o.key for o in store.list("exports/acme")]
    assert keys == sorted(keys) and len(keys) == 3  # prefix semantics, like S3: acme2 too
    assert [o.key for o in store.list("exports/acme/")] == [
        "exports/acme/up-20261126t101547-b393bb9f/contacts.csv",
        "exports/acme/up-20261126t101547-b393bb9f/golden.csv",
    ]
    folders, direct = store.list_children("exports/")
    assert folders == ["exports/acme/", "exports/acme2/"] and direct == []
    assert len(store.list_many(["exports/acme/", "uploads/"])) == 3

    out = tmp_path / "out" / "file.csv"
    store.download("uploads/acme/file.csv", out)
    assert out.read_bytes() == source.read_bytes()

    # A rewrite changes the ETag (the upload sensor relies on it).
    before = store.head("exports/acme/up-20261126t101547-b393bb9f/golden.csv").etag
    store.put_bytes("exports/acme/up-20261126t101547-b393bb9f/golden.csv", b"g2")
    assert store.head("exports/acme/up-20261126t101547-b393bb9f/golden.csv").etag != before

    assert store.delete_prefix("exports/acme/") == 2
    assert store.list("exports/acme/") == [] and len(store.list("exports/")) == 1
    assert store.list_versions("exports/acme/") == []
    assert store.delete_where("exports/", lambda key: "/acme2/" in key) == 1 and store.list("exports/") == []
    with pytest.raises(ValueError):
        store.delete_prefix("")  # never the whole store
    with pytest.raises(ValueError):
        store.delete_prefix("exports/acme")  # nor a partial name (would also hit acme2)
    with pytest.raises(ValueError):
        store.put_bytes("../escape", b"")


def test_every_object_written_is_encrypted_and_keeps_versions(moto_endpoint, bucket):
    store = _s3_store(moto_endpoint, bucket)
    raw = s3_client(moto_endpoint)
    store.put_bytes("manifests/up-20261126t101547-b393bb9f.json", b"{}")
    store.put_bytes("manifests/up-20261126t101547-b393bb9f.json", b"{\"v\": 2}")
    assert raw.head_object(Bucket=bucket, Key="manifests/up-20261126t101547-b393bb9f.json")["ServerSideEncryption"] == "AES256"
    versions = store.list_versions("manifests/")
    assert len(versions) == 2 and sum(v.is_latest for v in versions) == 1
    head = store.head("manifests/up-20261126t101547-b393bb9f.json")
    assert head.version_id and store.get_bytes(head.key, version_id=head.version_id) == b"{\"v\": 2}"
    older = next(v for v in versions if not v.is_latest)
    assert store.get_bytes(head.key, version_id=older.version_id) == b"{}"


def test_deleting_personal_data_removes_every_version(moto_endpoint, bucket):
    """In a versioned bucket a plain DELETE only hides the data behind a delete marker."""
    store = _s3_store(moto_endpoint, bucket, page_size=3)
    raw = s3_client(moto_endpoint)
    for i in range(4):
        for n in range(3):
            store.put_bytes(f"work/acme/up-20261126t101547-b393bb9f/stage{i}.parquet", f"v{n}".encode())
    raw.delete_object(Bucket=bucket, Key="work/acme/up-20261126t101547-b393bb9f/stage0.parquet")  # a delete marker
    store.put_bytes("work/globex/up-20261126t101547-c0ffee00/stage0.parquet", b"kept")
    assert len(store.list_versions("work/acme/")) == 13

    assert store.delete_prefix("work/acme/") == 4
    listing = raw.list_object_versions(Bucket=bucket, Prefix="work/acme/")
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")
    assert store.get_bytes("work/globex/up-20261126t101547-c0ffee00/stage0.parquet") == b"kept"

    store.put_bytes("exports/acme/x/summary.json", b"1")
    store.put_bytes("exports/acme/x/summary.json", b"2")
    assert store.delete("exports/acme/x/summary.json") == 2
    assert not raw.list_object_versions(Bucket=bucket, Prefix="exports/acme/").get("Versions")


def test_a_write_the_store_does_not_confirm_encrypted_is_removed_and_refused(moto_endpoint, bucket):
    store = _s3_store(moto_endpoint, bucket)

    def drop_sse(parsed, **_):  # a provider that ignores the encryption header
        parsed.pop("ServerSideEncryption", None)

    store.client.meta.events.register("after-call.s3.PutObject", drop_sse)
    with pytest.raises(EncryptionNotConfirmed, match="did not confirm server-side encryption"):
        store.put_bytes("exports/acme/x/contacts.csv", b"personal")
    assert store.list_versions("exports/acme/") == []
