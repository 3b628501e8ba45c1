"""Training is checked, survives levels it never observes, and the nightly job retrains per controller."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from bench.pipeline_stages import enriched_from_generated
from pipelines import linkage, linkage_model
from pipelines.linkage_training import retrain_on_records
from resources import master_store
from resources.instruction_log import RecordsDB
from resources.master_store import load_master
from resources.object_store import LocalObjectStore


@pytest.fixture(scope="module")
def enriched() -> pa.Table:
    table, _truth = enriched_from_generated(linkage.MIN_ROWS_TO_TRAIN + 2_000, seed=5)  # some rows are quarantined
    return table


def test_levels_random_sampling_never_sees_get_a_bound_not_a_rejection(enriched, monkeypatch):
    # At 1M rows, 2e6 random pairs never hold two rows with one LinkedIn profile: Splink left u
    # empty and the check rejected the model. Here a tiny sample does the same at 20k rows.
    from splink import DuckDBAPI, Linker

    monkeypatch.setattr(linkage, "U_SAMPLE_PAIRS", 2_000)
    table = enriched.append_column("uid", pa.array(range(1, enriched.num_rows + 1), pa.int64()))
    table = table.append_column("is_new", pa.array([True] * enriched.num_rows))
    con = duckdb.connect()
    data = linkage.linkage_input(con, table)
    linker = Linker(DuckDBAPI(connection=con).register(data), linkage_model.settings_dict(), log_level=None)
    report = linkage.train_model(linker)
    assert "linkedin: exact (u)" in report["unobserved_levels"]
    model = linker.misc.save_model_to_json()
    assert linkage.model_problems(model) == []
    linkedin = next(c for c in model["comparisons"] if c["output_column_name"] == "linkedin")
    exact = next(lvl for lvl in linkedin["comparison_levels"] if lvl.get("label_for_charts") == "exact")
    assert exact["u_probability"] == pytest.approx(3 / 2_000)
    assert exact["m_probability"] > 0.5


def test_a_level_without_m_or_u_is_named_by_the_check():
    model = json.loads(json.dumps(linkage.default_model()))
    model["comparisons"][-1]["comparison_levels"][1]["u_probability"] = None
    assert any("not estimated" in p for p in linkage.model_problems(model))


def test_a_reused_model_takes_the_prior_of_the_file_it_scores(enriched):
    # The shipped model was trained on 60k rows; this file has about 20k, and about three times
    # fewer rows means about three times more chance that two random rows are one person.
    result = linkage.link_upload(enriched, upload_id="up-20261126t000000-00000001", received_at="2026-11-26", train=False)
    shipped = linkage.default_model()["probability_two_random_records_match"]
    assert result.model["probability_two_random_records_match"] > 2 * shipped
    assert result.training["prior_for_this_file"] == result.model["probability_two_random_records_match"]


def test_nightly_refresh_retrains_and_saves_the_controller_model(enriched, tmp_path):
    from dagster_project.schedules import refresh_master_and_model

    store = LocalObjectStore(tmp_path / "store")
    assert refresh_master_and_model(store, "acme") == "linkage model: no master data yet"
    linked = linkage.link_upload(enriched, upload_id="up-20261126t000000-00000001", received_at="2026-11-26", train=False)
    with master_store.locked(store, "acme", "a test") as holder, RecordsDB.from_env() as db:
        master_store.commit(store, db, "acme", holder=holder, read_version=0, next_person=linked.next_person,
                            last_upload="up-20261126t000000-00000001", committed_by="a test", records=linked.records)
    assert load_master(store, "acme").model is None

    assert refresh_master_and_model(store, "acme") == "linkage model: retrained"
    master = load_master(store, "acme")
    assert linkage.model_problems(master.model) == []
    assert master.size == linked.records.num_rows  # records untouched
    assert master.state["last_upload"] == "up-20261126t000000-00000001"


def test_too_small_a_master_is_not_trained():
    result = retrain_on_records(pa.table({"first_name_key": pa.array(["ann"] * 10)}))
    assert result.model is None and result.outcome == "too few records to train"
