"""The generator's additions for the linkage benchmark suite (issue 14): the "b2c" profile and
e-mail variants (typo'd local parts, aliases). Existing profiles must give exactly what they gave
before, since other benchmarks and tests depend on their output."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from bench.generator import B2C_COLUMNS, B2C_TRUTH_COLUMNS, MESSY_COLUMNS, TRUTH_COLUMNS, generate, write_file

# sha256 of generate(2000, seed=9, profile=...) as CSV, messy then truth, taken before the additions.
UNCHANGED = {
    "mixed": "8ecaf8b84c9e98005eff8084edcc40d2b6b89d42430687a319914893ca724acd",
    "fr": "5dfd435d278065eaf9e69e1ce82cc5b276a0647ddf1ec0d5e6510a2c67436823",
}


@pytest.mark.parametrize("profile", sorted(UNCHANGED))
def test_existing_profiles_are_unchanged(profile):
    messy, truth = generate(2000, seed=9, profile=profile)
    digest = hashlib.sha256(messy.to_csv(index=False).encode() + truth.to_csv(index=False).encode()).hexdigest()
    assert digest == UNCHANGED[profile]


@pytest.fixture(scope="module")
def b2c():
    return generate(12000, seed=4, profile="b2c")


def test_b2c_is_deterministic_and_has_its_columns(b2c):
    messy, truth = b2c
    again_messy, again_truth = generate(12000, seed=4, profile="b2c")
    pd.testing.assert_frame_equal(messy, again_messy)
    pd.testing.assert_frame_equal(truth, again_truth)
    assert tuple(messy.columns) == MESSY_COLUMNS + B2C_COLUMNS
    assert tuple(truth.columns) == TRUTH_COLUMNS + B2C_TRUTH_COLUMNS


def test_b2c_looks_like_a_members_file(b2c):
    messy, truth = b2c
    contact = truth["row_kind"] == "contact"
    assert (messy.loc[contact, "company"] == "").mean() > 0.75
    assert (messy.loc[contact, "date_of_birth"] != "").mean() > 0.85
    assert (messy.loc[contact, "postcode"] != "").mean() > 0.85
    assert truth.loc[contact, "true_date_of_birth"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    # Dates are day first or ISO, never month first: the file proves one order.
    dob = messy.loc[messy["date_of_birth"] != "", "date_of_birth"]
    assert dob.str.fullmatch(r"\d{4}-\d\d-\d\d|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}").all()
    for tag in ("day_month_swapped", "one_digit_off", "missing"):
        assert (truth["dob_variation"] == tag).sum() > 10, tag
    address = truth["address_variation"].str.split("+").explode()
    for tag in ("moved", "street_typo", "street_type", "number_in_street", "postcode_missing"):
        assert (address == tag).sum() > 10, tag
    # Households: different people (entities) sharing a home, some a phone or a family mailbox.
    households = truth[truth["household_id"] > 0].groupby("household_id")["entity_id"].nunique()
    assert (households >= 2).sum() > 100
    family = truth[truth["true_email_kind"] == "family"]
    assert family["entity_id"].nunique() > family["true_email"].nunique() > 10
    assert family["true_email"].str.match(r"(famille|familie|family|familia|famiglia)\.").all()


@pytest.mark.parametrize("profile", ["mixed", "fr", "b2c"])
def test_email_variants_on_duplicate_copies(profile):
    messy, truth = generate(12000, seed=2, profile=profile, email_variants=True)
    for tag in ("local_typo", "alias"):
        rows = truth["email_corruption"] == tag
        assert rows.sum() > 30, tag
        shown, true = messy.loc[rows, "email"], truth.loc[rows, "true_email"]
        assert (shown != true).all()
        # Same domain, another local part that keeps its first letter.
        assert (shown.str.split("@").str[1] == true.str.split("@").str[1]).all()
        assert (shown.str[0] == true.str[0]).all()
    # Only the rows tagged differ from the run without variants (profiles other than b2c).
    if profile != "b2c":
        plain_messy, plain_truth = generate(12000, seed=2, profile=profile)
        changed = plain_messy["email"] != messy["email"]
        assert changed.equals(truth["email_corruption"].isin(["local_typo", "alias"]))
        pd.testing.assert_frame_equal(plain_messy.drop(columns="email"), messy.drop(columns="email"))


def test_b2c_file_reads_with_every_column_recognised(tmp_path, b2c):
    from pipelines.reader import read_contact_file, source_info

    messy, _ = b2c
    path = tmp_path / "members.csv"
    write_file(messy.head(500), path, header_lang="fr")
    fields = source_info(read_contact_file(path)).fields
    for field in ("street_number", "street", "postcode", "city", "date_of_birth"):
        assert field in fields, field
