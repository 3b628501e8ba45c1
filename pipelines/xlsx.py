"""A minimal XLSX writer, vectorised with Arrow: one sheet, a header row, every cell as text.

openpyxl writes about 6,000 rows a second here (one Python call per cell); building the sheet's
XML column by column with Arrow compute is two orders of magnitude faster, and an .xlsx is only
a zip of a few XML parts. Cells are inline strings, so no shared-string table is needed.
"""

from __future__ import annotations

import io
import zipfile

import pyarrow as pa
import pyarrow.compute as pc

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def _workbook(sheet: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{_escape_text(sheet[:31])}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape(col: pa.Array) -> pa.Array:
    col = pc.replace_substring(col, "&", "&amp;")
    col = pc.replace_substring(col, "<", "&lt;")
    col = pc.replace_substring(col, ">", "&gt;")
    # XML 1.0 forbids most control characters; they cannot appear in a cell.
    return pc.replace_substring_regex(col, "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]", "")


def _cells(col: pa.ChunkedArray) -> pa.Array:
    text = pc.cast(col, pa.string()) if not pa.types.is_string(col.type) else col
    text = _escape(pc.fill_null(text, ""))
    cell = pc.binary_join_element_wise('<c t="inlineStr"><is><t xml:space="preserve">', text, "</t></is></c>", "")
    return pc.if_else(pc.equal(text, ""), "<c/>", cell)


def table_to_xlsx(table: pa.Table, sheet: str = "Sheet1") -> bytes:
    """The table as an .xlsx workbook of one sheet (header row first)."""
    header = "<row>" + "".join(
        f'<c t="inlineStr"><is><t>{_escape_text(name)}</t></is></c>' for name in table.column_names
    ) + "</row>"
    parts = [_cells(table.column(i)) for i in range(table.num_columns)] if table.num_columns else []
    rows = pc.binary_join_element_wise("<row>", *parts, "</row>", "") if parts else pa.array([], pa.string())
    body = "".join(rows.to_pylist()) if len(rows) else ""
    sheet_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + header + body + "</sheetData></worksheet>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _workbook(sheet))
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buf.getvalue()
