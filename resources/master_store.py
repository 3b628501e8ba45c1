"""Reading and publishing a controller's master data in the object store.

controllers/<controller>/master/records.parquet    every linked record, with its stable person id
controllers/<controller>/master/golden.parquet     one golden record per person
controllers/<controller>/master/decisions.parquet  merges a person undid (refinery unmerge)
controllers/<controller>/master/state.json         next person id, version, last upload
controllers/<controller>/master/model.json         the controller's trained linkage model
"""

from __future__ import annotations

import json

import pyarrow as pa

from pipelines.master import Master, parquet_bytes
from resources.layout import controller_prefix
from resources.object_store import ObjectStore


def master_prefix(controller: str) -> str:
    return controller_prefix(controller) + "master/"


def _get(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get_bytes(key)
    except KeyError:
        return None


def load_master(store: ObjectStore, controller: str) -> Master:
    prefix = master_prefix(controller)
    return Master.from_parts(
        records=_get(store, prefix + "records.parquet"),
        state=_get(store, prefix + "state.json"),
        decisions=_get(store, prefix + "decisions.parquet"),
        model=_get(store, prefix + "model.json"),
    )


def master_version(store: ObjectStore, controller: str) -> int:
    state = _get(store, master_prefix(controller) + "state.json")
    return int(json.loads(state).get("version", 0)) if state else 0


class MasterChangedError(RuntimeError):
    pass


def publish_master(
    store: ObjectStore,
    controller: str,
    *,
    records: pa.Table | None,
    golden: pa.Table | None,
    next_person: int,
    model: dict | None,
    read_version: int,
    last_upload: str,
    decisions: pa.Table | None = None,
) -> int:
    """Write the new master; refuse if another run published since this one read it
    (optimistic concurrency: the queued run coordinator should run one upload per controller at a time)."""
    current = master_version(store, controller)
    if current != read_version:
        raise MasterChangedError(
            f"the master data of controller {controller} changed during this run "
            f"(version {read_version} -> {current}): re-run this upload"
        )
    prefix = master_prefix(controller)
    if records is not None:
        store.put_bytes(prefix + "records.parquet", parquet_bytes(records))
    if golden is not None:
        store.put_bytes(prefix + "golden.parquet", parquet_bytes(golden))
    if decisions is not None:
        store.put_bytes(prefix + "decisions.parquet", parquet_bytes(decisions))
    if model is not None:
        store.put_bytes(prefix + "model.json", json.dumps(model).encode("utf-8"))
    version = current + 1
    state = {"next_person": next_person, "version": version, "last_upload": last_upload}
    # state.json last: its version number marks the master as published.
    store.put_bytes(prefix + "state.json", json.dumps(state, indent=2).encode("utf-8"))
    return version
