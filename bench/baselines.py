"""What a client would get without us, on the same file the pipeline reads.

* `exact_email_dedupe`: what CRMs do natively. Rows with the same trimmed, lower-cased e-mail
  are one cluster; rows without an e-mail stay alone.
* `plain_splink`: Splink 5 with a standard model for the columns the file has (first and last
  name with term frequencies, e-mail, phone, company; date of birth, street, street number,
  postcode, city, client and national ids when present) on lightly cleaned columns (trim and
  lower-case; phone reduced to its digits; dates of birth parsed to ISO). No other
  standardisation: no name order repair, no accent folding, no legal-form stripping, no generic
  mailbox handling, no phone country codes. Clustered at MATCH_THRESHOLD on every file.
* `dedupe_baseline`: the dedupe library (dedupe.io) on the same columns; it learns from labelled
  pairs, so the truth plays the person who answers its DEDUPE_LABELS questions. Memory grows fast
  with the file (FEBRL2, 5,000 rows: 20 GiB and 8 minutes with its index predicates and a sample of
  5,000; a MemoryError under 6 GiB without them and with its default sample of 1,500): the suite
  runs it on small files only (bench/linkage_suite.py, --dedupe-max-rows).

Both read the file with `pipelines.reader.read_contact_file` and find columns through its
`SourceInfo`, so header and encoding handling are the pipeline's own. Each returns one cluster id
per row_number and its wall time (reading included).

Peak memory is measured by running a baseline in a child process:

    python -m bench.baselines plain_splink FILE OUT.parquet     # writes clusters + OUT.json timing

`run_in_child` does that and reads the child's own peak RSS from wait4() (see `run_measured`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.reader import read_contact_file, source_column_name, source_info

MATCH_THRESHOLD = 0.95  # as the pipeline and the Splink tutorials
PREDICT_THRESHOLD = 0.5  # pairs below cannot be clustered at 0.95; same cut as the pipeline


@dataclass
class BaselineResult:
    name: str
    clusters: pd.DataFrame  # row_number, cluster_id (never null here: unmatched rows are singletons)
    seconds: float  # wall time of the baseline itself, reading the file included
    peak_rss_bytes: int | None = None  # set by run_in_child (whole child process)
    process_seconds: float | None = None  # set by run_in_child (child start to exit)


def _field(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    pos = source_info(table).fields.get(name)
    return None if pos is None else table.column(source_column_name(pos))


def _light_clean(col: pa.ChunkedArray | None, n: int) -> pa.Array:
    """Trim + lower-case; empty becomes null."""
    if col is None:
        return pa.nulls(n, pa.string())
    out = pc.utf8_lower(pc.utf8_trim_whitespace(col))
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, pa.string()), out).combine_chunks()


def _digits(col: pa.ChunkedArray | None, n: int) -> pa.Array:
    if col is None:
        return pa.nulls(n, pa.string())
    out = pc.replace_substring_regex(col, r"\D", "")
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, pa.string()), out).combine_chunks()


def _singletons_for_nulls(row_numbers: pa.Array, keys: pa.Array) -> pd.DataFrame:
    df = pd.DataFrame({"row_number": row_numbers.to_numpy(zero_copy_only=False), "key": keys.to_pandas()})
    codes, _ = pd.factorize(df["key"], use_na_sentinel=True)
    cluster = pd.Series(codes, dtype="int64")
    missing = cluster < 0
    cluster[missing] = cluster.max() + 1 + pd.RangeIndex(int(missing.sum()))
    return pd.DataFrame({"row_number": df["row_number"], "cluster_id": cluster.to_numpy()})


def exact_email_dedupe(path: str | Path) -> BaselineResult:
    started = time.perf_counter()
    table = read_contact_file(path)
    email = _light_clean(_field(table, "email"), table.num_rows)
    clusters = _singletons_for_nulls(table.column("row_number").combine_chunks(), email)
    return BaselineResult("exact_email", clusters, time.perf_counter() - started)


# The columns a standard model compares, when the file has them (found through the reader's
# header mapping): names, e-mail, phone, company, date of birth, postal address, identifiers.
_PLAIN_TEXT_FIELDS = ("first_name", "last_name", "email", "company", "street", "street_number", "postcode",
                      "city", "client_id", "national_id")
# Date formats tried in turn (day first before month first: European files); the first that parses wins.
_DOB_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")


def _dob_iso(col: pa.ChunkedArray | None, n: int) -> pa.Array:
    """A date of birth as ISO text, from the usual spellings; null when none parses."""
    if col is None:
        return pa.nulls(n, pa.string())
    import duckdb

    con = duckdb.connect()
    con.register("d", pa.table({"v": col}))
    formats = ", ".join(f"'{f}'" for f in _DOB_FORMATS)
    out = con.sql(f"SELECT strftime(try_strptime(trim(v), [{formats}]), '%Y-%m-%d') AS v FROM d").to_arrow_table()
    return out.column("v").combine_chunks().cast(pa.string())


def plain_splink_input(path: str | Path) -> pa.Table:
    """The file's recognised columns, lightly cleaned (trim, lower case; phone and ids to digits where
    they are numbers; dates of birth to ISO); columns the file does not have are left out."""
    table = read_contact_file(path)
    n = table.num_rows
    fields = source_info(table).fields
    cols: dict[str, pa.Array] = {"row_number": table.column("row_number").combine_chunks()}
    for name in _PLAIN_TEXT_FIELDS:
        if name in fields:
            cols[name] = _light_clean(_field(table, name), n)
    for name in ("first_name", "last_name", "email", "company"):  # the original four, always present
        cols.setdefault(name, pa.nulls(n, pa.string()))
    phone = _field(table, "phone")
    if phone is None:
        phone = _field(table, "mobile")
    cols["phone"] = _digits(phone, n)
    if "date_of_birth" in fields:
        cols["date_of_birth"] = _dob_iso(_field(table, "date_of_birth"), n)
    return pa.table(cols)


def _present(data: pa.Table, name: str) -> bool:
    return name in data.column_names and data.column(name).null_count < data.num_rows


def plain_splink_settings(data: pa.Table | None = None):
    """A standard model for the columns `data` has (all of them when None): what a careful user
    writes from the Splink tutorials, nothing tuned to our files."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    has = (lambda name: True) if data is None else (lambda name: _present(data, name))
    comparisons = [
        cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
    ]
    blocking = [block_on("first_name", "last_name")]
    if has("email"):
        comparisons.append(cl.EmailComparison("email"))
        blocking.insert(0, block_on("email"))
    if has("phone"):
        comparisons.append(cl.ExactMatch("phone").configure(term_frequency_adjustments=True))
        blocking.append(block_on("phone"))
    if has("company"):
        comparisons.append(cl.ExactMatch("company"))
        blocking.append(block_on("last_name", "company"))
    if has("date_of_birth"):
        comparisons.append(cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                                    datetime_format="%Y-%m-%d"))
        blocking.append(block_on("date_of_birth"))
        blocking.append(block_on("substr(first_name, 1, 1)", "substr(last_name, 1, 1)", "substr(date_of_birth, 1, 4)"))
    if has("street"):
        comparisons.append(cl.JaroWinklerAtThresholds("street", [0.9, 0.7]))
    if has("street_number"):
        comparisons.append(cl.ExactMatch("street_number"))
    if has("postcode"):
        comparisons.append(cl.ExactMatch("postcode").configure(term_frequency_adjustments=True))
        if has("street_number"):
            blocking.append(block_on("postcode", "street_number"))
        blocking.append(block_on("postcode", "last_name"))
    if has("city"):
        comparisons.append(cl.ExactMatch("city").configure(term_frequency_adjustments=True))
    for ident in ("client_id", "national_id"):
        if has(ident):
            comparisons.append(cl.DamerauLevenshteinAtThresholds(ident, [1, 2]))
            blocking.append(block_on(ident))
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="row_number",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )


def plain_splink(path: str | Path, *, max_pairs_u: float = 5e6, threshold: float = MATCH_THRESHOLD) -> BaselineResult:
    from splink import DuckDBAPI, Linker, block_on

    started = time.perf_counter()
    data = plain_splink_input(path)
    keep = [c for c in data.column_names if c == "row_number" or _present(data, c)]
    for name in ("first_name", "last_name"):
        if name not in keep:
            keep.append(name)
    data = data.select(keep)
    sdf = DuckDBAPI().register(data, dataset_display_name="plain_contacts")
    linker = Linker(sdf, plain_splink_settings(data), log_level=None)
    training = linker.training
    deterministic = [block_on(*cols) for cols in (("email",), ("first_name", "last_name", "date_of_birth"),
                                                  ("national_id",), ("client_id",), ("first_name", "last_name", "phone"))
                     if all(_present(data, c) for c in cols)]
    training.estimate_probability_two_random_records_match(deterministic or [block_on("first_name", "last_name")],
                                                           recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=42)
    # Two EM sessions on different columns: the first estimates everything but the names, the
    # second the names.
    training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "last_name"))
    second = next((c for c in ("email", "date_of_birth", "postcode", "phone") if _present(data, c)), None)
    if second is not None:
        training.estimate_parameters_using_expectation_maximisation(block_on(second))
    predictions = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    out = clustered.as_pandas_dataframe()[["row_number", "cluster_id"]]
    # Splink returns every input row (singletons get their own cluster id); make sure of it.
    out = data.select(["row_number"]).to_pandas().merge(out, on="row_number", how="left")
    out["cluster_id"] = out["cluster_id"].astype("string")
    return BaselineResult("plain_splink", out, time.perf_counter() - started)


# dedupe (dedupe.io's library): active learning, so it needs a person to label pairs; the benchmark
# plays that person with the truth, answering the pairs dedupe asks about (as many as DEDUPE_LABELS).
DEDUPE_LABELS = 60


def dedupe_baseline(path: str | Path, *, truth_path: str | Path, labels: int = DEDUPE_LABELS,
                    threshold: float = 0.5) -> BaselineResult:
    import logging

    import dedupe

    logging.getLogger("dedupe").setLevel(logging.WARNING)
    started = time.perf_counter()
    data = plain_splink_input(path)
    columns = [c for c in data.column_names if c != "row_number" and _present(data, c)]
    frame = data.select(["row_number", *columns]).to_pandas()
    # "__row" rides along (dedupe reads only its fields) so that the oracle can answer a pair.
    records = {int(r["row_number"]): {"__row": int(r["row_number"]),
                                      **{c: (None if pd.isna(r[c]) else str(r[c])) for c in columns}}
               for r in frame.to_dict("records")}
    short = {"street_number", "postcode", "phone", "date_of_birth", "client_id", "national_id", "city"}
    fields = [dedupe.variables.ShortString(c, has_missing=True) if c in short
              else dedupe.variables.String(c, has_missing=True) for c in columns]
    truth = pd.read_parquet(truth_path, columns=["row_number", "entity_id"]).set_index("row_number")["entity_id"]
    deduper = dedupe.Dedupe(fields, num_cores=1)
    deduper.prepare_training(records, sample_size=min(1500, len(records)))  # its default
    for _ in range(labels):
        pairs = deduper.uncertain_pairs()
        if not pairs:
            break
        a, b = pairs[0]
        same = _dedupe_same(a, b, truth)
        deduper.mark_pairs({"match": [(a, b)] if same else [], "distinct": [] if same else [(a, b)]})
    # Index (TF-IDF canopy) predicates off: with them, FEBRL2 (5,000 rows) took 484 s and 20 GiB here.
    deduper.train(recall=0.95, index_predicates=False)
    clusters = deduper.partition(records, threshold=threshold)
    cluster_of = {}
    for cid, (ids, _scores) in enumerate(clusters):
        for rid in ids:
            cluster_of[int(rid)] = cid
    out = pd.DataFrame({"row_number": list(records)})
    nxt = len(clusters)
    ids = []
    for rid in out["row_number"].tolist():
        if rid in cluster_of:
            ids.append(str(cluster_of[rid]))
        else:
            ids.append(f"s{nxt}")
            nxt += 1
    out["cluster_id"] = pd.Series(ids, dtype="string")
    return BaselineResult("dedupe", out, time.perf_counter() - started)


def _dedupe_same(a: dict, b: dict, truth: pd.Series) -> bool:
    """The truth for a pair dedupe asks about (its records carry their row number in "__row")."""
    return truth.get(a["__row"]) == truth.get(b["__row"])


BASELINES = {"exact_email": exact_email_dedupe, "plain_splink": plain_splink, "dedupe": dedupe_baseline}


# A tiny launcher between us and the measured command. Linux carries the memory high-water mark
# of the address space a process had *before* exec() into its ru_maxrss, and subprocess starts
# children with vfork (sharing our address space): measured directly, every child would report
# at least this (large) benchmark process's RSS. The launcher runs without site imports (a few
# MiB), starts the command, and reports that command's own wait4() figures in a JSON file.
_LAUNCHER = """
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawn(cmd[0], cmd, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "wall": wall, "maxrss_kib": usage.ru_maxrss}, f)
"""


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
                 stdout=None, stderr=None) -> tuple[int, float, int]:
    """Run `cmd` (cmd[0] an absolute path or found on PATH); returns (exit code, wall seconds,
    peak RSS bytes of that command, its waited-for descendants included)."""
    exe = cmd[0] if os.sep in cmd[0] else shutil.which(cmd[0], path=(env or os.environ).get("PATH"))
    if exe is None:
        raise FileNotFoundError(cmd[0])
    with tempfile.TemporaryDirectory(prefix="refinery-measure-") as tmp:
        report = Path(tmp) / "usage.json"
        code = subprocess.call(
            [sys.executable, "-S", "-c", _LAUNCHER, str(report), exe, *cmd[1:]],
            env=env, cwd=cwd, stdout=stdout, stderr=stderr,
        )
        if not report.exists():
            raise RuntimeError(f"the measuring launcher failed (exit {code})")
        usage = json.loads(report.read_text("utf-8"))
    return usage["code"], usage["wall"], usage["maxrss_kib"] * 1024  # ru_maxrss is in KiB on Linux


def run_in_child(name: str, path: str | Path) -> BaselineResult:
    """Run baseline `name` on `path` in a fresh interpreter and measure its peak memory."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; expected one of {sorted(BASELINES)}")
    with tempfile.TemporaryDirectory(prefix="refinery-baseline-") as tmp:
        out = Path(tmp) / "clusters.parquet"
        log = Path(tmp) / "stderr.txt"
        with open(log, "wb") as err:
            code, wall, peak = run_measured(
                [sys.executable, "-m", "bench.baselines", name, str(path), str(out)],
                cwd=Path(__file__).resolve().parents[1],
                stderr=err,
            )
        if code != 0:
            tail = log.read_text("utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"baseline {name} failed with exit code {code}:\n{tail}")
        timing = json.loads(out.with_suffix(".json").read_text("utf-8"))
        clusters = pd.read_parquet(out)
    return BaselineResult(name, clusters, timing["seconds"], peak_rss_bytes=peak, process_seconds=wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run one baseline on a contact file")
    parser.add_argument("baseline", choices=sorted(BASELINES))
    parser.add_argument("file")
    parser.add_argument("out", help="Parquet file for row_number, cluster_id; timing goes next to it as .json")
    parser.add_argument("--truth", help="dedupe only: truth Parquet (row_number, entity_id) that answers its questions")
    args = parser.parse_args(argv)
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("splink").setLevel(logging.WARNING)
    kwargs = {"truth_path": args.truth} if args.baseline == "dedupe" else {}
    result = BASELINES[args.baseline](args.file, **kwargs)
    out = Path(args.out)
    clusters = result.clusters.copy()
    clusters["cluster_id"] = clusters["cluster_id"].astype("string")
    clusters.to_parquet(out, index=False)
    out.with_suffix(".json").write_text(json.dumps({"seconds": result.seconds}), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
