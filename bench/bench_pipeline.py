"""End-to-end benchmark: `refinery run` against plain Splink and exact e-mail dedupe, same file.

    python -m bench.bench_pipeline [--sizes 10000,100000] [--seed 11] [--no-markdown]

For each size: generate a messy list with ground truth (profile "mixed"), write it as a French
Excel export (cp1252, ';', French headers) under bench/data/ (gitignored), run the CLI on it in a
child process with a fresh local store (wall time, rows/s, peak RSS of that child from wait4()),
read the per-stage times it prints, check it hands back every row, score its clusters against the
truth, run both baselines (bench/baselines.py) on the same file, each in its own child process,
and describe the pipeline's wrong pairs by pattern. The results replace this script's section of
BENCHMARKS.md (between the markers below) and are printed; other sections are left alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from bench.baselines import BaselineResult, run_in_child, run_measured
from bench.generator import generate, write_file
from bench.markdown import replace_section
from bench.scoring import ClusterScores, error_pairs, score_clusters

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "bench" / "data"
OUT_DIR = ROOT / "bench" / "out"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
BEGIN = "<!-- bench_pipeline:begin (written by python -m bench.bench_pipeline; edits here are overwritten) -->"
END = "<!-- bench_pipeline:end -->"
PROFILE = "mixed"

# `  <stage> <rows> rows  <seconds> s  [<rate> rows/s]  [detail]` as printed by ProgressReporter.
STAGE_LINE = re.compile(
    r"^\s+(?P<stage>[A-Za-z_]\w*)\s+(?P<rows>[\d,]+) rows\s+(?P<seconds>[\d.]+) s"
    r"(?:\s+(?P<rate>[\d,]+) rows/s)?\s*(?P<detail>.*)$"
)
# Standardised columns of contacts.csv used to describe wrong pairs (never printed as values).
DESCRIBE_COLUMNS = ["first_name", "last_name", "email", "phone_e164", "company", "company_domain", "linkedin_url"]


@dataclass
class MethodRun:
    name: str
    process_seconds: float  # child process start to exit (interpreter start-up and imports included)
    work_seconds: float | None  # the work itself (pipeline: CLI's own timer; baselines: function)
    peak_rss_bytes: int | None
    scores: ClusterScores | None  # None when the method failed
    error: str | None = None


@dataclass
class SizeRun:
    rows: int
    seed: int
    file_bytes: int
    generate_seconds: float
    methods: list[MethodRun] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)
    pipeline_summary: dict = field(default_factory=dict)
    patterns: dict[str, dict[str, list[tuple[str, int]]]] = field(default_factory=dict)
    marginals: dict[str, dict[str, dict[str, list[tuple[str, int]]]]] = field(default_factory=dict)
    before_stages: list[dict] = field(default_factory=list)
    before_label: str | None = None
    exports_compared: str | None = None  # before/after: which export files are identical


# ----------------------------------------------------------------------------------------------
# Running the pipeline
# ----------------------------------------------------------------------------------------------
# `[RSS <MiB> MiB, peak <MiB> MiB]` that the CLI appends to each stage line (process memory when
# the stage ended, and the process's high-water mark so far).
MEMORY_NOTE = re.compile(r"\s*\[(?:RSS (?P<rss>[\d,]+) MiB, )?peak (?P<peak>[\d,]+) MiB\]\s*$")


def parse_stage_lines(stderr_text: str) -> list[dict]:
    stages = []
    for line in stderr_text.splitlines():
        m = STAGE_LINE.match(line)
        if m:
            detail = m["detail"].strip()
            mem = MEMORY_NOTE.search(detail)
            rss = peak = None
            if mem:
                detail = detail[: mem.start()].strip()
                rss = int(mem["rss"].replace(",", "")) if mem["rss"] else None
                peak = int(mem["peak"].replace(",", ""))
            stages.append(
                {
                    "stage": m["stage"],
                    "rows": int(m["rows"].replace(",", "")),
                    "seconds": float(m["seconds"]),
                    "detail": detail,
                    "rss_mib": rss,
                    "peak_mib": peak,
                }
            )
    return stages


class PipelineFailed(RuntimeError):
    def __init__(self, message: str, wall: float, peak: int, stages: list[dict]):
        super().__init__(message)
        self.wall, self.peak, self.stages = wall, peak, stages


def run_pipeline(path: Path, out_dir: Path, code_root: Path | None = None,
                 env_extra: dict[str, str] | None = None) -> tuple[float, float | None, int, list[dict], str]:
    """`refinery run` in a child with a fresh store; (wall s, CLI's own s, peak RSS, stages, stderr).
    `code_root`: run that checkout's code instead (a copy of an earlier commit, for before/after
    figures in one run). Raises PipelineFailed (with what was measured) when the CLI exits non-zero."""
    refinery = Path(sys.executable).parent / "refinery"
    if not refinery.exists():
        raise FileNotFoundError(f"{refinery} not found: is the package installed in this venv?")
    for name in ("contacts.csv", "summary.json"):
        (out_dir / name).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="refinery-bench-store-") as store:
        env = dict(os.environ, REFINERY_LOCAL_STORE=store, **(env_extra or {}))
        env.pop("DAGSTER_HOME", None)  # in-memory Dagster instance: nothing left behind
        if code_root is not None:
            env["PYTHONPATH"] = str(code_root)  # ahead of this checkout's editable install
        log_path = Path(store) / "stderr.txt"
        with open(log_path, "wb") as err:
            code, wall, peak = run_measured(
                [str(refinery), "run", str(path), "--controller", "bench", "--out", str(out_dir)],
                env=env, cwd=code_root or ROOT, stdout=err, stderr=err,
            )
        text = log_path.read_text("utf-8", errors="replace")
    if code != 0:
        errors = [line for line in text.splitlines() if line.startswith("refinery: error:")]
        message = f"exit {code} after {wall:.1f} s: " + (errors[-1] if errors else text.strip()[-2000:])
        # The CLI names the input path in its error; keep only what follows it.
        message = message.replace(str(path) + ": ", "")
        raise PipelineFailed(message, wall, peak, parse_stage_lines(text))
    m = re.search(r"golden records .* in ([\d.]+) s", text)
    return wall, float(m.group(1)) if m else None, peak, parse_stage_lines(text), text


def read_pipeline_output(out_dir: Path, rows: int) -> tuple[pd.DataFrame, dict]:
    contacts = pd.read_csv(
        out_dir / "contacts.csv",
        encoding="utf-8-sig",
        usecols=["row_number", "status", "cluster_id", *DESCRIBE_COLUMNS],
        dtype={"cluster_id": "string", "status": "string", **{c: "string" for c in DESCRIBE_COLUMNS}},
        keep_default_na=False,
        na_values=[""],
    )
    summary = json.loads((out_dir / "summary.json").read_text("utf-8"))
    problems = []
    if len(contacts) != rows:
        problems.append(f"contacts.csv has {len(contacts)} rows for {rows} input rows")
    if not contacts["row_number"].equals(pd.Series(range(1, len(contacts) + 1), name="row_number")):
        problems.append("contacts.csv row_number is not 1..n in order")
    if summary.get("rows_in") != rows or summary.get("rows_out") != rows:
        problems.append(f"summary says rows_in={summary.get('rows_in')} rows_out={summary.get('rows_out')}")
    if problems:
        raise RuntimeError("; ".join(problems))
    return contacts, summary


# ----------------------------------------------------------------------------------------------
# Describing wrong pairs (patterns only, never values)
# ----------------------------------------------------------------------------------------------
PAIR_FEATURES_SQL = """
WITH p AS (
    SELECT
        e.row_l, e.row_r,
        lower(l.first_name) AS fl, lower(r.first_name) AS fr,
        lower(l.last_name) AS ll, lower(r.last_name) AS lr,
        lower(l.email) AS el, lower(r.email) AS er,
        l.phone_e164 AS pl, r.phone_e164 AS pr,
        lower(l.company) AS cl, lower(r.company) AS cr,
        l.company_domain AS dl, r.company_domain AS dr,
        l.linkedin_url AS il, r.linkedin_url AS ir,
        l.status AS sl, r.status AS sr,
        tl.entity_id AS entl, tr.entity_id AS entr,
        lower(tl.true_first_name) AS tfl, lower(tr.true_first_name) AS tfr,
        lower(tl.true_last_name) AS tll, lower(tr.true_last_name) AS tlr,
        lower(tl.true_email) AS tel, lower(tr.true_email) AS ter,
        tl.true_email_kind AS kl, tr.true_email_kind AS kr,
        tl.true_company AS tcl, tr.true_company AS tcr,
        tl.email_corruption AS ecl, tr.email_corruption AS ecr,
        tl.name_variation AS nvl, tr.name_variation AS nvr,
        tl.company_variation AS cvl, tr.company_variation AS cvr
    FROM pairs e
    JOIN described l ON l.row_number = e.row_l
    JOIN described r ON r.row_number = e.row_r
    JOIN truth tl ON tl.row_number = e.row_l
    JOIN truth tr ON tr.row_number = e.row_r
)
SELECT
    CASE
        WHEN sl <> 'ok' OR sr <> 'ok' THEN 'quarantined'
        WHEN fl IS NULL AND fr IS NULL AND ll IS NULL AND lr IS NULL THEN 'no names'
        WHEN fl = fr AND ll = lr THEN 'same'
        WHEN fl = lr AND ll = fr THEN 'swapped'
        WHEN ll = lr AND (fl IS NULL OR fr IS NULL) THEN 'same last, first missing'
        WHEN ll = lr AND left(fl, 1) = left(fr, 1) THEN 'same last, first differs (same initial)'
        WHEN ll = lr THEN 'same last, other first'
        WHEN fl = fr AND jaro_winkler_similarity(ll, lr) >= 0.85 THEN 'same first, last close'
        WHEN fl = fr THEN 'same first, other last'
        WHEN jaro_winkler_similarity(coalesce(fl, '') || ' ' || coalesce(ll, ''),
                                     coalesce(fr, '') || ' ' || coalesce(lr, '')) >= 0.9 THEN 'close'
        ELSE 'different'
    END AS name,
    CASE
        WHEN el IS NULL OR er IS NULL THEN 'missing'
        WHEN el = er THEN 'same'
        WHEN split_part(el, '@', 1) = split_part(er, '@', 1) THEN 'same local, other domain'
        WHEN split_part(el, '@', 2) = split_part(er, '@', 2) THEN 'other local, same domain'
        ELSE 'different'
    END AS email,
    CASE
        WHEN (cl IS NULL OR cr IS NULL) AND (dl IS NULL OR dr IS NULL) THEN 'missing'
        WHEN cl = cr THEN 'same'
        WHEN dl = dr THEN 'same domain'
        WHEN jaro_winkler_similarity(cl, cr) >= 0.9 THEN 'close'
        ELSE 'different'
    END AS company,
    CASE WHEN pl IS NULL OR pr IS NULL THEN 'missing' WHEN pl = pr THEN 'same' ELSE 'different' END AS phone,
    CASE WHEN il IS NULL OR ir IS NULL THEN 'missing' WHEN il = ir THEN 'same' ELSE 'different' END AS linkedin,
    -- What the truth says about the pair.
    CASE
        WHEN entl = entr THEN
            concat_ws(', ',
                CASE WHEN tel <> ter THEN 'true e-mails differ (' || kl || '/' || kr || ')' END,
                CASE WHEN kl = 'generic' OR kr = 'generic' THEN 'generic mailbox' END,
                CASE WHEN ecl NOT IN ('none', 'case') OR ecr NOT IN ('none', 'case')
                     THEN 'e-mail ' || CASE WHEN ecl NOT IN ('none', 'case') THEN ecl ELSE ecr END END,
                CASE WHEN regexp_matches(nvl || '+' || nvr, 'swapped|initial|typo|missing_first|first_surname|particle|nickname|compound')
                     THEN 'name ' || regexp_extract(nvl || '+' || nvr, '(swapped|initial|typo|missing_first|first_surname|particle|nickname|compound)') END,
                CASE WHEN regexp_matches(cvl || '+' || cvr, 'missing|typo|abbrev|form_prefix|division|rename')
                     THEN 'company ' || regexp_extract(cvl || '+' || cvr, '(missing|typo|abbrev|form_prefix|division|rename)') END)
        ELSE
            concat_ws(', ',
                CASE WHEN tfl = tfr AND tll = tlr THEN 'homonyms' END,
                CASE WHEN tcl = tcr THEN 'colleagues' END,
                CASE WHEN tel = ter THEN 'same true e-mail' END,
                CASE WHEN kl = 'generic' OR kr = 'generic' THEN 'generic mailbox' END)
    END AS truth
FROM p
"""


def fallback_descriptions(path: Path) -> pd.DataFrame:
    from bench.baselines import plain_splink_input

    df = plain_splink_input(path).to_pandas()
    return pd.DataFrame(
        {
            "row_number": df["row_number"], "status": "ok", "first_name": df["first_name"],
            "last_name": df["last_name"], "email": df["email"], "phone_e164": df["phone"],
            "company": df["company"], "company_domain": pd.NA, "linkedin_url": pd.NA,
        }
    ).astype({c: "string" for c in DESCRIBE_COLUMNS})


def pair_patterns(pairs: pd.DataFrame, described: pd.DataFrame, truth: pd.DataFrame,
                  top: int = 10) -> tuple[list[tuple[str, int]], dict[str, list[tuple[str, int]]]]:
    """Count wrong pairs by the pattern of their fields as standardised by the pipeline: the `top`
    full patterns, and per field (name, e-mail, company) how the pairs split."""
    if pairs.empty:
        return [], {}
    con = duckdb.connect()
    try:
        con.register("pairs", pairs)
        con.register("described", described)
        con.register("truth", truth)
        feats = con.sql(PAIR_FEATURES_SQL).df()
    finally:
        con.close()
    feats["truth"] = feats["truth"].replace("", "-")
    label = (
        "name " + feats["name"] + " | e-mail " + feats["email"] + " | company " + feats["company"]
        + " | phone " + feats["phone"] + " | linkedin " + feats["linkedin"] + " | truth: " + feats["truth"]
    )
    counts = label.value_counts().head(top)
    marginals = {}
    for col in ("name", "email", "company"):
        vc = feats[col].value_counts()
        marginals[col] = list(zip(vc.index, vc.astype(int).tolist()))
    return list(zip(counts.index, counts.astype(int).tolist())), marginals


# ----------------------------------------------------------------------------------------------
# One size
# ----------------------------------------------------------------------------------------------
EXPORTS_COMPARED = ("contacts.csv", "golden.csv", "duplicates.csv", "merge_audit.csv", "review.csv")
_UPLOAD_ID = re.compile(rb"up-\d{8}t\d{6}-[0-9a-f]{8}")


def compare_exports(a: Path, b: Path) -> str:
    """Which export files two runs wrote identically (upload ids, new in each run, aside)."""
    same, differ = [], []
    for name in EXPORTS_COMPARED:
        try:
            x, y = (_UPLOAD_ID.sub(b"UP", (d / name).read_bytes()) for d in (a, b))
        except OSError:
            differ.append(f"{name} (missing)")
            continue
        (same if x == y else differ).append(name)
    text = f"identical: {', '.join(same) or 'none'}"
    return text + (f"; different: {', '.join(differ)}" if differ else "")


def run_size(rows: int, seed: int, log=print, before: Path | None = None, before_label: str | None = None) -> SizeRun:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    out_dir = OUT_DIR / str(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"contacts_{PROFILE}_{rows}_s{seed}.csv"

    started = time.perf_counter()
    messy, truth = generate(rows, seed=seed, profile=PROFILE, lang="fr")
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    gen_s = time.perf_counter() - started
    del messy
    truth.to_parquet(DATA_DIR / f"truth_{PROFILE}_{rows}_s{seed}.parquet", index=False)
    run = SizeRun(rows=rows, seed=seed, file_bytes=path.stat().st_size, generate_seconds=gen_s)
    log(f"[{rows:,}] generated {path.relative_to(ROOT)} ({run.file_bytes / 2**20:.1f} MiB) in {gen_s:.1f} s")

    log(f"[{rows:,}] refinery run ...")
    preds: dict[str, pd.DataFrame] = {}
    contacts = None
    try:
        wall, cli_s, peak, stages, _text = run_pipeline(path, out_dir)
        contacts, summary = read_pipeline_output(out_dir, rows)
    except PipelineFailed as exc:
        run.stages = exc.stages
        run.methods.append(MethodRun("refinery pipeline", exc.wall, None, exc.peak, None, error=str(exc)))
        log(f"[{rows:,}] refinery run FAILED: {exc}")
    else:
        run.stages, run.pipeline_summary = stages, summary
        preds["refinery pipeline"] = contacts[["row_number", "cluster_id"]]
        run.methods.append(
            MethodRun("refinery pipeline", wall, cli_s, peak, score_clusters(preds["refinery pipeline"], truth))
        )
        log(f"[{rows:,}] refinery run: {wall:.1f} s, peak {peak / 2**20:.0f} MiB")

    if before is not None:
        label = f"refinery pipeline before ({before_label or before.name})"
        before_out = OUT_DIR / f"{rows}-before"
        before_out.mkdir(parents=True, exist_ok=True)
        log(f"[{rows:,}] {label} ...")
        run.before_label = label
        try:
            b_wall, b_cli, b_peak, b_stages, _ = run_pipeline(path, before_out, code_root=before)
            b_contacts, _ = read_pipeline_output(before_out, rows)
        except PipelineFailed as exc:
            run.before_stages = exc.stages
            run.methods.append(MethodRun(label, exc.wall, None, exc.peak, None, error=str(exc)))
        else:
            run.before_stages = b_stages
            run.methods.append(MethodRun(label, b_wall, b_cli, b_peak,
                                         score_clusters(b_contacts[["row_number", "cluster_id"]], truth)))
            if contacts is not None:
                run.exports_compared = compare_exports(out_dir, before_out)
            log(f"[{rows:,}] {label}: {b_wall:.1f} s, peak {b_peak / 2**20:.0f} MiB; {run.exports_compared}")

    for name, label in (("plain_splink", "plain Splink"), ("exact_email", "exact e-mail")):
        log(f"[{rows:,}] baseline {name} ...")
        res: BaselineResult = run_in_child(name, path)
        preds[label] = res.clusters
        run.methods.append(
            MethodRun(label, res.process_seconds, res.seconds, res.peak_rss_bytes, score_clusters(res.clusters, truth))
        )
        log(f"[{rows:,}] baseline {name}: {res.process_seconds:.1f} s, peak {res.peak_rss_bytes / 2**20:.0f} MiB")

    if contacts is not None:
        described = contacts[["row_number", "status", *DESCRIBE_COLUMNS]]
    else:  # the pipeline failed: describe pairs by the baselines' light cleaning instead
        described = fallback_descriptions(path)
    for label, pred in preds.items():
        false_merges, missed = error_pairs(pred, truth)
        run.patterns[label], run.marginals[label] = {}, {}
        for kind, pairs in (("false merges", false_merges), ("missed duplicates", missed)):
            run.patterns[label][kind], run.marginals[label][kind] = pair_patterns(pairs, described, truth)
    return run


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def machine_info() -> dict[str, str]:
    def first(path: str, key: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            return None
        return None

    import pyarrow
    import splink

    try:
        import dagster

        dagster_version = dagster.__version__
    except Exception:  # noqa: BLE001 - only a label
        dagster_version = "?"
    mem_kb = first("/proc/meminfo", "MemTotal")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": first("/proc/cpuinfo", "model name") or platform.processor() or "?",
        "cpus": f"{affinity} usable ({os.cpu_count()} online)",
        "memory": f"{int(mem_kb.split()[0]) / 2**20:.1f} GiB" if mem_kb else "?",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "splink": splink.__version__,
        "pyarrow": pyarrow.__version__,
        "dagster": dagster_version,
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "code": code_version(),
    }


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def code_version() -> str:
    """The commit benchmarked and whether the working tree had changes (read-only git calls)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "?"
    if not head:
        return "?"
    return head + (f" with {len(dirty)} uncommitted modified files" if dirty else "")


def _mib(b: int | None) -> str:
    return "?" if b is None else f"{b / 2**20:,.0f}"


def _secs(s: float | None) -> str:
    return "?" if s is None else f"{s:,.1f}"


def truth_scores(run: SizeRun) -> ClusterScores | None:
    """Any successful method's scores carry the truth-side counts."""
    return next((m.scores for m in run.methods if m.scores is not None), None)


def size_table(run: SizeRun) -> list[str]:
    lines = [
        "| method | wall s (process) | wall s (work) | rows/s | peak RSS MiB | precision | recall | F1 "
        "| exact clusters (all) | exact clusters (dup.) | clusters | impure clusters | split entities |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for m in run.methods:
        s = m.scores
        head = f"| {m.name} | {_secs(m.process_seconds)} | {_secs(m.work_seconds)} "
        if s is None:
            lines.append(head + f"| | {_mib(m.peak_rss_bytes)} | **failed** | | | | | | | |")
            continue
        lines.append(
            head + f"| {run.rows / m.process_seconds:,.0f} "
            f"| {_mib(m.peak_rss_bytes)} | {s.precision:.4f} | {s.recall:.4f} | {s.f1:.4f} "
            f"| {s.exact_cluster_rate:.4f} | {s.exact_cluster_rate_duplicated:.4f} | {s.predicted_clusters:,} "
            f"| {s.impure_clusters:,} | {s.split_entities:,} |"
        )
    t = truth_scores(run)
    if t is not None:
        lines.append(f"| *truth* | | | | | | | | | | {t.true_entities:,} | | |")
    return lines


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def render_section(runs: list[SizeRun], machine: dict[str, str], argv_text: str) -> str:
    out = [
        BEGIN,
        "## End-to-end: refinery vs plain Splink vs exact e-mail",
        "",
        f"`{argv_text}` — generated profile `{PROFILE}` (≈50 % France, rest DE ES IT GB BE CH NL), "
        "written as a French Excel export (cp1252, `;`, French headers); all three methods read that "
        "same file. Each method runs in its own child process: *wall s (process)* is child start to "
        "exit (interpreter start-up and imports included; rows/s uses it), *wall s (work)* is the "
        "method's own timer (the CLI's end-to-end timer for the pipeline; reading + cleaning + "
        "training + clustering for the baselines), *peak RSS* is the child's `ru_maxrss` from `wait4()`.",
        "",
        "Scores are against the generator's ground truth, over every input row (quarantined rows "
        "count as singletons): pairwise precision / recall / F1 over pairs of rows in one cluster; "
        "*exact clusters* is the share of true entities whose rows are exactly one predicted "
        "cluster, over all entities and over duplicated ones (≥ 2 rows); *impure clusters* hold "
        "rows of several people (false merges); *split entities* are people spread over several "
        "clusters (missed duplicates).",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". Timings are single runs "
        "and move from run to run when other work competes for the CPUs (see the load average): "
        "compare methods within one table rather than across runs.",
        "",
        "Plain Splink: trim + lower-case of first name, last name, e-mail, company, phone digits only; "
        "`NameComparison` (term frequencies) on both names, `EmailComparison`, `ExactMatch` on phone and "
        "company; blocking on e-mail, first + last name, last name + company; prior from e-mail "
        "(recall 0.7), u by random sampling (5e6 pairs), EM on e-mail and on first + last name; "
        "clusters at 0.95; `DuckDBAPI()` defaults (all cores, no memory limit). Exact e-mail: same "
        "trimmed lower-cased e-mail = one cluster, as CRMs do.",
        "",
    ]
    for run in runs:
        summ = run.pipeline_summary
        t = truth_scores(run)
        pipeline = run.methods[0]
        out += [f"### {run.rows:,} rows (seed {run.seed})", ""]
        facts = f"File {run.file_bytes / 2**20:.1f} MiB"
        if t is not None:
            facts += (f"; {t.true_entities:,} true entities, {t.duplicated_entities:,} of them duplicated, "
                      f"{t.true_pairs:,} true duplicate pairs")
        if summ:
            facts += (f". Pipeline: {_count(summ.get('rows_in'))} rows in, {_count(summ.get('rows_out'))} out "
                      f"(checked: one row out per row in), {_count(summ.get('rows_quarantined'))} quarantined, "
                      f"{_count(summ.get('golden_records'))} golden records")
        out += [facts + ".", ""]
        if pipeline.error:
            out += [f"**The pipeline failed**: `{pipeline.error}`", ""]
        out += [*size_table(run), ""]
        out += targets_lines(run)
        if run.exports_compared:
            out += [f"Exports of *{run.before_label}* and of this code on the same file (upload ids aside): "
                    f"{run.exports_compared}.", ""]
        out += stage_table(run.stages, "Pipeline stages (as printed by `refinery run`"
                           + (", up to the failure" if pipeline.error else "") + ")")
        if run.before_stages:
            out += stage_table(run.before_stages, f"Stages of *{run.before_label}*")
        for method, top in (("refinery pipeline", 10), ("plain Splink", 5)):
            m = next((m for m in run.methods if m.name == method), None)
            if m is None or m.scores is None:
                continue
            for kind in ("false merges", "missed duplicates"):
                pats = run.patterns.get(method, {}).get(kind, [])[:top]
                n_pairs = m.scores.false_positive_pairs if kind == "false merges" else m.scores.false_negative_pairs
                out.append(f"{method[0].upper() + method[1:]}, {kind}: {n_pairs:,} pairs; top patterns "
                           "(fields compared as standardised by the pipeline; *truth* says what the generator did):")
                out.append("")
                marg = run.marginals.get(method, {}).get(kind, {})
                if marg:
                    out.append("- by field: " + "; ".join(
                        f"**{col}** " + ", ".join(f"{v} {n:,}" for v, n in vals) for col, vals in marg.items()
                    ))
                if not pats:
                    out.append("- none")
                for label, n in pats:
                    out.append(f"- {n:,} × {label}")
                out.append("")
    out.append(END)
    return "\n".join(out) + "\n"


def stage_table(stages: list[dict], title: str) -> list[str]:
    """Per-stage rows, time, rate and memory; *RSS* is the CLI process when the stage ended,
    *peak* its high-water mark so far (the stage where it jumps is the one that set it)."""
    out = [title + "; *RSS* = the process when the stage ended, *peak* = its highest so far:", "",
           "| stage | rows | s | rows/s | RSS MiB | peak MiB | detail |", "|---|--:|--:|--:|--:|--:|---|"]
    for st in stages:
        rate = f"{st['rows'] / st['seconds']:,.0f}" if st["seconds"] > 0 else ""
        rss = "" if st.get("rss_mib") is None else f"{st['rss_mib']:,}"
        peak = "" if st.get("peak_mib") is None else f"{st['peak_mib']:,}"
        out.append(f"| {st['stage']} | {st['rows']:,} | {st['seconds']:.2f} | {rate} | {rss} | {peak} | {st['detail']} |")
    total = sum(st["seconds"] for st in stages)
    out += [f"| *sum of stages* | | {total:.2f} | | | | |", ""]
    return out


# Targets of issue 7 for a 1M-row upload on this machine.
TARGET_SECONDS = 240.0
TARGET_PEAK_BYTES = 8 * 2**30
TARGET_VS_SPLINK = 3.0


def targets_lines(run: SizeRun) -> list[str]:
    pipe = run.methods[0]
    splink = next((m for m in run.methods if m.name == "plain Splink"), None)
    if pipe.scores is None:
        return []
    parts = [f"wall {pipe.process_seconds:,.1f} s" + (f" (target < {TARGET_SECONDS:.0f} s at 1M: "
             f"{'met' if pipe.process_seconds < TARGET_SECONDS else 'missed'})" if run.rows == 1_000_000 else "")]
    if pipe.peak_rss_bytes:
        parts.append(f"peak {pipe.peak_rss_bytes / 2**30:.2f} GiB (target < 8 GiB: "
                     f"{'met' if pipe.peak_rss_bytes < TARGET_PEAK_BYTES else 'missed'})")
    if splink is not None and splink.process_seconds:
        ratio = pipe.process_seconds / splink.process_seconds
        parts.append(f"{ratio:.2f}× plain Splink's wall time (target ≤ {TARGET_VS_SPLINK:.0f}×: "
                     f"{'met' if ratio <= TARGET_VS_SPLINK else 'missed'})")
    return ["Against the targets (issue 7): " + "; ".join(parts) + ".", ""]


def print_run(run: SizeRun) -> None:
    print()
    print(f"== {run.rows:,} rows ==")
    print("\n".join(size_table(run)))
    for m in run.methods:
        if m.error:
            print(f"{m.name} FAILED: {m.error}")
    print()
    for st in run.stages:
        print(f"  {st['stage']:<24} {st['rows']:>10,} rows {st['seconds']:8.2f} s  {st['detail']}")
    for label, kinds in run.patterns.items():
        for kind, pats in kinds.items():
            print(f"\n{label} — {kind}:")
            for col, vals in run.marginals.get(label, {}).get(kind, {}).items():
                print(f"  by {col}: " + ", ".join(f"{v} {n:,}" for v, n in vals))
            for pat, n in pats:
                print(f"  {n:>7,} × {pat}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-markdown", action="store_true", help="print only, leave BENCHMARKS.md alone")
    parser.add_argument("--before", metavar="DIR", help="also run this checkout's pipeline (an earlier commit, "
                        "e.g. from `git archive`) on the same file, for before/after figures in one run")
    parser.add_argument("--before-label", help="how to name that checkout in the report (default: its folder)")
    parser.add_argument("--before-sizes", help="comma-separated sizes to run the earlier checkout on (default: all)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    machine = machine_info()
    load_before = load_average()
    runs = []
    before_sizes = {int(x.replace("_", "")) for x in args.before_sizes.split(",")} if args.before_sizes else set(sizes)
    for rows in sizes:
        run = run_size(rows, args.seed, log=lambda msg: print(msg, file=sys.stderr, flush=True),
                       before=Path(args.before).resolve() if args.before and rows in before_sizes else None,
                       before_label=args.before_label)
        print_run(run)
        runs.append(run)
    machine["load average (1/5/15 min) before / after"] = f"{load_before} / {load_average()}"
    results = OUT_DIR / "results.json"
    results.write_text(
        json.dumps(
            {
                "machine": machine,
                "runs": [
                    {
                        "rows": r.rows, "seed": r.seed, "file_bytes": r.file_bytes, "stages": r.stages,
                        "before_stages": r.before_stages, "before_label": r.before_label,
                        "exports_compared": r.exports_compared,
                        "summary": r.pipeline_summary, "patterns": r.patterns,
                        "pattern_marginals": r.marginals,
                        "methods": [
                            {"name": m.name, "process_seconds": m.process_seconds, "work_seconds": m.work_seconds,
                             "peak_rss_bytes": m.peak_rss_bytes, "error": m.error,
                             "scores": m.scores.as_dict() if m.scores else None}
                            for m in r.methods
                        ],
                    }
                    for r in runs
                ],
            },
            indent=1,
        ),
        "utf-8",
    )
    if not args.no_markdown:
        argv_text = "python -m bench.bench_pipeline --sizes " + ",".join(map(str, sizes)) + f" --seed {args.seed}"
        if args.before:
            argv_text += f" --before <checkout of {args.before_label or Path(args.before).name}>"
            if args.before_sizes:
                argv_text += f" --before-sizes {args.before_sizes}"
        replace_section(render_section(runs, machine, argv_text), BEGIN.split(' (')[0], END, BENCHMARKS_MD)
        print(f"\nwrote {BENCHMARKS_MD.relative_to(ROOT)} and {results.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
