"""Retrain a controller's linkage model on its master records (the nightly refresh).

An upload trains its own model only when it is large and the controller has none yet; after
that each batch reuses the saved model (re-estimating only the prior for its file). The master
grows with every batch, so once a night the model is trained again on all of it, checked the
same way (pipelines/linkage.train_model), and kept only if it passes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from pipelines import linkage, linkage_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retraining:
    model: dict[str, Any] | None  # the new model, None when there is none to use
    outcome: str  # short summary, no personal data: "trained", "too few records", "rejected: ..."
    report: dict[str, Any]


def retrain_on_records(records: pa.Table, memory_limit: str = "4GB") -> Retraining:
    """Train the contact model on `records` (enriched contact fields, as the master keeps them)."""
    from splink import DuckDBAPI, Linker

    if records.num_rows < linkage.MIN_ROWS_TO_TRAIN:
        return Retraining(None, "too few records to train", {"records": records.num_rows})
    table = records.append_column("uid", pa.array(range(1, records.num_rows + 1), pa.int64()))
    table = table.append_column("is_new", pa.array([True] * records.num_rows, pa.bool_()))
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        data = linkage.linkage_input(con, table)
        con.register("records_input", data)
        fields = linkage_model.fields_present(con, "records_input")
        con.unregister("records_input")
        sdf = DuckDBAPI(connection=con).register(data, dataset_display_name="linkage_input")
        linker = Linker(sdf, linkage_model.settings_dict(fields), log_level=None)
        try:
            report = linkage.train_model(linker, fields)
        except linkage.TrainingError as exc:
            # The message names comparisons and levels only, never values.
            log.warning("nightly linkage model not kept: %s", exc)
            return Retraining(None, "rejected", {"records": records.num_rows, "problems": str(exc)})
        return Retraining(linker.misc.save_model_to_json(), "trained", {"records": records.num_rows, **report})
    finally:
        con.close()
