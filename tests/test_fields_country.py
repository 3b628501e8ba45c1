import unicodedata

import pyarrow as pa
import pytest

from pipelines.fields._data import load_csv
from pipelines.fields.country import standardise_countries

CASES = [
    ("France", "FR"), ("FRANCE", "FR"), ("fr", "FR"), ("FRA", "FR"), (" france ", "FR"),
    ("Allemagne", "DE"), ("Deutschland", "DE"), ("Germany", "DE"), ("DEU", "DE"),
    ("España", "ES"), ("Espagne", "ES"), ("espana", "ES"), ("Spanien", "ES"),
    ("Royaume-Uni", "GB"), ("Royaume Uni", "GB"), ("UK", "GB"), ("Great Britain", "GB"),
    ("United Kingdom", "GB"), ("Angleterre", "GB"), ("GBR", "GB"),
    ("Suisse", "CH"), ("Schweiz", "CH"), ("Svizzera", "CH"),
    ("Belgique", "BE"), ("België", "BE"), ("Belgien", "BE"),
    ("Italia", "IT"), ("Italie", "IT"),
    ("Pays-Bas", "NL"), ("Nederland", "NL"), ("Holland", "NL"), ("Niederlande", "NL"),
    ("USA", "US"), ("U.S.A.", "US"), ("États-Unis", "US"), ("Etats Unis", "US"),
    (unicodedata.normalize("NFD", "États-Unis"), "US"),
    ("Österreich", "AT"), ("Autriche", "AT"),
    ("Luxembourg", "LU"), ("Lëtzebuerg", "LU"),
    ("Maroc", "MA"), ("Algérie", "DZ"), ("Tunisie", "TN"),
    ("Côte d\u2019Ivoire", "CI"), ("Canada", "CA"), ("Polska", "PL"), ("Grèce", "GR"),
    ("La Réunion", "RE"), ("Sverige", "SE"), ("Irlande", "IE"),
    ("Narnia", None), ("F", None), ("", None), (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_standardise_countries(raw, expected):
    assert standardise_countries(pa.array([raw], pa.string())).to_pylist() == [expected]


def test_bundled_table_covers_europe_and_common_countries():
    codes = {row["alpha2"] for row in load_csv("countries.csv")}
    eea = set("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split())
    assert eea | {"GB", "CH", "US", "CA", "MA", "DZ", "TN"} <= codes


def test_every_alpha2_and_alpha3_maps_to_itself():
    rows = load_csv("countries.csv")
    alpha2 = pa.array([r["alpha2"] for r in rows])
    alpha3 = pa.array([r["alpha3"] for r in rows])
    assert standardise_countries(alpha2).to_pylist() == alpha2.to_pylist()
    assert standardise_countries(alpha3).to_pylist() == alpha2.to_pylist()


def test_chunked_input_keeps_order():
    values = pa.chunked_array([["fr", None], ["Allemagne", "xx"]])
    assert standardise_countries(values).to_pylist() == ["FR", None, "DE", None]
