"""The master's commit and lock (resources/master_store.py), on the embedded SQLite records database
and on PostgreSQL: a version becomes current in one transaction or not at all, a stale writer or
one whose lease lapsed publishes nothing, writers of one controller take turns, and concurrent
writers never lose or double a record."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from pipelines.master import parquet_bytes
from resources import master_store
from resources.instruction_log import RecordsDB
from resources.object_store import LocalObjectStore
from tests.s3_fixtures import pg_database  # noqa: F401


@pytest.fixture(params=["sqlite", "postgres"])
def db_factory(request, tmp_path, monkeypatch):
    """Opens the records database the way every part of the refinery does: from the environment."""
    if request.param == "postgres":
        database = request.getfixturevalue("pg_database")
        monkeypatch.setenv("REFINERY_INSTRUCTIONS_DSN", f"host=127.0.0.1 port=5432 user=postgres dbname={database}")
    else:
        monkeypatch.delenv("REFINERY_INSTRUCTIONS_DSN", raising=False)
        monkeypatch.setenv("REFINERY_GDPR_DIR", str(tmp_path / "gdpr"))
    return RecordsDB.from_env


@pytest.fixture()
def store(tmp_path):
    return LocalObjectStore(tmp_path / "store")


def records(*keys: str) -> pa.Table:
    return pa.table({"record_key": list(keys), "upload_id": [k.split(":")[0] for k in keys],
                     "person_id": [f"P{i:07d}" for i in range(1, len(keys) + 1)]})


def commit_as(store, db, holder: str, read_version: int, table: pa.Table, by: str | None = None, **kw) -> int:
    return master_store.commit(store, db, "acme", holder=holder, read_version=read_version,
                               next_person=table.num_rows + 1, last_upload="up-1", committed_by=by or f"{holder} on {read_version}",
                               records=table, **kw)


def test_a_commit_makes_a_version_current_and_carries_over_what_it_does_not_rewrite(store, db_factory):
    with db_factory() as db:
        assert master_store.load_master(store, "acme", db=db).state["version"] == 0
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        assert commit_as(store, db, "run-a", 0, records("u1:1", "u1:2"), model={"m": 1}) == 1
        assert commit_as(store, db, "run-a", 1, records("u1:1", "u1:2", "u2:1")) == 2
        master = master_store.load_master(store, "acme", db=db)
    assert master.state["version"] == 2 and master.size == 3 and master.next_person == 4
    assert master.model == {"m": 1}  # carried over from version 1, not rewritten
    # Version 1's records are gone (superseded); its model is still version 2's.
    keys = [o.key for o in store.list("controllers/acme/master/")]
    assert sum(k.endswith("records.parquet") for k in keys) == 1 and sum(k.endswith("model.json") for k in keys) == 1


def test_a_stale_writer_publishes_nothing_and_leaves_no_file(store, db_factory):
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        commit_as(store, db, "run-a", 0, records("u1:1"))
        before = sorted(o.key for o in store.list("controllers/"))
        with pytest.raises(master_store.MasterChangedError, match=r"changed during this run \(version 0 -> 1\).*nothing was published"):
            commit_as(store, db, "run-a", 0, records("u2:1"), by="upload u2")
        assert sorted(o.key for o in store.list("controllers/")) == before
        assert master_store.load_master(store, "acme", db=db).records.column("record_key").to_pylist() == ["u1:1"]


def test_a_commit_re_executed_after_it_succeeded_is_recognised_not_refused(store, db_factory):
    """A stage re-run after a crash that followed its commit (run retry, re-execute from failure)
    reads the version it read the first time: its own commit is recognised by what made it."""
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        assert commit_as(store, db, "run-a", 0, records("u1:1"), by="upload u1", upload_id="u1") == 1
        before = sorted(o.key for o in store.list("controllers/"))
        assert commit_as(store, db, "run-a", 0, records("u1:1"), by="upload u1", upload_id="u1") == 1
        assert sorted(o.key for o in store.list("controllers/")) == before  # nothing written again
        assert master_store.committed_version(db, store, "acme", "u1") == 1
        # Another commit on the same version is still refused.
        with pytest.raises(master_store.MasterChangedError):
            commit_as(store, db, "run-a", 0, records("u2:1"), by="upload u2", upload_id="u2")
        assert master_store.committed_version(db, store, "acme", "u2") is None


def test_a_rewrite_in_place_bumps_the_version_so_an_earlier_read_cannot_commit(store, db_factory):
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        commit_as(store, db, "run-a", 0, records("u1:1", "u1:2"))
        master_store.release(db, store, "acme", "run-a")
        master_store.acquire(db, store, "acme", "erase", "an erasure request")
        assert master_store.bump_version(store, db, "acme", holder="erase", committed_by="an erasure request") == 2
        master_store.release(db, store, "acme", "erase")
        master_store.acquire(db, store, "acme", "run-b", "upload b")
        with pytest.raises(master_store.MasterChangedError):  # it read version 1, before the erasure
            commit_as(store, db, "run-b", 1, records("u1:1", "u1:2", "u2:1"), by="upload u2")
        assert master_store.load_master(store, "acme", db=db).size == 2


def test_a_writer_whose_lease_lapsed_and_was_taken_publishes_nothing(store, db_factory):
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a", ttl_s=0.2)
        time.sleep(0.3)
        master_store.acquire(db, store, "acme", "run-b", "upload b", wait_s=0)  # a's lease lapsed: b takes it
        with pytest.raises(master_store.MasterChangedError, match="lapsed and upload b took it"):
            commit_as(store, db, "run-a", 0, records("u1:1"))
        assert master_store.read_head(store, db, "acme").version == 0
        assert not store.list("controllers/acme/master/")


def test_a_second_writer_waits_then_fails_with_one_line_naming_the_holder(store, db_factory):
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload up-20261208t000000-0000000a")
        told = []
        started = time.monotonic()
        with pytest.raises(master_store.MasterBusyError) as info:
            master_store.acquire(db, store, "acme", "run-b", "upload b", wait_s=0.5, on_wait=told.append)
        assert 0.5 <= time.monotonic() - started < 5
        message = str(info.value)
        assert "\n" not in message and "upload up-20261208t000000-0000000a" in message
        assert "REFINERY_MASTER_LOCK_WAIT_SECONDS" in message and told[0].holder == "run-a"
        master_store.acquire(db, store, "other", "run-b", "upload b", wait_s=0)  # another controller is not held up
        master_store.release(db, store, "acme", "run-a")
        master_store.acquire(db, store, "acme", "run-b", "upload b", wait_s=0)


def test_a_lease_whose_owning_process_is_gone_is_taken_at_once(store, db_factory):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a", ttl_s=3600, owner=f"{master_store.socket.gethostname()}:{dead.pid}")
        master_store.acquire(db, store, "acme", "run-b", "upload b", wait_s=0)  # no hour-long wait: its owner was killed
        assert master_store.lock_holder(db, store, "acme").holder == "run-b"
        # An owner alive, or on another machine, keeps its lease until it lapses.
        master_store.acquire(db, store, "other", "run-a", "upload a", ttl_s=3600, owner=master_store.this_owner())
        master_store.acquire(db, store, "third", "run-a", "upload a", ttl_s=3600, owner=f"elsewhere:{dead.pid}")
        for controller in ("other", "third"):
            with pytest.raises(master_store.MasterBusyError):
                master_store.acquire(db, store, controller, "run-b", "upload b", wait_s=0)


def test_held_renews_the_lease_while_work_goes_on_and_releases_it_on_error(store, db_factory, monkeypatch):
    monkeypatch.setenv("REFINERY_MASTER_LOCK_TTL_SECONDS", "5")
    with db_factory() as db:
        with master_store.held(store, "acme", "run-a", "upload a"):
            first = master_store.lock_holder(db, store, "acme").expires_at
            time.sleep(1.5)  # a beat every second at this TTL
            assert master_store.lock_holder(db, store, "acme").expires_at > first
        assert master_store.lock_holder(db, store, "acme").holder == "run-a"  # kept for the run's next stage
        with pytest.raises(ZeroDivisionError):
            with master_store.held(store, "acme", "run-a", "upload a", take=False):
                1 / 0
        assert master_store.lock_holder(db, store, "acme") is None


def test_concurrent_writers_take_turns_and_no_record_is_lost_or_doubled(store, db_factory):
    """Eight writers of one controller at once, each adding its records to what it read."""
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            with master_store.locked(store, "acme", f"writer {i}") as holder, db_factory() as db:
                master = master_store.load_master(store, "acme", db=db)
                mine = [f"u{i}:{r}" for r in range(1, 6)]
                before = master.records.column("record_key").to_pylist() if master.records is not None else []
                time.sleep(0.05)  # widen the window between read and commit
                master_store.commit(store, db, "acme", holder=holder, read_version=master.state["version"],
                                    next_person=master.next_person + 5, last_upload=f"u{i}", committed_by=f"writer {i}",
                                    records=records(*before, *mine))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with db_factory() as db:
        master = master_store.load_master(store, "acme", db=db)
    keys = master.records.column("record_key").to_pylist()
    assert master.state["version"] == 8 and len(keys) == len(set(keys)) == 40 and master.next_person == 41
    assert len([o for o in store.list("controllers/acme/master/v/") if o.key.endswith("records.parquet")]) == 1


def test_the_layout_before_versions_is_read_then_replaced_by_the_first_commit(store, db_factory):
    prefix = "controllers/acme/master/"
    store.put_bytes(prefix + "records.parquet", parquet_bytes(records("u1:1", "u1:2")))
    store.put_bytes(prefix + "state.json", b'{"next_person": 3, "version": 4, "last_upload": "u1"}')
    store.put_bytes(prefix + "model.json", b'{"m": 2}')
    with db_factory() as db:
        master = master_store.load_master(store, "acme", db=db)
        assert master.state["version"] == 4 and master.size == 2 and master.next_person == 3
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        commit_as(store, db, "run-a", 4, records("u1:1", "u1:2", "u2:1"))
        master = master_store.load_master(store, "acme", db=db)
    assert master.state["version"] == 5 and master.size == 3 and master.model == {"m": 2}
    assert not any(store.exists(prefix + name) for name in master_store.LEGACY_FILES)


def test_versions_the_records_database_does_not_know_are_refused_not_overwritten(store, db_factory, tmp_path, monkeypatch):
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        commit_as(store, db, "run-a", 0, records("u1:1"))
    monkeypatch.delenv("REFINERY_INSTRUCTIONS_DSN", raising=False)
    monkeypatch.setenv("REFINERY_GDPR_DIR", str(tmp_path / "another-gdpr"))
    with pytest.raises(master_store.MasterIntegrityError, match="none in the records database"):
        master_store.load_master(store, "acme")


def test_two_stores_served_by_one_records_database_keep_their_own_masters(store, db_factory, tmp_path):
    """Two local stores side by side find the same records database (REFINERY_GDPR_DIR defaults to
    their parent's gdpr/): each store's controller has its own head and lock."""
    other = LocalObjectStore(tmp_path / "other-store")
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        commit_as(store, db, "run-a", 0, records("u1:1"))
        assert master_store.load_master(other, "acme", db=db).state["version"] == 0  # not the other store's head
        master_store.acquire(db, other, "acme", "run-b", "upload b", wait_s=0)  # nor its lock
        master_store.commit(other, db, "acme", holder="run-b", read_version=0, next_person=3, last_upload="u2",
                            committed_by="upload u2", records=records("u2:1", "u2:2"))
        assert master_store.load_master(store, "acme", db=db).size == 1
        assert master_store.load_master(other, "acme", db=db).size == 2


def test_the_nightly_sweep_removes_files_no_version_names_once_a_day_old(store, db_factory):
    with db_factory() as db:
        master_store.acquire(db, store, "acme", "run-a", "upload a")
        commit_as(store, db, "run-a", 0, records("u1:1"))
        orphan = "controllers/acme/master/v/00000002-deadbeef/records.parquet"  # a commit killed before its transaction
        store.put_bytes(orphan, parquet_bytes(records("u9:1")))
        assert master_store.sweep_orphans(store, db, "acme", older_than_s=3600) == 0  # may be a commit under way
        assert master_store.sweep_orphans(store, db, "acme", older_than_s=-1) == 1
        assert not store.exists(orphan)
        assert master_store.load_master(store, "acme", db=db).size == 1
