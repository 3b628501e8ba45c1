"""The standardisation stage on a French customer list with postal addresses and dates of birth,
as Excel gives it back (XLSX with typed cells, or CSV): what comes out, and what the notes keep."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook

from pipelines.reader import parse_contact_bytes, source_info
from pipelines.standardise import standardise
from pipelines.validate import split_rows

HEADER = ["Civilité", "Prénom", "Nom", "Adresse", "Complément", "CP", "Ville", "Pays", "Date de naissance", "N° client"]
ROWS = [
    ["M.", "Jean", "Dupont", "12 bis rue de la Paix", "Bât. B", 75002, "PARIS", "France", dt.datetime(1956, 9, 9), 1042],
    ["Mme", "Marie", "Curie", "Av. Jean Médecin", "", 6000, "Nice", "France", "13/02/1961", "C-0043"],
    ["M.", "Hans", "Müller", "Hauptstraße 5", "", "10115", "Berlin", "Deutschland", "19560909", ""],
    ["Mr", "John", "Smith", "10 Downing Street", "", "sw1a 2aa", "London", "UK", "31/02/1970", ""],
    ["Mme", "Zoé", "Martin", "", "", "", "", "France", "", ""],
]


def _xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _standardised(data: bytes):
    raw = parse_contact_bytes(data)
    validated, quarantined = split_rows(raw, source_info(raw))
    return standardise(validated).to_pylist(), quarantined.num_rows


def test_french_customer_list_from_excel():
    rows, quarantined = _standardised(_xlsx())
    assert quarantined == 1  # Zoé Martin: a name and a country are no identity
    jean, marie, hans, john = rows
    assert (jean["street_number"], jean["street"], jean["address_line2"], jean["postcode"], jean["city"]) == (
        "12 bis", "rue de la Paix", "Bât. B", "75002", "Paris")
    assert jean["date_of_birth"] == "1956-09-09" and jean["client_id"] == "1042"
    # 06000 typed into Excel: the zero is back, and the notes say so.
    assert marie["street"] == "Av Jean Médecin" and marie["postcode"] == "06000"
    assert "postcode 6000 read as 06000 (leading zero lost)" in marie["notes"]
    assert marie["date_of_birth"] == "1961-02-13" and marie["client_id"] == "C-0043"
    assert (hans["street_number"], hans["street"], hans["postcode"], hans["date_of_birth"]) == (
        "5", "Hauptstr.", "10115", "1956-09-09")
    assert (john["street_number"], john["street"], john["postcode"]) == ("10", "Downing St", "SW1A 2AA")
    assert john["date_of_birth"] is None and "invalid date of birth: 31/02/1970" in john["notes"]
