"""Streets, street numbers, cities and regions (pipelines/fields/address.py)."""

import pyarrow as pa

from pipelines.fields.address import (
    standardise_cities,
    standardise_regions,
    standardise_street_numbers,
    standardise_streets,
)


def streets(values, numbers=None):
    street, number = standardise_streets(pa.array(values, pa.string()),
                                         None if numbers is None else pa.array(numbers, pa.string()))
    return list(zip(street.to_pylist(), number.to_pylist()))


def test_number_taken_out_of_the_street():
    assert streets(["12 bis rue de la Paix", "12, rue de la Paix", "Hauptstraße 5", "Hauptstr. 5a",
                    "10 Downing Street", "Via Roma 12", "calle mayor, 5"]) == [
        ("rue de la Paix", "12 bis"), ("rue de la Paix", "12"), ("Hauptstr.", "5"), ("Hauptstr.", "5A"),
        ("Downing St", "10"), ("Via Roma", "12"), ("C/ Mayor", "5")]


def test_a_year_is_not_a_street_number():
    assert streets(["RUE DU 8 MAI 1945"]) == [("Rue du 8 Mai 1945", None)]


def test_number_column_given_leaves_the_street_as_sent():
    assert streets(["12 rue de la Paix"], ["14"]) == [("12 rue de la Paix", None)]


def test_street_types_abbreviated_one_way():
    assert [s for s, _ in streets(["Av. des Champs-Élysées", "avenue des Champs-Élysées", "AV DES CHAMPS-ÉLYSÉES",
                                   "Boulevard Haussmann", "bd Haussmann"])] == [
        "Av des Champs-Élysées", "Av des Champs-Élysées", "Av des Champs-Élysées", "Bd Haussmann", "Bd Haussmann"]
    assert [s for s, _ in streets(["miller street", "tullaroop street", "wylly place", "goldfinch circuit",
                                   "Berliner Straße", "Hauptstrasse", "viale Europa", "piazza Duomo"])] == [
        "Miller St", "Tullaroop St", "Wylly Pl", "Goldfinch Cct", "Berliner Str.", "Hauptstr.", "V.le Europa",
        "P.za Duomo"]


def test_street_numbers():
    numbers, notes = standardise_street_numbers(pa.array(["12", "12 BIS", "5a", "12 - 14", " 7 ", "abc", None]))
    assert numbers.to_pylist() == ["12", "12 bis", "5A", "12-14", "7", None, None]
    assert notes.to_pylist() == [None] * 5 + ["invalid street number: abc", None]


def test_cities_and_regions():
    assert standardise_cities(pa.array(["SAINT-GERMAIN-EN-LAYE", "st james", "VILLENEUVE-D'ASCQ", "Le Havre"])).to_pylist() == [
        "Saint-Germain-en-Laye", "St James", "Villeneuve-d'Ascq", "Le Havre"]
    assert standardise_regions(pa.array(["nsw", "ile-de-france", "Baden-Württemberg"])).to_pylist() == [
        "NSW", "Ile-de-France", "Baden-Württemberg"]


def test_edge_streets_are_never_lost():
    assert streets([",", "12 bis", ", rue x", "12 b rue x"]) == [
        (",", None), ("12 Bis", None), ("Rue X", None), ("Rue X", "12B")]
    assert streets([","], ["3"]) == [(",", None)]
