"""Score a predicted clustering of rows against the true entity of each row.

    from bench.scoring import score_clusters
    scores = score_clusters(pred, truth)   # pred: row_number, cluster_id; truth: row_number, entity_id

Pairwise scores count pairs of rows without enumerating them: a group of n rows holds C(n, 2)
pairs, so

    predicted pairs = sum over predicted clusters          C(n, 2)
    true pairs      = sum over true entities               C(n, 2)
    true positives  = sum over (cluster, entity) overlaps  C(n, 2)

and precision = TP / predicted pairs, recall = TP / true pairs. A row with a null predicted
cluster (a quarantined row) is a singleton of its own. A row missing from the prediction is an
error (the pipeline must hand back every row), not something to paper over here.

Cluster-level scores: an entity is *exactly matched* when its rows are precisely one predicted
cluster (no row of it elsewhere, no other row in it). The rate is given over all entities and over
the duplicated ones (two rows or more), since singletons left alone are the easy part.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


def _pairs(sizes: pd.Series | np.ndarray) -> int:
    n = np.asarray(sizes, dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


@dataclass(frozen=True)
class ClusterScores:
    rows: int
    true_entities: int
    duplicated_entities: int  # entities with at least two rows
    predicted_clusters: int  # null predictions counted as singletons
    predicted_multi_clusters: int  # predicted clusters with at least two rows
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    false_positive_pairs: int
    false_negative_pairs: int
    precision: float
    recall: float
    f1: float
    exact_entities: int
    exact_cluster_rate: float  # over all true entities
    exact_duplicated_entities: int
    exact_cluster_rate_duplicated: float  # over entities with >= 2 rows
    impure_clusters: int  # predicted clusters holding rows of two entities or more (false merges)
    split_entities: int  # true entities spread over two predicted clusters or more (missed merges)

    def as_dict(self) -> dict:
        return asdict(self)


def assign_clusters(pred: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One frame `row_number, pred, entity` with integer codes; null predictions become singletons."""
    if pred["row_number"].duplicated().any():
        raise ValueError("the prediction has a row_number more than once")
    if truth["row_number"].duplicated().any():
        raise ValueError("the truth has a row_number more than once")
    df = truth[["row_number", "entity_id"]].merge(
        pred[["row_number", "cluster_id"]], on="row_number", how="left", indicator=True
    )
    missing = int((df["_merge"] != "both").sum())
    if missing:
        raise ValueError(f"{missing} truth rows have no prediction row")
    extra = len(pred) - len(df)
    if extra:
        raise ValueError(f"{extra} predicted rows are not in the truth")
    pred_codes, _ = pd.factorize(df["cluster_id"], use_na_sentinel=True)
    pred_codes = pred_codes.astype(np.int64)
    nulls = pred_codes < 0
    # Each null becomes its own cluster, numbered after the real ones.
    pred_codes[nulls] = pred_codes.max(initial=-1) + 1 + np.arange(int(nulls.sum()))
    entity_codes, _ = pd.factorize(df["entity_id"], use_na_sentinel=True)
    if (entity_codes < 0).any():
        raise ValueError("the truth has rows without an entity_id")
    return pd.DataFrame({"row_number": df["row_number"].to_numpy(), "pred": pred_codes, "entity": entity_codes})


def score_clusters(pred: pd.DataFrame, truth: pd.DataFrame) -> ClusterScores:
    """Pairwise and cluster-level scores of `pred` (row_number, cluster_id) against `truth`
    (row_number, entity_id)."""
    df = assign_clusters(pred, truth)
    pred_sizes = df.groupby("pred", sort=False).size()
    entity_sizes = df.groupby("entity", sort=False).size()
    overlap = df.groupby(["pred", "entity"], sort=False).size().rename("n").reset_index()

    predicted_pairs = _pairs(pred_sizes)
    true_pairs = _pairs(entity_sizes)
    tp = _pairs(overlap["n"])
    # Convention: no predicted pair means nothing claimed wrongly (precision 1); no true pair
    # means nothing to find (recall 1).
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    overlap["pred_size"] = overlap["pred"].map(pred_sizes).to_numpy()
    overlap["entity_size"] = overlap["entity"].map(entity_sizes).to_numpy()
    exact = overlap[(overlap["n"] == overlap["pred_size"]) & (overlap["n"] == overlap["entity_size"])]
    exact_dup = int((exact["entity_size"] >= 2).sum())
    dup_entities = int((entity_sizes >= 2).sum())
    entities_per_cluster = overlap.groupby("pred", sort=False).size()
    clusters_per_entity = overlap.groupby("entity", sort=False).size()

    return ClusterScores(
        rows=len(df),
        true_entities=len(entity_sizes),
        duplicated_entities=dup_entities,
        predicted_clusters=len(pred_sizes),
        predicted_multi_clusters=int((pred_sizes >= 2).sum()),
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        true_positive_pairs=tp,
        false_positive_pairs=predicted_pairs - tp,
        false_negative_pairs=true_pairs - tp,
        precision=precision,
        recall=recall,
        f1=f1,
        exact_entities=len(exact),
        exact_cluster_rate=len(exact) / len(entity_sizes) if len(entity_sizes) else 1.0,
        exact_duplicated_entities=exact_dup,
        exact_cluster_rate_duplicated=exact_dup / dup_entities if dup_entities else 1.0,
        impure_clusters=int((entities_per_cluster >= 2).sum()),
        split_entities=int((clusters_per_entity >= 2).sum()),
    )


def error_pairs(pred: pd.DataFrame, truth: pd.DataFrame, max_group: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The wrong pairs themselves, for error analysis: (false merges, missed merges), each a frame
    `row_l, row_r`. Pairs are enumerated inside predicted clusters / true entities only, and groups
    larger than `max_group` rows are skipped (a benchmark file has none; a giant cluster would be
    reported by the counts anyway)."""
    df = assign_clusters(pred, truth)

    def within(key: str) -> pd.DataFrame:
        sizes = df.groupby(key)[key].transform("size")
        sub = df.loc[(sizes >= 2) & (sizes <= max_group), ["row_number", "pred", "entity"]]
        pairs = sub.merge(sub, on=key, suffixes=("_l", "_r"))
        return pairs[pairs["row_number_l"] < pairs["row_number_r"]]

    in_pred = within("pred")
    false_merges = in_pred[in_pred["entity_l"] != in_pred["entity_r"]]
    in_entity = within("entity")
    missed = in_entity[in_entity["pred_l"] != in_entity["pred_r"]]
    rename = {"row_number_l": "row_l", "row_number_r": "row_r"}
    return (
        false_merges[["row_number_l", "row_number_r"]].rename(columns=rename).reset_index(drop=True),
        missed[["row_number_l", "row_number_r"]].rename(columns=rename).reset_index(drop=True),
    )
