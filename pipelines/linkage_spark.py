"""Linkage with the pair scoring on Splink's Spark backend (REFINERY_LINKAGE_BACKEND=spark).

Only the heavy part runs on Spark: Splink's prediction, i.e. blocking and the comparisons over
every candidate pair. Everything around it is the DuckDB path's own code on this machine, so the
clusters are the same: the linkage input (sql/linkage_input.sql), blocking restricted to pairs with
a new record, the merge guard (sql/merge_guard.sql), constrained clustering
(pipelines/clustering.py), stable person ids, the merge audit and the review pairs.

The model is not trained on Spark (about 40 times slower than DuckDB at these sizes): the pairs
are scored with the controller's model (trained by a DuckDB run) or the shipped default model.
Its SQL is written for DuckDB, so the Spark settings are built from it here, per backend: a model
JSON saved from DuckDB does not load on Spark as it is (double-quoted names are string literals in
Spark SQL, and jaro_winkler_similarity is called jaro_winkler in Splink's similarity jar).

Data path: the linkage input (the compared keys only, not whole contacts) goes from this process
to Spark as Arrow; the scored pairs from REVIEW_THRESHOLD up come back as Arrow. Splink's
intermediate tables go to a per-run folder under the checkpoint directory, deleted when done
(it holds personal data: the compared keys).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from pipelines import duckdb_config, linkage_model
from pipelines.linkage import (
    MIN_ROWS_TO_TRAIN,
    PREDICT_THRESHOLD,
    REVIEW_THRESHOLD,
    UploadLinkage,
    default_model,
    finish_linkage,
    prepare_linkage,
)
from pipelines.linkage_backend import LinkageBackend
from pipelines.master import Master

log = logging.getLogger(__name__)

# Settings applied unless the operator's REFINERY_SPARK_CONF says otherwise. Spark's default of
# 200 shuffle partitions is for clusters: in local mode a few per core keep small uploads fast.
_LOCAL_DEFAULTS = {"spark.sql.shuffle.partitions": "8", "spark.default.parallelism": "8"}
_DEFAULTS = {
    "spark.ui.enabled": "false",  # no web UI showing query plans on a port of the Dagster host
    "spark.ui.showConsoleProgress": "false",  # the CLI's progress lines stay readable
    "spark.sql.session.timeZone": "UTC",
    # Arrow both ways: the linkage input in, the scored pairs out.
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


# --- Settings per backend --------------------------------------------------------------------


def to_spark_sql(condition: str) -> str:
    """A DuckDB SQL condition of the model rewritten for Spark SQL: quoted names in backticks,
    jaro_winkler_similarity as the similarity jar's jaro_winkler (damerau_levenshtein, left,
    length and split_part exist under the same names)."""
    if condition.strip().upper() == "ELSE":
        return condition
    tree = sqlglot.parse_one(condition, read="duckdb")

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):
            return exp.Anonymous(this="jaro_winkler", expressions=[node.this, node.expression])
        return node

    return tree.transform(rename).sql(dialect="spark")


def spark_settings(model: dict[str, Any]) -> dict[str, Any]:
    """Splink settings for the Spark backend from a model saved by the DuckDB backend: the same
    comparisons, levels, m and u probabilities, term frequencies and prior, with the current
    prediction blocking rules (as the DuckDB path uses), every SQL condition rewritten for Spark."""
    comparisons = [
        {
            **comp,
            "comparison_levels": [
                {**lvl, "sql_condition": to_spark_sql(lvl["sql_condition"])} for lvl in comp["comparison_levels"]
            ],
        }
        for comp in model["comparisons"]
    ]
    rules = linkage_model.settings_dict()["blocking_rules_to_generate_predictions"]
    kept = {k: v for k, v in model.items() if k not in ("sql_dialect", "linker_uid", "comparisons",
                                                        "blocking_rules_to_generate_predictions")}
    return {
        **kept,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [to_spark_sql(r) for r in rules],
        "unique_id_column_name": "uid",
        "retain_intermediate_calculation_columns": True,
    }


def duckdb_model(model: dict[str, Any]) -> dict[str, Any]:
    """The model as the DuckDB path would save it (what the controller's model.json holds), so a
    model published by a Spark run still loads in a DuckDB run."""
    from splink.internals.settings_creator import SettingsCreator

    settings = {**model, "unique_id_column_name": "uid", "retain_intermediate_calculation_columns": True,
                "blocking_rules_to_generate_predictions": linkage_model.settings_dict()["blocking_rules_to_generate_predictions"]}
    return SettingsCreator.from_path_or_dict(settings).get_settings("duckdb").as_dict()


# --- Spark session and scoring ---------------------------------------------------------------


def spark_session(backend: LinkageBackend) -> Any:
    """The process's Spark session (created on first use), with Splink's similarity jar: the jar
    ships in the splink wheel, nothing is fetched from Maven."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    conf = {**_DEFAULTS, **(_LOCAL_DEFAULTS if backend.spark_master.startswith("local") else {}), **backend.spark_conf}
    jars = [similarity_jar_location(), *(j for j in conf.get("spark.jars", "").split(",") if j.strip())]
    conf["spark.jars"] = ",".join(dict.fromkeys(jars))
    # Spark's start-up chatter and warnings off (errors still show), unless the operator configures logging.
    if "log4j" not in conf.get("spark.driver.extraJavaOptions", ""):
        log_conf = resources.files("pipelines").joinpath("data/spark-log4j2.properties")
        conf["spark.driver.extraJavaOptions"] = (
            conf.get("spark.driver.extraJavaOptions", "") + f" -Dlog4j2.configurationFile=file:{log_conf}"
        ).strip()
    builder = SparkSession.builder.master(backend.spark_master).appName("contact-refinery-linkage")
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _plain_types(table: pa.Table) -> pa.Table:
    """Arrow types Spark's conversion accepts (DuckDB may hand back string views)."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def _delete_dir(spark: Any, path: str) -> None:
    """Delete a folder on whatever file system Spark uses for it (local, HDFS, S3A)."""
    jvm = spark.sparkContext._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(jpath, True)


def score_pairs(data: pa.Table, model: dict[str, Any], backend: LinkageBackend) -> tuple[pa.Table, int]:
    """Splink prediction on Spark over the linkage input `data` (uid, is_new and the compared
    keys). Returns the pairs from REVIEW_THRESHOLD up (uid_l, uid_r, match_probability, mw_*)
    and the number of pairs scored from PREDICT_THRESHOLD up, as the DuckDB path counts them."""
    from splink import Linker
    from splink.backends.spark import SparkAPI

    spark = spark_session(backend)
    local_root = None
    if backend.checkpoint_dir:
        run_dir = backend.checkpoint_dir.rstrip("/") + f"/refinery-linkage-{uuid.uuid4().hex}"
    else:
        local_root = tempfile.mkdtemp(prefix="refinery-spark-")
        run_dir = local_root + "/checkpoints"
    spark.sparkContext.setCheckpointDir(run_dir)
    input_name = f"refinery_linkage_input_{uuid.uuid4().hex[:12]}"  # a Spark temp view, one per call
    mw_columns = [f"mw_{c['output_column_name']}" for c in model["comparisons"]]
    linker = None
    try:
        # "parquet": each intermediate table is written under the checkpoint folder and read back,
        # which cuts Spark's lineage (Splink's default outside Databricks).
        api = SparkAPI(spark_session=spark, break_lineage_method="parquet")
        frame = spark.createDataFrame(_plain_types(data))
        sdf = api.register(frame, dataset_display_name=input_name)
        linker = Linker(sdf, spark_settings(model), log_level=None)
        predictions = linker.inference.predict(threshold_match_probability=min(PREDICT_THRESHOLD, REVIEW_THRESHOLD))
        scored = predictions.as_spark_dataframe()
        pairs_scored = scored.count()
        candidates = (
            scored.where(scored.match_probability >= REVIEW_THRESHOLD)
            .select("uid_l", "uid_r", "match_probability", *mw_columns)
            .toArrow()
        )
    finally:
        if linker is not None:
            linker.table_management.delete_tables_created_by_splink_from_db()
        spark.catalog.dropTempView(input_name)
        spark.catalog.clearCache()
        _delete_dir(spark, run_dir)
        if local_root:
            shutil.rmtree(local_root, ignore_errors=True)
    schema = pa.schema([("uid_l", pa.int64()), ("uid_r", pa.int64()), ("match_probability", pa.float64()),
                        *((c, pa.float64()) for c in mw_columns)])
    return candidates.cast(schema), pairs_scored


# --- The linkage stage, with the scoring on Spark --------------------------------------------


def link_upload(
    enriched: pa.Table,
    *,
    upload_id: str,
    received_at: str,
    source: str = "upload",
    master: Master | None = None,
    train: bool | None = None,
    memory_limit: str | None = None,
    backend: LinkageBackend | None = None,
) -> UploadLinkage:
    """pipelines.linkage.link_upload with the pair scoring on Spark; the steps before and after it
    are the same as there (keep the two in step: tests/test_linkage_spark.py compares them)."""
    backend = backend or LinkageBackend.from_env()
    con = duckdb.connect()
    # The same DuckDB limits as the DuckDB path (pipelines/duckdb_config): only scoring is on Spark.
    duckdb_config.configure(con, memory_limit=memory_limit)
    master, combined, data = prepare_linkage(con, enriched, upload_id=upload_id, received_at=received_at,
                                             source=source, master=master)
    n_new = enriched.num_rows

    wants_training = (n_new >= MIN_ROWS_TO_TRAIN if master.model is None else False) if train is None else train
    training_report: dict[str, Any] = {}
    if wants_training:
        # Training stays a DuckDB job (Spark is ~40x slower at it): a DuckDB run trains and saves the
        # controller's model, which Spark runs then score with.
        training_report = {"skipped": "the Spark backend scores with the controller's or the shipped model"}
        log.info("linkage on Spark: not training, scoring with the %s model", "controller's" if master.model else "shipped")
    model = duckdb_model(master.model or default_model())
    if combined.num_rows >= 2:
        # The prior of a match falls as a file grows: re-estimated on this file as the DuckDB path
        # does (pipelines.linkage.estimate_prior: counts of sure matches, cheap), then scored on Spark.
        from splink import DuckDBAPI, Linker

        from pipelines.linkage import estimate_prior

        sdf = DuckDBAPI(connection=con).register(data, dataset_display_name="linkage_input")
        prior_linker = Linker(sdf, {**model, "unique_id_column_name": "uid"}, log_level=None)
        training_report["prior_for_this_file"] = estimate_prior(prior_linker)
        model = {**model, "probability_two_random_records_match":
                 prior_linker.misc.save_model_to_json()["probability_two_random_records_match"]}
        candidates, pairs_scored = score_pairs(data, model, backend)
    else:
        candidates, pairs_scored = score_pairs_empty(model), 0
    con.register("predictions", candidates)

    # From here on: the same steps as the DuckDB path after its prediction.
    return finish_linkage(con, combined, master, candidates, model, trained=False, pairs_scored=pairs_scored,
                          training_report=training_report)


def score_pairs_empty(model: dict[str, Any]) -> pa.Table:
    """No pairs (an upload of one record and no master): the columns score_pairs returns."""
    columns = {"uid_l": pa.array([], pa.int64()), "uid_r": pa.array([], pa.int64()),
               "match_probability": pa.array([], pa.float64())}
    columns |= {f"mw_{c['output_column_name']}": pa.array([], pa.float64()) for c in model["comparisons"]}
    return pa.table(columns)
