"""What a client would get without us, on the same file the pipeline reads.

* `exact_email_dedupe`: what CRMs do natively. Rows with the same trimmed, lower-cased e-mail
  are one cluster; rows without an e-mail stay alone.
* `plain_splink`: Splink 5 with tutorial-style settings on lightly cleaned columns (trim and
  lower-case of first name, last name, e-mail, company; phone reduced to its digits). No other
  standardisation: no name order repair, no accent folding, no legal-form stripping, no generic
  mailbox handling, no phone country codes.

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


def plain_splink_input(path: str | Path) -> pa.Table:
    table = read_contact_file(path)
    n = table.num_rows
    return pa.table(
        {
            "row_number": table.column("row_number"),
            "first_name": _light_clean(_field(table, "first_name"), n),
            "last_name": _light_clean(_field(table, "last_name"), n),
            "email": _light_clean(_field(table, "email"), n),
            "phone": _digits(_field(table, "phone"), n),
            "company": _light_clean(_field(table, "company"), n),
        }
    )


def plain_splink_settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="row_number",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("company"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("first_name", "last_name"),
            block_on("last_name", "company"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def plain_splink(path: str | Path, *, max_pairs_u: float = 5e6) -> BaselineResult:
    from splink import DuckDBAPI, Linker, block_on

    started = time.perf_counter()
    data = plain_splink_input(path)
    sdf = DuckDBAPI().register(data, dataset_display_name="plain_contacts")
    linker = Linker(sdf, plain_splink_settings(), log_level=None)
    training = linker.training
    training.estimate_probability_two_random_records_match([block_on("email")], recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=42)
    training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "last_name"))
    predictions = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=MATCH_THRESHOLD
    )
    out = clustered.as_pandas_dataframe()[["row_number", "cluster_id"]]
    # Splink returns every input row (singletons get their own cluster id); make sure of it.
    out = data.select(["row_number"]).to_pandas().merge(out, on="row_number", how="left")
    out["cluster_id"] = out["cluster_id"].astype("string")
    return BaselineResult("plain_splink", out, time.perf_counter() - started)


BASELINES = {"exact_email": exact_email_dedupe, "plain_splink": plain_splink}


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
    args = parser.parse_args(argv)
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("splink").setLevel(logging.WARNING)
    result = BASELINES[args.baseline](args.file)
    out = Path(args.out)
    clusters = result.clusters.copy()
    clusters["cluster_id"] = clusters["cluster_id"].astype("string")
    clusters.to_parquet(out, index=False)
    out.with_suffix(".json").write_text(json.dumps({"seconds": result.seconds}), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
