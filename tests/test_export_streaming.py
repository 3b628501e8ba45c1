"""The export files are written slice by slice (a multi-million-row upload is never whole in
memory); what the client receives must be byte for byte the file written in one piece."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import export
from pipelines.controller_settings import ControllerSettings
from pipelines.enrich import enrich
from pipelines.reader import parse_contact_bytes, source_info
from pipelines.standardise import standardise
from pipelines.validate import split_rows

EXCEL_FR = (
    "Prénom;Nom;Société;E-mail;Téléphone;Notes internes\r\n"
    "Hélène;Lefèvre;Société Générale;helene.lefevre@socgen.fr;01 42 14 20 00;=SUM(A1:A2)\r\n"
    ";;;;;\r\n"  # empty: quarantined, kept in place
    "Jean-Pierre;De La Tour;Atelier Œuvre;jp@atelier-oeuvre.fr;06 12 34 56 78;rappeler lundi\r\n"
    "Zoë;Müller;;zoe.muller@gmail.com;+49 30 1234567;\r\n"
    "Ana;Núñez;Señor SL;ana@senor.es;;\"dit \"\"oui\"\"\"\r\n"
).encode("cp1252")


def _contacts_inputs():
    raw = parse_contact_bytes(EXCEL_FR)
    info = source_info(raw)
    validated, quarantined = split_rows(raw, info)
    n = validated.num_rows
    enriched = enrich(standardise(validated), ControllerSettings())  # provenance struct included
    linked = enriched.append_column("cluster_id", pa.array([f"P{i:07d}" for i in range(1, n + 1)])).append_column(
        "is_master", pa.array([True] * n)).append_column("match_probability", pa.array([0.98765] + [None] * (n - 1)))
    return raw, info, linked, quarantined


@pytest.mark.parametrize("fmt", [export.CsvFormat(), export.CsvFormat("cp1252", ";"), export.CsvFormat("utf-16", "\t")])
def test_contacts_written_in_slices_are_the_file_written_whole(tmp_path, monkeypatch, fmt):
    raw, info, linked, quarantined = _contacts_inputs()
    whole = export.build_contacts(raw, info, linked, quarantined)
    expected, expected_fmt = export.to_csv_bytes(whole, fmt)
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 2)  # several slices, one header, one BOM
    rows, used = export.write_contacts_files(raw, info, linked, quarantined, tmp_path / "c.csv", tmp_path / "c.parquet", fmt)
    assert (rows, used) == (raw.num_rows, expected_fmt)
    assert (tmp_path / "c.csv").read_bytes() == expected
    assert pq.read_table(tmp_path / "c.parquet").equals(pq.read_table(pa.BufferReader(export.to_parquet_bytes(whole))))


def test_a_value_the_input_encoding_cannot_hold_falls_back_to_utf8(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 1)
    table = pa.table({"name": ["Hélène", "Łukasz"]})  # Ł is not in cp1252, and comes in the 2nd slice
    used = export.write_table_files(table, export.CsvFormat("cp1252", ";"), tmp_path / "t.csv", tmp_path / "t.parquet")
    assert used == export.CsvFormat("utf-8-sig", ";")
    assert (tmp_path / "t.csv").read_bytes() == export.to_csv_bytes(table, export.CsvFormat("cp1252", ";"))[0]
    assert pq.read_table(tmp_path / "t.parquet").equals(table)


def test_an_empty_table_still_gets_its_header(tmp_path):
    table = pa.table({"cluster_id": pa.array([], pa.string()), "n": pa.array([], pa.int64())})
    export.write_table_files(table, export.CsvFormat(), tmp_path / "e.csv")
    assert (tmp_path / "e.csv").read_bytes() == export.to_csv_bytes(table)[0]


def test_an_export_that_would_lose_a_row_is_refused(tmp_path):
    raw, info, linked, quarantined = _contacts_inputs()
    with pytest.raises(RuntimeError, match="would not hold every input row"):
        export.write_contacts_files(raw, info, linked.slice(1), quarantined, tmp_path / "c.csv", tmp_path / "c.parquet")
