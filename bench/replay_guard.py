"""Replay the merge guard and the clustering on saved scored pairs, to try guard changes quickly.

    python -m bench.replay_guard dump --rows 1000000      # once: train, score, save the pairs
    python -m bench.replay_guard replay --rows 1000000    # as often as needed: guard + clustering

`dump` runs the linkage of bench_linkage (same enriched file in bench/data, made by
`bench.bench_linkage.prepare`) up to the scored pairs and saves every pair the prediction keeps
(uid_l, uid_r, match_probability, from linkage.PREDICT_THRESHOLD) to bench/data/pairs{rows}.parquet.
`replay` rebuilds the linkage input from the enriched file with the current sql/linkage_input.sql,
judges the saved pairs with the current sql/merge_guard.sql and pipelines/clustering.py (constants
can be overridden with --set), clusters and prints pairwise precision and recall. For iterating
only: the model is not retrained, so figures for BENCHMARKS.md come from bench_linkage. Run the 1M
dump under `flock /tmp/refinery-heavy.lock`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.bench_linkage import REPO, error_patterns

WORK = REPO / "bench" / "data"


def _paths(rows: int, work: Path) -> tuple[Path, Path, Path]:
    return work / f"e{rows}.parquet", work / f"t{rows}.parquet", work / f"pairs{rows}.parquet"


def dump(rows: int, work: Path) -> None:
    from pipelines import linkage

    enriched, _, pairs_path = _paths(rows, work)
    original = linkage.finish_linkage

    def keep_pairs(con, combined, master, candidates, model, **kwargs):
        pq.write_table(con.sql("SELECT uid_l, uid_r, match_probability FROM predictions").to_arrow_table(), pairs_path)
        return original(con, combined, master, candidates, model, **kwargs)

    linkage.finish_linkage = keep_pairs
    try:
        linkage.link_upload(pq.read_table(enriched), upload_id="up-20261126t000000-00000001",
                            received_at="2026-11-26", train=True)
    finally:
        linkage.finish_linkage = original
    print(f"saved {pq.read_metadata(pairs_path).num_rows:,} pairs to {pairs_path}")


def replay(rows: int, work: Path, details: bool) -> None:
    from bench.scoring import score_clusters
    from pipelines import clustering, linkage

    enriched_path, truth_path, pairs_path = _paths(rows, work)
    t0 = time.perf_counter()
    enriched = pq.read_table(enriched_path)
    # uid as link_upload numbers the records of an upload without master data: row order from 1.
    uids = pa.array(range(1, enriched.num_rows + 1), pa.int64())
    table = enriched.append_column("uid", uids).append_column("is_new", pa.array([True] * enriched.num_rows))
    con = duckdb.connect()
    con.register("contacts", linkage.linkage_input(con, table))
    # the pairs link_upload judges (those it could merge or list for review)
    candidates = pq.read_table(pairs_path, filters=[("match_probability", ">=", linkage.REVIEW_THRESHOLD)])
    judged = clustering.judge_pairs(con, candidates)
    mergeable = pc.and_(pc.and_(judged.column("evidence"), pc.invert(judged.column("conflict"))),
                        pc.greater_equal(judged.column("match_probability"), linkage.MATCH_THRESHOLD))
    edges = judged.filter(mergeable).select(["uid_l", "uid_r", "match_probability"])
    result = clustering.constrained_clusters(con, uids, edges)
    row_of = dict(zip(uids.to_pylist(), enriched.column("row_number").to_pylist()))
    clusters = result.clusters.to_pandas()
    pred = pd.DataFrame({"row_number": clusters["uid"].map(row_of), "cluster_id": clusters["cluster"].astype(str)})
    truth = pd.read_parquet(truth_path, columns=["row_number", "entity_id"])
    pred = truth[["row_number"]].merge(pred, on="row_number", how="left")
    s = score_clusters(pred, truth)
    print(f"[{rows}] P={s.precision:.4f} R={s.recall:.4f} F1={s.f1:.4f} false pairs {s.false_positive_pairs:,} "
          f"missed pairs {s.false_negative_pairs:,} merging edges {edges.num_rows:,} "
          f"({time.perf_counter() - t0:.0f} s)")
    if details:
        for line in error_patterns(pred, truth_path, enriched_path):
            print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("dump", "replay"))
    parser.add_argument("--rows", default="100000", help="sizes, comma-separated")
    parser.add_argument("--work", default=str(WORK))
    parser.add_argument("--details", action="store_true", help="also break the errors down (replay)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="replay with a constant of pipelines/clustering.py or pipelines/linkage.py "
                             "changed (repeatable; linkage.MATCH_THRESHOLD=0.7)")
    args = parser.parse_args(argv)
    from pipelines import clustering, linkage

    for item in args.set:
        name, value = item.split("=", 1)
        module, name = (linkage, name.split(".", 1)[1]) if name.startswith("linkage.") else (clustering, name)
        if not hasattr(module, name):
            parser.error(f"{module.__name__} has no {name}")
        setattr(module, name, type(getattr(module, name))(value))
    for rows in (int(r) for r in args.rows.split(",")):
        if args.action == "dump":
            dump(rows, Path(args.work))
        else:
            replay(rows, Path(args.work), args.details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
