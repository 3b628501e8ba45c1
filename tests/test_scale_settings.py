"""Operator settings for large uploads, and the progress an operator sees during a long run."""

import io
import threading
import time

import duckdb
import pytest

from dagster_project.cli import _LiveProgress
from pipelines import duckdb_config, progress


def test_duckdb_limits_come_from_the_environment(tmp_path):
    settings = duckdb_config.DuckDBSettings.from_env({
        "REFINERY_DUCKDB_MEMORY_LIMIT": "1500MB", "REFINERY_DUCKDB_TEMP_DIR": str(tmp_path / "spill"),
        "REFINERY_DUCKDB_THREADS": "1", "REFINERY_PREDICT_CHUNK_ROWS": "250_000",
    })
    con = duckdb.connect()
    duckdb_config.configure(con, settings)
    values = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('memory_limit', 'temp_directory', 'threads')"
    ).fetchall())
    assert values["threads"] == "1"
    assert values["temp_directory"] == str(tmp_path / "spill")
    assert values["memory_limit"].startswith("1.") or "MiB" in values["memory_limit"]  # DuckDB shows 1.3 GiB
    assert (tmp_path / "spill").is_dir()
    assert settings.predict_chunk_rows == 250_000


@pytest.mark.parametrize("name,value,message", [
    ("REFINERY_DUCKDB_MEMORY_LIMIT", "lots", "not a size"),
    ("REFINERY_DUCKDB_THREADS", "two", "not a whole number"),
    ("REFINERY_PREDICT_CHUNK_ROWS", "0", "must be positive"),
])
def test_a_wrong_setting_is_one_clear_error(name, value, message):
    with pytest.raises(ValueError, match=message):
        duckdb_config.DuckDBSettings.from_env({name: value})


def test_live_line_shows_the_running_stage_and_how_far_it_got():
    live = _LiveProgress(stream=io.StringIO())
    progress.reset()  # stages noted by other tests in this process (link_upload notes its own)
    progress.note("standardised_contacts", "phones (4 of 6 steps, 1,000,000 rows)")
    try:
        line = live.line()
        assert line.startswith("  … standardised_contacts: ")
        assert "phones (4 of 6 steps, 1,000,000 rows)" in line
        # The stage line that ends it clears the note: nothing running, no live line.
        live.reporter().stage("standardised_contacts", 10, 1.0, "3 with notes")
        assert live.line() is None
        assert "standardised_contacts" in live.stream.getvalue() and "peak" in live.stream.getvalue()
    finally:
        progress.finish("standardised_contacts")


def test_live_line_reads_duckdb_progress_from_another_thread():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS i, (random() * 1000)::INT AS g FROM range(1000000)")
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    progress.watch_query(con, "linked_contacts")
    seen = []

    def poll():
        for _ in range(40):
            snap = progress.snapshot("linked_contacts")
            if snap.query_percent is not None:
                seen.append(snap.query_percent)
            time.sleep(0.05)

    watcher = threading.Thread(target=poll)
    watcher.start()
    try:
        con.execute("SELECT g, count(DISTINCT i) FROM t GROUP BY g ORDER BY 2 DESC").fetchall()
    finally:
        watcher.join()
        progress.finish("linked_contacts")
    # Polling never disturbs the query; a percentage shows when the query runs long enough.
    assert all(0 <= p <= 100 for p in seen)
