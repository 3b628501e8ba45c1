"""The synthetic contact generator: determinism, truth alignment, duplicates, file round trips.

Kept fast (a few thousand rows per test): the generator feeds every accuracy benchmark, so what
is checked here is that its truth can be trusted, not its speed.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pytest

from bench import generator as G
from bench.generator import (
    HEADERS,
    MESSY_COLUMNS,
    MESSY_COLUMNS_FULL_NAME,
    TRUTH_COLUMNS,
    duplicate_stats,
    encodable,
    generate,
    header_names,
    write_file,
)

ROWS = 3000


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate(ROWS, seed=11, profile="mixed")


@pytest.fixture(scope="module")
def french() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate(ROWS, seed=12, profile="fr")


# ---------------------------------------------------------------------------------------------
# determinism and shape
# ---------------------------------------------------------------------------------------------
def test_same_seed_same_output_and_other_seed_differs():
    m1, t1 = generate(1500, seed=5)
    m2, t2 = generate(1500, seed=5)
    pd.testing.assert_frame_equal(m1, m2)
    pd.testing.assert_frame_equal(t1, t2)
    m3, _ = generate(1500, seed=6)
    assert not m1.equals(m3)


def test_output_does_not_depend_on_how_it_is_consumed(monkeypatch):
    # Small chunks exercise the chunked path (and its per-chunk random streams) on few rows.
    monkeypatch.setattr(G, "CHUNK_ROWS", 700)
    messy, truth = generate(2000, seed=3)
    parts = list(G.iter_generate(2000, seed=3))
    assert len(parts) == 3
    pd.testing.assert_frame_equal(messy, pd.concat([p[0] for p in parts], ignore_index=True))
    pd.testing.assert_frame_equal(truth, pd.concat([p[1] for p in parts], ignore_index=True))
    assert truth["row_number"].tolist() == list(range(1, 2001))


@pytest.mark.parametrize("rows", [0, 1, 7, 250])
def test_row_counts(rows):
    messy, truth = generate(rows, seed=1)
    assert len(messy) == len(truth) == rows
    assert tuple(messy.columns) == MESSY_COLUMNS
    assert tuple(truth.columns) == TRUTH_COLUMNS


def test_columns_and_types(mixed):
    messy, truth = mixed
    assert tuple(messy.columns) == MESSY_COLUMNS
    assert tuple(truth.columns) == TRUTH_COLUMNS
    for col in messy.columns:  # strings everywhere, "" for empty, never NaN
        assert messy[col].map(type).eq(str).all(), col
    assert truth["is_generic_email"].dtype == bool
    assert truth["row_number"].tolist() == list(range(1, ROWS + 1))
    assert set(truth["true_gender"]) <= {"M", "F", ""}
    assert set(truth["row_kind"]) == {"contact", "no_identity", "empty"}


def test_full_name_flag():
    messy, truth = generate(800, seed=4, full_name=True)
    assert tuple(messy.columns) == MESSY_COLUMNS_FULL_NAME
    contact = truth["row_kind"] == "contact"
    # "DUPONT Jean", "Dupont, Jean", "M. Jean Dupont"... all contain the parts in some form.
    orders = truth.loc[contact, "name_variation"].str.extract(r"order_(\w+)")[0].dropna()
    assert {"first_last", "LAST_first", "last_comma_first"} <= set(orders)
    clean = contact & truth["name_variation"].eq("order_first_last")
    expected = truth.loc[clean, "true_first_name"] + " " + truth.loc[clean, "true_last_name"]
    assert (messy.loc[clean, "full_name"] == expected).all()


# ---------------------------------------------------------------------------------------------
# truth is aligned with the messy rows
# ---------------------------------------------------------------------------------------------
def test_untouched_values_equal_truth(mixed):
    messy, truth = mixed
    contact = truth["row_kind"] == "contact"
    clean_names = contact & truth["name_variation"].eq("none")
    assert clean_names.sum() > ROWS * 0.4
    assert (messy.loc[clean_names, "first_name"] == truth.loc[clean_names, "true_first_name"]).all()
    assert (messy.loc[clean_names, "last_name"] == truth.loc[clean_names, "true_last_name"]).all()

    clean_email = truth["email_corruption"].eq("none") & truth["true_email"].ne("")
    assert (messy.loc[clean_email, "email"] == truth.loc[clean_email, "true_email"]).all()
    no_email = truth["true_email"].eq("") | truth["email_corruption"].eq("missing")
    assert messy.loc[no_email, "email"].eq("").all()
    corrupted = ~clean_email & ~no_email
    assert (messy.loc[corrupted, "email"] != truth.loc[corrupted, "true_email"]).all()

    e164 = truth["phone_format"].eq("e164")
    assert (messy.loc[e164, "phone"] == truth.loc[e164, "true_phone_e164"]).all()
    digits = truth["phone_format"].isin(["national_spaced", "national_compact", "national_dots", "intl_spaced"])
    # Whatever the spacing, the national digits are the tail of the E.164 number.
    for shown, true in zip(messy.loc[digits, "phone"], truth.loc[digits, "true_phone_e164"]):
        d = re.sub(r"\D", "", shown).lstrip("0")
        assert true.endswith(d), (shown, true)
    no_phone = truth["phone_format"].isin(["none", "missing"])
    assert messy.loc[no_phone, "phone"].eq("").all()

    clean_company = contact & truth["company_variation"].eq("none") & truth["true_company"].ne("")
    assert (messy.loc[clean_company, "company"] == truth.loc[clean_company, "true_company"]).all()


def test_truth_values_are_clean(mixed):
    _, truth = mixed
    emails = truth.loc[truth["true_email"].ne(""), "true_email"]
    assert emails.str.fullmatch(r"[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)+").all()
    phones = truth.loc[truth["true_phone_e164"].ne(""), "true_phone_e164"]
    assert phones.str.fullmatch(r"\+[1-9]\d{7,14}").all()
    contact = truth[truth["row_kind"] == "contact"]
    assert set(contact["true_country"]) == set(G.COUNTRIES)
    for col in ("true_first_name", "true_last_name"):
        vals = contact[col]
        assert vals.ne("").all()
        assert (vals == vals.str.strip()).all()
        assert vals.map(lambda s: unicodedata.is_normalized("NFC", s)).all()
    # the e-mail domain of pro addresses is the company's (or its group's)
    pro = contact[contact["true_email_kind"].eq("pro")]
    assert (pro["true_email"].str.split("@").str[1].str.split(".").str[0].str[:3]
            == pro["true_domain"].str.split(".").str[0].str[:3]).mean() > 0.85
    assert (truth["is_generic_email"] == truth["true_email_kind"].eq("generic")).all()


def test_truth_phones_are_valid_numbers(mixed):
    phonenumbers = pytest.importorskip("phonenumbers")
    _, truth = mixed
    rows = truth[truth["true_phone_e164"].ne("")]
    ok = [
        phonenumbers.is_valid_number(p) and phonenumbers.region_code_for_number(p) == c
        for p, c in ((phonenumbers.parse(x), c) for x, c in zip(rows["true_phone_e164"], rows["true_country"]))
    ]
    assert sum(ok) / len(ok) > 0.99


def test_special_rows(mixed):
    messy, truth = mixed
    empty = truth["row_kind"] == "empty"
    assert 1 <= empty.sum() <= ROWS * 0.003
    assert (messy[empty] == "").all().all()
    noid = truth["row_kind"] == "no_identity"
    assert ROWS * 0.002 <= noid.sum() <= ROWS * 0.01
    assert (messy.loc[noid, ["first_name", "last_name", "company", "email"]] == "").all().all()
    assert truth.loc[noid | empty, "n_copies"].eq(1).all()
    # the last row is a real one: spreadsheet readers drop trailing blank rows
    assert truth["row_kind"].iloc[-1] != "empty"
    crm = messy.loc[~empty, "crm_id"]
    assert crm.is_unique and crm.str.fullmatch(r"CRM-\d{6,}").all()


# ---------------------------------------------------------------------------------------------
# duplicates and realism
# ---------------------------------------------------------------------------------------------
def test_duplicate_rate_and_consistency(mixed):
    messy, truth = mixed
    stats = duplicate_stats(truth)
    assert 0.15 <= stats["duplicated_entity_rate"] <= 0.25
    contact = truth[truth["row_kind"] == "contact"]
    sizes = contact.groupby("entity_id").size()
    assert (sizes == contact.groupby("entity_id")["n_copies"].first()).all()
    assert set(sizes) <= {1, 2, 3, 4} and {2, 3, 4} <= set(sizes)
    copies = contact.groupby("entity_id")["copy_index"].apply(sorted)
    assert all(c == list(range(1, len(c) + 1)) for c in copies)
    # one person, one identity across copies
    for col in ("true_first_name", "true_last_name", "true_gender", "true_company", "true_country",
                "true_job_title"):
        assert contact.groupby("entity_id")[col].nunique().max() == 1, col
    # entity ids are numbered by first appearance
    first_seen = truth.drop_duplicates("entity_id")["entity_id"]
    assert first_seen.tolist() == list(range(1, len(first_seen) + 1))
    # copies are scattered, not adjacent
    dup_rows = contact[contact["n_copies"] > 1]
    spread = dup_rows.groupby("entity_id")["row_number"].agg(lambda r: r.max() - r.min())
    assert spread.median() > ROWS / 10
    # copies of one person really differ from each other
    dup_messy = messy.loc[dup_rows.index].assign(entity_id=dup_rows["entity_id"])
    differing = dup_messy.groupby("entity_id")[["first_name", "last_name", "email", "phone", "company"]].nunique()
    assert (differing.max(axis=1) > 1).mean() > 0.9


def test_realistic_content(mixed, french):
    messy, truth = mixed
    contact = truth[truth["row_kind"] == "contact"]
    share_fr = contact["true_country"].eq("FR").mean()
    assert 0.42 <= share_fr <= 0.58
    assert french[1].loc[french[1]["row_kind"] == "contact", "true_country"].eq("FR").mean() > 0.85
    # homonyms: same name, different people
    people = contact.drop_duplicates("entity_id")
    homonyms = people.groupby(["true_first_name", "true_last_name"])["entity_id"].nunique()
    assert (homonyms > 1).sum() > 20
    # compound and particle names, ambiguous first names of both genders
    assert people["true_first_name"].str.contains("-").any()
    assert people["true_last_name"].str.contains(r"^(?:de |van |von |Le |O')", regex=True).any()
    fr_people = pd.concat([people, french[1].drop_duplicates("entity_id")])
    assert fr_people.loc[fr_people["true_first_name"].isin(["Camille", "Dominique", "Claude"]),
                         "true_gender"].nunique() == 2
    # webmail around 15%, generic mailboxes shared by colleagues
    webmail = contact["true_email_kind"].eq("perso").mean()
    assert 0.08 <= webmail <= 0.22
    generic = contact[contact["is_generic_email"]]
    assert (generic.groupby("true_email")["entity_id"].nunique() > 1).any()
    # a switchboard shared by colleagues; a company with many contacts
    phones = contact[contact["true_phone_e164"].ne("")]
    assert phones.groupby("true_phone_e164")["entity_id"].nunique().max() >= 3
    assert people.groupby("true_company").size().drop("", errors="ignore").max() >= 30
    # messy things really present
    assert messy["last_name"].str.isupper().mean() > 0.05
    assert messy["first_name"].map(lambda s: not unicodedata.is_normalized("NFC", s)).any()
    assert (messy["first_name"] != messy["first_name"].str.strip()).any()
    assert messy["notes"].str.contains("\n").any() and messy["notes"].str.contains(";").any()
    assert messy["phone"].str.startswith("+33 (0)").any()
    assert set(truth["email_corruption"]) >= {"none", "case", "space", "typo_tld", "typo_domain", "missing"}
    assert messy["website"].str.startswith("http").any() and messy["website"].str.startswith("www.").any()
    assert messy["linkedin"].str.contains("linkedin.com/in/").any()
    assert messy["country"].isin(["France", "FR", "FRA", "france"]).sum() > 50


def test_unknown_profile_or_language_is_refused():
    with pytest.raises(ValueError):
        generate(10, profile="mars")
    with pytest.raises(ValueError):
        generate(10, lang="xx")


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------
def _read_csv(path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, **kw)


def test_write_csv_cp1252_semicolon_round_trip(french, tmp_path):
    messy, _ = french
    path = tmp_path / "export.csv"
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    raw = path.read_bytes()
    assert raw.startswith("ID CRM;Civilité;Prénom;Nom;Société".encode("cp1252"))
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really Windows-1252, as French Excel writes it
    back = _read_csv(path, sep=";", encoding="cp1252")
    assert list(back.columns) == header_names(messy.columns, "fr")
    back.columns = messy.columns
    expected = encodable(messy, "cp1252")
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    multiline = messy["notes"].str.contains("\n")
    assert multiline.any()
    assert (back.loc[multiline, "notes"] == messy.loc[multiline, "notes"]).all()
    assert back["notes"].str.contains(";").any()


def test_write_csv_utf16_and_utf8_sig_round_trip(mixed, tmp_path):
    messy, _ = mixed
    for encoding, delimiter, lang in (("utf-16", "\t", "de"), ("utf-8-sig", ",", "en"), ("utf-8", ",", "es")):
        path = tmp_path / f"export-{encoding}.csv"
        write_file(messy, path, fmt="csv", encoding=encoding, delimiter=delimiter, header_lang=lang)
        raw = path.read_bytes()
        if encoding == "utf-16":
            assert raw[:2] == b"\xff\xfe"
        if encoding == "utf-8-sig":
            assert raw[:3] == b"\xef\xbb\xbf"
        back = _read_csv(path, sep=delimiter, encoding=encoding)
        assert list(back.columns) == header_names(messy.columns, lang)
        back.columns = messy.columns
        pd.testing.assert_frame_equal(back, messy, check_dtype=False)  # exact: NFD and all


def test_write_xlsx_round_trip(tmp_path):
    messy, _ = generate(1200, seed=8, full_name=True, lang="it")
    path = tmp_path / "export.xlsx"
    write_file(messy, path, fmt="xlsx", header_lang="it")
    back = pd.read_excel(path, dtype=str, keep_default_na=False, engine="calamine")
    assert list(back.columns) == [HEADERS["it"][c] for c in messy.columns]
    back.columns = messy.columns
    pd.testing.assert_frame_equal(back, messy, check_dtype=False)


def test_write_chunks_and_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(G, "CHUNK_ROWS", 400)
    out, truth_path = tmp_path / "cli.csv", tmp_path / "truth.parquet"
    assert G.main(["--rows", "1000", "--seed", "9", "--out", str(out), "--encoding", "cp1252",
                   "--delimiter", ";", "--lang", "fr", "--truth", str(truth_path), "--profile", "fr"]) == 0
    messy, truth = generate(1000, seed=9, profile="fr", lang="fr")
    back = _read_csv(out, sep=";", encoding="cp1252")
    back.columns = messy.columns
    pd.testing.assert_frame_equal(back, encodable(messy, "cp1252"), check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_parquet(truth_path), truth, check_dtype=False)
    csv_truth = tmp_path / "truth.csv"
    assert G.main(["--rows", "50", "--out", str(tmp_path / "x.xlsx"), "--truth", str(csv_truth)]) == 0
    assert len(pd.read_csv(csv_truth)) == 50
    assert len(pd.read_excel(tmp_path / "x.xlsx", engine="calamine")) == 50
