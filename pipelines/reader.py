"""Read contact files as users produce them into an all-string Arrow table.

CSV in UTF-8 (with or without BOM), UTF-16, Windows-1252/Latin-1; `,` `;` tab `|` delimiters;
quoted fields with embedded newlines; XLSX/XLS (first sheet). Nothing is dropped: short rows are
padded, extra fields land in extra columns, blank lines inside the file stay as (empty) rows.
Every problem the user can fix is an `InputFileError` with one clear sentence.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from pipelines.headers import HeaderMapping, map_headers
from pipelines.limits import Limits

DELIMITERS = (",", ";", "\t", "|")
# Raised for every input problem a user can act on; the message names the problem, never values.
SCHEMA_METADATA_KEY = b"refinery.source"


class InputFileError(ValueError):
    """The file cannot be read as a contact list; the message says why in one sentence."""


@dataclass(frozen=True)
class SourceInfo:
    """How the file was read; kept with the data so the export can mirror it."""

    format: str  # "csv" or "xlsx"
    encoding: str | None
    delimiter: str | None
    headers: list[str]
    fields: dict[str, int]  # canonical field -> column position
    data_rows: int
    columns: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> "SourceInfo":
        return cls(**json.loads(text))

    @property
    def mapping(self) -> HeaderMapping:
        return HeaderMapping(headers=tuple(self.headers), fields=dict(self.fields))


def source_column_name(position: int) -> str:
    """Positional name of an input column inside the pipeline (headers may be anything)."""
    return f"src_{position}"


def read_contact_file(
    path: str | Path, limits: Limits | None = None, identifier_columns: tuple[str, ...] | list[str] = ()
) -> pa.Table:
    """Parse `path` into a table `row_number, src_0..src_n` (strings) with `SourceInfo` attached.

    identifier_columns: the headers the controller's settings name as its person identifier."""
    path = Path(path)
    limits = limits or Limits.from_env()
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes and path.is_file():
            raise InputFileError(_too_big(size, limits))
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError("file not found") from None
    except IsADirectoryError:
        raise InputFileError("is a directory, not a file") from None
    except OSError as exc:
        raise InputFileError(f"cannot be read ({exc.strerror})") from None
    return parse_contact_bytes(data, limits, identifier_columns)


def _too_big(size: int, limits: Limits) -> str:
    return (
        f"the file is {size / 2**20:,.0f} MB, more than the {limits.max_file_bytes / 2**20:,.0f} MB allowed "
        "(REFINERY_MAX_FILE_MB)"
    )


def parse_contact_bytes(
    data: bytes, limits: Limits | None = None, identifier_columns: tuple[str, ...] | list[str] = ()
) -> pa.Table:
    limits = _checked(data, limits)
    if _is_spreadsheet(data):
        rows = _read_spreadsheet(data, limits)
        fmt, encoding, delimiter = "xlsx", None, None
    else:
        text, encoding = _decode(data)
        # A NUL byte has no meaning in a contact list; csv would stop at it, so it goes.
        if "\x00" in text:
            text = text.replace("\x00", "")
        sample = text[:65536]
        del text  # the whole file as a str (up to 4 bytes a character): not kept while Arrow parses
        delimiter = _sniff_delimiter(sample)
        fmt = "csv"
        table = _arrow_csv(data, sample, encoding, delimiter, limits, identifier_columns)
        if table is not None:
            return table
        rows = _csv_records(_decode(data)[0].replace("\x00", ""), delimiter, limits)
    return _rows_to_table(rows, fmt, encoding, delimiter, limits, identifier_columns)


def _checked(data: bytes, limits: Limits | None) -> Limits:
    """The limits in force, once the file is known not to be too big or empty."""
    limits = limits or Limits.from_env()
    if len(data) > limits.max_file_bytes:
        raise InputFileError(_too_big(len(data), limits))
    if not data.strip():
        raise InputFileError("the file is empty")
    return limits


def _is_spreadsheet(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_rows(data: bytes, limits: Limits | None = None) -> list[list[str]]:
    """Any table file a person may send back (a report opened and saved in Excel: CSV in any
    encoding and delimiter, or XLSX) as rows of strings, the header first; no field mapping."""
    limits = _checked(data, limits)
    if _is_spreadsheet(data):
        return _read_spreadsheet(data, limits)
    text = _decode(data)[0].replace("\x00", "")
    return _csv_records(text, _sniff_delimiter(text[:65536]), limits)


# Encodings Arrow's CSV reader reads the same way as Python (single-byte or UTF-8, where
# dropping NUL bytes is dropping NUL characters).
_ARROW_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "cp1252": "cp1252", "latin-1": "latin-1"}


def _arrow_csv(
    data: bytes, sample: str, encoding: str, delimiter: str, limits: Limits, identifier_columns=()
) -> pa.Table | None:
    """The common case read by Arrow's multi-threaded CSV reader, straight into string columns,
    without a Python object per cell (a 5M-row file would need tens of GB as Python lists).

    Only a regular file takes this path: every record as wide as the header, no blank line, no
    blank record before the header. Anything else (ragged rows, blank lines kept as empty rows,
    UTF-16) returns None and is read record by record by `_csv_records`, which keeps every
    such row as it is. Both give the same table for a regular file."""
    import pyarrow.csv as pacsv

    if encoding not in _ARROW_ENCODINGS or not sample:
        return None
    first = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=False), None)
    if not first or not any(cell.strip() for cell in first) or len(first) > limits.max_columns:
        return None
    width = len(first)
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    body = body.replace(b"\x00", b"")
    irregular = []

    def on_invalid_row(row) -> str:
        irregular.append(row.number)
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(
                column_names=names, encoding=_ARROW_ENCODINGS[encoding], block_size=16 * 2**20
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False, null_values=[],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError):
        return None
    if irregular:
        return None
    if table.num_rows == 0:
        return None
    header = table.slice(0, 1).to_pylist()[0]
    if [header[n] for n in names] != first:
        return None  # Arrow and Python csv read the header differently: let Python read it all
    table = table.slice(1)
    # Trailing records made only of blanks are the end of the file, not data.
    import pyarrow.compute as pc

    blank = None
    for n in names:
        empty = pc.equal(pc.utf8_trim_whitespace(table.column(n)), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    if blank is not None and table.num_rows:
        filled = pc.indices_nonzero(pc.invert(blank))
        last = filled[-1].as_py() + 1 if len(filled) else 0
        table = table.slice(0, last)
    if table.num_rows > limits.max_rows:
        raise InputFileError(f"the file has more than {limits.max_rows:,} data rows allowed (REFINERY_MAX_ROWS)")
    if table.num_rows and any(re.search(r"[\r\n]", v or "") for v in table.slice(table.num_rows - 1).to_pylist()[0].values()):
        # A last record spanning lines may be a quote never closed (a truncated file): the
        # record-by-record reader tells the two apart and refuses the truncated one.
        return None
    return _columns_to_table([table.column(n).combine_chunks() for n in names], first, "csv", encoding, delimiter, limits,
                             identifier_columns)


def _csv_records(text: str, delimiter: str, limits: Limits) -> list[list[str]]:
    """All records, refusing early a file wider or longer than the limits allow."""
    csv.field_size_limit(max(limits.max_file_bytes, 2**20))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    try:
        for record in reader:
            if len(record) > limits.max_columns:
                raise InputFileError(
                    f"record {len(rows) + 1} has {len(record):,} fields, more than the {limits.max_columns:,} "
                    "columns allowed (REFINERY_MAX_COLUMNS)"
                )
            rows.append(record)
            if len(rows) > limits.max_rows + 1:
                raise InputFileError(
                    f"the file has more than {limits.max_rows:,} data rows allowed (REFINERY_MAX_ROWS)"
                )
    except csv.Error as exc:
        raise InputFileError(f"the CSV cannot be parsed near record {len(rows) + 1} ({exc})") from None
    if rows and any("\n" in cell or "\r" in cell for cell in rows[-1]) and _ends_inside_quotes(text, delimiter):
        # The lenient reader would keep the rest of the file as one cell of the last record: rows
        # silently lost. A half-uploaded file or a quote never closed is the user's to fix.
        raise InputFileError(
            f"the file ends inside a quoted field that opens in record {len(rows)}: it looks truncated "
            "(an incomplete upload) or a quote is never closed"
        )
    return rows


def _ends_inside_quotes(text: str, delimiter: str) -> bool:
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def source_info(table: pa.Table) -> SourceInfo:
    meta = table.schema.metadata or {}
    if SCHEMA_METADATA_KEY not in meta:
        raise ValueError("table carries no source description")
    return SourceInfo.from_json(meta[SCHEMA_METADATA_KEY])


def with_source_info(table: pa.Table, info: SourceInfo) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[SCHEMA_METADATA_KEY] = info.to_json().encode("utf-8")
    return table.replace_schema_metadata(meta)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16"), "utf-16"
    # UTF-16 without a BOM: every other byte of ASCII text is NUL.
    head = data[:4096]
    for enc, nul_lane in (("utf-16-le", head[1::2]), ("utf-16-be", head[0::2])):
        if len(head) >= 4 and nul_lane.count(0) > 0.4 * len(nul_lane):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                break
            if not _looks_binary(text[:2048].encode("utf-8")):
                return text, enc
            break
    if _looks_binary(head):
        raise InputFileError("this is not a text or spreadsheet file (binary content)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(data):
        # Valid UTF-8 letters next to bytes that are not UTF-8: files appended to one another
        # from two systems. Decoding all of it as cp1252 would turn every "ü" into "Ã¼".
        return _decode_mixed(data)
    # Not UTF-8: ask charset-normalizer whether this is text at all before guessing a code page.
    from charset_normalizer import from_bytes

    if from_bytes(data[:65536]).best() is None:
        raise InputFileError("this is not a text or spreadsheet file (no known text encoding)")
    # Excel on Western European Windows writes cp1252; latin-1 decodes anything left.
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


# A UTF-8 encoded accented letter (2-byte sequence); in cp1252 text these pairs read as "Ã©", "Ã¼".
_UTF8_SEQUENCE = re.compile(rb"[\xc3\xc5][\x80-\xbf]")


def _decode_mixed(data: bytes) -> tuple[str, str]:
    """Each line as UTF-8 when it is valid UTF-8, else as cp1252; the encoding reported (the one
    a `--keep-input-format` export is written in) is the one most lines use."""
    lines, utf8, legacy = [], 0, 0
    for line in data.splitlines(keepends=True):
        try:
            lines.append(line.decode("utf-8"))
            utf8 += not line.isascii()
        except UnicodeDecodeError:
            lines.append(line.decode("cp1252", errors="replace"))
            legacy += 1
    return "".join(lines), "utf-8" if utf8 >= legacy else "cp1252"


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"invalid {encoding} text at byte {exc.start}") from None


def _looks_binary(head: bytes) -> bool:
    """Images, archives and executables are full of NUL and control bytes; a text export with a
    stray NUL is not (the NUL is dropped later)."""
    if not head:
        return False
    nuls = head.count(0)
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return nuls > 0.01 * len(head) or controls > 0.05 * len(head)


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the first records into the most, and most regular, fields."""
    sample = text[:65536]
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        records = []
        for rec in csv.reader(io.StringIO(sample, newline=""), delimiter=delim, strict=False):
            records.append(len(rec))
            if len(records) >= 50:
                break
        if not records or records[0] < 2:
            continue
        header_width = records[0]
        regular = sum(1 for n in records if n == header_width) / len(records)
        score = (regular, header_width)
        if score > best_score:
            best, best_score = delim, score
    return best


def _read_spreadsheet(data: bytes, limits: Limits) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    _check_zip_expansion(data, limits)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
        raw_rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for every broken workbook
        raise InputFileError(f"the spreadsheet cannot be read ({type(exc).__name__})") from None
    return [[_cell_text(v) for v in row] for row in raw_rows]


def _check_zip_expansion(data: bytes, limits: Limits) -> None:
    """An XLSX is a zip: refuse one that would expand far beyond its size (a zip bomb) before any
    spreadsheet library inflates it in memory."""
    import zipfile

    if data[:4] != b"PK\x03\x04":
        return  # legacy .xls (OLE2) is not compressed
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError):
        # NotImplementedError: a header claiming a zip version the standard library does not
        # read (found by fuzz/fuzz_reader.py).
        raise InputFileError("the spreadsheet cannot be read (not a valid XLSX archive)") from None
    budget = min(len(data) * limits.max_xlsx_expansion, limits.max_file_bytes * 4)
    if expanded > budget:
        raise InputFileError(
            f"the spreadsheet expands to {expanded / 2**20:,.0f} MB from {len(data) / 2**20:,.1f} MB, "
            "beyond the allowed expansion (REFINERY_MAX_XLSX_EXPANSION): refused as a possible zip bomb"
        )


def _cell_text(value: object) -> str:
    """Spreadsheet cells as the user sees them: 612345678.0 -> '612345678', dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _rows_to_table(
    rows: list[list[str]], fmt: str, encoding: str | None, delimiter: str | None, limits: Limits, identifier_columns=()
) -> pa.Table:
    # Trailing records that are completely blank are the end of the file, not data.
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    # Leading blank records (some exports start with an empty line) are skipped too.
    start = 0
    while start < len(rows) and not any(cell.strip() for cell in rows[start]):
        start += 1
    if start >= len(rows):
        raise InputFileError("the file is empty")
    header = rows[start]
    body = rows[start + 1 :]
    if not body:
        raise InputFileError("the file has a header but no data rows")
    if len(body) > limits.max_rows:
        raise InputFileError(f"the file has {len(body):,} data rows, more than the {limits.max_rows:,} allowed (REFINERY_MAX_ROWS)")
    width = max(len(header), max(len(r) for r in body))
    if width > limits.max_columns:
        raise InputFileError(
            f"the file has {width:,} columns, more than the {limits.max_columns:,} allowed (REFINERY_MAX_COLUMNS)"
        )
    # Extra fields beyond the header are kept in extra columns rather than lost.
    columns = [pa.array([r[i] if i < len(r) else "" for r in body], pa.string()) for i in range(width)]
    return _columns_to_table(columns, header + [""] * (width - len(header)), fmt, encoding, delimiter, limits,
                             identifier_columns)


def _columns_to_table(
    body: list[pa.Array], header: list[str], fmt: str, encoding: str | None, delimiter: str | None, limits: Limits,
    identifier_columns=(),
) -> pa.Table:
    """The pipeline's raw table from the data columns and the header record (as wide as the data)."""
    if not body or len(body[0]) == 0:
        raise InputFileError("the file has a header but no data rows")
    width = len(body)
    if width > limits.max_columns:
        raise InputFileError(
            f"the file has {width:,} columns, more than the {limits.max_columns:,} allowed (REFINERY_MAX_COLUMNS)"
        )
    header = [h.replace("\ufeff", "").strip() for h in header]
    headers = _unique_headers(header)
    mapping = map_headers(headers, tuple(identifier_columns))
    if not mapping.fields:
        raise InputFileError(
            f"no contact column recognised in the header row ({len(headers)} columns); expected headers "
            "such as E-mail, Prénom, Nom, Société, Téléphone, First Name, Company"
        )
    if not mapping.has_identity():
        raise InputFileError(
            "no identity column: the file needs an e-mail, LinkedIn or identifier column, or a name "
            "column with a phone, postal address, date of birth or company column"
        )
    n = len(body[0])
    columns = {"row_number": pa.array(range(1, n + 1), pa.int64())}
    for i in range(width):
        columns[source_column_name(i)] = body[i]
    info = SourceInfo(
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        fields=mapping.fields,
        data_rows=n,
        columns=width,
    )
    return with_source_info(pa.table(columns), info)


def _unique_headers(header: list[str]) -> list[str]:
    """Empty headers get a position name; repeated ones get ' (2)', ' (3)'... so none collide."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        name = h or f"column_{i + 1}"
        n = seen.get(name.lower(), 0) + 1
        seen[name.lower()] = n
        out.append(name if n == 1 else f"{name} ({n})")
    return out
