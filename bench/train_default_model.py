"""Train the linkage model shipped for uploads too small to train their own.

    python -m bench.train_default_model [--rows 60000] [--seed 7]

Writes pipelines/data/linkage_model.json from generated data (no real personal data involved).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import duckdb
import pyarrow as pa

from bench.pipeline_stages import enriched_from_generated
from pipelines import linkage, linkage_model

OUT = Path(__file__).resolve().parents[1] / "pipelines" / "data" / "linkage_model.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    from splink import DuckDBAPI, Linker

    enriched, _truth = enriched_from_generated(args.rows, args.seed)
    enriched = enriched.append_column("uid", enriched.column("row_number"))
    enriched = enriched.append_column("is_new", pa.array([True] * enriched.num_rows))
    con = duckdb.connect()
    data = linkage.linkage_input(con, enriched)
    sdf = DuckDBAPI(connection=con).register(data, dataset_display_name="linkage_input")
    linker = Linker(sdf, linkage_model.settings_dict())
    report = linkage.train_model(linker)
    print(report)
    model = linker.misc.save_model_to_json()
    OUT.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
