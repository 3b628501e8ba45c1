"""Great Expectations 1.x suites: run by GX over a pandas frame, or over an Arrow table.

`run_suite` runs GX itself (dagster-ge pins GX < 1, so it is called directly). `run_suite_arrow`
evaluates the expectation types the pipeline's suites use with Arrow compute and returns the same
outcome, counts and percentages as GX would (tests/test_expectations.py compares the two): GX
costs seconds to import and copies whole tables into pandas, which at 1M rows made the asset
checks a noticeable share of a run. Other expectation types go to GX.

Results are reduced to counts and percentages: GX's own results quote failing values, which
are personal data and must never reach asset-check metadata or logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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


# ------------------------------------------------------------------------------------------------
# The same expectations over Arrow
# ------------------------------------------------------------------------------------------------
# GX's names for the classes run_suite_arrow evaluates itself (its `expectation_config.type`).
_ARROW_TYPES = {
    "ExpectTableRowCountToBeBetween": "expect_table_row_count_to_be_between",
    "ExpectColumnValuesToNotBeNull": "expect_column_values_to_not_be_null",
    "ExpectColumnValuesToBeUnique": "expect_column_values_to_be_unique",
    "ExpectColumnValuesToMatchRegex": "expect_column_values_to_match_regex",
    "ExpectTableColumnsToMatchSet": "expect_table_columns_to_match_set",
}
_ARROW_KWARGS = {
    "ExpectTableRowCountToBeBetween": {"min_value", "max_value"},
    "ExpectColumnValuesToNotBeNull": {"column"},
    "ExpectColumnValuesToBeUnique": {"column"},
    "ExpectColumnValuesToMatchRegex": {"column", "regex"},
    "ExpectTableColumnsToMatchSet": {"column_set", "exact_match"},
}

# Python's `\s` in a str pattern (what GX's pandas engine uses): the characters str.isspace()
# accepts, none of them above U+3000. RE2's `\s` is ASCII only, hence the explicit class.
_PY_SPACE = "".join(f"\\x{{{c:x}}}" for c in range(0x3001) if chr(c).isspace())


def python_regex_as_re2(pattern: str) -> str | None:
    """An RE2 pattern that matches (search semantics) exactly the strings Python's `re.search`
    matches with `pattern`, or None when the pattern uses something this does not translate.

    Handles what the suites use: `^`, a final `$` (Python's also matches before a final
    newline), `\\s` in and out of character classes, ASCII classes and counted repeats."""
    if any(token in pattern for token in ("\\d", "\\w", "\\b", "\\S", "\\D", "\\W", "\\B", "(?", "\\Z", "\\A")):
        return None
    if "$" in pattern[:-1].replace("\\$", ""):
        return None  # a `$` before the end: not translated
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            pair = pattern[i : i + 2]
            out.append(_PY_SPACE if pair == "\\s" and in_class else f"[{_PY_SPACE}]" if pair == "\\s" else pair)
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class and not (out and out[-1] in ("[", "[^")):
            in_class = False
        elif ch == "." and not in_class:
            return None  # Python's `.` and RE2's differ on newlines
        out.append(ch)
        if ch == "^" and in_class and out[-2:] == ["[", "^"]:
            out[-2:] = ["[^"]
        i += 1
    text = "".join(out)
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1] + "\\n?$"
    return text


def _null_mask(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # pandas counts NaN as missing, Arrow does not.
    if pa.types.is_floating(column.type):
        return pc.is_null(column, nan_is_null=True)
    return pc.is_null(column)


def _count(mask) -> int:
    return int(pc.sum(mask).as_py() or 0)


def _map_counts(element: int, nonnull: int, unexpected: int, skip_missing: bool) -> dict[str, Any]:
    """GX's `_format_map_output` (BASIC), the keys run_suite keeps."""
    missing = element - nonnull
    result: dict[str, Any] = {"element_count": element, "unexpected_count": unexpected}
    percent = None
    missing_percent = None
    if element > 0:
        total = unexpected / element * 100
        if skip_missing:
            percent = total
        else:
            missing_percent = missing / element * 100
            percent = unexpected / nonnull * 100 if nonnull > 0 else None
    result["unexpected_percent"] = percent
    if not skip_missing:
        result["missing_count"] = missing
        result["missing_percent"] = missing_percent
    return result


def _evaluate(table: pa.Table, names: list[str], n: int, cls_name: str, kwargs: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """`table` holds the columns the expectations name; `names` and `n` are the whole table's."""
    if cls_name == "ExpectTableRowCountToBeBetween":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        return (low is None or n >= low) and (high is None or n <= high), {"observed_value": n}
    if cls_name == "ExpectTableColumnsToMatchSet":
        return set(names) == set(kwargs["column_set"]), {}
    column = table.column(kwargs["column"])
    nulls = _count(_null_mask(column)) if n else 0
    if cls_name == "ExpectColumnValuesToNotBeNull":
        return nulls == 0, _map_counts(n, n, nulls, skip_missing=True)
    nonnull = n - nulls
    if cls_name == "ExpectColumnValuesToBeUnique":
        counts = pc.value_counts(column.filter(pc.invert(_null_mask(column)))) if nonnull else None
        unexpected = _count(pc.if_else(pc.greater(counts.field("counts"), 1), counts.field("counts"), 0)) if nonnull else 0
    else:  # ExpectColumnValuesToMatchRegex
        matched = pc.match_substring_regex(column, python_regex_as_re2(kwargs["regex"]))
        unexpected = nonnull - _count(matched) if nonnull else 0
    return unexpected == 0, _map_counts(n, nonnull, unexpected, skip_missing=False)


def _arrow_supported(schema: pa.Schema, cls_name: str, kwargs: dict[str, Any]) -> bool:
    if cls_name not in _ARROW_TYPES or not set(kwargs) <= _ARROW_KWARGS[cls_name]:
        return False
    if cls_name == "ExpectTableColumnsToMatchSet":
        return kwargs.get("exact_match") is True
    if "column" in kwargs and kwargs["column"] not in schema.names:
        return False  # GX's own error
    if cls_name == "ExpectColumnValuesToMatchRegex":
        kind = schema.field(kwargs["column"]).type
        return (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and python_regex_as_re2(kwargs["regex"]) is not None
    if cls_name == "ExpectColumnValuesToBeUnique":
        kind = schema.field(kwargs["column"]).type
        return pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
    return True


def run_suite_arrow(
    name: str, source: "pa.Table | pq.ParquetFile", expectations: list[tuple[str, dict[str, Any]]]
) -> SuiteOutcome:
    """`run_suite` over an Arrow table, or a Parquet file of which only the columns the
    expectations name are read, without GX: same outcome, counts and percentages. A suite with
    an expectation this does not evaluate itself goes to GX whole (over the whole table)."""
    schema = source.schema_arrow if isinstance(source, pq.ParquetFile) else source.schema
    if not all(_arrow_supported(schema, cls_name, kwargs) for cls_name, kwargs in expectations):
        table = source.read() if isinstance(source, pq.ParquetFile) else source
        return run_suite(name, table.to_pandas(), expectations)
    needed = list(dict.fromkeys(kwargs["column"] for _, kwargs in expectations if "column" in kwargs))
    if isinstance(source, pq.ParquetFile):
        n, table = source.metadata.num_rows, source.read(columns=needed)
    else:
        n, table = source.num_rows, source.select(needed)
    outcomes = []
    for cls_name, kwargs in expectations:
        success, result = _evaluate(table, schema.names, n, cls_name, kwargs)
        counts = {k: result[k] for k in _SAFE_KEYS if result.get(k) is not None}
        outcomes.append(
            ExpectationOutcome(expectation=_ARROW_TYPES[cls_name], column=kwargs.get("column"), success=success, counts=counts)
        )
    return SuiteOutcome(suite=name, success=all(o.success for o in outcomes), outcomes=outcomes)
