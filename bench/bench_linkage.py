"""Linkage benchmark: our model against plain Splink and exact e-mail, and the blocking rules.

    python -m bench.bench_linkage [--sizes 100000,1000000] [--seed 21]
    python -m bench.bench_linkage --suite [--suite-rows 100000] [--suite-datasets febrl1,gen_b2c,...]

--suite runs the linkage benchmark suite of issue 14 instead (bench/linkage_suite.py): FEBRL1-4,
three generator profiles and the hand-written adversarial pairs, each with our linkage, plain
Splink, exact e-mail and the dedupe library side by side.


For each size: generate a messy file with truth, run the framework-free stages up to
enriched_contacts once, then time and measure (peak RSS, each method in its own process) the
linkage alone, score pairwise and cluster-level accuracy, and count, for every prediction
blocking rule, the pairs it generates and the true pairs it finds (the measurements behind the
choice of rules). Results go to BENCHMARKS.md between the bench_linkage markers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.bench_pipeline import machine_info
from bench.linkage_methods import method_in_child
from bench.markdown import replace_section
from bench.scoring import score_clusters

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench_linkage:begin -->", "<!-- bench_linkage:end -->"


def prepare(rows: int, seed: int, work: Path) -> tuple[Path, Path, Path]:
    """The generated CSV, its truth and the enriched contacts (Parquet), made once per size."""
    from bench.generator import generate, write_file
    from pipelines.enrich import enrich
    from pipelines.reader import read_contact_file, source_info
    from pipelines.standardise import standardise
    from pipelines.validate import split_rows

    csv, truth, enriched = work / f"g{rows}.csv", work / f"t{rows}.parquet", work / f"e{rows}.parquet"
    if not enriched.exists():
        messy, t = generate(rows, seed=seed)
        write_file(messy, csv, fmt="csv", encoding="utf-8", delimiter=",", header_lang="en")
        t.to_parquet(truth)
        raw = read_contact_file(csv)
        validated, _ = split_rows(raw, source_info(raw))
        pq.write_table(enrich(standardise(validated)), enriched)
    return csv, truth, enriched


def blocking_analysis(enriched: Path, truth: Path) -> list[dict]:
    """Per prediction blocking rule: pairs generated, true pairs found, and cumulative recall."""
    from pipelines import linkage, linkage_model

    table = pq.read_table(enriched)
    table = table.append_column("uid", table.column("row_number")).append_column("is_new", pa.array([True] * table.num_rows))
    con = duckdb.connect()
    data = linkage.linkage_input(con, table)
    con.register("c", data)
    con.register("t", pq.read_table(truth, columns=["row_number", "entity_id"]))
    con.execute("CREATE TEMP TABLE k AS SELECT c.*, t.entity_id FROM c JOIN t ON t.row_number = c.uid")
    true_pairs = con.execute(
        "SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM k GROUP BY entity_id)"
    ).fetchall()[0][0]
    rows = []
    for rule in linkage_model.BLOCKING_RULES_PREDICT:
        pairs, found = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE l.entity_id = r.entity_id) "
            f"FROM k AS l JOIN k AS r ON ({rule}) AND l.uid < r.uid"
        ).fetchall()[0]
        rows.append({"rule": rule, "pairs": pairs, "true_pairs": found, "precision": found / pairs if pairs else 0.0,
                     "recall": found / true_pairs})
    union_sql = " UNION ".join(
        f"SELECT l.uid AS a, r.uid AS b, l.entity_id = r.entity_id AS same FROM k AS l JOIN k AS r ON ({rule}) AND l.uid < r.uid"
        for rule in linkage_model.BLOCKING_RULES_PREDICT
    )
    total, total_true = con.execute(f"SELECT count(*), count(*) FILTER (WHERE same) FROM ({union_sql})").fetchall()[0]
    rows.append({"rule": "all rules together", "pairs": total, "true_pairs": total_true,
                 "precision": total_true / total if total else 0.0, "recall": total_true / true_pairs})
    return rows


def error_patterns(pred: pd.DataFrame, truth_path: Path, enriched: Path) -> list[str]:
    """Where the wrong pairs come from: false merges by kind of namesake, missed merges by
    whether a row never reached linkage (quarantined) and by the variations the generator applied."""
    from bench.scoring import error_pairs

    truth = pd.read_parquet(truth_path, columns=["row_number", "entity_id", "true_first_name", "true_last_name",
                                                 "true_company", "name_variation"])
    linked = set(pq.read_table(enriched, columns=["row_number"]).column("row_number").to_pylist())
    false, missed = error_pairs(pred, truth[["row_number", "entity_id"]])
    t = truth.set_index("row_number")

    def side(pairs: pd.DataFrame, end: str) -> pd.DataFrame:
        return t.loc[pairs[end].to_numpy()].reset_index(drop=True)

    lines = []
    if len(false):
        a, b = side(false, "row_l"), side(false, "row_r")
        same_name = (a.true_first_name == b.true_first_name) & (a.true_last_name == b.true_last_name)
        same_company = a.true_company == b.true_company
        kinds = pd.Series(["namesakes at one company" if n and c else "namesakes at two companies" if n
                           else "two names" for n, c in zip(same_name, same_company)]).value_counts()
        lines.append("False merges (pairs): " + ", ".join(f"{k} {v:,}" for k, v in kinds.items()) + ".")
    if len(missed):
        both_linked = missed.row_l.isin(linked).to_numpy() & missed.row_r.isin(linked).to_numpy()
        reached = missed[both_linked]
        a, b = side(reached, "row_l"), side(reached, "row_r")
        tags = pd.Series([tag for x, y in zip(a.name_variation, b.name_variation)
                          for tag in sorted((set(x.split("+")) | set(y.split("+"))) - {"none"})] or [""])
        top = tags[tags != ""].value_counts().head(6)
        lines.append(f"Missed merges (pairs): {int((~both_linked).sum()):,} have a row quarantined before linkage; "
                     f"of the other {len(reached):,}, the generator had applied "
                     + ", ".join(f"{k} {v:,}" for k, v in top.items()) + " (a pair can have several).")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--work", default=str(REPO / "bench" / "data"))
    parser.add_argument("--no-markdown", action="store_true")
    parser.add_argument("--suite", action="store_true", help="the linkage benchmark suite (bench/linkage_suite.py)")
    parser.add_argument("--suite-rows", type=int, default=100_000, help="rows of each generated profile (--suite)")
    parser.add_argument("--suite-datasets", default="", help="comma-separated subset of the suite's data sets")
    parser.add_argument("--dedupe-max-rows", type=int, default=2_000,
                        help="largest file the dedupe library is run on (--suite)")
    parser.add_argument("--dedupe-max-gib", type=float, default=8.0,
                        help="address space limit of the dedupe process (--suite): a MemoryError rather than a full machine")
    parser.add_argument("--suite-rerender", action="store_true",
                        help="write the suite's section again from its last results.json, running nothing")
    args = parser.parse_args(argv)
    if args.suite_rerender:
        from bench.linkage_suite import rerender

        rerender(args)
        return 0
    if args.suite:
        from bench.linkage_suite import run_suite

        run_suite(args)
        return 0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    lines = [BEGIN, "## Linkage (`python -m bench.bench_linkage`)", ""]
    info = machine_info()
    lines.append("Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ".")
    lines.append("")
    lines.append("Linkage alone, on the enriched contacts of the same generated file; each method in its own "
                 "process (peak RSS of that process). *refinery*: our model trained on the upload, merge guard, "
                 "constrained clustering. *plain Splink*: tutorial-style settings on lightly cleaned columns. "
                 "*exact e-mail*: what CRMs do natively.")
    for rows in [int(s) for s in args.sizes.split(",")]:
        t0 = time.perf_counter()
        csv, truth_path, enriched = prepare(rows, args.seed, work)
        print(f"[{rows}] prepared in {time.perf_counter() - t0:.0f} s", flush=True)
        truth = pd.read_parquet(truth_path, columns=["row_number", "entity_id"])
        lines += ["", f"### {rows:,} rows", "",
                  "| method | linkage s | rows/s | peak MiB | pairwise P | pairwise R | F1 | exact clusters (dup.) |",
                  "|---|--:|--:|--:|--:|--:|--:|--:|"]
        patterns: list[str] = []
        for method in ("refinery", "plain_splink", "exact_email_dedupe"):
            out = work / f"clusters_{method}_{rows}.parquet"
            res = method_in_child(method, csv, enriched, out)
            if "error" in res:
                lines.append(f"| {method} | failed: {res['error'][:80]} | | | | | | |")
                print(f"[{rows}] {method} failed: {res['error']}", flush=True)
                continue
            pred = pq.read_table(out).to_pandas()
            # Quarantined rows never reach linkage: they count as singletons.
            pred = truth[["row_number"]].merge(pred, on="row_number", how="left")
            s = score_clusters(pred, truth)
            lines.append(
                f"| {method} | {res['seconds']:.1f} | {rows / res['seconds']:,.0f} | {res['peak_rss_mib']:,.0f} | "
                f"{s.precision:.4f} | {s.recall:.4f} | {s.f1:.4f} | {s.exact_cluster_rate_duplicated:.4f} |"
            )
            print(f"[{rows}] {method}: {json.dumps(res)[:300]} P={s.precision:.4f} R={s.recall:.4f}", flush=True)
            if method == "refinery":
                patterns = error_patterns(pred, truth_path, enriched)
                training = res.get("training", {})
                if "rejected" in training:
                    patterns.insert(0, f"Training rejected, shipped model used: {training['rejected']}.")
        linked_rows = set(pq.read_table(enriched, columns=["row_number"]).column("row_number").to_pylist())
        reach = truth[truth.row_number.isin(linked_rows)].groupby("entity_id").size()
        sizes = truth.groupby("entity_id").size()
        ceiling = int((reach * (reach - 1) // 2).sum()) / int((sizes * (sizes - 1) // 2).sum())
        lines += ["", f"Recall any linkage can reach here: {ceiling:.4f} (true pairs whose two rows both pass "
                  "validation; the others are quarantined before linkage)."]
        lines += [""] + [f"*refinery*: {p}" for p in patterns]
        lines += ["", "Blocking rules (pairs each generates, true pairs among them; all rules together, recall of "
                  "true pairs):", "", "| rule | pairs | true pairs | share true | recall |", "|---|--:|--:|--:|--:|"]
        for b in blocking_analysis(enriched, truth_path):
            lines.append(f"| `{b['rule']}` | {b['pairs']:,} | {b['true_pairs']:,} | {b['precision']:.3f} | "
                         f"{b['recall']:.4f} |")
    lines.append(END)
    section = "\n".join(lines)
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
