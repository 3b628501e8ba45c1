"""The identity rule of a row (pipelines/validate.py, issue 14): an e-mail, a LinkedIn URL or an
identifier alone, or a name with a phone, a postal address, a date of birth or a company."""

import pyarrow as pa

from pipelines.reader import parse_contact_bytes, source_info
from pipelines.validate import QUARANTINE_EMPTY, QUARANTINE_NO_IDENTITY, split_rows

HEADER = "Prénom;Nom;E-mail;LinkedIn;Téléphone;Société;Adresse;Code postal;Ville;Date de naissance;N° client;Fonction\n"


def reasons(lines: list[str]) -> list[str | None]:
    raw = parse_contact_bytes((HEADER + "\n".join(lines) + "\n").encode("utf-8"))
    validated, quarantined = split_rows(raw, source_info(raw))
    by_row = dict(zip(quarantined.column("row_number").to_pylist(), quarantined.column("status_reason").to_pylist()))
    assert validated.num_rows + quarantined.num_rows == raw.num_rows
    return [by_row.get(i) for i in range(1, raw.num_rows + 1)]


def test_identity_alone():
    assert reasons([
        ";;jean@acme.fr;;;;;;;;;",
        ";;;linkedin.com/in/jdupont;;;;;;;;",
        ";;;;;;;;;;C-00042;",
    ]) == [None, None, None]


def test_name_with_one_more_field():
    assert reasons([
        "Jean;Dupont;;;06 12 34 56 78;;;;;;;",
        ";Dupont;;;;ACME;;;;;;",
        "Jean;Dupont;;;;;12 rue de la Paix;;;;;",
        "Jean;Dupont;;;;;;75002;;;;",
        "Jean;Dupont;;;;;;;;09/12/1956;;",
    ]) == [None] * 5


def test_no_identity():
    assert reasons([
        "Jean;Dupont;;;;;;;Paris;;;",  # a name and a city: no postal address
        ";;;;06 12 34 56 78;ACME;12 rue de la Paix;75002;Paris;;;CEO",  # no name, no identifier
        ";;;;;;;;;;;",
        "Jean;Dupont;;;;;;;;;;CEO",
    ]) == [QUARANTINE_NO_IDENTITY] * 2 + [QUARANTINE_EMPTY, QUARANTINE_NO_IDENTITY]


def test_reason_names_the_rule():
    assert "identifier" in QUARANTINE_NO_IDENTITY and "date of birth" in QUARANTINE_NO_IDENTITY


def test_validated_rows_have_the_new_canonical_columns():
    raw = parse_contact_bytes((HEADER + "Jean;Dupont;;;;;;;;09/12/1956;C-1;\n").encode("utf-8"))
    validated, _ = split_rows(raw, source_info(raw))
    row = validated.to_pylist()[0]
    assert row["date_of_birth"] == "09/12/1956" and row["client_id"] == "C-1" and row["street"] is None
    assert validated.column("street_number").type == pa.string()
