import unicodedata

import pyarrow as pa
import pytest

from pipelines.fields.names import (
    first_name_key,
    last_name_key,
    split_full_names,
    standardise_first_names,
    standardise_last_names,
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


FIRST_NAMES = [
    ("jean-pierre", "Jean-Pierre"),
    ("MARIE-HÉLÈNE", "Marie-Hélène"),
    ("anne sophie", "Anne Sophie"),
    ("anne   sophie", "Anne Sophie"),
    ("ÉLODIE", "Élodie"),
    (nfd("élodie"), "Élodie"),  # NFD input from macOS exports
    ("J.", "J."),
    ("j.", "J."),
    ("J.-P.", "J.-P."),
    ("JP", "JP"),
    ("  -Jean2 ", "Jean"),
    ("Marie.", "Marie"),
    ("jean - pierre", "Jean-Pierre"),
    ("JEan", "Jean"),
    ("DeShawn", "DeShawn"),
    ("o\u2019neil", "O'Neil"),
    ("\u00a0Chloé\u00a0", "Chloé"),  # non-breaking spaces from Excel
    ("李", "李"),
    ("", None),
    ("   ", None),
    ("123", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), FIRST_NAMES)
def test_standardise_first_names(raw, expected):
    assert standardise_first_names(pa.array([raw], pa.string())).to_pylist() == [expected]


LAST_NAMES = [
    ("DE LA FONTAINE", "de la Fontaine"),
    ("van der berg", "van der Berg"),
    ("VAN DEN BERG", "van den Berg"),
    ("d'ALEMBERT", "d'Alembert"),
    ("Giscard d\u2019Estaing", "Giscard d'Estaing"),
    ("o'neil", "O'Neil"),
    ("MCDONALD", "McDonald"),
    ("mcdonald", "McDonald"),
    ("MacArthur", "MacArthur"),
    ("MACRON", "Macron"),
    ("DUPONT", "Dupont"),
    ("le goff", "Le Goff"),
    ("LE GOFF-DUPONT", "Le Goff-Dupont"),
    ("García López", "García López"),
    ("García y López", "García y López"),
    ("DA SILVA", "da Silva"),
    ("von und zu Guttenberg", "von und zu Guttenberg"),
    ("Da", "Da"),  # a particle standing alone is the surname
    ("ŒUVRAY", "Œuvray"),
    ("œuvray", "Œuvray"),
    (nfd("LEFÈVRE"), "Lefèvre"),
    ("Dupont.", "Dupont"),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), LAST_NAMES)
def test_standardise_last_names(raw, expected):
    assert standardise_last_names(pa.array([raw], pa.string())).to_pylist() == [expected]


FULL_NAMES = [
    ("Jean-Pierre DUPONT", ("Jean-Pierre", "Dupont")),
    ("DUPONT Jean-Pierre", ("Jean-Pierre", "Dupont")),
    ("Dupont, Jean", ("Jean", "Dupont")),
    ("DUPONT, Mme Jeanne", ("Jeanne", "Dupont")),
    ("Marie de la Fontaine", ("Marie", "de la Fontaine")),
    ("Marie DE LA FONTAINE", ("Marie", "de la Fontaine")),
    ("Jean-Pierre de LA FONTAINE", ("Jean-Pierre", "de la Fontaine")),
    ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
    ("Anne Sophie Martin", ("Anne Sophie", "Martin")),
    ("Jean Le Goff", ("Jean", "Le Goff")),
    ("José García López", ("José", "García López")),
    ("JEAN DUPONT", ("Jean", "Dupont")),
    ("J. DUPONT", ("J.", "Dupont")),
    ("M. Jean Dupont", ("Jean", "Dupont")),
    ("Mme DUPONT Marie", ("Marie", "Dupont")),
    ("Mr John Smith", ("John", "Smith")),
    ("Mrs. Jane O'Neil", ("Jane", "O'Neil")),
    ("Dr. House", (None, "House")),
    ("Herr Hans Müller", ("Hans", "Müller")),
    ("Frau Anna Schmidt", ("Anna", "Schmidt")),
    ("Sra. María García", ("María", "García")),
    ("Sr. Juan Pérez", ("Juan", "Pérez")),
    (nfd("Hélène LEFÈVRE"), ("Hélène", "Lefèvre")),
    ("Dupont", (None, "Dupont")),
    ("Mr", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
]


@pytest.mark.parametrize(("raw", "expected"), FULL_NAMES)
def test_split_full_names(raw, expected):
    first, last = split_full_names(pa.array([raw], pa.string()))
    assert (first.to_pylist()[0], last.to_pylist()[0]) == expected


def test_split_full_names_keeps_length_and_order_on_chunked_input():
    values = pa.chunked_array([["Jean DUPONT", None], ["DUPONT Jean", "Jean DUPONT"]])
    first, last = split_full_names(values)
    assert first.to_pylist() == ["Jean", None, "Jean", "Jean"]
    assert last.to_pylist() == ["Dupont", None, "Dupont", "Dupont"]


def test_name_keys():
    firsts = pa.array(["Jean-Pierre", "JEAN PIERRE", nfd("jean-pièrre"), "Zoë", "", None])
    assert first_name_key(firsts).to_pylist() == [
        "jeanpierre", "jeanpierre", "jeanpierre", "zoe", None, None,
    ]
    lasts = pa.array(["de la Fontaine", "DELAFONTAINE", "Œuvray", "Straße", "O'Neil", "Łukasz"])
    assert last_name_key(lasts).to_pylist() == [
        "delafontaine", "delafontaine", "oeuvray", "strasse", "oneil", "lukasz",
    ]
