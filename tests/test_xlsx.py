import io

import pyarrow as pa
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pipelines.audit import to_xlsx_bytes
from pipelines.xlsx import table_to_xlsx


def test_xlsx_reads_back_in_excel_readers_with_escaping_and_blanks():
    table = pa.table({
        "name": ["x<y&z", "Hélène", None, "tab\tand\x01control"],
        "rows": [1, 2, None, 4],
        "master": [True, False, None, True],
    })
    data = table_to_xlsx(table, "duplicates")
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(data)).active.iter_rows()]
    assert rows[0] == ["name", "rows", "master"]
    assert rows[1] == ["x<y&z", "1", "true"] and rows[2][0] == "Hélène"
    assert rows[3] == [None, None, None]
    assert rows[4][0] == "tab\tandcontrol"  # XML 1.0 cannot hold \x01: dropped
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert len(sheet) == 5


def test_reports_neutralise_formulas():
    data = to_xlsx_bytes(pa.table({"note": ['=HYPERLINK("http://x")', "+33612345678"]}), "r")
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(data)).active.iter_rows()]
    assert rows[1][0].startswith("'=") and rows[2][0] == "+33612345678"


def test_a_report_longer_than_a_sheet_continues_on_more_sheets(monkeypatch):
    # Excel opens 1,048,576 rows per sheet; the limit is lowered here to keep the test small.
    import pipelines.xlsx as xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS_PER_SHEET", 4)
    monkeypatch.setattr(xlsx, "SLICE_ROWS", 3)  # slices that straddle the sheets
    table = pa.table({"n": [str(i) for i in range(10)], "name": ["Zoë"] * 10})
    book = load_workbook(io.BytesIO(table_to_xlsx(table.slice(1), "duplicates")))
    assert book.sheetnames == ["duplicates", "duplicates (2)", "duplicates (3)"]
    sheets = [[[c.value for c in r] for r in ws.iter_rows()] for ws in book]
    assert [len(s) for s in sheets] == [5, 5, 2]  # a header row on each
    assert all(s[0] == ["n", "name"] for s in sheets)
    assert [r[0] for s in sheets for r in s[1:]] == [str(i) for i in range(1, 10)]
