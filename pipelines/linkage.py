"""Linkage stage: deduplicate one upload with Splink 5 on DuckDB and cluster the matches.

Small uploads cannot train a model, so a trained default model ships with the package
(pipelines/data/linkage_model.json, made by bench/train_default_model.py); uploads with
enough rows train their own, starting from the same settings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa

from pipelines import linkage_model
from sql import load_sql

log = logging.getLogger(__name__)

# Below this many rows EM has too few pairs to estimate anything: use the shipped model.
MIN_ROWS_TO_TRAIN = 20_000
# Pairs at or above this probability are merged; lower ones never are.
MATCH_THRESHOLD = 0.95
# Pairs scored below this are not even kept (they cannot merge and would only cost memory).
PREDICT_THRESHOLD = 0.5


@dataclass(frozen=True)
class LinkageResult:
    clusters: pa.Table  # row_number, cluster_id, match_probability
    pairs_scored: int
    pairs_matched: int
    trained: bool


def default_model() -> dict[str, Any]:
    text = resources.files("pipelines").joinpath("data/linkage_model.json").read_text("utf-8")
    return json.loads(text)


def linkage_input(con: duckdb.DuckDBPyConnection, enriched: pa.Table) -> pa.Table:
    """The columns the model compares, derived in SQL from the enriched contacts."""
    con.register("enriched", enriched)
    try:
        return con.sql(load_sql("linkage_input")).to_arrow_table()
    finally:
        con.unregister("enriched")


def train_model(linker: Any) -> None:
    training = linker.training
    training.estimate_probability_two_random_records_match(
        linkage_model.DETERMINISTIC_RULES, recall=linkage_model.DETERMINISTIC_RECALL
    )
    training.estimate_u_using_random_sampling(max_pairs=2e6, seed=42)
    for rule in linkage_model.EM_BLOCKING_RULES:
        training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=2e6)


def link(enriched: pa.Table, *, train: bool | None = None, memory_limit: str = "4GB") -> LinkageResult:
    """Cluster the rows of `enriched` (needs row_number and the standardised keys)."""
    from splink import DuckDBAPI, Linker
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET threads = 2")
    data = linkage_input(con, enriched)
    n = data.num_rows
    if n < 2:
        clusters = pa.table(
            {
                "row_number": data.column("row_number"),
                "cluster_id": pa.array([None] * n, pa.int64()),
                "match_probability": pa.array([None] * n, pa.float64()),
            }
        )
        return _finish(con, clusters, 0, 0, False)

    do_train = n >= MIN_ROWS_TO_TRAIN if train is None else train
    db_api = DuckDBAPI(connection=con)
    sdf = db_api.register(data, dataset_display_name="contacts")
    settings = linkage_model.settings_dict() if do_train else default_model()
    # log_level=None: leave logging to the application (the CLI keeps the terminal for progress).
    linker = Linker(sdf, settings, log_level=None)
    if do_train:
        train_model(linker)
    predictions = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
    con.execute(f"CREATE TEMP VIEW predictions AS SELECT * FROM {predictions.physical_name}")
    con.register("contacts", data)
    edges = con.sql(load_sql("merge_guard").replace("$threshold", str(MATCH_THRESHOLD))).to_arrow_table()
    clustered = cluster_pairwise_predictions_at_threshold(
        data.select(["row_number"]), edges, db_api, node_id_column_name="row_number"
    )
    con.execute(f"CREATE TEMP VIEW clustered AS SELECT * FROM {clustered.physical_name}")
    con.register("edges", edges)
    pairs_scored = con.execute("SELECT count(*) FROM predictions").fetchall()[0][0]
    pairs_matched = edges.num_rows
    clusters = con.sql(load_sql("cluster_rows")).to_arrow_table()
    return _finish(con, clusters, pairs_scored, pairs_matched, do_train)


def _finish(con: duckdb.DuckDBPyConnection, clusters: pa.Table, scored: int, matched: int, trained: bool) -> LinkageResult:
    con.close()
    return LinkageResult(clusters=clusters, pairs_scored=scored, pairs_matched=matched, trained=trained)


def save_model(linker: Any) -> dict[str, Any]:
    """The trained model as a settings dict (for pipelines/data/linkage_model.json)."""
    return linker.misc.save_model_to_json()
