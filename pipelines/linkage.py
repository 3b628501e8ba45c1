"""Linkage stage: deduplicate one upload with Splink 5 on DuckDB and cluster the matches.

Small uploads cannot train a model, so a trained default model ships with the package
(pipelines/data/linkage_model.json, made by bench/train_default_model.py); uploads with
enough rows train their own, starting from the same settings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from pipelines import clustering, linkage_model
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
    components_split: int = 0


def default_model() -> dict[str, Any]:
    text = resources.files("pipelines").joinpath("data/linkage_model.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def nickname_table() -> pa.Table:
    """nick -> canonical first-name key, from pipelines/data/nicknames.yaml; ambiguous short forms
    (listed under several names, like "alex") are left out."""
    text = resources.files("pipelines").joinpath("data/nicknames.yaml").read_text("utf-8")
    canon_of: dict[str, set[str]] = {}
    for names in yaml.safe_load(text).values():
        for canon, nicks in names.items():
            for nick in nicks:
                canon_of.setdefault(str(nick), set()).add(str(canon))
    pairs = sorted((nick, next(iter(c))) for nick, c in canon_of.items() if len(c) == 1)
    return pa.table({"nick": [p[0] for p in pairs], "canon": [p[1] for p in pairs]})


def linkage_input(con: duckdb.DuckDBPyConnection, enriched: pa.Table) -> pa.Table:
    """The columns the model compares, derived in SQL from the enriched contacts."""
    con.register("enriched", enriched)
    con.register("nicknames", nickname_table())
    try:
        return con.sql(load_sql("linkage_input")).to_arrow_table()
    finally:
        con.unregister("enriched")
        con.unregister("nicknames")


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
    con.register("contacts", data)
    scored = con.sql(
        f"SELECT row_number_l, row_number_r, match_probability FROM {predictions.physical_name} "
        f"WHERE match_probability >= {MATCH_THRESHOLD}"
    ).to_arrow_table()
    pairs_scored = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
    judged = clustering.judge_pairs(con, scored)
    evidence = pc.fill_null(judged.column("evidence").cast(pa.bool_()), False)
    conflict = pc.fill_null(judged.column("conflict").cast(pa.bool_()), True)
    edges = judged.filter(pc.and_(evidence, pc.invert(conflict)))
    result = clustering.constrained_clusters(con, data.column("row_number"), edges.select(["row_number_l", "row_number_r", "match_probability"]))
    clusters = result.clusters
    pairs_matched = result.merging_edges.num_rows
    con.close()
    return LinkageResult(clusters, pairs_scored, pairs_matched, do_train, result.components_split)


def _finish(con: duckdb.DuckDBPyConnection, clusters: pa.Table, scored: int, matched: int, trained: bool) -> LinkageResult:
    con.close()
    return LinkageResult(clusters=clusters, pairs_scored=scored, pairs_matched=matched, trained=trained)


def save_model(linker: Any) -> dict[str, Any]:
    """The trained model as a settings dict (for pipelines/data/linkage_model.json)."""
    return linker.misc.save_model_to_json()
