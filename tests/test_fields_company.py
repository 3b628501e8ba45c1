import unicodedata

import pyarrow as pa
import pytest

from pipelines.fields.company import standardise_company_names

CASES = [
    # raw -> (display, key, legal form)
    ("ACME SAS", ("ACME", "acme", "SAS")),
    ("ACME S.A.S.", ("ACME", "acme", "SAS")),
    ("Acme S. A. S.", ("Acme", "acme", "SAS")),
    ("Acme (SAS)", ("Acme", "acme", "SAS")),
    ("  ACME   sasu ", ("ACME", "acme", "SASU")),
    ("acme s.a.r.l", ("Acme", "acme", "SARL")),
    ("Acme Sàrl", ("Acme", "acme", "SARL")),
    ("SARL Dupont", ("Dupont", "dupont", "SARL")),
    ("Dupont & Fils SARL", ("Dupont & Fils", "dupont fils", "SARL")),
    ("Dupont et Fils", ("Dupont et Fils", "dupont fils", None)),
    ("Société Générale S.A.", ("Société Générale", "generale", "SA")),
    (unicodedata.normalize("NFD", "Société Générale"), ("Société Générale", "generale", None)),
    ("Nestlé S.A.", ("Nestlé", "nestle", "SA")),
    ("Banco Santander, S.A.", ("Banco Santander", "banco santander", "SA")),
    ("Ste Dupont", ("Ste Dupont", "dupont", None)),
    ("The Coca-Cola Company", ("The Coca-Cola Company", "coca cola company", None)),
    ("L'Oréal", ("L'Oréal", "loreal", None)),
    ("Müller GmbH & Co. KG", ("Müller", "muller", "GmbH & Co. KG")),
    ("Müller GmbH & Co KG", ("Müller", "muller", "GmbH & Co. KG")),
    ("Siemens AG", ("Siemens", "siemens", "AG")),
    ("AG Insurance", ("AG Insurance", "ag insurance", None)),
    ("Acme B.V.", ("Acme", "acme", "BV")),
    ("Fiat S.p.A.", ("Fiat", "fiat", "SpA")),
    ("Thalasso Spa", ("Thalasso Spa", "thalasso spa", None)),  # a spa, not an S.p.A.
    ("Rossi S.r.l.", ("Rossi", "rossi", "Srl")),
    ("Acme S.L.", ("Acme", "acme", "SL")),
    ("ACME, Inc.", ("ACME", "acme", "Inc")),
    ("Acme LLC", ("Acme", "acme", "LLC")),
    ("Acme Ltd", ("Acme", "acme", "Ltd")),
    ("Acme Limited", ("Acme", "acme", "Ltd")),
    ("Acme PLC", ("Acme", "acme", "PLC")),
    ("Volvo AB", ("Volvo", "volvo", "AB")),
    ("Acme Sp. z o.o.", ("Acme", "acme", "Sp. z o.o.")),
    ("boulangerie de la gare", ("Boulangerie de la Gare", "boulangerie de la gare", None)),
    ("l'atelier d'antoine", ("L'Atelier d'Antoine", "latelier dantoine", None)),
    ("SAS", ("SAS", "sas", None)),  # nothing but a legal form: keep it as the name
    ('"ACME"', ("ACME", "acme", None)),
    ("", (None, None, None)),
    (None, (None, None, None)),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_standardise_company_names(raw, expected):
    display, key, form = standardise_company_names(pa.array([raw], pa.string()))
    assert (display[0].as_py(), key[0].as_py(), form[0].as_py()) == expected


def test_keys_match_across_spellings():
    values = pa.array(["ACME S.A.S.", "Acme SAS", "acme", "Société ACME", "ACME sarl"])
    _, key, _ = standardise_company_names(values)
    assert set(key.to_pylist()) == {"acme"}
