"""Fuzz the header mapper (pipelines.headers.map_headers) on arbitrary header rows: it must map
each canonical field to at most one existing column and never fail.

    flock /tmp/refinery-heavy.lock .venv/bin/python fuzz/fuzz_headers.py /tmp/fuzz-corpus/headers -max_total_time=240
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["pipelines"]):
    from pipelines.headers import CANONICAL_FIELDS, map_headers, normalise_header
    from pipelines.reader import _unique_headers

from fuzz._common import header_seeds, write_seeds


def TestOneInput(data: bytes) -> None:
    # A header row as a file gives it (';'-separated text), so real header rows seed the corpus and
    # the mutations stay close to what clients write: accents, case, punctuation, repeats.
    headers = data.decode("utf-8", errors="replace").split(";")[:200]
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
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        write_seeds(Path(corpus[0]), header_seeds())
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
