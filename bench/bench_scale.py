"""Large uploads: does `refinery run` complete, how long, how much memory (pipeline only).

    flock /tmp/refinery-heavy.lock python -m bench.bench_scale [--rows 5000000] [--seed 11] [--no-markdown]

Writes a generated messy list (profile "mixed", French Excel export: cp1252, ';') of `--rows` rows
to bench/data/ chunk by chunk (the generator never holds the whole list), runs the CLI on it in a
child process with a fresh local store, and records its wall time, its peak RSS (wait4() through
the launcher of bench/baselines.py) and the per-stage lines it prints (time, rows, RSS, peak).
No baselines and no scoring here: at these sizes the question is whether the upload completes
within the memory budget (issue 7: 5M rows within 16 GiB); bench/bench_pipeline.py compares
methods and scores clusters up to 1M rows. The result replaces this script's section of
BENCHMARKS.md; a failed run is recorded as failed, with the stage it reached and the error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from bench.bench_pipeline import (
    BENCHMARKS_MD,
    DATA_DIR,
    OUT_DIR,
    PROFILE,
    ROOT,
    PipelineFailed,
    load_average,
    machine_info,
    run_pipeline,
    stage_table,
)
from bench.generator import iter_generate, write_file
from bench.markdown import replace_section

BEGIN = "<!-- bench_scale:begin (written by python -m bench.bench_scale; edits here are overwritten) -->"
END = "<!-- bench_scale:end -->"
BUDGET_BYTES = 16 * 2**30
SETTINGS = ("REFINERY_DUCKDB_MEMORY_LIMIT", "REFINERY_DUCKDB_TEMP_DIR", "REFINERY_DUCKDB_THREADS",
            "REFINERY_PREDICT_CHUNK_ROWS")


def generate_file(rows: int, seed: int, log=print) -> tuple[Path, float]:
    """The benchmark file (reused when it is already there: generating 5M rows takes minutes)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"contacts_{PROFILE}_{rows}_s{seed}.csv"
    if path.exists() and path.stat().st_size > 0:
        log(f"[{rows:,}] reusing {path.relative_to(ROOT)}")
        return path, 0.0
    started = time.perf_counter()
    tmp = path.with_suffix(".part")
    chunks = (messy for messy, _truth in iter_generate(rows, seed=seed, profile=PROFILE, lang="fr"))
    write_file(chunks, tmp, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    tmp.rename(path)
    seconds = time.perf_counter() - started
    log(f"[{rows:,}] generated {path.relative_to(ROOT)} ({path.stat().st_size / 2**20:,.0f} MiB) in {seconds:.0f} s")
    return path, seconds


def available_memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable"):
                return f"{int(line.split()[1]) / 2**20:.1f}"
    except OSError:
        pass
    return "?"


class MemoryWatch:
    """Kills the measured `refinery run` if the RSS of its processes together (the CLI and, for a
    large upload, the process of the running stage) passes the budget: on a shared machine a run
    that would need more must fail on its own, not push the kernel to kill someone else's work.
    Records the highest total it saw (sampled every second) and whether it had to kill."""

    def __init__(self, marker: str, budget: int = BUDGET_BYTES, every: float = 1.0):
        self.marker, self.budget, self.every = marker, budget, every
        self.highest, self.killed = 0, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _pids(self) -> list[int]:
        """The CLI process and every process under it (the stage processes of a large upload)."""
        parents: dict[int, int] = {}
        roots = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            if self.marker in cmd and " run " in cmd and "launcher" not in cmd and "-S -c" not in cmd:
                roots.append(int(entry.name))
        tree, todo = set(roots), list(roots)
        while todo:
            pid = todo.pop()
            children = [c for c, p in parents.items() if p == pid and c not in tree]
            tree.update(children)
            todo.extend(children)
        return sorted(tree)

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(self.every):
            pids, total = self._pids(), 0
            for pid in pids:
                try:
                    total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                except (OSError, ValueError, IndexError):
                    continue
            self.highest = max(self.highest, total)
            if total > self.budget:  # the run's processes together: the CLI and a stage's process
                self.killed = True
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass


def run(rows: int, seed: int, log=print) -> dict:
    path, gen_s = generate_file(rows, seed, log)
    out_dir = OUT_DIR / f"scale-{rows}"
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict = {"rows": rows, "seed": seed, "file_bytes": path.stat().st_size, "generate_seconds": gen_s,
                    "available_gib_before": available_memory_gib(), "load_before": load_average(),
                    "settings": {k: os.environ.get(k, "(default)") for k in SETTINGS}}
    log(f"[{rows:,}] refinery run (available memory {result['available_gib_before']} GiB) ...")
    watch = MemoryWatch(str(path))
    try:
        with watch:
            wall, cli_s, peak, stages, text = run_pipeline(path, out_dir)
    except PipelineFailed as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.startswith("  ")]
        error = " / ".join(lines)[-600:]
        if watch.killed:
            error = (f"stopped by the benchmark when its RSS passed {BUDGET_BYTES / 2**30:.0f} GiB, "
                     f"{exc.wall:.0f} s in, in the stage after the last one listed below")
        result.update(ok=False, error=error, wall=exc.wall, peak=exc.peak, stages=exc.stages)
        log(f"[{rows:,}] FAILED after {exc.wall:.0f} s, peak {exc.peak / 2**30:.2f} GiB: {exc}")
    else:
        summary = json.loads((out_dir / "summary.json").read_text("utf-8"))
        result.update(ok=True, wall=wall, cli_seconds=cli_s, peak=peak, stages=stages, summary=summary)
        log(f"[{rows:,}] done in {wall:.0f} s, peak {peak / 2**30:.2f} GiB")
    result["highest_rss_seen"] = watch.highest
    result["load_after"] = load_average()
    return result


def render(results: list[dict], machine: dict[str, str], argv_text: str) -> str:
    out = [
        BEGIN,
        "## Large uploads (`python -m bench.bench_scale`)",
        "",
        f"`{argv_text}`, run under `flock /tmp/refinery-heavy.lock`. The whole `refinery run` (embedded "
        "default: local folder store, in-memory Dagster instance, a temporary one on disk when stages run in "
        "processes of their own) on a generated list, profile "
        f"`{PROFILE}`, written as a French Excel export (cp1252, `;`). *Peak RSS* is `ru_maxrss` from "
        "`wait4()` on the CLI process: the largest of that process and its stage processes (a file of "
        "300 MB or more runs each stage in a process of its own); *highest total* is the most that the "
        "CLI and its stage processes held together, sampled every second (DuckDB's spilled data is on "
        "disk, not in either). Pipeline only: "
        "methods are compared and clusters scored by `bench_pipeline` (up to 1M rows).",
        "",
    ]
    for r in results:
        out += [f"### {r['rows']:,} rows (seed {r['seed']})", ""]
        out += ["Machine: " + "; ".join(f"{k} {v}" for k, v in r.get("machine", machine).items()) + ".", ""]
        facts = (f"File {r['file_bytes'] / 2**20:,.0f} MiB. Memory available before the run: "
                 f"{r['available_gib_before']} GiB; load average before / after: {r['load_before']} / "
                 f"{r['load_after']}. Settings: " + ", ".join(f"`{k}` {v}" for k, v in r["settings"].items()) + ".")
        out += [facts, ""]
        peak = r.get("peak") or 0
        verdict = "within" if max(peak, r.get("highest_rss_seen", 0)) < BUDGET_BYTES else "**over**"
        if r.get("ok"):
            s = r["summary"]
            out += [
                f"**Completed** in {r['wall']:,.0f} s wall ({r['rows'] / r['wall']:,.0f} rows/s), peak RSS "
                f"{peak / 2**30:.2f} GiB, highest total {r.get('highest_rss_seen', 0) / 2**30:.2f} GiB: "
                f"{verdict} the 16 GiB budget. {s.get('rows_in', 0):,} rows in, "
                f"{s.get('rows_out', 0):,} out, {s.get('rows_quarantined', 0):,} quarantined, "
                f"{s.get('golden_records', 0):,} golden records, {s.get('merges', 0):,} merging links, "
                f"{s.get('pairs_to_review', 0):,} pairs to review.",
                "",
            ]
        else:
            out += [f"**Failed** after {r['wall']:,.0f} s, peak RSS {peak / 2**30:.2f} GiB: `{r['error']}`", ""]
        out += stage_table(r["stages"], "Stages (as printed by `refinery run`)")
    out.append(END)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="5000000", help="comma-separated row counts")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-markdown", action="store_true", help="print only, leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.rows.split(",") if s.strip()]
    machine = machine_info()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    results = [run(rows, args.seed, log) for rows in sizes]
    for r in results:
        r["machine"] = machine
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    store = OUT_DIR / "scale_results.json"
    # Sizes not re-run keep their last result (a 5M run takes most of an hour): one section, every size.
    data = json.loads(store.read_text("utf-8")) if store.exists() else {}
    previous = data.get("runs", [])
    for r in previous:  # files written before each run carried its own machine description
        r.setdefault("machine", data.get("machine") or machine)
    merged = {r["rows"]: r for r in previous}
    merged.update({r["rows"]: r for r in results})
    results_all = [merged[k] for k in sorted(merged)]
    store.write_text(json.dumps({"runs": results_all}, indent=1), "utf-8")
    argv_text = f"python -m bench.bench_scale --rows <size> --seed {args.seed}"
    section = render(results_all, machine, argv_text)
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN.split(" (")[0], END, BENCHMARKS_MD)
    return 0 if all(r.get("ok") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
