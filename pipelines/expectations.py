"""Great Expectations 1.x run directly (dagster-ge pins GX < 1): suites over a pandas frame.

Results are reduced to counts and percentages: GX's own results quote failing values, which
are personal data and must never reach asset-check metadata or logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

# Result keys that carry counts only; everything else GX returns may quote values.
_SAFE_KEYS = (
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "missing_count",
    "missing_percent",
)


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    counts: dict[str, Any]


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    success: bool
    outcomes: list[ExpectationOutcome]

    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def as_metadata(self) -> dict[str, Any]:
        """Flat, value-free metadata for a Dagster asset check."""
        meta: dict[str, Any] = {"suite": self.suite, "expectations": len(self.outcomes)}
        for o in self.outcomes:
            label = o.expectation + (f"[{o.column}]" if o.column else "")
            meta[label] = ("ok" if o.success else "FAILED") + "".join(
                f" {k}={v}" for k, v in o.counts.items()
            )
        return meta


@lru_cache(maxsize=1)
def _batch_definition():
    # Imported here: importing GX costs ~3 s, which would double the code location's load time.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("refinery")
    asset = source.add_dataframe_asset(name="frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def run_suite(name: str, frame: pd.DataFrame, expectations: list[tuple[str, dict[str, Any]]]) -> SuiteOutcome:
    """Run expectations given as (GX class name, kwargs), e.g. ("ExpectColumnValuesToBeUnique", {"column": "x"})."""
    import great_expectations as gx

    batch_definition = _batch_definition()  # creates the context a suite needs
    suite = gx.ExpectationSuite(name=name)
    for cls_name, kwargs in expectations:
        suite.add_expectation(getattr(gx.expectations, cls_name)(**kwargs))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="BASIC")
    outcomes = []
    for r in result.results:
        counts = {k: r.result[k] for k in _SAFE_KEYS if k in (r.result or {}) and r.result[k] is not None}
        if isinstance(counts.get("observed_value"), (list, dict, str)):
            counts.pop("observed_value")
        outcomes.append(
            ExpectationOutcome(
                expectation=r.expectation_config.type,
                column=r.expectation_config.kwargs.get("column"),
                success=bool(r.success),
                counts=counts,
            )
        )
    return SuiteOutcome(suite=name, success=bool(result.success), outcomes=outcomes)
