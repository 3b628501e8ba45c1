"""Merges need personal evidence; shared mailboxes and switchboards never merge people; no chaining."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from pipelines.clustering import constrained_clusters, judge_pairs
from pipelines.linkage import link_upload, nickname_table

COLUMNS = [
    "uid", "first_name_key", "first_name_canon", "last_name_key", "last_name_compound",
    "email_nominative", "email_local", "email_pro", "phone_e164", "phone_mobile", "company_key",
    "company_domain", "linkedin_slug", "job_title_key",
    # person details and the local part of any nominative address (issue 14)
    "date_of_birth", "street_number_key", "street_key", "postcode_key", "city_key", "national_id_key",
    "client_id_key", "email_user",
]


def _contacts(rows: list[dict]) -> pa.Table:
    cols = {c: [r.get(c) for r in rows] for c in COLUMNS}
    cols["first_name_canon"] = [r.get("first_name_canon", r.get("first_name_key")) for r in rows]
    cols["last_name_compound"] = [bool(r.get("last_name_compound", False)) for r in rows]
    cols["email_user"] = [r.get("email_user", (r.get("email_nominative") or "").split("@")[0] or None) for r in rows]
    types = {c: pa.string() for c in COLUMNS} | {"uid": pa.int64(), "last_name_compound": pa.bool_()}
    return pa.table({c: pa.array(v, types[c]) for c, v in cols.items()})


def _judge(rows: list[dict], pairs: list[tuple[int, int]]) -> list[dict]:
    con = duckdb.connect()
    con.register("contacts", _contacts(rows))
    table = pa.table({
        "uid_l": pa.array([a for a, _ in pairs], pa.int64()),
        "uid_r": pa.array([b for _, b in pairs], pa.int64()),
        "match_probability": pa.array([0.999] * len(pairs), pa.float64()),
    })
    return judge_pairs(con, table).to_pylist()


def test_shared_generic_mailbox_and_switchboard_are_no_evidence():
    # Two colleagues: same company, same switchboard, same contact@ (nulled before linkage).
    rows = [
        {"uid": 1, "first_name_key": "claire", "last_name_key": "durand", "phone_e164": "+33140000000", "company_key": "acme"},
        {"uid": 2, "first_name_key": "paul", "last_name_key": "morel", "phone_e164": "+33140000000", "company_key": "acme"},
    ]
    [pair] = _judge(rows, [(1, 2)])
    assert not pair["evidence"]
    assert pair["conflict"]


def test_personal_evidence_merges_even_with_a_nickname_or_swap():
    rows = [
        {"uid": 1, "first_name_key": "robert", "last_name_key": "martin", "company_key": "acme"},
        {"uid": 2, "first_name_key": "bob", "first_name_canon": "robert", "last_name_key": "martin", "company_key": "acme"},
        {"uid": 3, "first_name_key": "martin", "last_name_key": "robert", "company_key": "acme"},
        {"uid": 4, "first_name_key": "x", "last_name_key": "y", "email_nominative": "bob@acme.fr", "phone_mobile": "+33612345678"},
        {"uid": 5, "first_name_key": "robert", "last_name_key": "martin", "phone_mobile": "+33612345678"},
    ]
    judged = {(p["uid_l"], p["uid_r"]): p for p in _judge(rows, [(1, 2), (1, 3), (4, 5)])}
    assert judged[(1, 2)]["evidence"] and not judged[(1, 2)]["conflict"]
    assert judged[(1, 3)]["evidence"] and not judged[(1, 3)]["conflict"]
    assert judged[(4, 5)]["evidence"]  # same mobile
    assert judged[(4, 5)]["conflict"]  # ...but clearly different first names: not one person


def test_namesakes_at_two_companies_or_two_addresses_do_not_merge():
    rows = [
        {"uid": 1, "first_name_key": "alain", "last_name_key": "brunet", "company_key": "galaline"},
        {"uid": 2, "first_name_key": "alain", "last_name_key": "brunet", "company_key": "maisonthomas"},
        {"uid": 3, "first_name_key": "sylvie", "last_name_key": "bertrand", "email_nominative": "sylvie.bertrand@robert.fr"},
        {"uid": 4, "first_name_key": "sylvie", "last_name_key": "bertrand", "email_nominative": "sylvie.bertrand2@robert.fr"},
    ]
    judged = {(p["uid_l"], p["uid_r"]): p for p in _judge(rows, [(1, 2), (3, 4)])}
    assert not judged[(1, 2)]["evidence"]
    assert judged[(3, 4)]["conflict"]


def test_one_weak_link_cannot_chain_two_people():
    # "J. Petit" links to both Jade Petit and Julien Petit; Jade and Julien are two people.
    rows = [
        {"uid": 1, "first_name_key": "jade", "last_name_key": "petit", "company_key": "bfo"},
        {"uid": 2, "first_name_key": "j", "last_name_key": "petit", "company_key": "bfo"},
        {"uid": 3, "first_name_key": "julien", "last_name_key": "petit", "company_key": "bfo"},
    ]
    con = duckdb.connect()
    con.register("contacts", _contacts(rows))
    edges = pa.table({
        "uid_l": pa.array([1, 2], pa.int64()),
        "uid_r": pa.array([2, 3], pa.int64()),
        "match_probability": pa.array([0.99, 0.97], pa.float64()),
    })
    result = constrained_clusters(con, pa.array([1, 2, 3], pa.int64()), edges)
    clusters = dict(zip(result.clusters.column("uid").to_pylist(), result.clusters.column("cluster").to_pylist()))
    assert clusters[1] == clusters[2]  # the strongest link is kept
    assert clusters[3] != clusters[1]  # the weaker one would chain Jade and Julien: refused
    assert result.components_split == 1


def test_nickname_table_drops_ambiguous_short_forms():
    table = nickname_table().to_pydict()
    mapping = dict(zip(table["nick"], table["canon"]))
    assert mapping["bob"] == "robert"
    assert mapping["pepe"] == "jose"
    assert "steve" not in mapping and "lele" not in mapping  # stephen/steven, gabriele/emanuele
    assert mapping["tony"] == "anthony"  # listed twice, but for one name
    assert len(set(table["nick"])) == len(table["nick"])


def test_link_handles_tiny_uploads():
    enriched = pa.table({
        "row_number": pa.array([1], pa.int64()),
        **{c: pa.array([None], pa.string()) for c in [
            "first_name_key", "last_name_key", "last_name", "email", "email_qualification", "phone_e164",
            "phone_type", "company_key", "company_domain", "linkedin_slug", "job_title"]},
    })
    result = link_upload(enriched, upload_id="up-20261126t000000-00000001", received_at="2026-11-26T00:00:00Z")
    assert result.linked.num_rows == 1 and result.pairs_matched == 0
    assert result.linked.column("person_id").to_pylist() == ["P0000001"]


def test_keep_apart_decisions_are_cannot_links():
    rows = [
        {"uid": 1, "first_name_key": "anna", "last_name_key": "cossu", "company_key": "gim"},
        {"uid": 2, "first_name_key": "anna", "last_name_key": "cossu", "company_key": "gim"},
    ]
    con = duckdb.connect()
    con.register("contacts", _contacts(rows))
    edges = pa.table({"uid_l": pa.array([1], pa.int64()), "uid_r": pa.array([2], pa.int64()),
                      "match_probability": pa.array([0.999], pa.float64())})
    result = constrained_clusters(con, pa.array([1, 2], pa.int64()), edges, cannot_link=[(1, 2)])
    assert len(set(result.clusters.column("cluster").to_pylist())) == 2


def test_trained_model_is_checked_for_sanity():
    from pipelines.linkage import default_model, model_problems

    model = default_model()
    assert model_problems(model) == []
    broken = json.loads(json.dumps(model))
    email = next(c for c in broken["comparisons"] if c["output_column_name"] == "email")
    exact = next(lvl for lvl in email["comparison_levels"] if not lvl.get("is_null_level"))
    exact["m_probability"], exact["u_probability"] = 0.001, 0.5
    broken["probability_two_random_records_match"] = 0.9
    problems = model_problems(broken)
    assert any("email: agreement is not evidence" in p for p in problems)
    assert any("prior" in p for p in problems)
