"""Person details in the linkage (issue 14): comparison levels for dates of birth, addresses and
e-mail local parts, and the hard conflicts the guard draws from them, on real-world examples."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipelines import linkage, linkage_model
from pipelines.clustering import judge_pairs
from tests.test_linkage_guard import _contacts

ENRICHED_COLUMNS = ["first_name_key", "last_name_key", "last_name", "email", "email_qualification", "phone_e164",
                    "phone_type", "company_key", "company_domain", "linkedin_slug", "job_title", "street_number",
                    "street", "address_line2", "postcode", "city", "region", "date_of_birth", "client_id",
                    "national_id"]


def _input(rows: list[dict]) -> pa.Table:
    """The linkage input (sql/linkage_input.sql) of enriched-like rows."""
    cols = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in ENRICHED_COLUMNS}
    table = pa.table({"uid": pa.array(range(1, len(rows) + 1), pa.int64()), **cols,
                      "is_new": pa.array([True] * len(rows))})
    return linkage.linkage_input(duckdb.connect(), table)


def _level(comparison: str, left: dict, right: dict) -> str:
    """The label of the level a pair of enriched-like rows reaches on one comparison of the model."""
    [comp] = [c for c in linkage_model.COMPARISONS + linkage_model.PERSON_COMPARISONS
              if c["output_column_name"] == comparison]
    data = _input([left, right])
    con = duckdb.connect()
    con.register("li", data)
    select = ", ".join(f'l."{c}" AS "{c}_l", r."{c}" AS "{c}_r"' for c in data.column_names)
    cases = " ".join(
        f"WHEN {lvl['sql_condition']} THEN '{lvl['label_for_charts']}'"
        for lvl in comp["comparison_levels"] if lvl["sql_condition"] != "ELSE")
    sql = f"SELECT CASE {cases} ELSE 'else' END FROM (SELECT {select} FROM li l, li r WHERE l.uid = 1 AND r.uid = 2)"
    return con.execute(sql).fetchall()[0][0]


def test_date_of_birth_levels():
    def level(a, b):
        return _level("date_of_birth", {"date_of_birth": a}, {"date_of_birth": b})

    assert level("1984-03-07", "1984-03-07") == "exact"
    assert level("1984-03-07", "1984-07-03") == "day and month swapped"  # read in the other order
    assert level("1984-03-07", "1984-03-01") == "one digit off"
    assert level("1948-03-07", "1984-03-07") == "one digit off"  # two neighbours swapped
    assert level("1921-05-31", "1979-05-31") == "else"
    assert level(None, "1979-05-31") == "null"


def test_address_levels_read_through_bis_and_case():
    left = {"street_number": "12 bis", "street": "Rue de la Paix", "postcode": "75002"}
    assert _level("address", left, {"street_number": "12", "street": "rue de la paix", "postcode": "75002"}) \
        == "same number, close street, postcode not different"
    assert _level("address", left, {"street_number": "12", "street": "rue de la paix", "postcode": "69002"}) \
        == "same number, close street"
    assert _level("address", left, {"street_number": "14", "street": "rue de la paix"}).startswith("jaro-winkler")
    assert _level("address", left, {"street_number": "12", "street": "avenue Foch"}) == "else"


def test_email_typo_and_alias_are_evidence_for_a_match():
    def level(a, b):
        return _level("email", {"email": a, "email_qualification": "nominative@pro"},
                      {"email": b, "email_qualification": "nominative@pro"})

    assert level("j.doe@acme.com", "john.doe@acme.com") == "alias: initial and same surname part"
    assert level("sam.piins@mercedesbenz.nl", "sam.prins@mercedesbenz.nl") == "one typo in the local part"
    # Colleagues and namesakes stay apart: another surname part, a number for a homonym.
    assert level("a.lamy@acme.com", "a.gay@acme.com") == "else"
    assert level("pmartin@acme.com", "jmartin@acme.com") == "else"  # another initial: a colleague
    assert level("sylvie.bertrand@robert.fr", "sylvie.bertrand2@robert.fr") == "else"
    assert level("j.doe@acme.com", "john.doe@other.com") == "else"


def _judge(rows: list[dict], pairs: list[tuple[int, int]], probability: float = 0.999) -> dict:
    con = duckdb.connect()
    con.register("contacts", _contacts(rows))
    table = pa.table({"uid_l": pa.array([a for a, _ in pairs], pa.int64()),
                      "uid_r": pa.array([b for _, b in pairs], pa.int64()),
                      "match_probability": pa.array([probability] * len(pairs), pa.float64())})
    return {(p["uid_l"], p["uid_r"]): p for p in judge_pairs(con, table).to_pylist()}


HOME = {"street_number_key": "12", "street_key": "rue de la paix", "postcode_key": "75002", "city_key": "paris"}


def test_twins_at_one_address_are_two_people():
    rows = [{"uid": 1, "first_name_key": "lucas", "last_name_key": "moreau", "date_of_birth": "2001-04-12", **HOME},
            {"uid": 2, "first_name_key": "hugo", "last_name_key": "moreau", "date_of_birth": "2001-04-12", **HOME}]
    assert _judge(rows, [(1, 2)])[(1, 2)]["conflict"]


def test_father_and_son_of_one_name_are_two_people():
    rows = [{"uid": 1, "first_name_key": "jean", "last_name_key": "martin", "date_of_birth": "1952-06-01", **HOME},
            {"uid": 2, "first_name_key": "jean", "last_name_key": "martin", "date_of_birth": "1981-10-23", **HOME}]
    assert _judge(rows, [(1, 2)])[(1, 2)]["conflict"]


def test_a_date_typo_or_swap_is_one_person():
    rows = [{"uid": 1, "first_name_key": "claire", "last_name_key": "dubois", "date_of_birth": "1984-03-07", **HOME},
            {"uid": 2, "first_name_key": "claire", "last_name_key": "dubois", "date_of_birth": "1984-07-03", **HOME},
            {"uid": 3, "first_name_key": "claire", "last_name_key": "dubois", "date_of_birth": "1984-03-01"}]
    judged = _judge(rows, [(1, 2), (1, 3)])
    for pair in judged.values():
        assert pair["evidence"] and not pair["conflict"]


def test_a_shared_national_id_outweighs_a_replaced_first_name_but_two_ids_do_not():
    rows = [{"uid": 1, "first_name_key": "luke", "last_name_key": "purdon", "national_id_key": "8099933",
             "date_of_birth": "1983-10-24"},
            {"uid": 2, "first_name_key": "mia", "last_name_key": "purdon", "national_id_key": "8099933",
             "date_of_birth": "1983-10-24"},
            {"uid": 3, "first_name_key": "luke", "last_name_key": "purdon", "national_id_key": "4216940",
             "date_of_birth": "1990-01-02"}]
    judged = _judge(rows, [(1, 2), (1, 3)])
    assert judged[(1, 2)]["evidence"] and not judged[(1, 2)]["conflict"]
    assert judged[(1, 3)]["conflict"]


def test_fields_present_ignores_row_ids_and_rare_columns():
    rows = [{"first_name_key": f"a{i}", "last_name_key": "b", "client_id": f"crm-{i}", "date_of_birth": "1980-01-01",
             "national_id": "123456" if i < 2 else None} for i in range(300)]
    con = duckdb.connect()
    con.register("contacts", _input(rows))
    fields = linkage_model.fields_present(con, "contacts")
    assert "date_of_birth" in fields
    assert "client_id" not in fields  # one id per row: nothing to compare
    assert "national_id" not in fields  # 2 rows of 300: under 1 %
    settings = linkage_model.settings_dict(fields)
    assert [c["output_column_name"] for c in settings["comparisons"]] == ["first_name", "last_name", "date_of_birth"]
    assert linkage_model.em_blocking_rules(fields)[1] == 'l."date_of_birth" = r."date_of_birth"'


def test_a_slip_or_an_alias_in_a_mailbox_is_no_conflict_but_mirrored_names_are():
    rows = [
        {"uid": 1, "first_name_key": "sam", "last_name_key": "prins", "email_nominative": "sam.piins@mercedesbenz.nl",
         "phone_mobile": "+31629915851", "company_key": "mercedes benz"},
        {"uid": 2, "first_name_key": "sam", "last_name_key": "prins", "email_nominative": "sam.prins@mercedesbenz.nl",
         "phone_mobile": "+31629915851", "company_key": "mercedes benz"},
        {"uid": 3, "first_name_key": "j", "last_name_key": "doe", "email_nominative": "j.doe@acme.com", "company_key": "acme"},
        {"uid": 4, "first_name_key": "john", "last_name_key": "doe", "email_nominative": "john.doe@acme.com", "company_key": "acme"},
        # Two people whose addresses mirror their two surnames.
        {"uid": 5, "first_name_key": "john", "last_name_key": "cook", "email_nominative": "jcook@mcallister.co.uk"},
        {"uid": 6, "first_name_key": "john", "last_name_key": "cooke", "email_nominative": "jcooke@mcallister.co.uk"},
    ]
    judged = _judge(rows, [(1, 2), (3, 4), (5, 6)])
    assert judged[(1, 2)]["evidence"] and not judged[(1, 2)]["conflict"]
    assert judged[(3, 4)]["evidence"] and not judged[(3, 4)]["conflict"]
    assert judged[(5, 6)]["conflict"]


def test_swapped_names_born_decades_apart_are_two_people():
    # Merged before person details were compared: the swapped-names level alone took ~+12 bits.
    rows = [{"uid": 1, "first_name_key": "white", "last_name_key": "jasmine", "date_of_birth": "1921-05-31"},
            {"uid": 2, "first_name_key": "jasmine", "last_name_key": "white", "date_of_birth": "1979-05-31"},
            {"uid": 3, "first_name_key": "jasmine", "last_name_key": "white", "date_of_birth": "1921-05-31"}]
    judged = _judge(rows, [(1, 2), (1, 3)])
    assert judged[(1, 2)]["conflict"]
    assert judged[(1, 3)]["evidence"] and not judged[(1, 3)]["conflict"]
