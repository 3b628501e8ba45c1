"""Reading files as users produce them: encodings, delimiters, Excel, broken input."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from pipelines.reader import InputFileError, read_contact_file, source_info

FRENCH_ROWS = [
    ["Prénom", "Nom", "Société", "E-mail", "Téléphone", "Notes internes"],
    ["Hélène", "DUPONT", "Société Générale SA", "helene.dupont@socgen.fr", "06 12 34 56 78", "rappeler; lundi"],
    ["Jean-Pierre", "de la Fontaine", "ACME SAS", "jp@acme.fr", "+33 (0)1 23 45 67 89", "ligne 1\nligne 2"],
]


def _csv(rows, delimiter=";"):
    def cell(v):
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in f'{delimiter}"\n') else v

    return "\r\n".join(delimiter.join(cell(v) for v in r) for r in rows) + "\r\n"


@pytest.mark.parametrize(
    "encoding,delimiter",
    [("cp1252", ";"), ("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("latin-1", "|"), ("utf-16-le", ",")],
)
def test_reads_common_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str):
    path = tmp_path / "contacts.csv"
    path.write_bytes(_csv(FRENCH_ROWS, delimiter).encode(encoding))
    table = read_contact_file(path)
    info = source_info(table)
    assert info.delimiter == delimiter
    assert info.headers == FRENCH_ROWS[0]
    assert table.num_rows == 2
    assert table.column("src_0").to_pylist() == ["Hélène", "Jean-Pierre"]
    assert table.column("src_5").to_pylist() == ["rappeler; lundi", "ligne 1\nligne 2"]
    assert info.fields == {"first_name": 0, "last_name": 1, "company": 2, "email": 3, "phone": 4}
    assert table.column("row_number").to_pylist() == [1, 2]


def test_reads_first_sheet_of_xlsx_with_excel_numbers(tmp_path: Path):
    wb = Workbook()
    ws = wb.active
    ws.append(["First Name", "Last Name", "Company", "Phone", "CRM ID"])
    ws.append(["Anne-Sophie", "Martin", "Foo Ltd", 612345678, "CRM-1"])
    ws.append(["Bob", None, "Bar GmbH", None, "CRM-2"])
    other = wb.create_sheet("ignored")
    other.append(["Email"])
    path = tmp_path / "contacts.xlsx"
    wb.save(path)
    table = read_contact_file(path)
    assert source_info(table).format == "xlsx"
    assert table.column("src_3").to_pylist() == ["612345678", ""]
    assert table.column("src_1").to_pylist() == ["Martin", ""]


def test_ragged_rows_and_blank_lines_keep_every_value(tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text("Email,Name\na@x.fr\nb@x.fr,Bob,extra value\n\nc@x.fr,Cy\n\n\n", encoding="utf-8")
    table = read_contact_file(path)
    assert table.num_rows == 4  # the inner blank line is a row; trailing blank lines are not
    assert table.column("src_0").to_pylist() == ["a@x.fr", "b@x.fr", "", "c@x.fr"]
    assert table.column("src_2").to_pylist() == ["", "extra value", "", ""]
    assert source_info(table).headers == ["Email", "Name", "column_3"]


def test_duplicate_headers_are_told_apart(tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text("Email;Email;Téléphone\na@x.fr;b@x.fr;01\n", encoding="utf-8")
    info = source_info(read_contact_file(path))
    assert info.headers == ["Email", "Email (2)", "Téléphone"]
    assert info.fields["email"] == 0


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b"Email;Name\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20, "binary"),
        (b"Notes;Owner\nfoo;bar\n", "no contact column recognised"),
        (b"Job Title;Country\nCEO;FR\n", "no identity column"),
        (b"PK\x03\x04garbage that is no zip", "spreadsheet cannot be read"),
    ],
)
def test_unreadable_files_get_one_clear_message(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        read_contact_file(path)
