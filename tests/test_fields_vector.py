import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.fields._vector import map_unique, map_unique_many, map_unique_rows


def test_map_unique_calls_fn_once_per_distinct_value():
    calls: list[str] = []

    def fn(value: str) -> str:
        calls.append(value)
        return value.upper()

    values = pa.chunked_array([["a", "b", None, "a"], ["b", "a", "c", None, ""]])
    out = map_unique(values, fn)

    assert out.to_pylist() == ["A", "B", None, "A", "B", "A", "C", None, None]
    assert sorted(calls) == ["a", "b", "c"]  # blank and null rows never reach fn
    assert isinstance(out, pa.Array) and out.type == pa.string()


def test_map_unique_many_returns_one_array_per_output():
    calls: list[str] = []

    def fn(value: str) -> tuple[str, int]:
        calls.append(value)
        return value * 2, len(value)

    doubled, length = map_unique_many(pa.array(["x", "yy", "x", None]), fn, (pa.string(), pa.int64()))
    assert doubled.to_pylist() == ["xx", "yyyy", "xx", None]
    assert length.to_pylist() == [1, 2, 1, None]
    assert sorted(calls) == ["x", "yy"]


def test_map_unique_rows_keys_on_the_value_tuple():
    calls: list[tuple] = []

    def fn(value: str, region: str | None) -> tuple[str]:
        calls.append((value, region))
        return (f"{value}/{region}",)

    (out,) = map_unique_rows(
        (pa.array(["1", "1", "1", "2", None, "1"]), pa.array(["FR", "FR", "DE", None, "FR", "DE"])),
        fn,
        (pa.string(),),
    )
    assert out.to_pylist() == ["1/FR", "1/FR", "1/DE", "2/None", None, "1/DE"]
    assert sorted(calls, key=str) == sorted([("1", "FR"), ("1", "DE"), ("2", None)], key=str)


@pytest.mark.parametrize("values", [pa.array([], pa.string()), pa.chunked_array([], pa.string())])
def test_empty_input_gives_empty_output(values):
    assert map_unique(values, str.upper).to_pylist() == []
    assert map_unique_rows((values, values), lambda v, r: (v,), (pa.string(),))[0].to_pylist() == []


def test_accepts_large_string_and_all_null_columns():
    assert map_unique(pa.array(["a"], pa.large_string()), str.upper).to_pylist() == ["A"]
    assert map_unique(pa.nulls(2), str.upper).to_pylist() == [None, None]


def test_map_distinct_arrays_runs_the_column_function_on_distinct_values_only():
    from pipelines.fields._vector import map_distinct_arrays

    seen: list[int] = []

    def fn(distinct: pa.Array) -> tuple[pa.Array, pa.Array]:
        seen.append(len(distinct))
        return pc.utf8_upper(distinct), pc.utf8_length(distinct)

    upper, length = map_distinct_arrays(pa.chunked_array([["ab", None, "ab"], ["c", "ab"]]), fn)
    assert seen == [2]
    assert upper.to_pylist() == ["AB", None, "AB", "C", "AB"]
    assert length.to_pylist() == [2, None, 2, 1, 2]
