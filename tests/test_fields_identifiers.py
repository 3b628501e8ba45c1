"""SIREN, SIRET and VAT numbers: validated (python-stdnum), formatted, reconciled; their headers."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.fields.identifiers import (
    compact_ids,
    reconcile_siren,
    standardise_siren,
    standardise_siret,
    standardise_vat,
)
from pipelines.headers import map_headers


@pytest.mark.parametrize(
    ("raw", "siren", "note"),
    [
        ("552 008 443", "552 008 443", None),
        ("552008443", "552 008 443", None),
        ("552.008.443", "552 008 443", None),
        ("SIREN : 552-008-443", "552 008 443", None),
        ("5.52008443E+8", "552 008 443", None),  # Excel's scientific notation
        ("552008443.0", "552 008 443", None),  # a numeric cell exported as float
        ("73282932000074", "732 829 320", None),  # a SIRET typed in the SIREN column
        ("552008444", None, "invalid SIREN: 552008444"),  # Luhn fails
        ("55200844", None, "invalid SIREN: 55200844"),
        (None, None, None),
    ],
)
def test_siren(raw, siren, note):
    out, notes = standardise_siren(pa.array([raw], pa.string()))
    assert (out[0].as_py(), notes[0].as_py()) == (siren, note)


@pytest.mark.parametrize(
    ("raw", "siret", "note"),
    [
        ("732 829 320 00074", "732 829 320 00074", None),
        ("73282932000074", "732 829 320 00074", None),
        ("7.3282932000074E+13", "732 829 320 00074", None),
        ("35600000000048", "356 000 000 00048", None),  # La Poste: its own checksum rule
        ("73282932000075", None, "invalid SIRET: 73282932000075"),
    ],
)
def test_siret(raw, siret, note):
    out, notes = standardise_siret(pa.array([raw], pa.string()))
    assert (out[0].as_py(), notes[0].as_py()) == (siret, note)


@pytest.mark.parametrize(
    ("raw", "country", "vat", "note"),
    [
        ("FR 40 303 265 045", None, "FR40303265045", None),
        ("fr40303265045", None, "FR40303265045", None),
        ("N° TVA : FR40303265045", None, "FR40303265045", None),
        ("40303265045", "FR", "FR40303265045", None),  # prefix forgotten: the row's country
        ("DE136695976", None, "DE136695976", None),
        ("ESA12345674", None, "ESA12345674", None),
        ("IT00743110157", None, "IT00743110157", None),
        ("BE 0403.170.701", None, "BE0403170701", None),
        ("CHE-116.281.710 MWST", None, "CHE-116.281.710 MWST", None),
        ("GB 980 7806 84", None, "GB980780684", None),
        ("FR00000000000", None, None, "invalid VAT number: FR00000000000"),
        ("40303265045", None, None, "invalid VAT number: 40303265045"),  # no country to tell
    ],
)
def test_vat(raw, country, vat, note):
    out, notes = standardise_vat(pa.array([raw], pa.string()), pa.array([country], pa.string()))
    assert (out[0].as_py(), notes[0].as_py()) == (vat, note)


def test_reconcile_siren_from_siret_and_vat():
    siren, note = reconcile_siren(
        pa.array([None, "552 008 443", None, "552 008 443"], pa.string()),
        pa.array(["732 829 320 00074", "732 829 320 00074", None, None], pa.string()),
        pa.array([None, None, "FR40303265045", None], pa.string()),
    )
    assert siren.to_pylist() == ["732 829 320", "552 008 443", "303 265 045", "552 008 443"]
    assert note.to_pylist() == [None, "SIREN does not match the SIRET or VAT number", None, None]


def test_compact_ids():
    assert compact_ids(pa.array(["552 008 443", "CHE-116.281.710 MWST"])).to_pylist() == ["552008443", "CHE116281710MWST"]


def test_identifier_headers_in_four_languages():
    fields = map_headers(["Société", "SIRET", "N° TVA intracommunautaire", "Numéro SIREN", "E-mail"]).fields
    assert fields == {"company": 0, "siret": 1, "vat_number": 2, "siren": 3, "email": 4}
    assert map_headers(["Firma", "USt-IdNr.", "E-Mail"]).fields["vat_number"] == 1
    assert map_headers(["Empresa", "NIF IVA", "Correo"]).fields["vat_number"] == 1
    assert map_headers(["Company", "VAT number", "Email"]).fields["vat_number"] == 1
    assert map_headers(["Nom", "Siret du siège"]).fields == {"full_name": 0, "siret": 1}
