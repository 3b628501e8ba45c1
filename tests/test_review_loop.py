"""The review loop (issue 14, item 5): review.csv carries a `decision` column; `refinery review
apply` records `same` / `different` in the controller's master; later uploads honour them, and a
decided pair is not asked again."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pytest

from pipelines.master import Master
from pipelines.review import DIFFERENT, SAME, ReviewDecisions, ReviewFileError, apply_decisions, parse_review_file
from tests.conftest import run_cli
from tests.master_fixtures import committed_master


# -- reading the file sent back -------------------------------------------------------------------
def test_a_review_file_saved_by_excel_is_read_in_its_encoding_delimiter_and_words():
    text = ("decision;match_probability;record_1;record_2\r\n"
            "Même;0,91;up-a:3;up-a:1\r\n"      # French, accented, capitalised
            ";0,88;up-a:4;up-a:5\r\n"           # undecided
            "different;0,8;up-a:6;up-a:7\r\n"
            "peut-être;0,75;up-a:8;up-a:9\r\n")  # not a decision: left as it is, and said
    decisions = parse_review_file(text.encode("cp1252"))
    assert decisions.pairs == [("up-a:1", "up-a:3", SAME), ("up-a:6", "up-a:7", DIFFERENT)]
    assert decisions.undecided == 1 and decisions.unreadable == [4]


def test_a_file_that_is_not_a_review_file_is_refused_with_one_line():
    with pytest.raises(ReviewFileError, match="not a review file: no column decision"):
        parse_review_file("first_name,email\nAnn,ann@x.fr\n".encode())


# -- applying decisions to a master ---------------------------------------------------------------
def _master(persons: dict[str, str], decisions: list[tuple[str, str, str]] = ()) -> Master:
    keys = sorted(persons)
    return Master(
        records=pa.table({"record_key": keys, "person_id": [persons[k] for k in keys]}),
        next_person=10,
        decisions=pa.table({"record_key_l": [d[0] for d in decisions], "record_key_r": [d[1] for d in decisions],
                            "decided_at": ["t"] * len(decisions), "decision": [d[2] for d in decisions]},
                           schema=pa.schema([(c, pa.string()) for c in ("record_key_l", "record_key_r", "decided_at", "decision")])),
    )


def test_same_joins_the_two_persons_under_the_smaller_id_and_different_is_kept():
    master = _master({"u:1": "P0000001", "u:2": "P0000002", "u:3": "P0000002", "u:4": "P0000004", "u:5": "P0000005"})
    decided = ReviewDecisions(pairs=[("u:1", "u:3", SAME), ("u:4", "u:5", DIFFERENT), ("u:9", "u:1", SAME)])
    updated, applied = apply_decisions(master, decided, "2026-12-08T00:00:00Z")
    persons = dict(zip(updated.records.column("record_key").to_pylist(), updated.records.column("person_id").to_pylist()))
    assert persons == {"u:1": "P0000001", "u:2": "P0000001", "u:3": "P0000001", "u:4": "P0000004", "u:5": "P0000005"}
    assert (applied.merged, applied.kept_apart, applied.unknown_records) == (1, 1, 1)
    assert sorted(updated.keep_apart()) == [("u:4", "u:5")]
    assert updated.decisions.column("decision").to_pylist() == [SAME, DIFFERENT]


def test_same_is_refused_where_an_earlier_decision_keeps_the_persons_apart_and_a_pair_can_change_its_mind():
    master = _master({"u:1": "P0000001", "u:2": "P0000002", "u:3": "P0000002"}, [("u:1", "u:2", DIFFERENT)])
    # u:3 is of the person u:2 is: joining u:1 and u:3 would undo the decision on (u:1, u:2).
    updated, applied = apply_decisions(master, ReviewDecisions(pairs=[("u:1", "u:3", SAME)]), "t2")
    assert applied.refused == 1 and updated is master
    # The same pair decided again the other way: the latest decision stands.
    updated, applied = apply_decisions(master, ReviewDecisions(pairs=[("u:1", "u:2", SAME)]), "t2")
    assert applied.merged == 1 and updated.keep_apart() == []
    assert set(updated.records.column("person_id").to_pylist()) == {"P0000001"}


# -- the loop, end to end -----------------------------------------------------------------------
def _csv(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_decisions_sent_back_are_honoured_by_the_next_run_and_not_asked_again(french_export, tmp_path):
    path, _, _ = french_export
    store, out = tmp_path / "store", tmp_path / "out"
    result = run_cli("run", str(path), "--controller", "rev", "--out", str(out), store=store)
    assert result.returncode == 0, result.stderr
    review = _csv(out / "review.csv")
    assert len(review) >= 2 and list(review[0])[0] == "decision" and all(r["decision"] == "" for r in review)
    same = review[0]
    # Another pair, of other persons (joining the first pair's may make it one person already).
    different = next(r for r in review[1:] if not {r["cluster_id_1"], r["cluster_id_2"]} & {same["cluster_id_1"], same["cluster_id_2"]})
    # As the client sends it back after deciding two rows in a spreadsheet: ';'-separated here.
    same["decision"], different["decision"] = "Same", "different"
    sent_back = tmp_path / "review_back.csv"
    with sent_back.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(review[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(review)

    applied = run_cli("review", "apply", "--controller", "rev", str(sent_back), store=store)
    assert applied.returncode == 0, applied.stderr
    assert "1 pair(s) joined into one person, 1 kept apart in later uploads" in applied.stderr
    master = committed_master(store, "rev")
    persons = dict(zip(master.records.column("record_key").to_pylist(), master.records.column("person_id").to_pylist()))
    assert persons[same["record_1"]] == persons[same["record_2"]]
    assert (min(different["record_1"], different["record_2"]), max(different["record_1"], different["record_2"])) in master.keep_apart()

    # The same file again (the same upload): the joined records are one cluster, the others two,
    # and neither pair is in the review file any more.
    out2 = tmp_path / "out2"
    again = run_cli("run", str(path), "--controller", "rev", "--out", str(out2), store=store)
    assert again.returncode == 0, again.stderr
    cluster = {f"{r['row_number']}": r["cluster_id"] for r in _csv(out2 / "contacts.csv")}
    row = lambda key: key.split(":")[1]  # noqa: E731
    assert cluster[row(same["record_1"])] == cluster[row(same["record_2"])]
    assert cluster[row(different["record_1"])] != cluster[row(different["record_2"])]
    asked = {(r["record_1"], r["record_2"]) for r in _csv(out2 / "review.csv")}
    assert (same["record_1"], same["record_2"]) not in asked and (different["record_1"], different["record_2"]) not in asked

    # Nothing decided: said, nothing changed.
    empty = run_cli("review", "apply", "--controller", "rev", str(out2 / "review.csv"), store=store)
    assert empty.returncode == 1 and "no decision written" in empty.stderr
