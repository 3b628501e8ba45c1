"""What the master's lock and atomic commit cost on a 100k-row upload (issue 15: under 2 % of its run).

    python -m bench.bench_master_commit [--rows 100000] [--seed 11] [--repeat 5] [--before REV] [--no-markdown]

1. `refinery run` on a generated file (profile "mixed", a French Excel export), in a child process
   with a fresh store: the run's wall time and its controller_master stage. With --before, the same
   file also runs on the code of REV (a copy from `git archive`), alternating, for the end-to-end
   comparison in the same session.
2. In this process, on the master that run committed: the commit path alone, repeated —
   the lock (acquire, one renewal, release) and a commit of the whole master as a new version
   (files under new keys, the transaction, the head's copy, superseded files removed) — against
   what the code before the issue did with the same records (records.parquet and state.json
   written in place, no lock).
The results replace this script's section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_pipeline import DATA_DIR, ROOT, load_average, machine_info, run_pipeline
from bench.generator import generate, write_file
from bench.markdown import replace_section

BEGIN = "<!-- bench_master_commit:begin (written by python -m bench.bench_master_commit; edits here are overwritten) -->"
END = "<!-- bench_master_commit:end -->"


def _stage(stages: list[dict], name: str) -> float | None:
    return next((s["seconds"] for s in stages if s["stage"] == name), None)


def commit_path_timings(store_root: Path, repeat: int) -> dict[str, float]:
    """Median seconds of the lock operations, the new commit and the old in-place publish, on the
    master committed in `store_root` (a copy, so the run's own store is left as it was)."""
    os.environ["REFINERY_LOCAL_STORE"] = str(store_root)
    os.environ.pop("REFINERY_INSTRUCTIONS_DSN", None)
    os.environ.pop("REFINERY_GDPR_DIR", None)
    from pipelines.master import parquet_bytes
    from resources import master_store
    from resources.instruction_log import RecordsDB
    from resources.object_store import LocalObjectStore

    store = LocalObjectStore(store_root)
    times: dict[str, list[float]] = {"lock": [], "commit": [], "old_publish": [], "load": []}
    with RecordsDB.from_env() as db:
        for i in range(repeat):
            t = time.perf_counter()
            master = master_store.load_master(store, "bench", db=db)
            times["load"].append(time.perf_counter() - t)
            holder = f"bench-{i}"
            t = time.perf_counter()
            master_store.acquire(db, store, "bench", holder, "a benchmark", wait_s=60)
            master_store.renew(db, store, "bench", holder)
            lock = time.perf_counter() - t
            t = time.perf_counter()
            master_store.commit(store, db, "bench", holder=holder, read_version=master.state["version"],
                                next_person=master.next_person, last_upload="bench", committed_by=f"bench {i}",
                                records=master.records)
            times["commit"].append(time.perf_counter() - t)
            t = time.perf_counter()
            master_store.release(db, store, "bench", holder)
            times["lock"].append(lock + time.perf_counter() - t)
            # Before issue 15: records.parquet then state.json, written in place (no lock, no head).
            t = time.perf_counter()
            store.put_bytes("controllers/old/master/records.parquet", parquet_bytes(master.records))
            store.put_bytes("controllers/old/master/state.json",
                            json.dumps({"next_person": master.next_person, "version": i + 1}).encode())
            times["old_publish"].append(time.perf_counter() - t)
        rows = master.size
    return {k: statistics.median(v) for k, v in times.items()} | {"master_rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", help="a git revision to run end to end on the same file (e.g. 8d9ef02)")
    parser.add_argument("--runs", type=int, default=2, help="end-to-end runs per code version")
    parser.add_argument("--no-markdown", action="store_true")
    args = parser.parse_args(argv)

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"master_commit_{args.rows}_{args.seed}.csv"
    if not path.exists():
        messy, _ = generate(args.rows, seed=args.seed, profile="mixed")
        write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    machine = machine_info()
    load_before = load_average()

    before_root = None
    if args.before:
        before_root = Path(tempfile.mkdtemp(prefix="refinery-before-"))
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before_root)], input=archive, check=True)
    end_to_end: dict[str, list[tuple[float, float | None]]] = {"this code": [], f"before ({args.before})": []}
    kept_store = Path(tempfile.mkdtemp(prefix="refinery-bench-master-"))
    for i in range(args.runs):
        for label, root in (("this code", None), (f"before ({args.before})", before_root)):
            if label != "this code" and root is None:
                continue
            with tempfile.TemporaryDirectory(prefix="refinery-bench-out-") as out:
                wall, cli, _peak, stages, _ = run_pipeline(path, Path(out), code_root=root)
                end_to_end[label].append((cli or wall, _stage(stages, "controller_master")))
                print(f"{label}: run {i + 1}: {cli or wall:.1f} s, controller_master {_stage(stages, 'controller_master')} s",
                      file=sys.stderr)
    # A master to time the commit path on: this code's run once more, into a store that is kept.
    refinery = Path(sys.executable).parent / "refinery"
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "REFINERY_GDPR_DIR", "REFINERY_INSTRUCTIONS_DSN")}
    subprocess.run([str(refinery), "run", str(path), "--controller", "bench", "--out", str(kept_store / "out")],
                   env={**env, "REFINERY_LOCAL_STORE": str(kept_store / "store")}, cwd=ROOT, check=True, capture_output=True)
    timings = commit_path_timings(kept_store / "store", args.repeat)
    run_seconds = statistics.median(t for t, _ in end_to_end["this code"])
    extra = timings["lock"] + timings["commit"] - timings["old_publish"]
    lines = [
        BEGIN,
        "## The master's lock and commit (issue 15)",
        "",
        f"`python -m bench.bench_master_commit {' '.join(argv if argv is not None else sys.argv[1:])}`: "
        f"{args.rows:,} rows (profile mixed, French Excel export), machine: {machine['cpu']}, {machine['cpus']}, "
        f"{machine['memory']}; code {machine['code']}; {machine['date']}; load average {load_before} before, "
        f"{load_average()} after.",
        "",
        "End to end (`refinery run`, CLI's own timer, median of the runs):",
        "",
        "| code | runs | run time | controller_master stage |",
        "|---|--:|--:|--:|",
    ]
    for label, runs in end_to_end.items():
        if runs:
            stage = [s for _, s in runs if s is not None]
            lines.append(f"| {label} | {len(runs)} | {statistics.median(t for t, _ in runs):.1f} s | "
                         f"{statistics.median(stage):.2f} s |" if stage else f"| {label} | {len(runs)} | "
                         f"{statistics.median(t for t, _ in runs):.1f} s | ? |")
    lines += [
        "",
        f"The commit path alone, on the {int(timings['master_rows']):,} records that run committed, median of "
        f"{args.repeat} (local store, SQLite records database):",
        "",
        "| step | time | share of the run |",
        "|---|--:|--:|",
        f"| lock: acquire, one renewal, release | {timings['lock'] * 1000:.1f} ms | {timings['lock'] / run_seconds:.3%} |",
        f"| commit: files under new keys, transaction, head copy, superseded removed | {timings['commit'] * 1000:.1f} ms | "
        f"{timings['commit'] / run_seconds:.3%} |",
        f"| before issue 15: records.parquet and state.json in place | {timings['old_publish'] * 1000:.1f} ms | "
        f"{timings['old_publish'] / run_seconds:.3%} |",
        f"| **what the lock and the commit add** | **{extra * 1000:.1f} ms** | **{extra / run_seconds:.3%}** (target < 2 %) |",
        f"| reading the master back (head, then files) | {timings['load'] * 1000:.1f} ms | {timings['load'] / run_seconds:.3%} |",
        "",
        "Heartbeats while a stage runs add one UPDATE every min(30 s, TTL/5) from a thread of their own.",
        END,
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
