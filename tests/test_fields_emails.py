import unicodedata

import pyarrow as pa
import pytest

from pipelines.fields.emails import email_domains, qualify_emails, standardise_emails

REPAIRED = "e-mail repaired"

CASES = [
    # valid, only normalised: no note
    ("jean.dupont@acme.fr", "jean.dupont@acme.fr", None),
    ("  Jean.Dupont@ACME.fr ", "jean.dupont@acme.fr", None),
    ("contact@Acme.FR", "contact@acme.fr", None),
    # accents typed in the local part: the mailbox has none (an IDN domain keeps them)
    ("jérôme@acme.fr", "jerome@acme.fr", REPAIRED),
    (unicodedata.normalize("NFD", "jérôme@acme.fr"), "jerome@acme.fr", REPAIRED),
    ("mjanßen@muller-partner.de", "mjanssen@muller-partner.de", REPAIRED),
    ("jérôme@café.fr", "jérôme@café.fr", None),
    ("a@hotmail.de", "a@hotmail.de", None),  # real webmail variant, not a typo
    ("j@acme.om", "j@acme.om", None),  # .om is Oman: never "fixed" for a company domain
    ("a@grange.fr", "a@grange.fr", None),  # company domain one key away from orange.fr
    ("a@acmee.com", "a@acmee.com", None),
    # repaired
    ("jean .dupont@ acme.fr", "jean.dupont@acme.fr", REPAIRED),
    ("mailto:jean@acme.fr", "jean@acme.fr", REPAIRED),
    ("Jean Dupont <jean@acme.fr>", "jean@acme.fr", REPAIRED),
    ('"jean@acme.fr"', "jean@acme.fr", REPAIRED),
    ("jean@acme.fr.", "jean@acme.fr", REPAIRED),
    ("jean@acme.fr,", "jean@acme.fr", REPAIRED),
    ("jean@acme.fr (bureau)", "jean@acme.fr", REPAIRED),
    ("jean@@acme.fr", "jean@acme.fr", REPAIRED),
    ("jean@acme,fr", "jean@acme.fr", REPAIRED),
    ("jean@acme;fr", "jean@acme.fr", REPAIRED),
    ("jean..dupont@acme.fr", "jean.dupont@acme.fr", REPAIRED),
    ("jean@acme.con", "jean@acme.com", REPAIRED),
    ("jean@acme.cmo", "jean@acme.com", REPAIRED),
    ("jean@acme.comm", "jean@acme.com", REPAIRED),
    ("jean@acme.cpm", "jean@acme.com", REPAIRED),
    ("jean@acme.frr", "jean@acme.fr", REPAIRED),
    ("jean@gmail.om", "jean@gmail.com", REPAIRED),
    ("jean@gmial.com", "jean@gmail.com", REPAIRED),
    ("jean@gmal.com", "jean@gmail.com", REPAIRED),
    ("jean@gnail.com", "jean@gmail.com", REPAIRED),
    ("jean@gmailcom", "jean@gmail.com", REPAIRED),
    ("jean@gmail.fr", "jean@gmail.com", REPAIRED),
    ("jean@hotmial.com", "jean@hotmail.com", REPAIRED),
    ("jean@hotmal.fr", "jean@hotmail.fr", REPAIRED),
    ("jean@yaho.fr", "jean@yahoo.fr", REPAIRED),
    ("jean@outlok.com", "jean@outlook.com", REPAIRED),
    ("jean@wanadoo.fe", "jean@wanadoo.fr", REPAIRED),
    ("jean@orange.fe", "jean@orange.fr", REPAIRED),
    ("a@acme.fr; b@acme.fr", "a@acme.fr", REPAIRED),
    ("(jean.laporte@opontis-conseil.fr)", "jean.laporte@opontis-conseil.fr", REPAIRED),
    ("david.guillaume[at]yahoo.fr", "david.guillaume@yahoo.fr", REPAIRED),
    ("angelavalentini(at)martintopographie.com", "angelavalentini@martintopographie.com", REPAIRED),
    ("philippe.fontaine [at] thomas-elec.com", "philippe.fontaine@thomas-elec.com", REPAIRED),
    ("brigitte at kk-kunststoff.de", "brigitte@kk-kunststoff.de", REPAIRED),
    ("jean dot dupont at acme dot fr", "jean.dupont@acme.fr", REPAIRED),
    # invalid
    ("jean.dupont.acme.fr", None, "invalid e-mail: missing @"),
    ("a@b@c.fr", None, "invalid e-mail: several @"),
    ("@acme.fr", None, "invalid e-mail: nothing before @"),
    ("jean@", None, "invalid e-mail: nothing after @"),
    ("jean@acme", None, "invalid e-mail: domain has no dot"),
    # empty
    ("", None, None),
    ("   ", None, None),
    (None, None, None),
]


@pytest.mark.parametrize(("raw", "email", "note"), CASES)
def test_standardise_emails(raw, email, note):
    out_email, out_note = standardise_emails(pa.array([raw], pa.string()))
    assert (out_email.to_pylist()[0], out_note.to_pylist()[0]) == (email, note)


def test_invalid_reason_from_email_validator_is_short():
    email, note = standardise_emails(pa.array(["jean dupont@acme.fr!"]))
    assert email.to_pylist() == [None]
    assert note.to_pylist()[0].startswith("invalid e-mail: ")
    assert len(note.to_pylist()[0]) < 140


def test_email_domains():
    emails = pa.array(["jean@mail.acme.fr", "A@ACME.FR", None, "not-an-email"])
    assert email_domains(emails).to_pylist() == ["mail.acme.fr", "acme.fr", None, None]


QUALIFY = [
    ("jean.dupont@acme.fr", "nominative@pro"),
    ("contact@acme.fr", "generic@pro"),
    ("contact.paris@acme.fr", "generic@pro"),
    ("info-fr@acme.de", "generic@pro"),
    ("sales2@acme.de", "generic@pro"),
    ("service.client@acme.fr", "generic@pro"),
    ("noreply@acme.com", "generic@pro"),
    ("contact+crm@acme.fr", "generic@pro"),
    ("jean.dupont@gmail.com", "nominative@perso"),
    ("jean@yahoo.co.uk", "nominative@perso"),
    ("jean@hotmail.fr", "nominative@perso"),
    ("jean@orange.fr", "nominative@perso"),
    ("jean@gmx.de", "nominative@perso"),
    ("info@gmail.com", "generic@perso"),
    ("jean@etu.univ-lyon1.fr", "nominative@school"),
    ("jean@univ-lyon1.fr", "nominative@school"),
    ("jean@ox.ac.uk", "nominative@school"),
    ("jean@cs.stanford.edu", "nominative@school"),
    ("jean@student.uni-xyz.de", "nominative@school"),
    ("jean@hec.edu", "nominative@school"),
    ("jean@yopmail.com", "nominative@disposable"),
    ("jean@mailinator.com", "nominative@disposable"),
    ("jean@guerrillamail.info", "nominative@disposable"),
    ("jean@10minutemail.net", "nominative@disposable"),
    ("jean@temp-mail.org", "nominative@disposable"),
    ("jean", "invalid@invalid"),
    (None, None),
]


@pytest.mark.parametrize(("email", "expected"), QUALIFY)
def test_qualify_emails(email, expected):
    assert qualify_emails(pa.array([email], pa.string())).to_pylist() == [expected]


def test_qualify_uses_invalid_notes():
    raw = pa.array(["jean.dupont.acme.fr", None, "contact@acme.fr", "  ", "jean@gmial.com"])
    emails, notes = standardise_emails(raw)
    assert qualify_emails(emails, notes).to_pylist() == [
        "invalid@invalid",
        None,
        "generic@pro",
        None,
        "nominative@perso",
    ]


def test_standardise_emails_chunked_input_keeps_order():
    values = pa.chunked_array([["B@x.fr", None], ["a@x.fr", "b@x.fr"]])
    emails, notes = standardise_emails(values)
    assert emails.to_pylist() == ["b@x.fr", None, "a@x.fr", "b@x.fr"]
    assert notes.to_pylist() == [None, None, None, None]


# ------------------------------------------------------------------------------------------------
# Repairs that use the rest of the file (standardise calls repair_in_context)
# ------------------------------------------------------------------------------------------------
from pipelines.fields.emails import repair_in_context, standardise_emails_with_salvage  # noqa: E402


def _repair(rows):
    """rows: (raw e-mail, website domain, company key) -> (e-mail, note) per row."""
    raw, websites, companies = zip(*rows)
    emails, notes, salvage = standardise_emails_with_salvage(pa.array(raw, pa.string()))
    fixed, fixed_notes = repair_in_context(
        emails, notes, salvage, pa.array(websites, pa.string()), pa.array(companies, pa.string())
    )
    return list(zip(fixed.to_pylist(), fixed_notes.to_pylist()))


COLLEAGUES = [("a@boulangerie-petit.fr", None, "boulangerie petit")] * 3


def test_missing_at_before_a_domain_the_file_uses():
    out = _repair([("jleclercq.boulangerie-petit.fr", None, "boulangerie petit"), *COLLEAGUES])
    assert out[0] == ("jleclercq@boulangerie-petit.fr", REPAIRED)
    # a webmail domain is known without any colleague
    assert _repair([("i.clementorange.fr", None, None)])[0] == ("i.clement@orange.fr", REPAIRED)
    # a website typed in the e-mail column is not an address
    assert _repair([("www.boulangerie-petit.fr", None, None), *COLLEAGUES])[0][0] is None


def test_forgotten_top_level_domain_from_the_rows_website():
    out = _repair([("newton@chevallier-energies", "chevallier-energies.fr", None)])
    assert out[0] == ("newton@chevallier-energies.fr", REPAIRED)
    assert _repair([("newton@chevallier-energies", None, None)])[0][0] is None  # nothing says which


def test_company_domain_typo_when_the_company_agrees():
    rows = [("h.fink@junerrisrgoup.de", None, "junerris"), *[("x@junerrisgroup.de", None, "junerris")] * 3]
    assert _repair(rows)[0] == ("h.fink@junerrisgroup.de", REPAIRED)
    # same typo, but another company: two real domains one letter apart stay apart
    rows = [("z@swb.eu", None, "swb"), *[("x@swg.eu", None, "swg")] * 5]
    assert _repair(rows)[0] == ("z@swb.eu", None)
    # the row's own website is evidence enough (".om" is Oman, "lumys.om" no company's domain here)
    assert _repair([("emilie@lumys.om", "lumys.com", None)])[0] == ("emilie@lumys.com", REPAIRED)
