"""Merge guard, the cases measured on the benchmark: one company typed two ways, namesakes at
one company, a surname without first name, and what may merge below the names threshold."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipelines.clustering import NAMES_MATCH_THRESHOLD, judge_pairs
from tests.test_linkage_guard import _contacts


def _judge(rows: list[dict], pairs: list[tuple[int, int, float]]) -> dict[tuple[int, int], dict]:
    con = duckdb.connect()
    con.register("contacts", _contacts(rows))
    table = pa.table({
        "uid_l": pa.array([a for a, _, _ in pairs], pa.int64()),
        "uid_r": pa.array([b for _, b, _ in pairs], pa.int64()),
        "match_probability": pa.array([p for _, _, p in pairs], pa.float64()),
    })
    return {(j["uid_l"], j["uid_r"]): j for j in judge_pairs(con, table).to_pylist()}


def _person(uid: int, first: str | None, last: str | None, company: str | None, **extra) -> dict:
    return {"uid": uid, "first_name_key": first, "last_name_key": last, "company_key": company, **extra}


def test_one_company_typed_two_ways_is_one_company():
    rows = [
        _person(1, "hana", "kaya", "lexium group"), _person(2, "hana", "kaya", "lexium roup"),  # typo
        _person(3, "monika", "rudolph", "verpharm"), _person(4, "monika", "rudolph", "verpharm hog"),  # legal form
        _person(5, "dominique", "royer", "groupe lemarechal"), _person(6, "dominique", "royer", "groupelemarechal"),
        _person(7, "julien", "chevallier", "amtis sol"), _person(8, "julien", "chevallier", "amtis solutions"),
    ]
    judged = _judge(rows, [(1, 2, 0.99), (3, 4, 0.99), (5, 6, 0.99), (7, 8, 0.99)])
    assert all(j["evidence"] and not j["conflict"] for j in judged.values())


def test_companies_sharing_a_generic_prefix_are_two_companies():
    # Jaro-Winkler scores these above 0.9; they are two companies, so namesakes there stay apart.
    rows = [
        _person(1, "clemence", "guillot", "compagnie adam"), _person(2, "clemence", "guillot", "compagnie thomas"),
        _person(3, "guillaume", "marie", "groupe claes"), _person(4, "guillaume", "marie", "groupe maes"),
        _person(5, "hans", "weber", "muller bau"), _person(6, "hans", "weber", "muller bauer"),  # not cut short
    ]
    judged = _judge(rows, [(1, 2, 0.99), (3, 4, 0.99), (5, 6, 0.99)])
    assert not any(j["evidence"] for j in judged.values())


def test_a_name_known_to_be_two_people_at_a_company_is_no_evidence():
    # Two Karine Michels at Nexdata: IT gave the second one karine.michel2@. A row with the name
    # alone could be either of them.
    def pro(local: str) -> dict:
        return {"email_local": local, "email_pro": f"{local}@nexdata-group.fr", "email_nominative": f"{local}@nexdata-group.fr"}

    rows = [
        _person(1, "karine", "michel", "nexdata group", **pro("karine.michel2")),
        _person(8, "ada", "lee", "nexdata group", **pro("ada.lee")),  # the company's mail domain
        _person(9, "bo", "li", "nexdata group", **pro("bo.li")),
        _person(2, "karine", "michel", "nexdata group"),
        _person(3, "leo", "gautier", "nexdata group", linkedin_slug="leo-gautier-1"),
        _person(4, "leo", "gautier", "nexdata group", linkedin_slug="leo-gautier-2"),
        _person(5, "leo", "gautier", "nexdata group"),
        _person(6, "anna", "cossu", "nexdata group"),
        _person(7, "anna", "cossu", "nexdata group"),
    ]
    judged = _judge(rows, [(1, 2, 0.999), (3, 5, 0.999), (6, 7, 0.999)])
    assert not judged[(1, 2)]["evidence"]
    assert not judged[(3, 5)]["evidence"]
    assert judged[(6, 7)]["evidence"]  # one Anna Cossu as far as the file knows


def test_a_personal_address_taken_for_a_professional_one_is_no_namesake():
    # peterbecker79@free.ff (a typo in a webmail domain) and peter.becker@ at the company: one
    # person with two addresses, not two Peter Beckers.
    rows = [
        _person(1, "peter", "becker", "martin emballages", email_local="peterbecker79", email_pro="peterbecker79@free.ff"),
        _person(2, "peter", "becker", "martin emballages", email_local="peter.becker", email_pro="peter.becker@martin.fr"),
        _person(3, "peter", "becker", "martin emballages"),
    ]
    judged = _judge(rows, [(1, 3, 0.99), (2, 3, 0.99)])
    assert judged[(1, 3)]["evidence"] and judged[(2, 3)]["evidence"]


def test_a_surname_without_first_name_merges_only_where_one_person_carries_it():
    rows = [
        _person(1, "bruno", "rolland", "solaco group"), _person(2, None, "rolland", "solaco group"),
        _person(3, "ines", "moreau", "capelon"), _person(4, "paul", "moreau", "capelon"), _person(5, None, "moreau", "capelon"),
        _person(6, "j", "rolland", "solaco group"),  # an initial is no second first name
        _person(7, None, "rolland", "other company"),
    ]
    judged = _judge(rows, [(1, 2, 0.99), (3, 5, 0.99), (2, 7, 0.99)])
    assert judged[(1, 2)]["evidence"]
    assert not judged[(3, 5)]["evidence"]  # Ines or Paul?
    assert not judged[(2, 7)]["evidence"]


def test_below_the_names_threshold_only_an_identifier_merges():
    rows = [
        _person(1, "claire", "joly", "jung telecom", phone_mobile="+33612345678"),
        _person(2, "claire", "joly", "jung telecom", phone_mobile="+33612345678"),
        _person(3, "alain", "laurent", "groupe bernard"),
        _person(4, "alain", "laurent", "groupe bernard"),
    ]
    below = NAMES_MATCH_THRESHOLD - 0.05
    judged = _judge(rows, [(1, 2, below), (3, 4, below), (1, 3, below)])
    assert judged[(1, 2)]["evidence"] and not judged[(1, 2)]["names_below_threshold"]
    assert not judged[(3, 4)]["evidence"] and judged[(3, 4)]["names_below_threshold"]  # for the review file
    assert not judged[(1, 3)]["names_below_threshold"]


def test_swapped_columns_with_an_initial():
    # "Schroder | F." against "Fabian | Schroeder" at one company.
    rows = [_person(1, "fabian", "schroeder", "strasser partner"), _person(2, "schroder", "f", "strasser partner"),
            _person(3, "f", "s", "strasser partner")]
    judged = _judge(rows, [(1, 2, 0.99), (2, 3, 0.99)])
    assert judged[(1, 2)]["evidence"] and not judged[(1, 2)]["conflict"]
    assert not judged[(2, 3)]["evidence"]  # two initials are no name


def test_an_address_numbered_for_another_first_name_is_no_namesake():
    # Anna Nowak has a.nowak@, so Andrzej Nowak got a.nowak2@: still one Andrzej at the company.
    def pro(local: str) -> dict:
        return {"email_local": local, "email_pro": f"{local}@muller.fr", "email_nominative": f"{local}@muller.fr"}

    rows = [
        _person(1, "andrzej", "nowak", "muller freres", **pro("a.nowak2")),
        _person(2, "anna", "nowak", "muller freres", **pro("a.nowak")),
        _person(3, "bo", "li", "muller freres", **pro("b.li")),
        _person(4, "andrzej", "nowak", "muller freres"),
        _person(5, "jean", "petit", "muller freres", **pro("j.petit2")),  # the other J. Petit is unknown
        _person(6, "jean", "petit", "muller freres"),
    ]
    judged = _judge(rows, [(1, 4, 0.99), (5, 6, 0.99)])
    assert judged[(1, 4)]["evidence"]
    assert not judged[(5, 6)]["evidence"]


def test_job_titles_decide_how_sure_names_alone_must_be():
    rows = [
        _person(1, "marie", "martin", "nexdata group", job_title_key="sales director"),
        _person(2, "marie", "martin", "nexdata group", job_title_key="sales directr"),
        _person(3, "marie", "martin", "nexdata group", job_title_key="comptable"),
        _person(4, "marie", "martin", "nexdata group"),
    ]
    judged = _judge(rows, [(1, 2, 0.92), (1, 3, 0.98), (1, 4, 0.98), (3, 4, 0.85)])
    assert judged[(1, 2)]["evidence"]  # the same role: names are enough
    assert not judged[(1, 3)]["evidence"]  # two roles: two Marie Martins, unless the model is very sure
    assert judged[(1, 4)]["evidence"]  # no title: the usual names threshold
    assert not judged[(3, 4)]["evidence"] and judged[(3, 4)]["names_below_threshold"]


def test_without_a_shared_title_names_are_no_evidence_in_a_very_large_company(monkeypatch):
    from pipelines import clustering

    monkeypatch.setattr(clustering, "LARGE_COMPANY_ROWS", 5)
    big = [_person(10 + i, f"p{i}", f"n{i}", "nexdata group") for i in range(4)]
    rows = big + [
        _person(1, "marie", "martin", "nexdata group"),
        _person(2, "marie", "martin", "nexdata group"),
        _person(3, "marie", "martin", "nexdata group", job_title_key="sales director"),
        _person(4, "marie", "martin", "nexdata group", job_title_key="sales director"),
    ]
    judged = _judge(rows, [(1, 2, 0.999), (3, 4, 0.999)])
    assert not judged[(1, 2)]["evidence"]  # one of eight contacts there: could be two Marie Martins
    assert judged[(3, 4)]["evidence"]  # the same role


def test_initials_of_a_compound_first_name_agree():
    rows = [
        _person(1, "mariechristine", "lesage", "martin finance", phone_mobile="+33760711302"),
        _person(2, "mc", "lesage", "martin finance", phone_mobile="+33760711302"),
        _person(3, "mx", "lesage", "martin finance", phone_mobile="+33760711302"),
    ]
    judged = _judge(rows, [(1, 2, 0.99), (1, 3, 0.99)])
    assert judged[(1, 2)]["evidence"] and not judged[(1, 2)]["conflict"]
    assert judged[(1, 3)]["conflict"]


def test_a_glued_title_or_one_keystroke_is_no_other_first_name():
    rows = [
        _person(1, "didier", "bernard", "nck securite", email_nominative="didier.bernard@nck.fr"),
        _person(2, "drdidier", "bernard", "nck securite", email_nominative="didier.bernard@nck.fr"),
        _person(3, "rsbecca", "richards", "orpharm"), _person(4, "rebecca", "richards", "orpharm"),
        _person(5, "jean", "hebert", "nexomed"), _person(6, "joan", "hebert", "nexomed"),  # short names: two people
    ]
    judged = _judge(rows, [(1, 2, 0.99), (3, 4, 0.99), (5, 6, 0.99)])
    assert not judged[(1, 2)]["conflict"] and not judged[(3, 4)]["conflict"]
    assert judged[(3, 4)]["evidence"]
    assert judged[(5, 6)]["conflict"]


def test_one_role_in_two_languages_is_the_same_title():
    rows = [
        _person(1, "claire", "morel", "acme", job_title_key="directeur commercial"),
        _person(2, "claire", "morel", "acme", job_title_key="sales director"),
        _person(3, "claire", "morel", "acme", job_title_key="comptable"),
    ]
    judged = _judge(rows, [(1, 2, 0.75), (2, 3, 0.75)])
    assert judged[(1, 2)]["evidence"]  # sales director in French and in English
    assert not judged[(2, 3)]["evidence"]  # two roles


def test_two_titles_merge_only_on_names_that_agree_exactly():
    rows = [
        _person(1, "julien", "petit", "acme", job_title_key="comptable"),
        _person(2, "julien", "petit", "acme", job_title_key="sales director"),
        _person(3, "j", "petit", "acme", job_title_key="sales director"),
    ]
    judged = _judge(rows, [(1, 2, 0.99999), (1, 3, 0.99999)])
    assert judged[(1, 2)]["evidence"]
    assert not judged[(1, 3)]["evidence"]  # an initial and another title: perhaps Jade Petit


def test_names_with_a_doubt_need_the_same_title_and_a_very_high_probability():
    rows = [
        _person(1, "bruno", "rolland", "acme", job_title_key="sales director"),
        _person(2, "anne", "rolland", "acme", job_title_key="comptable"),
        _person(3, None, "rolland", "acme", job_title_key="directeur commercial"),  # Rolland goes with two first names
        _person(4, None, "rolland", "acme"),
        _person(5, "bruno", None, "acme", job_title_key="sales director"),
    ]
    judged = _judge(rows, [(1, 3, 0.995), (1, 4, 0.995), (1, 5, 0.995)])
    assert judged[(1, 3)]["evidence"] and not judged[(1, 3)]["conflict"]
    assert not judged[(1, 4)]["evidence"]  # no title: needs a higher probability
    assert judged[(1, 5)]["evidence"]
    assert not _judge(rows, [(1, 3, 0.98)])[(1, 3)]["evidence"]


def test_the_same_name_and_title_under_two_company_names():
    rows = [
        _person(1, "lucie", "faure", "compagnie provencale de chauffage", job_title_key="responsable achats"),
        _person(2, "lucie", "faure", "cie provencale de chauffage", job_title_key="purchasing manager"),
        _person(3, "lucie", "faure", "cie provencale de chauffage", job_title_key="comptable"),
    ]
    judged = _judge(rows, [(1, 2, 0.95), (1, 3, 0.95)])
    assert judged[(1, 2)]["evidence"]
    assert not judged[(1, 3)]["evidence"]


def test_a_shared_mobile_and_surname_outweigh_an_unknown_nickname():
    rows = [
        _person(1, "giovanni", "russo", "acme", phone_mobile="+393471234567"),
        _person(2, "nino", "russo", "acme", phone_mobile="+393471234567"),
        _person(3, "paolo", "bianchi", "acme", phone_mobile="+393471234567"),
    ]
    judged = _judge(rows, [(1, 2, 0.99), (1, 3, 0.99)])
    assert judged[(1, 2)]["evidence"] and not judged[(1, 2)]["conflict"]
    assert judged[(1, 3)]["conflict"]  # a shared mobile, but nothing of the name: two people
