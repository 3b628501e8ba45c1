"""The same file gives the same clusters, ids and reports every time (issue #14, part 4).

Run twice, with other DuckDB thread counts and other Python hash seeds, the pipeline must not
change a single byte of what the client receives. Upload ids differ on purpose (one per upload,
and record keys carry them): they are the one thing set aside before comparing.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipelines import linkage
from pipelines.clustering import constrained_clusters
from pipelines.fields.company_reference import join_reference
from tests.conftest import run_cli
from tests.test_linkage_guard import _contacts

EXPORTS = ("contacts.csv", "golden.csv", "merge_audit.csv", "review.csv", "duplicates.csv")


def _run_demo(sample: Path, base: Path, env: dict[str, str]) -> dict[str, bytes]:
    """`refinery run` on `sample` into a fresh store; the exports with the upload id masked."""
    out = base / "out"
    result = run_cli("run", str(sample), "--controller", "demo", "--out", str(out), store=base / "store",
                     env={"REFINERY_GDPR_DIR": str(base / "gdpr"), "REFINERY_DUCKDB_TEMP_DIR": str(base / "spill"), **env})
    assert result.returncode == 0, result.stderr[-2000:]
    upload_id = json.loads((out / "summary.json").read_text("utf-8"))["upload_id"].encode()
    return {name: (out / name).read_bytes().replace(upload_id, b"up-UPLOAD") for name in EXPORTS}


def test_demo_file_run_twice_gives_identical_exports(tmp_path):
    # The file `make demo` generates: 2,000 rows of a messy French Excel export (the shipped
    # model, its prior re-estimated for the file). Two fresh stores, so that the second run does
    # not link against the first one's records; other thread counts and hash seeds each time.
    sample = tmp_path / "sample.csv"
    made = run_cli("sample", "--rows", "2000", "--out", str(sample), store=tmp_path / "unused")
    assert made.returncode == 0, made.stderr
    first = _run_demo(sample, tmp_path / "first", {"REFINERY_DUCKDB_THREADS": "2", "PYTHONHASHSEED": "1"})
    second = _run_demo(sample, tmp_path / "second", {"REFINERY_DUCKDB_THREADS": "3", "PYTHONHASHSEED": "2"})
    assert first["merge_audit.csv"].count(b"\n") > 100  # duplicates were merged: there is something to compare
    for name in EXPORTS:
        assert first[name] == second[name], f"{name} differs between two runs of the same file"


@pytest.fixture(scope="module")
def trainable() -> pa.Table:
    from bench.pipeline_stages import enriched_from_generated

    table, _truth = enriched_from_generated(linkage.MIN_ROWS_TO_TRAIN + 2_000, seed=5)  # some rows are quarantined
    assert table.num_rows >= linkage.MIN_ROWS_TO_TRAIN
    return table


def _parameters(model: dict) -> list:
    """What a model decides with: the prior and every level's m and u (not Splink's random linker_uid)."""
    return [model["probability_two_random_records_match"]] + [
        (c["output_column_name"], lvl.get("label_for_charts"), lvl.get("m_probability"), lvl.get("u_probability"))
        for c in model["comparisons"] for lvl in c["comparison_levels"]
    ]


def test_a_file_that_trains_its_own_model_links_the_same_way_twice(trainable, monkeypatch):
    # u by random sampling, two EM sessions, then scoring: EM summed match probabilities on
    # several threads in whatever order they finished, so m differed in its last digits from one
    # run to the next, and with it every probability. Exact equality, not approx.
    runs = []
    for threads in ("2", "3"):
        monkeypatch.setenv("REFINERY_DUCKDB_THREADS", threads)
        runs.append(linkage.link_upload(trainable, upload_id="up-20261126t000000-00000001",
                                        received_at="2026-11-26T00:00:00Z", train=True))
    a, b = runs
    assert a.trained and b.trained
    assert _parameters(a.model) == _parameters(b.model)
    assert a.linked.column("person_id").equals(b.linked.column("person_id"))
    assert a.linked.column("match_probability").equals(b.linked.column("match_probability"))
    assert a.merges.equals(b.merges) and a.review.equals(b.review)
    assert a.pairs_matched > 1_000


def test_equally_strong_links_are_taken_in_record_order():
    # "J. Petit" links to Jade and to Julien Petit with the same probability; Jade and Julien are
    # two people, so one link must go. Which one used to depend on the order the pairs came out
    # of DuckDB's joins; now the link with the smaller record ids wins, whatever the order.
    rows = [
        {"uid": 1, "first_name_key": "jade", "last_name_key": "petit", "company_key": "bfo"},
        {"uid": 2, "first_name_key": "j", "last_name_key": "petit", "company_key": "bfo"},
        {"uid": 3, "first_name_key": "julien", "last_name_key": "petit", "company_key": "bfo"},
    ]
    outcomes = []
    for lefts, rights in (([1, 2], [2, 3]), ([2, 1], [3, 2])):
        con = duckdb.connect()
        con.register("contacts", _contacts(rows))
        edges = pa.table({"uid_l": pa.array(lefts, pa.int64()), "uid_r": pa.array(rights, pa.int64()),
                          "match_probability": pa.array([0.97, 0.97], pa.float64())})
        result = constrained_clusters(con, pa.array([1, 2, 3], pa.int64()), edges)
        outcomes.append(result.clusters.column("cluster").to_pylist())
        con.close()
    assert outcomes[0] == outcomes[1] == [1, 1, 3]


def test_a_company_without_its_head_office_in_the_reference_gets_one_establishment_every_time():
    # Two establishments of one SIREN, neither flagged as head office: the one with the smaller
    # SIRET speaks for the company, whatever the order of the reference file.
    establishments = {
        "siret_key": ["55200844300025", "55200844300017"],
        "siren_key": ["552008443", "552008443"],
        "vat_key": [None, None],
        "domain_key": [None, None],
        "head_office": [False, False],
        "naf_code": ["47.11D", "47.11D"],
        "headcount_band": [None, None],
        "company_address": ["2 RUE NEUVE", "1 AV FOCH"],
        "company_postcode": ["69002", "69001"],
        "company_city": ["LYON", "LYON"],
        "name_key": ["acme", "acme"],
    }
    reference = pa.table({k: pa.array(v, pa.bool_() if k == "head_office" else pa.string())
                          for k, v in establishments.items()})
    addresses = []
    for table in (reference, reference.take([1, 0])):
        out = join_reference(pa.array(["", None]), pa.array(["552 008 443", None]), pa.array([None, None], pa.string()),
                             pa.array([None, None], pa.string()), pa.array([None, "acme"]), table)
        addresses.append(out["company_address"].to_pylist())
    assert addresses[0] == addresses[1] == ["1 AV FOCH", "1 AV FOCH"]
