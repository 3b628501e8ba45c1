"""Hostile and broken input: a clear error or a flagged row, never a crash or a lost row."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagster_project.cli import main
from pipelines.limits import Limits
from pipelines.reader import InputFileError, parse_contact_bytes, source_info
from pipelines.validate import canonical_columns, quarantine_reasons, split_rows

SMALL = Limits(max_file_bytes=2**20, max_rows=1000, max_columns=50, max_cell_chars=1000, max_xlsx_expansion=50)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_reader(data):
    try:
        table = parse_contact_bytes(data, SMALL)
    except InputFileError:
        return
    assert table.num_rows >= 1


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=30), st.sampled_from([",", ";", "\t"]))
def test_every_data_row_survives_reading_and_validation(rows, delimiter):
    frame = pd.DataFrame(rows, columns=["Email", "Prénom", "Notes"])
    text = frame.to_csv(index=False, sep=delimiter, lineterminator="\r\n")
    try:
        table = parse_contact_bytes(text.encode("utf-8"), SMALL)
    except InputFileError:
        return  # e.g. every row blank
    info = source_info(table)
    validated, quarantined = split_rows(table, info)
    assert validated.num_rows + quarantined.num_rows == table.num_rows
    assert sorted(validated.column("row_number").to_pylist() + quarantined.column("row_number").to_pylist()) == list(
        range(1, table.num_rows + 1)
    )


def test_limits_give_clear_errors():
    wide = (";".join(f"c{i}" for i in range(60)) + "\nEmail\n").encode()
    with pytest.raises(InputFileError, match="REFINERY_MAX_COLUMNS"):
        parse_contact_bytes(wide, SMALL)
    long = ("Email\n" + "a@b.fr\n" * 1100).encode()
    with pytest.raises(InputFileError, match="REFINERY_MAX_ROWS"):
        parse_contact_bytes(long, SMALL)
    with pytest.raises(InputFileError, match="REFINERY_MAX_FILE_MB"):
        parse_contact_bytes(b"Email\n" + b"x" * (2**20 + 10), SMALL)


def test_zip_bomb_posing_as_xlsx_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 2**20))
    data = buf.getvalue()
    assert len(data) < 2**20
    with pytest.raises(InputFileError, match="zip bomb"):
        parse_contact_bytes(data, SMALL)


def test_nul_bytes_and_huge_cells_are_handled():
    data = b"Email;Notes\na@b.fr;x\x00y\nc@d.fr;" + b"z" * 5000 + b"\n"
    table = parse_contact_bytes(data, SMALL)
    reasons = quarantine_reasons(table, canonical_columns(table, source_info(table)), max_cell_chars=1000).to_pylist()
    assert table.column("src_1").to_pylist()[0] == "xy"
    assert reasons[0] is None and "longer than 1,000 characters" in reasons[1]


def test_formula_injection_is_neutralised_in_csv_exports_only(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_LOCAL_STORE", str(tmp_path / "store"))
    src = tmp_path / "in.csv"
    src.write_text(
        'Prénom;Nom;Société;E-mail;Téléphone;Commentaire\n'
        'Jean;Dupont;ACME;jean@acme.fr;+33 6 12 34 56 78;=HYPERLINK("http://evil","clic")\n'
        'Anne;Roy;=cmd|\' /C calc\'!A0;anne@roy.fr;06 11 22 33 44;@SUM(1+1)\n',
        encoding="utf-8",
    )
    assert main(["run", str(src), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "contacts.csv").read_text("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM(1+1)" in text
    assert "+33612345678" in text  # E.164 numbers are no formulas
    contacts = pd.read_csv(tmp_path / "out" / "contacts.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert all(not v.startswith(("=", "@")) for col in contacts.columns for v in contacts[col])
    parquet = pd.read_parquet(tmp_path / "out" / "contacts.parquet")
    assert parquet["Commentaire"].tolist()[0].startswith("=HYPERLINK")  # the data itself is unchanged
