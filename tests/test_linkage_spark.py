"""The linkage stage with its pair scoring on Splink's Spark backend (local mode) gives the clusters
the DuckDB backend gives, and `refinery run` with REFINERY_LINKAGE_BACKEND=spark exports.

Tolerance (docs/scale.md): the pairs of records the two backends put in one person agree to a
Jaccard index of at least 0.999, and the person counts within 0.1 %. The two backends run the same
model through different SQL engines and similarity functions (DuckDB's jaro_winkler_similarity,
the Splink jar's jaro_winkler), so a pair sitting exactly on a level's threshold could in principle
score differently; on this data nothing does.
"""

from __future__ import annotations

import csv
import itertools
import json
import os

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bench.generator import generate, write_file
from bench.pipeline_stages import enriched_from_generated
from pipelines import linkage, linkage_spark
from pipelines.linkage_backend import LinkageBackend, parse_spark_conf
from pipelines.master import Master
from tests.conftest import run_cli

UP1, UP2 = "up-20261101t000000-00000001", "up-20261102t000000-00000002"
MIN_PAIR_AGREEMENT = 0.999
MAX_PERSON_COUNT_GAP = 0.001


def _pyspark_or_skip():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise  # the dev extra installs pyspark: CI must run these tests, not skip them
        pytest.skip("pyspark is not installed (pip install '.[spark]')")


# --- Settings per backend, without Spark -------------------------------------------------------


def test_duckdb_conditions_are_rewritten_for_spark_sql():
    assert linkage_spark.to_spark_sql('"first_name_key_l" = "first_name_key_r"') == "`first_name_key_l` = `first_name_key_r`"
    assert linkage_spark.to_spark_sql('jaro_winkler_similarity("company_key_l", "company_key_r") >= 0.9') == (
        "JARO_WINKLER(`company_key_l`, `company_key_r`) >= 0.9"
    )
    assert linkage_spark.to_spark_sql(
        'split_part("email_pro_l", \'@\', 2) = split_part("email_pro_r", \'@\', 2)'
    ) == "SPLIT_PART(`email_pro_l`, '@', 2) = SPLIT_PART(`email_pro_r`, '@', 2)"
    assert linkage_spark.to_spark_sql("ELSE") == "ELSE"
    assert linkage_spark.to_spark_sql('(l."is_new" OR r."is_new")') == "(l.`is_new` OR r.`is_new`)"


def test_spark_settings_keep_the_models_parameters_and_use_the_current_blocking_rules():
    model = linkage_spark.duckdb_model(linkage.default_model())
    settings = linkage_spark.spark_settings(model)
    assert settings["probability_two_random_records_match"] == model["probability_two_random_records_match"]
    for spark_comp, duck_comp in zip(settings["comparisons"], model["comparisons"], strict=True):
        for s, d in zip(spark_comp["comparison_levels"], duck_comp["comparison_levels"], strict=True):
            assert (s.get("m_probability"), s.get("u_probability")) == (d.get("m_probability"), d.get("u_probability"))
            assert s.get("tf_adjustment_column") == d.get("tf_adjustment_column")
            assert '"' not in s["sql_condition"] and "jaro_winkler_similarity" not in s["sql_condition"].lower()
    rules = settings["blocking_rules_to_generate_predictions"]
    assert len(rules) == len(linkage.linkage_model.BLOCKING_RULES_PREDICT)
    assert all("l.`is_new` OR r.`is_new`" in r for r in rules)  # only pairs touching this upload
    assert "sql_dialect" not in settings


def test_operator_settings_select_the_backend_and_refuse_what_would_download():
    assert LinkageBackend.from_env({}).name == "duckdb"
    assert not LinkageBackend.from_env({"REFINERY_LINKAGE_BACKEND": "DuckDB"}).spark
    with pytest.raises(ValueError, match="REFINERY_LINKAGE_BACKEND='polars'"):
        LinkageBackend.from_env({"REFINERY_LINKAGE_BACKEND": "polars"})
    with pytest.raises(ValueError, match="Spark Connect"):
        LinkageBackend.from_env({"REFINERY_SPARK_MASTER": "sc://spark:15002"})
    conf = parse_spark_conf('{"spark.executor.memory": "8g", "spark.sql.adaptive.enabled": true, "spark.executor.cores": 4}')
    assert conf == {"spark.executor.memory": "8g", "spark.sql.adaptive.enabled": "true", "spark.executor.cores": "4"}
    with pytest.raises(ValueError, match="download"):
        parse_spark_conf('{"spark.jars.packages": "org.apache.hadoop:hadoop-aws:3.4.1"}')
    with pytest.raises(ValueError, match="not a Spark setting"):
        parse_spark_conf('{"executor.memory": "8g"}')
    with pytest.raises(ValueError, match="JSON object"):
        parse_spark_conf('{"spark.executor.memory": "8g"')


def test_spark_conf_file_in_spark_defaults_format(tmp_path):
    path = tmp_path / "spark-defaults.conf"
    path.write_text("# cluster\nspark.executor.memory   12g\nspark.sql.shuffle.partitions 96\n\n")
    assert parse_spark_conf(str(path)) == {"spark.executor.memory": "12g", "spark.sql.shuffle.partitions": "96"}
    path.write_text("spark.executor.memory\n")
    with pytest.raises(ValueError, match="line 1"):
        parse_spark_conf(str(path))
    with pytest.raises(ValueError, match="neither a JSON object nor an existing file"):
        parse_spark_conf(str(tmp_path / "missing.conf"))


# --- The same clusters as DuckDB ---------------------------------------------------------------


def _co_clustered(records: pa.Table) -> set[tuple[str, str]]:
    """Every pair of records one person holds."""
    members: dict[str, list[str]] = {}
    for key, person in zip(records.column("record_key").to_pylist(), records.column("person_id").to_pylist()):
        members.setdefault(person, []).append(key)
    return {pair for keys in members.values() for pair in itertools.combinations(sorted(keys), 2)}


def _agreement(a: linkage.UploadLinkage, b: linkage.UploadLinkage) -> tuple[float, float]:
    pa_, pb = _co_clustered(a.records), _co_clustered(b.records)
    jaccard = len(pa_ & pb) / len(pa_ | pb) if pa_ | pb else 1.0
    persons_a = pc.count_distinct(a.records.column("person_id")).as_py()
    persons_b = pc.count_distinct(b.records.column("person_id")).as_py()
    return jaccard, abs(persons_a - persons_b) / persons_a


@pytest.fixture(scope="module")
def both_backends(tmp_path_factory):
    """3,000 generated rows in two uploads; each linked by DuckDB and by Spark (local[2]), the
    second against the master the first left (DuckDB's, so both score against the same records)."""
    _pyspark_or_skip()
    enriched, _ = enriched_from_generated(3000, 29, str(tmp_path_factory.mktemp("gen")))
    first = enriched.filter(pc.less_equal(enriched.column("row_number"), 2000))
    second = enriched.filter(pc.greater(enriched.column("row_number"), 2000))
    spark = LinkageBackend(name="spark", spark_master="local[2]")
    try:
        d1 = linkage.link_upload(first, upload_id=UP1, received_at="2026-11-01T00:00:00Z")
        s1 = linkage_spark.link_upload(first, upload_id=UP1, received_at="2026-11-01T00:00:00Z", backend=spark)
        master = Master(records=d1.records, next_person=d1.next_person, model=d1.model)
        d2 = linkage.link_upload(second, upload_id=UP2, received_at="2026-11-02T00:00:00Z", master=master)
        s2 = linkage_spark.link_upload(second, upload_id=UP2, received_at="2026-11-02T00:00:00Z", master=master,
                                       backend=spark)
    finally:
        _stop_spark()
    return (d1, s1), (d2, s2)


def _stop_spark() -> None:
    """End the Spark application and its JVM, so the rest of the suite does not carry it."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
    if SparkContext._gateway is not None:
        SparkContext._gateway.shutdown()
        SparkContext._gateway = None
        SparkContext._jvm = None


def test_spark_gives_the_clusters_duckdb_gives(both_backends):
    for duck, spark in both_backends:
        jaccard, gap = _agreement(duck, spark)
        print(f"pairs in one person agree (Jaccard) {jaccard:.6f}; person counts differ by {gap:.4%}")
        assert jaccard >= MIN_PAIR_AGREEMENT
        assert gap <= MAX_PERSON_COUNT_GAP
        assert len(_co_clustered(duck.records)) > 300  # there were duplicates to find
        # The scored pairs themselves come back the same, not only the clusters.
        assert abs(spark.pairs_scored - duck.pairs_scored) <= duck.pairs_scored * MAX_PERSON_COUNT_GAP


def test_spark_keeps_person_ids_across_batches_and_the_audit(both_backends):
    (d1, s1), (d2, s2) = both_backends
    # The second upload joined people of the first: its clusters kept their earlier ids.
    assert s2.persons_absorbed == d2.persons_absorbed
    keys = d2.records.column("record_key")
    assert keys.equals(s2.records.column("record_key"))
    same_id = pc.sum(pc.equal(d2.records.column("person_id"), s2.records.column("person_id")).cast(pa.int64())).as_py()
    assert same_id >= d2.records.num_rows * (1 - MAX_PERSON_COUNT_GAP)
    # The audit names the deciding comparisons from the match weights Spark computed.
    assert s1.merges.num_rows > 0
    assert s1.merges.column("comparisons").to_pylist() == d1.merges.column("comparisons").to_pylist()
    assert s2.review.num_rows == d2.review.num_rows
    # The model published for the controller is the DuckDB model, so a later DuckDB run loads it.
    assert s1.model["sql_dialect"] == "duckdb" and not s1.trained
    assert s1.model["comparisons"] == d1.model["comparisons"]


def test_refinery_run_with_the_spark_backend_exports(tmp_path, monkeypatch):
    _pyspark_or_skip()
    messy, _ = generate(400, seed=31, profile="fr")
    path = tmp_path / "export.csv"
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    monkeypatch.setenv("REFINERY_LINKAGE_BACKEND", "spark")
    monkeypatch.setenv("REFINERY_SPARK_MASTER", "local[2]")
    out = tmp_path / "out"
    result = run_cli("run", str(path), "--controller", "acme", "--out", str(out), store=tmp_path / "store")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "400 rows in, 400 rows out" in result.stderr
    assert json.loads((out / "summary.json").read_text())  # written last: the export is complete
    with (out / "contacts.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["row_number"] for r in rows] == [str(i) for i in range(1, 401)]
    persons = {r["cluster_id"] for r in rows if r["status"] == "ok"}
    assert all(p.startswith("P") for p in persons) and len(persons) < len(rows)  # duplicates were merged
