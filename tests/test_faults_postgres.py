"""PostgreSQL restarted in the middle of a run: the Dagster instance (deploy/dagster.yaml on the
real server) and the processor's records database both lose their connections. The run either
completes, or fails with a message and a re-execution of the same upload completes; either way
the export is the clean run's (rows out = rows in, same person ids). PostgreSQL is back up when
the test ends, whatever happened (other tests need it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.faults_fixtures import assert_same_export, clean_export, export_files, fault_input, published, rerun_upload  # noqa: F401
from tests.s3_fixtures import PG, REPO, _admin, dagster_home_with, pg_env

CLUSTER = ("15", "main")


def postgres_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", PG["host"], "-p", str(PG["port"]), "-q"]).returncode == 0


def ensure_postgres_up(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if postgres_ready():
            return
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, "start"], capture_output=True)
        time.sleep(0.5)
    raise AssertionError("PostgreSQL did not come back within a minute")


def _throwaway_database(kind: str):
    # Not s3_fixtures.pg_database: its admin connection, held over the test, dies with the restart.
    admin = _admin()
    name = f"refinery_{kind}_{uuid.uuid4().hex[:10]}"
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    try:
        yield name
    finally:
        ensure_postgres_up()
        admin = _admin()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture()
def instance_database():
    yield from _throwaway_database("instance")


@pytest.fixture()
def records_database():
    yield from _throwaway_database("records")


@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="needs the local PostgreSQL cluster tools")
def test_a_postgres_restart_mid_run_loses_nothing(
    tmp_path, instance_database, records_database, fault_input, clean_export, monkeypatch
):
    if not postgres_ready():
        pytest.skip("PostgreSQL is not running")
    home = dagster_home_with(tmp_path)
    store = tmp_path / "store"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REFINERY_", "DAGSTER_"))},
        **pg_env(instance_database),
        "DAGSTER_HOME": str(home),
        "REFINERY_LOCAL_STORE": str(store),
        "REFINERY_INSTRUCTIONS_DSN": f"host={PG['host']} port={PG['port']} user={PG['user']} dbname={records_database}",
    }
    out = tmp_path / "out"
    run = subprocess.Popen(
        [sys.executable, "-m", "dagster_project.cli", "run", str(fault_input), "--controller", "pgr", "--out", str(out)],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    restarted = None
    try:
        for line in run.stderr:
            lines.append(line)
            if restarted is None and "validated_rows" in line:
                # The run is between stages: the next events, stage outputs and records meet a
                # server that is going away and coming back.
                restarted = subprocess.run(
                    ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, "restart"], capture_output=True, text=True
                )
        code = run.wait(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
        ensure_postgres_up()
    err = "".join(lines)
    assert restarted is not None and restarted.returncode == 0, (restarted, err)
    upload_id = next(l.split()[2] for l in lines if l.startswith("refinery: upload "))
    if code == 0:
        files = export_files(out)
    else:
        # A clear error, then a re-execution of the same upload (what run retries or the
        # operator's "re-execute" do) completes.
        assert err.strip().splitlines()[-1].startswith("refinery: error: "), err
        assert "Traceback" not in err, err
        for name in ("DAGSTER_HOME", "REFINERY_LOCAL_STORE", "REFINERY_INSTRUCTIONS_DSN", *pg_env(instance_database)):
            monkeypatch.setenv(name, env[name])
        assert rerun_upload(upload_id, home)
        files = published(store, "pgr", upload_id)
    assert_same_export(files, clean_export)
    print(f"restart mid-run: first attempt exit {code}\n{err}")


def _drop_connection(records_db) -> None:
    """What a server restart does to an open connection, without restarting the server."""
    pid = records_db.one("SELECT pg_backend_pid() AS pid")["pid"]
    admin = _admin()
    admin.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
    admin.close()


def test_the_records_database_reconnects_after_a_dropped_connection(records_database):
    from resources.instruction_log import RecordsDB, RecordsError

    dsn = f"host={PG['host']} port={PG['port']} user={PG['user']} dbname={records_database}"
    with RecordsDB(dsn=dsn) as db:
        db.run("INSERT INTO incidents (id, created_at, updated_at, body) VALUES (?, ?, ?, ?)", ("i-1", "t", "t", "{}"))
        _drop_connection(db)
        assert db.one("SELECT count(*) AS n FROM incidents")["n"] == 1  # reconnected, statement run again
        _drop_connection(db)
        with db.tx():  # a transaction starting on a dead connection starts on a new one
            db.run("INSERT INTO incidents (id, created_at, updated_at, body) VALUES (?, ?, ?, ?)", ("i-2", "t", "t", "{}"))
        with pytest.raises(RecordsError, match="lost during a transaction, which was not confirmed: re-run"):
            with db.tx():
                db.run("INSERT INTO incidents (id, created_at, updated_at, body) VALUES (?, ?, ?, ?)", ("i-3", "t", "t", "{}"))
                _drop_connection(db)
                db.run("INSERT INTO incidents (id, created_at, updated_at, body) VALUES (?, ?, ?, ?)", ("i-4", "t", "t", "{}"))
        assert [r["id"] for r in db.all("SELECT id FROM incidents ORDER BY id")] == ["i-1", "i-2"]  # all or nothing


def test_an_unreachable_records_database_fails_in_bounded_time(monkeypatch):
    from resources.instruction_log import RecordsDB, RecordsError
    from tests.s3_fixtures import free_port

    monkeypatch.setenv("REFINERY_DB_RETRY_SECONDS", "1.5")
    started = time.monotonic()
    with pytest.raises(RecordsError, match=r"cannot reach the records database \(REFINERY_INSTRUCTIONS_DSN\) after \d+ attempt"):
        RecordsDB(dsn=f"host=127.0.0.1 port={free_port()} user=postgres dbname=x")
    assert time.monotonic() - started < 6


def test_a_wrong_records_database_name_fails_at_once():
    from resources.instruction_log import RecordsDB, RecordsError

    started = time.monotonic()
    with pytest.raises(RecordsError, match=r"after 1 attempt\(s\) in 0 s: .*does not exist"):
        RecordsDB(dsn=f"host={PG['host']} port={PG['port']} user={PG['user']} dbname=refinery_no_such_database")
    assert time.monotonic() - started < 3  # waiting would not create it
