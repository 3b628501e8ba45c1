"""File-level Great Expectations suites as Dagster asset checks.

Blocking checks guard what downstream stages rely on: a failure stops the run before anything
is exported. Metadata carries counts only (see pipelines/expectations.py).
"""


import pyarrow as pa
from dagster import AssetCheckResult, AssetCheckSeverity, AssetIn, asset_check

from assets.contacts import raw_upload, standardised_contacts
from pipelines.expectations import run_suite
from pipelines.validate import (
    QUARANTINE_RATE_MAX,
    RAW_UPLOAD_SUITE,
    STANDARDISED_SUITE,
    VALIDATED_ROWS_SUITE,
)


def _result(name: str, table: pa.Table, suite: list, columns: list[str] | None = None) -> AssetCheckResult:
    frame = (table.select(columns) if columns else table).to_pandas()
    outcome = run_suite(name, frame, suite)
    return AssetCheckResult(passed=outcome.success, metadata=outcome.as_metadata())


@asset_check(asset=raw_upload, blocking=True, description="The file has data rows with unique row numbers.")
def raw_upload_expectations(raw_upload: pa.Table) -> AssetCheckResult:
    return _result("raw_upload", raw_upload, RAW_UPLOAD_SUITE, ["row_number"])


@asset_check(asset="validated_rows", blocking=True, description="Canonical columns present, one row per input row.")
def validated_rows_expectations(validated_rows: pa.Table) -> AssetCheckResult:
    return _result("validated_rows", validated_rows, VALIDATED_ROWS_SUITE)


@asset_check(
    asset="quarantined_rows",
    blocking=False,
    additional_ins={"raw_upload": AssetIn("raw_upload")},
    description=f"Warns when more than {QUARANTINE_RATE_MAX:.0%} of the rows are quarantined (wrong file or columns?).",
)
def quarantine_rate(quarantined_rows: pa.Table, raw_upload: pa.Table) -> AssetCheckResult:
    total = max(raw_upload.num_rows, 1)
    rate = quarantined_rows.num_rows / total
    return AssetCheckResult(
        passed=rate <= QUARANTINE_RATE_MAX,
        severity=AssetCheckSeverity.WARN,
        metadata={"quarantined": quarantined_rows.num_rows, "rows": raw_upload.num_rows, "rate": round(rate, 4)},
    )


@asset_check(asset=standardised_contacts, blocking=True, description="Standardised fields are in their canonical formats.")
def standardised_expectations(standardised_contacts: pa.Table) -> AssetCheckResult:
    columns = ["row_number", "phone_e164", "email", "country", "linkedin_url"]
    return _result("standardised_contacts", standardised_contacts, STANDARDISED_SUITE, columns)


ALL_CHECKS = [raw_upload_expectations, validated_rows_expectations, quarantine_rate, standardised_expectations]
