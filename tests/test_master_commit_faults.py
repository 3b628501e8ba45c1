"""The commit of a controller's master and its export under faults, on real parts (issue 15): a
`refinery run` process group killed with SIGKILL after each write of the commit path, a persistent
S3 error on each write (moto behind the fault proxy), and several runs of one controller at once.
After each, and after the re-run an operator would do, the checks are the same: every person id
names one person, the master holds each record sent once, the export agrees with the master, and
nothing is half-published (a folder with a summary.json holds a complete export)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from dagster_project.cli import EXPORT_FILES, main
from tests.fault_proxy import FaultProxy
from tests.faults_fixtures import ROWS, assert_same_export, clean_export, export_files, fault_input  # noqa: F401
from tests.master_fixtures import committed_master, records_db_of
from tests.s3_fixtures import REPO, bucket, moto_endpoint, s3_env  # noqa: F401

# A killed run's lease lapses after this; the re-run waits for it (production default: 300 s).
TTL = "5"


def _env(store: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFINERY_", "DAGSTER_"))}
    return {**env, "REFINERY_LOCAL_STORE": str(store), "REFINERY_MASTER_LOCK_TTL_SECONDS": TTL, **extra}


def _start(path: Path, controller: str, out: Path, store: Path, **extra: str) -> subprocess.Popen:
    # A session of its own: a failpoint kills the whole process group, as the OOM killer would.
    return subprocess.Popen(
        [sys.executable, "-m", "dagster_project.cli", "run", str(path), "--controller", controller, "--out", str(out)],
        cwd=REPO, env=_env(store, **extra), stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def _run(path: Path, controller: str, out: Path, store: Path, **extra: str) -> tuple[int, str]:
    proc = _start(path, controller, out, store, **extra)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _upload_id(err: str) -> str:
    return next(line.split()[2] for line in err.splitlines() if line.startswith("refinery: upload "))


def _contacts(data: bytes) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def assert_consistent(store: Path, controller: str, exports: dict[str, dict[str, bytes]], *, finished: bool = True) -> None:
    """The master holds each record sent once, and each complete export agrees with it: rows of one
    cluster are records of one master person, and no master person spans two clusters of an export."""
    master = committed_master(store, controller)
    if master.records is None:
        assert master.state["version"] == 0
        return
    keys = master.records.column("record_key").to_pylist()
    assert len(keys) == len(set(keys)), "a record is in the master twice"
    persons = dict(zip(keys, master.records.column("person_id").to_pylist()))
    numbers = [int(p[1:]) for p in persons.values()]
    assert max(numbers) < master.next_person, "a person id at or above the next free one would be given again"
    for upload_id, files in exports.items():
        if "summary.json" not in files:
            continue
        rows = [r for r in _contacts(files["contacts.csv"]) if r["status"] == "ok"]
        assert len(rows) == json.loads(files["summary.json"])["rows_ok"]
        cluster_to_person: dict[str, set[str]] = {}
        person_to_cluster: dict[str, set[str]] = {}
        for r in rows:
            person = persons[f"{upload_id}:{r['row_number']}"]  # KeyError: an exported record the master lacks
            cluster_to_person.setdefault(r["cluster_id"], set()).add(person)
            person_to_cluster.setdefault(person, set()).add(r["cluster_id"])
        assert all(len(v) == 1 for v in cluster_to_person.values()), "an export cluster is two master persons"
        assert all(len(v) == 1 for v in person_to_cluster.values()), "a master person is two export clusters"
    if not finished:  # a killed run's lease stays until it lapses
        return
    with records_db_of(store) as db:
        assert db.one("SELECT holder FROM master_locks WHERE controller = ?", (controller,)) is None, "the lock was kept"


def store_exports(store: Path, controller: str) -> dict[str, dict[str, bytes]]:
    base = store / "exports" / controller
    if not base.exists():
        return {}
    return {d.name: {p.name: p.read_bytes() for p in d.iterdir() if not p.name.startswith(".tmp-")} for d in base.iterdir()}


def assert_complete_or_absent(folder: Path) -> None:
    """Nothing half-published: no summary.json, or every file with it."""
    if (folder / "summary.json").exists():
        assert all((folder / name).exists() for name in EXPORT_FILES), sorted(p.name for p in folder.iterdir())


# -- a kill after each write -------------------------------------------------------------------------
KILL_POINTS = [
    "master-write-records",  # a version's records written, not yet committed
    "master-write-model",    # its last file written, not yet committed
    "master-commit",         # committed, superseded files not yet removed, nothing exported
    "publish-file",          # committed, the export's first file published
    "publish-marker",        # committed, the export complete in the store, nothing copied to --out
    "out-staged",            # the export downloaded next to --out, not yet moved into place
    "out-moved",             # over an earlier export in --out: one file moved in
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_after_any_write_of_the_commit_then_run_again_gives_the_clean_export(
    point, tmp_path, fault_input, clean_export
):
    store, out = tmp_path / "store", tmp_path / "out"
    if point == "out-moved":  # --out holds an earlier export: moved over file by file
        out.mkdir()
        for name, data in clean_export.items():
            (out / name).write_bytes(data)
    code, err = _run(fault_input, "kill", out, store, REFINERY_FAILPOINT=point)
    assert code == -signal.SIGKILL, err
    upload_id = _upload_id(err)
    # What the kill left: the old or the new version, whole; no export presented as complete that
    # disagrees with it; nothing in --out presented as complete unless it is.
    assert_consistent(store, "kill", store_exports(store, "kill"), finished=False)
    assert_complete_or_absent(store / "exports" / "kill" / upload_id)
    assert_complete_or_absent(out)
    version = committed_master(store, "kill").state["version"]
    assert version == (0 if point.startswith("master-write") else 1)

    # The operator's one re-run: the same command.
    code, err = _run(fault_input, "kill", out, store)
    assert code == 0, err
    assert _upload_id(err) == upload_id and "sent before" in err
    assert_same_export(export_files(out), clean_export)
    master = committed_master(store, "kill")
    assert master.size == json.loads(clean_export["summary.json"])["rows_ok"]
    assert set(master.records.column("upload_id").to_pylist()) == {upload_id}
    assert_consistent(store, "kill", store_exports(store, "kill"))
    assert not [p for p in tmp_path.glob(".out.tmp-*")], "the killed run's staging folder was not cleaned up"
    versions = {p.parent.name for p in (store / "controllers" / "kill" / "master" / "v").rglob("*.parquet")}
    assert len(versions) == 1, f"superseded or orphaned master files left: {sorted(versions)}"


# -- a persistent store error on each write (S3) -------------------------------------------------------
@pytest.fixture()
def proxy(moto_endpoint):
    with FaultProxy(moto_endpoint) as p:
        yield p


def _s3_run(monkeypatch, capsys, path: Path, out: Path, endpoint: str, bucket_name: str, controller: str) -> tuple[int, str]:
    quick = {"REFINERY_S3_MAX_ATTEMPTS": "2", "REFINERY_RETRY_ATTEMPTS": "2", "REFINERY_RETRY_BASE_SECONDS": "0.05"}
    for name, value in {**s3_env(endpoint, bucket_name), **quick}.items():
        monkeypatch.setenv(name, value)
    code = main(["run", str(path), "--controller", controller, "--out", str(out)])
    return code, capsys.readouterr().err


def _s3_state(moto_endpoint: str, bucket_name: str, controller: str) -> tuple[int, list[str], list[str]]:
    from resources.master_store import load_master
    from tests.s3_fixtures import s3_client

    client = s3_client(moto_endpoint)
    listing = client.list_objects_v2(Bucket=bucket_name, Prefix=f"controllers/{controller}/master/")
    master_keys = [o["Key"] for o in listing.get("Contents", [])]
    listing = client.list_objects_v2(Bucket=bucket_name, Prefix=f"exports/{controller}/")
    export_keys = [o["Key"] for o in listing.get("Contents", [])]
    from dagster_project.definitions import build_object_store
    from dagster_project.settings import Settings

    version = load_master(build_object_store(Settings.from_env()).get(), controller).state["version"]
    return version, master_keys, export_keys


@pytest.mark.parametrize("failing, committed", [
    (r"/master/v/.*records\.parquet", False),   # the version's first file
    (r"/master/v/.*model\.json", False),        # its last file, after the records were written
    (r"/exports/.*/contacts\.csv", True),       # the export, after the commit
    (r"/exports/.*/summary\.json", True),       # the export's marker, last of all
])
def test_a_persistent_s3_error_on_any_write_publishes_nothing_half_done_and_a_re_run_completes(
    failing, committed, proxy, moto_endpoint, bucket, fault_input, clean_export, monkeypatch, capsys, tmp_path
):
    out = tmp_path / "out"
    proxy.inject("500", method="PUT", path=failing, times=None)
    code, err = _s3_run(monkeypatch, capsys, fault_input, out, proxy.url, bucket, "down")
    assert code == 1, err
    assert "failed after 2 attempt(s)" in err.strip().splitlines()[-1] and "re-run the upload" in err
    version, master_keys, export_keys = _s3_state(moto_endpoint, bucket, "down")
    assert version == (1 if committed else 0)
    if not committed:  # the files of the version that failed are removed with it
        assert master_keys == [], master_keys
    assert not any(k.endswith("/summary.json") for k in export_keys)
    assert not (out / "summary.json").exists()

    proxy.clear()
    code, err = _s3_run(monkeypatch, capsys, fault_input, out, proxy.url, bucket, "down")
    assert code == 0, err
    assert "sent before" in err  # the same upload, not a second one
    assert_same_export(export_files(out), clean_export)
    version, master_keys, _ = _s3_state(moto_endpoint, bucket, "down")
    assert version == (2 if committed else 1)
    from dagster_project.definitions import build_object_store
    from dagster_project.settings import Settings
    from resources.master_store import load_master

    master = load_master(build_object_store(Settings.from_env()).get(), "down")
    assert master.size == json.loads(clean_export["summary.json"])["rows_ok"]  # never appended twice
    assert len({k.rsplit("/", 2)[-2] for k in master_keys if "/v/" in k}) <= 2  # the current version, the model's


# -- runs of one controller at once ------------------------------------------------------------------
@pytest.fixture(scope="module")
def four_files(tmp_path_factory) -> tuple[list[Path], pa.Table]:
    """Four files of one controller whose people are disjoint (split by true person), with the truth."""
    from bench.generator import generate, write_file

    messy, truth = generate(2400, seed=23, profile="fr")
    base = tmp_path_factory.mktemp("four")
    paths = []
    for k in range(4):
        part = (truth["entity_id"] % 4) == k
        path = base / f"part{k}.csv"
        write_file(messy[part.values].reset_index(drop=True), path, fmt="csv", encoding="utf-8", delimiter=",", header_lang="fr")
        paths.append(path)
    truth_rows = [(k, i + 1, e) for k in range(4) for i, e in enumerate(truth[(truth["entity_id"] % 4) == k]["entity_id"])]
    return paths, pa.table({"file": [t[0] for t in truth_rows], "row": [t[1] for t in truth_rows], "entity": [t[2] for t in truth_rows]})


def test_four_runs_of_one_controller_at_once_take_turns_and_give_no_id_to_two_people(four_files, tmp_path):
    paths, truth = four_files
    store = tmp_path / "store"
    procs = [_start(p, "busy", tmp_path / f"out{k}", store) for k, p in enumerate(paths)]
    results = [(proc.wait(timeout=600), proc.stderr.read()) for proc in procs]
    assert all(code == 0 for code, _ in results), [err[-2000:] for _, err in results]
    uploads = [_upload_id(err) for _, err in results]
    master = committed_master(store, "busy")
    summaries = [json.loads((tmp_path / f"out{k}" / "summary.json").read_text()) for k in range(4)]
    assert master.state["version"] == 4
    assert master.size == sum(s["rows_ok"] for s in summaries)  # no record lost, none doubled
    assert_consistent(store, "busy", store_exports(store, "busy"))
    # People of different files are different people: a person id over two files is an id given
    # twice (what a lost race did: hundreds of them), or a false merge of the linkage (rare).
    file_of = {u: k for k, u in enumerate(uploads)}
    upload_col = master.records.column("upload_id").to_pylist()
    spanning: dict[str, set[int]] = {}
    for upload, person in zip(upload_col, master.records.column("person_id").to_pylist()):
        spanning.setdefault(person, set()).add(file_of[upload])
    over_two = sum(1 for files in spanning.values() if len(files) > 1)
    assert over_two <= 2, f"{over_two} person ids hold records of people from two files"
    # Every export says the same as the master for its own rows (checked above), and the master's
    # persons of one file match the truth as well as a run alone does: at most a handful of ids
    # holding two true people.
    entity = {(int(f), int(r)): int(e) for f, r, e in zip(*(truth.column(c).to_pylist() for c in ("file", "row", "entity")))}
    people: dict[str, set[int]] = {}
    for key, person in zip(master.records.column("record_key").to_pylist(), master.records.column("person_id").to_pylist()):
        upload, row = key.split(":")
        people.setdefault(person, set()).add(entity[(file_of[upload], int(row))])
    mixed = sum(1 for e in people.values() if len(e) > 1)
    assert mixed <= 0.01 * len(people), f"{mixed} of {len(people)} person ids hold two true people"


def test_the_same_file_run_twice_at_once_is_one_upload_whose_records_are_kept_once(fault_input, clean_export, tmp_path):
    store = tmp_path / "store"
    procs = [_start(fault_input, "twice", tmp_path / f"out{k}", store) for k in range(2)]
    results = [(proc.wait(timeout=600), proc.stderr.read()) for proc in procs]
    assert all(code == 0 for code, _ in results), [err[-2000:] for _, err in results]
    assert len({_upload_id(err) for _, err in results}) == 1
    for k in range(2):
        assert_same_export(export_files(tmp_path / f"out{k}"), clean_export)
    master = committed_master(store, "twice")
    assert master.state["version"] == 2 and master.size == json.loads(clean_export["summary.json"])["rows_ok"]
    assert_consistent(store, "twice", store_exports(store, "twice"))


# -- --out -------------------------------------------------------------------------------------------
def test_an_out_that_is_a_file_is_refused_before_anything_runs(fault_input, tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    code, err = _run(fault_input, "outs", target, tmp_path / "store")
    assert code == 2 and err.strip() == f"refinery: error: --out {target}: is a file, not a folder"
    assert not (tmp_path / "store" / "uploads").exists()  # nothing uploaded, nothing run


def test_a_full_disk_under_out_leaves_the_earlier_export_whole_and_says_what_to_do(fault_input, clean_export, tmp_path):
    """--out on a 1 MiB tmpfs: the export does not fit; the earlier one stays complete."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        out = mount / "out"
        out.mkdir()
        (out / "summary.json").write_text('{"earlier": true}')
        (out / "contacts.csv").write_text("earlier")
        code, err = _run(fault_input, "full", out, tmp_path / "store")
        assert code == 1, err
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"refinery: error: --out {out}: the export could not be written there (No space left on device)")
        assert "run the same command again" in last and "Traceback" not in err
        assert (out / "summary.json").read_text() == '{"earlier": true}' and (out / "contacts.csv").read_text() == "earlier"
        assert not list(mount.glob(".out.tmp-*"))
        shutil.rmtree(out)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


# -- stages re-executed on their own (a run retry, "re-execute from failure") ------------------------
def _materialize(upload_id: str, selection: list[str] | None = None):
    from dagster import DagsterInstance, materialize

    from assets.checks import ALL_CHECKS
    from assets.uploads import uploads_partitions
    from dagster_project.definitions import CONTACT_ASSETS, build_resources
    from dagster_project.settings import Settings

    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [upload_id])
        return materialize([*CONTACT_ASSETS, *ALL_CHECKS], selection=selection, partition_key=upload_id,
                           instance=instance, resources=build_resources(Settings.from_env()), raise_on_error=False)


def _registered_upload(tmp_path, monkeypatch, controller: str, seed: int) -> tuple[Path, str]:
    """A small generated file registered as an upload in a store of its own: (store root, upload id)."""
    from bench.generator import generate, write_file
    from resources.object_store import LocalObjectStore
    from tests.test_gdpr_support import register_upload

    messy, _ = generate(400, seed=seed, profile="fr")
    path = tmp_path / "f.csv"
    write_file(messy, path, fmt="csv", encoding="utf-8", delimiter=",", header_lang="fr")
    store_root = tmp_path / "store"
    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(store_root))
    return store_root, register_upload(LocalObjectStore(store_root), controller, path.read_bytes())


def test_the_commit_and_export_re_executed_after_they_succeeded_republish_the_same_export(tmp_path, monkeypatch):
    store_root, upload_id = _registered_upload(tmp_path, monkeypatch, "again", seed=3)
    assert _materialize(upload_id).success
    exported = (store_root / "exports" / "again" / upload_id / "contacts.csv").read_bytes()
    version = committed_master(store_root, "again").state["version"]
    # controller_master and contact_export again, from the stage files of the first run: the commit is
    # recognised as done (not refused as "the master changed"), the export comes out the same.
    work = store_root / "work" / "again" / upload_id
    assert not (work / "master_records.parquet").exists()  # removed once exported...
    result = _materialize(upload_id, ["linked_contacts", "master_records", "merge_audit", "review_pairs"])
    assert result.success  # ...so linkage runs again first, as a retry of the whole upload does
    # The commit succeeds, then the process dies before the export (here: the export not selected).
    assert _materialize(upload_id, ["controller_master"]).success
    assert committed_master(store_root, "again").state["version"] == version + 1
    # Re-executed from the commit: recognised as done, not refused as "the master changed".
    assert _materialize(upload_id, ["controller_master", "contact_export"]).success
    assert committed_master(store_root, "again").state["version"] == version + 1
    assert (store_root / "exports" / "again" / upload_id / "contacts.csv").read_bytes() == exported


def test_an_export_whose_linkage_was_never_committed_is_not_published(tmp_path, monkeypatch):
    store_root, upload_id = _registered_upload(tmp_path, monkeypatch, "lost", seed=4)
    # Linkage ran, the commit did not (it failed, or another run changed the master first): the
    # export re-executed on its own publishes nothing and says why.
    assert _materialize(upload_id, ["raw_upload", "validated_rows", "quarantined_rows", "standardised_contacts",
                                    "enriched_contacts", "linked_contacts", "master_records", "merge_audit",
                                    "review_pairs", "golden_records"]).success
    result = _materialize(upload_id, ["contact_export"])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data.description
    assert "its linkage was not committed to the master" in failure and "nothing was published" in failure
    assert not (store_root / "exports" / "lost" / upload_id / "summary.json").exists()
