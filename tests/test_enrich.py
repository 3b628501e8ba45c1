"""The enrichment stage: privacy by default, each enrichment when enabled, provenance."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines import export
from pipelines.controller_settings import ENRICHMENTS, ControllerSettings, ReferenceSettings
from pipelines.enrich import ADDED_COLUMNS, enrich, enrich_with_report
from pipelines.headers import CANONICAL_FIELDS
from pipelines.provenance import INFERRED, INPUT, NORMALISED, REFERENCE
from pipelines.standardise import standardise


def validated(rows: list[dict[str, str]]) -> pa.Table:
    """A validated_rows table from a few dicts of canonical fields."""
    cols = {"row_number": pa.array(range(1, len(rows) + 1), pa.int64())}
    for name in CANONICAL_FIELDS:
        cols[name] = pa.array([r.get(name) for r in rows], pa.string())
    return pa.table(cols)


ROWS = [
    {"civility": "Mme", "first_name": "Marie-Hélène", "last_name": "DUPONT", "email": "mh.dupont@acme.fr",
     "company": "ACME SAS", "job_title": "DIRECTRICE COMMERCIALE", "country": "France", "siret": "73282932000074"},
    {"first_name": "Jean-Pierre", "last_name": "Martin", "email": "jp.martin@acme.fr", "company": "Acme",
     "job_title": "Responsable achats", "phone": "06 12 34 56 78"},
    {"first_name": "Luc", "last_name": "Bernard", "email": "l.bernard@acme.fr", "company": "Acme", "job_title": "CEO"},
    {"first_name": "Camille", "last_name": "Roux", "email": "camille.roux@gmail.com", "company": "Acme SAS",
     "job_title": "Comptable"},
    {"first_name": "Sophie", "last_name": "Durand", "company": "Acme", "website": "www.acme.fr"},
]
ALL = dataclasses.replace(ControllerSettings(), enrichments=frozenset(ENRICHMENTS) - {"verification", "company_reference"})
RECEIVED = "2026-11-26T09:00:00Z"
PROCESSED = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.timezone.utc)


def sources(table: pa.Table) -> set[str]:
    struct = table.column("provenance").combine_chunks()
    out = set()
    for i in range(struct.type.num_fields):
        out |= set(pc.struct_field(struct.field(i), "source").drop_null().to_pylist())
    return out


def test_default_settings_output_no_inferred_field():
    table = enrich(standardise(validated(ROWS)))
    assert set(ADDED_COLUMNS) <= set(table.column_names)
    for column in ("job_level", "job_function", "email_found", "email_confidence", "email_verification",
                   "naf_code", "headcount_band", "company_address", "company_postcode", "company_city"):
        assert table.column(column).null_count == table.num_rows, column
    # Civility only where the client sent one ("Mme"), never from a first name.
    assert table.column("civility").to_pylist() == ["Madame", None, None, None, None]
    assert sources(table) <= {INPUT, NORMALISED}
    assert set(table.column("email_source").drop_null().to_pylist()) <= {INPUT, NORMALISED}


def test_enabled_enrichments_fill_their_columns_and_say_so():
    out = enrich_with_report(standardise(validated(ROWS)), ALL, received_at=RECEIVED, processed_at=PROCESSED)
    rows = out.table.to_pylist()
    assert [r["civility"] for r in rows] == ["Madame", "Monsieur", "Monsieur", None, "Madame"]  # Camille: blank
    assert (rows[0]["job_level"], rows[0]["job_function"]) == ("director", "sales")
    assert (rows[2]["job_level"], rows[2]["job_function"]) == ("executive", "general_management")
    # acme.fr uses f.last (compound initials): Sophie gets a proposal, Camille beside her gmail.
    assert rows[4]["email_found"] == "s.durand@acme.fr" and rows[4]["email"] is None
    assert rows[4]["email_source"] == INFERRED and rows[4]["email_confidence"] >= 0.8
    assert rows[3]["email_found"] == "c.roux@acme.fr" and rows[3]["email"] == "camille.roux@gmail.com"
    assert rows[3]["email_source"] == INPUT
    assert set(out.seconds) >= {"civility", "job_classification", "email_finding"}
    assert out.observations.num_rows > 0

    prov = rows[4]["provenance"]
    assert prov["civility"] == {"source": INFERRED, "at": PROCESSED}
    assert prov["first_name"]["source"] == INPUT
    assert prov["first_name"]["at"] == dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone.utc)
    assert prov["email_found"]["source"] == INFERRED
    assert prov["email"] is None  # no value, no provenance
    assert rows[0]["provenance"]["civility"]["source"] == NORMALISED  # "Mme" -> "Madame"
    assert rows[0]["provenance"]["last_name"]["source"] == NORMALISED  # "DUPONT" -> "Dupont"
    assert rows[0]["provenance"]["siren"]["source"] == NORMALISED  # derived from the SIRET


def test_provenance_text_only_when_asked():
    table = enrich(standardise(validated(ROWS)), dataclasses.replace(ALL, provenance_in_csv=True),
                   received_at=RECEIVED, processed_at=PROCESSED)
    text = table.column("provenance_text")[4].as_py()
    assert text.startswith("input 2026-11-26T09:00:00Z: first_name, last_name, company")
    assert "inferred 2026-11-26T10:00:00Z: civility, email_found, email_confidence" in text
    assert "provenance_text" not in enrich(standardise(validated(ROWS))).column_names


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_company_reference(tmp_path, fmt):
    reference = pa.table(
        {
            "siren": ["732829320", "552008443", "303265045"],
            "siret": ["73282932000074", "55200844300017", "30326504500016"],
            "denominationUniteLegale": ["ACME", "ACME", "ROUX ET FILS"],
            "activitePrincipaleUniteLegale": ["6201Z", "4711D", "41.20A"],
            "trancheEffectifsUniteLegale": ["12", "53", "NN"],
            "numeroVoieEtablissement": ["10", "1", None],
            "typeVoieEtablissement": ["RUE", "AV", None],
            "libelleVoieEtablissement": ["DE LA PAIX", "FOCH", None],
            "codePostalEtablissement": ["75002", "69001", "13001"],
            "libelleCommuneEtablissement": ["PARIS", "LYON", "MARSEILLE"],
        }
    )
    path = tmp_path / f"sirene.{fmt}"
    if fmt == "parquet":
        pq.write_table(reference, path)
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(reference, path)
    rows = [*ROWS, {"last_name": "Roux", "company": "Roux & Fils", "email": "contact@roux.fr"}]
    settings = dataclasses.replace(
        ControllerSettings(), enrichments=frozenset({"company_reference"}), reference=ReferenceSettings(path=str(path))
    )
    table = enrich(standardise(validated(rows)), settings).to_pylist()
    first = table[0]  # joined on its SIRET
    assert (first["naf_code"], first["headcount_band"], first["company_address"], first["company_city"]) == (
        "62.01Z", "20-49", "10 RUE DE LA PAIX", "PARIS",
    )
    assert first["provenance"]["naf_code"]["source"] == REFERENCE
    assert table[1]["naf_code"] is None  # "ACME" names two companies of the reference: not used
    roux = table[5]  # joined on its normalised name: SIREN filled from the reference
    assert roux["naf_code"] == "41.20A" and roux["headcount_band"] is None and roux["siren"] == "303 265 045"
    assert roux["provenance"]["siren"]["source"] == REFERENCE


def test_export_keeps_new_columns_and_provenance_parquet_only():
    from pipelines.reader import SourceInfo

    table = enrich(standardise(validated(ROWS)), ALL)
    linked = table.append_column("cluster_id", pa.array([f"P{i}" for i in range(5)])).append_column(
        "match_probability", pa.nulls(5, pa.float64())).append_column("is_master", pa.array([True] * 5))
    raw = pa.table({"row_number": pa.array(range(1, 7), pa.int64()), "src_0": ["x"] * 6})
    info = SourceInfo("csv", "utf-8", ",", ["Custom"], {}, 6, 1)
    quarantined = validated([{"siret": "732 829 320 00074"}]).set_column(
        0, "row_number", pa.array([6], pa.int64())).append_column("status_reason", pa.array(["no identity"]))
    contacts = export.build_contacts(raw, info, linked, quarantined)
    assert contacts.column_names[-1] == "provenance"
    assert contacts.column_names[-1 - len(export.EXTRA_COLUMNS):-1] == list(export.EXTRA_COLUMNS)
    assert contacts.column("siret").to_pylist()[-1] == "732 829 320 00074"  # quarantined: as sent
    csv_text = export.to_csv_bytes(contacts)[0].decode("utf-8-sig")
    assert csv_text.splitlines()[0].split(",")[-1] == '"national_id"'  # the last extra column: no provenance in the CSV
    parquet = pq.read_table(pa.BufferReader(export.to_parquet_bytes(contacts)))
    assert pa.types.is_struct(parquet.schema.field("provenance").type)
