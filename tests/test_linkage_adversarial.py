"""Hand-written adversarial pairs (issue 14): duplicates any reviewer would merge, and different
people that look alike, run through `refinery run` as a user would.

tests/data/adversarial_contacts.csv is written by hand (fictitious people), two rows per case:
`Case` names the pair, `Expected` says `same` (one person) or `different` (two people). Both are
client columns, so the export hands them back beside `cluster_id`.

The cases the model gets wrong today are marked xfail(strict=True) with the reason: the test
documents the gap, and turns red (XPASS) as soon as the model decides that case right, so the mark
must then be removed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

ADVERSARIAL = Path(__file__).parent / "data" / "adversarial_contacts.csv"

# Decided wrong by the model of December 2026 (commit a4ccdf9): case -> what happens.
KNOWN_GAPS = {
    "family_mailbox": "merged at 0.9998: shared famille.dubois@ mailbox, home phone and address outweigh "
                      "clearly different first names (Claire / Marc)",
    "different_customer_numbers": "merged at 0.97: two client identifiers are no hard conflict yet (CRM exports "
                                  "carry one id per row, so duplicates always have two: it needs the controller to say "
                                  "which column identifies a person)",
}


def _cases() -> list[str]:
    frame = pd.read_csv(ADVERSARIAL, dtype=str, keep_default_na=False)
    return list(dict.fromkeys(frame["Case"]))


def _param(case: str):
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[case])] if case in KNOWN_GAPS else []
    return pytest.param(case, marks=marks, id=case)


@pytest.fixture(scope="module")
def adversarial_contacts(tmp_path_factory) -> pd.DataFrame:
    base = tmp_path_factory.mktemp("adversarial")
    result = run_cli("run", str(ADVERSARIAL), "--controller", "adv", "--out", str(base / "out"),
                     store=base / "store",
                     env={"REFINERY_GDPR_DIR": str(base / "gdpr"), "REFINERY_KEYS_DIR": str(base / "keys")})
    assert result.returncode == 0, result.stderr
    return pd.read_csv(base / "out" / "contacts.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_the_file_is_well_formed():
    frame = pd.read_csv(ADVERSARIAL, dtype=str, keep_default_na=False)
    assert set(frame["Expected"]) == {"same", "different"}
    sizes = frame.groupby("Case").size()
    assert (sizes == 2).all(), sizes[sizes != 2]
    assert len(sizes) >= 20
    assert set(KNOWN_GAPS) <= set(sizes.index)
    # Every expectation is constant within its case.
    assert (frame.groupby("Case")["Expected"].nunique() == 1).all()


def test_every_row_comes_back_processed(adversarial_contacts):
    frame = pd.read_csv(ADVERSARIAL, dtype=str, keep_default_na=False)
    assert len(adversarial_contacts) == len(frame)
    assert adversarial_contacts["Case"].tolist() == frame["Case"].tolist()
    assert set(adversarial_contacts["status"]) == {"ok"}


def test_no_person_spans_two_cases(adversarial_contacts):
    cases_per_person = adversarial_contacts.groupby("cluster_id")["Case"].nunique()
    assert (cases_per_person == 1).all(), cases_per_person[cases_per_person > 1]


@pytest.mark.parametrize("case", [_param(c) for c in _cases()])
def test_pair_is_decided_right(adversarial_contacts, case):
    pair = adversarial_contacts[adversarial_contacts["Case"] == case]
    expected = pair["Expected"].iloc[0]
    merged = pair["cluster_id"].nunique() == 1
    detail = pair[["first_name", "last_name", "email", "phone_e164", "cluster_id", "match_probability"]].to_dict("records")
    if expected == "same":
        assert merged, f"{case}: one person kept apart: {detail}"
    else:
        assert not merged, f"{case}: two people merged: {detail}"
