"""Fuzz the header mapper (pipelines.headers.map_headers) on arbitrary header rows: it must map
each canonical field to at most one existing column and never fail.

    flock /tmp/refinery-heavy.lock .venv/bin/python fuzz/fuzz_headers.py /tmp/fuzz-corpus/headers -max_total_time=180
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["pipelines"]):
    from pipelines.headers import CANONICAL_FIELDS, map_headers, normalise_header
    from pipelines.reader import _unique_headers


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    count = fdp.ConsumeIntInRange(0, 40)
    headers = [fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40)) for _ in range(count)]
    for header in headers:
        normalise_header(header)
    unique = _unique_headers(headers)
    assert len(unique) == len(headers) and len({h.lower() for h in unique}) == len(unique)
    mapping = map_headers(unique)
    assert set(mapping.fields) <= set(CANONICAL_FIELDS)
    assert all(0 <= i < len(unique) for i in mapping.fields.values())
    assert len(set(mapping.fields.values())) == len(mapping.fields), "one column feeds two fields"
    assert sorted(mapping.custom_columns + sorted(mapping.fields.values())) == list(range(len(unique)))


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
