"""Run the framework-free stages on generated data (for benchmarks and model training)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from bench.generator import generate, write_file
from pipelines.enrich import enrich
from pipelines.reader import read_contact_file, source_info
from pipelines.standardise import standardise
from pipelines.validate import split_rows


def enriched_from_generated(rows: int, seed: int, tmp_dir: str = "/tmp") -> tuple[pa.Table, pd.DataFrame]:
    messy, truth = generate(rows, seed=seed)
    path = f"{tmp_dir}/refinery-train-{rows}-{seed}.csv"
    write_file(messy, path, fmt="csv", encoding="utf-8", delimiter=",", header_lang="en")
    raw = read_contact_file(path)
    validated, _ = split_rows(raw, source_info(raw))
    return enrich(standardise(validated)), truth
