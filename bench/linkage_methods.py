"""One linkage method (the refinery's, or a baseline of bench/baselines.py) run in a fresh process,
measured: shared by bench/bench_linkage.py and its suite (bench/linkage_suite.py)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def method_in_child(method: str, csv: Path, enriched: Path, out: Path, truth: Path | None = None,
           train: bool | None = True, max_gib: float | None = None) -> dict:
    """Run one method in a fresh process; returns its wall time, peak RSS and output path.
    train: the refinery's (None: as `refinery run` decides, from the upload's size). max_gib: address
    space limit of the child, so that a method whose memory runs away fails instead of taking the
    machine (MemoryError in the table)."""
    code = f"""
import json, resource, sys, time
import pyarrow.parquet as pq, pyarrow as pa
method, csv, enriched, out, truth = {method!r}, {str(csv)!r}, {str(enriched)!r}, {str(out)!r}, {str(truth) if truth else None!r}
import logging, warnings
warnings.filterwarnings("ignore")
logging.getLogger("splink").setLevel(logging.WARNING)
if {max_gib!r}:
    resource.setrlimit(resource.RLIMIT_AS, (int({max_gib!r} * 2**30), int({max_gib!r} * 2**30)))
t = time.perf_counter()
if method == "refinery":
    from pipelines.linkage import link_upload
    r = link_upload(pq.read_table(enriched), upload_id="up-20261126t000000-00000001", received_at="2026-11-26", train={train!r})
    table = r.linked.select(["row_number", "person_id"]).rename_columns(["row_number", "cluster_id"])
    extra = {{"pairs_scored": r.pairs_scored, "merging_links": r.pairs_matched, "review_pairs": r.review.num_rows,
              "components_split": r.components_split, "training": r.training}}
else:
    from bench import baselines
    res = baselines.dedupe_baseline(csv, truth_path=truth) if method == "dedupe" else getattr(baselines, method)(csv)
    table = pa.Table.from_pandas(res.clusters[["row_number", "cluster_id"]].astype({{"cluster_id": str}}), preserve_index=False)
    extra = {{}}
seconds = time.perf_counter() - t
pq.write_table(table, out)
print(json.dumps({{"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}}))
"""
    # Through the measuring launcher of bench/baselines.py: ru_maxrss survives fork and exec on
    # Linux, so a child started directly would report at least this process's own peak.
    from bench.baselines import run_measured

    with tempfile.TemporaryFile(mode="w+") as out_f, tempfile.TemporaryFile(mode="w+") as err_f:
        code_, _wall, peak = run_measured([sys.executable, "-c", code], cwd=REPO, stdout=out_f, stderr=err_f)
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    if code_ != 0:
        return {"error": stderr.strip().splitlines()[-1] if stderr.strip() else "failed"}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mib"] = peak / 2**20
    return result
