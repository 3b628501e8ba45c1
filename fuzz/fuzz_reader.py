"""Fuzz the file reader (pipelines.reader.parse_contact_bytes): any bytes give either a table
whose rows are all accounted for, or an InputFileError; anything else is a bug.

    flock /tmp/refinery-heavy.lock .venv/bin/python fuzz/fuzz_reader.py /tmp/fuzz-corpus/reader \
        -max_total_time=240 -rss_limit_mb=3072 -max_len=8192 -artifact_prefix=/tmp/fuzz-artifacts/reader-
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["pipelines"]):
    from pipelines.reader import InputFileError, parse_contact_bytes, source_info

from fuzz._common import FUZZ_LIMITS, reader_seeds, write_seeds


def TestOneInput(data: bytes) -> None:
    try:
        table = parse_contact_bytes(data, FUZZ_LIMITS)
    except InputFileError:
        return
    info = source_info(table)
    assert table.num_rows == info.data_rows >= 1
    assert table.column("row_number").to_pylist() == list(range(1, table.num_rows + 1))
    assert table.num_columns == info.columns + 1 == len(info.headers) + 1
    assert len({h.lower() for h in info.headers}) == len(info.headers), "duplicate headers survived"


if __name__ == "__main__":
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        write_seeds(Path(corpus[0]), reader_seeds())
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
