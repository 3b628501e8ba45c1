"""A run process killed with SIGKILL in the middle of a stage (the out-of-memory killer, a lost
worker), then run again: the export is the clean run's (same rows, same person ids, nothing
duplicated), and what the killed run left half-done is never published."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pyarrow.parquet as pq

from tests.faults_fixtures import assert_same_export, clean_export, fault_input, published, rerun_upload  # noqa: F401
from tests.s3_fixtures import REPO
from tests.master_fixtures import committed_records

KILL_AFTER = "standardised_contacts"  # its output is stored; the next stages are running


def _env(store, home=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFINERY_", "DAGSTER_"))}
    env["REFINERY_LOCAL_STORE"] = str(store)
    if home is not None:
        env["DAGSTER_HOME"] = str(home)
    return env


def test_a_run_killed_mid_stage_then_run_again_gives_the_clean_export(tmp_path, fault_input, clean_export, monkeypatch):
    store, home = tmp_path / "store", tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # a SQLite instance that outlives the process
    env = _env(store, home)
    killed = subprocess.Popen(
        [sys.executable, "-m", "dagster_project.cli", "run", str(fault_input), "--controller", "oom", "--out", str(tmp_path / "never")],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    try:
        for line in killed.stderr:
            lines.append(line)
            if KILL_AFTER in line:
                os.kill(killed.pid, signal.SIGKILL)
                break
        code = killed.wait(timeout=120)
    finally:
        if killed.poll() is None:
            killed.kill()
    assert code == -signal.SIGKILL, "".join(lines)
    upload_id = next(l.split()[2] for l in lines if l.startswith("refinery: upload "))
    exports = store / "exports" / "oom" / upload_id
    assert not (exports / "summary.json").exists()  # nothing presented as complete
    assert not (tmp_path / "never").exists()

    # The same upload re-executed (a run retry, the nightly catch-up, the operator's re-execute).
    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(store))
    assert rerun_upload(upload_id, home)
    files = published(store, "oom", upload_id)
    assert_same_export(files, clean_export)
    assert not [p for p in store.rglob(".tmp-*")], "a temporary file was left behind"
    # The controller's master holds each record of the upload once.
    master = committed_records(store, "oom")
    summary = json.loads(files["summary.json"])
    keys = master.column("record_key").to_pylist()
    assert master.num_rows == summary["rows_ok"] and len(set(keys)) == len(keys)
    assert set(master.column("upload_id").to_pylist()) == {upload_id}
