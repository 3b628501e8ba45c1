"""Run a per-value Python function once per *distinct* value of an Arrow array.

Contact columns are highly repetitive (same company, same domain, same country
on thousands of rows), and libraries such as phonenumbers or email-validator
cost tens of microseconds per call. Encoding the column, calling the function
on the dictionary only, then taking the results back by index keeps the
Python work proportional to the number of distinct values, not rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ArrayLike = pa.Array | pa.ChunkedArray

__all__ = [
    "ArrayLike",
    "as_string_array",
    "blank_to_null",
    "map_distinct_arrays",
    "map_unique",
    "map_unique_many",
    "map_unique_rows",
]


def as_string_array(values: ArrayLike | Sequence[Any]) -> pa.Array:
    """Return a contiguous ``pa.string()`` array (accepts chunked, large, dictionary, null or list input)."""
    if isinstance(values, pa.ChunkedArray):
        values = (
            values.combine_chunks() if values.num_chunks else pa.array([], type=values.type)
        )
    elif not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.string())
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not pa.types.is_string(values.type):
        # large_string / string_view / all-null columns read from CSV or Excel.
        values = values.cast(pa.string())
    return values


def blank_to_null(values: pa.Array) -> pa.Array:
    """Empty or whitespace-only strings become null (the contract of every public function)."""
    blank = pc.equal(pc.utf8_trim_whitespace(values), "")
    return pc.if_else(blank, pa.scalar(None, pa.string()), values)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _finish(results: pa.Array) -> pa.Array:
    if pa.types.is_string(results.type):
        return blank_to_null(results)
    return results


# Distinct values handed to Python at a time. A column of a 5M-row upload can hold millions of
# distinct values (e-mails): as Python strings and results all at once they cost gigabytes,
# in slices of this size a few tens of MB. The results are the same.
PYTHON_SLICE = 200_000


def _apply_in_slices(uniques: pa.Array, call: Callable[[list], list], types: Sequence[pa.DataType]) -> list[pa.Array]:
    """call(python values of a slice) -> one output tuple per value; one array per type."""
    parts: list[list[pa.Array]] = [[] for _ in types]
    for start in range(0, len(uniques), PYTHON_SLICE):
        outputs = call(uniques.slice(start, PYTHON_SLICE).to_pylist())
        for i, t in enumerate(types):
            parts[i].append(pa.array([o[i] for o in outputs], type=t))
    return [pa.concat_arrays(p) if p else pa.array([], type=t) for p, t in zip(parts, types)]


def map_unique(
    values: ArrayLike | Sequence[Any],
    fn: Callable[[str], Any],
    type: pa.DataType = pa.string(),  # noqa: A002 - mirrors pyarrow's own keyword
) -> pa.Array:
    """Apply ``fn`` to every distinct non-null value and broadcast back to rows.

    Null and blank rows give null without calling ``fn``; ``None``/blank results give null.
    """
    encoded = pc.dictionary_encode(as_string_array(values))
    (results,) = _apply_in_slices(
        encoded.dictionary, lambda us: [(None if _blank(u) else fn(u),) for u in us], [type]
    )
    # Null indices (null input rows) take to null.
    return _finish(results).take(encoded.indices)


def map_unique_many(
    values: ArrayLike | Sequence[Any],
    fn: Callable[[str], Sequence[Any]],
    types: Sequence[pa.DataType],
) -> tuple[pa.Array, ...]:
    """Like :func:`map_unique` for a ``fn`` returning one tuple item per entry of ``types``."""
    encoded = pc.dictionary_encode(as_string_array(values))
    empty = (None,) * len(types)
    results = _apply_in_slices(encoded.dictionary, lambda us: [empty if _blank(u) else fn(u) for u in us], types)
    return tuple(_finish(r).take(encoded.indices) for r in results)


def map_distinct_arrays(
    values: ArrayLike | Sequence[Any], fn: Callable[[pa.Array], tuple[pa.Array, ...]]
) -> tuple[pa.Array, ...]:
    """Run a column-wise ``fn`` (Arrow compute, no Python per value) over the distinct values only
    and broadcast its output arrays back to rows; null rows give null. For functions whose cost
    is many regex passes over a repetitive column (cities, streets, dates)."""
    encoded = pc.dictionary_encode(as_string_array(values))
    return tuple(result.take(encoded.indices) for result in fn(encoded.dictionary))


def _codes(arr: pa.Array) -> tuple[np.ndarray, int]:
    """Integer code per row for one column; nulls get their own code."""
    encoded = pc.dictionary_encode(arr)
    n = len(encoded.dictionary)
    codes = encoded.indices.fill_null(n).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, n + 1


def map_unique_rows(
    columns: Sequence[ArrayLike | Sequence[Any]],
    fn: Callable[..., Sequence[Any]],
    types: Sequence[pa.DataType],
) -> tuple[pa.Array, ...]:
    """Distinct-tuple variant: ``fn(*row)`` is called once per distinct combination of columns.

    Used when the result depends on more than the value itself (a phone number
    and its parsing region). Rows whose first column is null or blank give null outputs
    without calling ``fn``; the other columns may be null (passed as ``None``).
    """
    arrays = [as_string_array(c) for c in columns]
    length = len(arrays[0])
    if any(len(a) != length for a in arrays):
        raise ValueError("all columns must have the same length")
    if length == 0:
        return tuple(pa.array([], type=t) for t in types)

    key, _ = _codes(arrays[0])
    for arr in arrays[1:]:
        codes, cardinality = _codes(arr)
        key = key * cardinality + codes
        # Re-compact after each column so the combined key can never overflow.
        key = np.unique(key, return_inverse=True)[1].astype(np.int64)
    _, first_row, inverse = np.unique(key, return_index=True, return_inverse=True)

    first_rows = pa.table([a.take(pa.array(first_row)) for a in arrays], names=[str(i) for i in range(len(arrays))])
    empty = (None,) * len(types)
    parts: list[list[pa.Array]] = [[] for _ in types]
    for start in range(0, first_rows.num_rows, PYTHON_SLICE):  # bounded Python memory (see PYTHON_SLICE)
        chunk = first_rows.slice(start, PYTHON_SLICE)
        rows = zip(*(chunk.column(i).to_pylist() for i in range(chunk.num_columns)), strict=True)
        outputs = [empty if _blank(row[0]) else fn(*row) for row in rows]
        for i, t in enumerate(types):
            parts[i].append(pa.array([o[i] for o in outputs], type=t))
    indices = pa.array(inverse.astype(np.int64))
    return tuple(_finish(pa.concat_arrays(p)).take(indices) for p in parts)
