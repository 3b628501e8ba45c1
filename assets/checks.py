"""File-level Great Expectations suites as Dagster asset checks.

Blocking checks guard what downstream stages rely on: a failure stops the run before anything
is exported. Metadata carries counts only (see pipelines/expectations.py).

The checks read their stage's Parquet file lazily (LazyParquetInputManager): only the columns their suite
names, the row counts from the file's footer. Reading whole tables (four times for raw_upload)
and copying them into pandas for GX cost seconds per million rows.
"""

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetIn, multi_asset_check

from assets.contacts import raw_upload, standardised_contacts
from pipelines.expectations import run_suite_arrow
from pipelines.validate import (
    QUARANTINE_RATE_MAX,
    RAW_UPLOAD_SUITE,
    STANDARDISED_SUITE,
    VALIDATED_ROWS_SUITE,
)


def _result(name: str, source: "pa.Table | pq.ParquetFile", suite: list) -> AssetCheckResult:
    outcome = run_suite_arrow(name, source, suite)
    return AssetCheckResult(passed=outcome.success, metadata=outcome.as_metadata())


def _rows(source: "pa.Table | pq.ParquetFile") -> int:
    return source.metadata.num_rows if isinstance(source, pq.ParquetFile) else source.num_rows


def _lazy(asset_name: str) -> AssetIn:
    return AssetIn(asset_name, input_manager_key="lazy_parquet_input")


def _check(name: str, asset, blocking: bool, description: str, ins: dict[str, AssetIn]):
    """One asset check (multi_asset_check with one spec: the decorator that lets the checked
    asset's own input name its input manager); key, blocking flag and description as @asset_check's."""
    key = asset if isinstance(asset, str) else asset.key.to_user_string()
    others = [i.key.to_user_string() for i in ins.values() if i.key.to_user_string() != key]
    spec = AssetCheckSpec(name=name, asset=asset, blocking=blocking, description=description, additional_deps=others)
    return multi_asset_check(name=name, specs=[spec], description=description, ins=ins)


# Inputs are `Any`: a pq.ParquetFile from the pipeline's IO manager, a pa.Table from others.
@_check("raw_upload_expectations", raw_upload, True, "The file has data rows with unique row numbers.",
        {"raw_upload": _lazy("raw_upload")})
def raw_upload_expectations(raw_upload: Any) -> AssetCheckResult:
    return _result("raw_upload", raw_upload, RAW_UPLOAD_SUITE)


@_check("validated_rows_expectations", "validated_rows", True, "Canonical columns present, one row per input row.",
        {"validated_rows": _lazy("validated_rows")})
def validated_rows_expectations(validated_rows: Any) -> AssetCheckResult:
    return _result("validated_rows", validated_rows, VALIDATED_ROWS_SUITE)


@_check(
    "quarantine_rate", "quarantined_rows", False,
    f"Warns when more than {QUARANTINE_RATE_MAX:.0%} of the rows are quarantined (wrong file or columns?).",
    {"quarantined_rows": _lazy("quarantined_rows"), "raw_upload": _lazy("raw_upload")},
)
def quarantine_rate(quarantined_rows: Any, raw_upload: Any) -> AssetCheckResult:
    rows, quarantined = _rows(raw_upload), _rows(quarantined_rows)
    rate = quarantined / max(rows, 1)
    return AssetCheckResult(
        passed=rate <= QUARANTINE_RATE_MAX,
        severity=AssetCheckSeverity.WARN,
        metadata={"quarantined": quarantined, "rows": rows, "rate": round(rate, 4)},
    )


@_check("standardised_expectations", standardised_contacts, True, "Standardised fields are in their canonical formats.",
        {"standardised_contacts": _lazy("standardised_contacts")})
def standardised_expectations(standardised_contacts: Any) -> AssetCheckResult:
    return _result("standardised_contacts", standardised_contacts, STANDARDISED_SUITE)


ALL_CHECKS = [raw_upload_expectations, validated_rows_expectations, quarantine_rate, standardised_expectations]
