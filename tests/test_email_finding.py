"""E-mail finding: each domain's pattern learnt from the controller's contacts, proposals with a
confidence, never in place of the client's address; the per-controller pattern store."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines import email_patterns_store
from pipelines.fields.email_finding import (
    company_mail_domains,
    find_emails,
    learn_patterns,
    merge_observations,
)
from pipelines.fields.emails import email_domains, qualify_emails


def run(rows, history=None, **settings):
    """rows: (first, last, e-mail, website domain, company key) -> [(found, confidence)]."""
    first, last, email, website, company = (pa.array(c, pa.string()) for c in zip(*rows))
    quals = qualify_emails(email)
    observed = learn_patterns(first, last, email, quals)
    domains = company_mail_domains(email_domains(email), quals, website, company)
    from pipelines.fields.email_finding import FindingSettings

    found, confidence = find_emails(
        first, last, email, quals, domains, merge_observations(observed, history), FindingSettings(**settings)
    )
    return list(zip(found.to_pylist(), confidence.to_pylist())), observed


ACME = [
    ("Luc", "Martin", "luc.martin@acme.fr", None, "acme"),
    ("Sophie", "Bernard", "sophie.bernard@acme.fr", None, "acme"),
    ("Paul", "Durand", "paul.durand@acme.fr", None, "acme"),
]


def test_first_last_from_colleagues_never_in_place_of_the_clients_address():
    rows = [*ACME, ("Julie", "Moreau", "julie.moreau@gmail.com", None, "acme"), ("Hugo", "Petit", None, "acme.fr", None)]
    out, _ = run(rows)
    assert out[3][0] == "julie.moreau@acme.fr" and out[3][1] >= 0.8  # beside her gmail, not over it
    assert out[4][0] == "hugo.petit@acme.fr"  # company known by its website
    assert [o[0] for o in out[:3]] == [None, None, None]  # they have their professional address


def test_generic_address_gives_the_domain():
    rows = [*ACME, ("Anne", "Roux", "contact@acme.fr", None, None)]
    assert run(rows)[0][3][0] == "anne.roux@acme.fr"


@pytest.mark.parametrize(
    ("known", "new", "expected"),
    [
        # compound first names glued on this domain
        ([("Jean-Pierre", "Martin", "jeanpierre.martin@x.fr"), ("Paul", "Roux", "paul.roux@x.fr")],
         ("Marie-Claire", "Durand"), "marieclaire.durand@x.fr"),
        # compound first names kept with their hyphen
        ([("Jean-Pierre", "Martin", "jean-pierre.martin@x.fr"), ("Paul", "Roux", "paul.roux@x.fr")],
         ("Anne-Sophie", "Blanc"), "anne-sophie.blanc@x.fr"),
        # initials of compound names in flast
        ([("Jean-Pierre", "Martin", "jpmartin@x.fr"), ("Paul", "Roux", "proux@x.fr")],
         ("Marie-Hélène", "Dupré"), "mhdupre@x.fr"),
        # particles dropped on this domain
        ([("Pierre", "de Rocca", "pierre.rocca@x.fr"), ("Paul", "Roux", "paul.roux@x.fr")],
         ("Anne", "de la Tour"), "anne.tour@x.fr"),
        # particles glued (the usual way)
        ([("Pierre", "de Rocca", "pierre.derocca@x.fr"), ("Paul", "Roux", "paul.roux@x.fr")],
         ("Anne", "de la Tour"), "anne.delatour@x.fr"),
        # umlauts transliterated
        ([("Jörg", "Müller", "joerg.mueller@x.de"), ("Paul", "Roth", "paul.roth@x.de")],
         ("Jürgen", "Schäfer"), "juergen.schaefer@x.de"),
        # Spanish double surnames cut to the first
        ([("Ana", "García López", "ana.garcia@x.es"), ("Luis", "Pérez", "luis.perez@x.es")],
         ("José", "Fernández Ruiz"), "jose.fernandez@x.es"),
        # last.first
        ([("Ana", "Costa", "costa.ana@x.pt"), ("Rui", "Silva", "silva.rui@x.pt")], ("Joana", "Lopes"), "lopes.joana@x.pt"),
        # accents and apostrophes
        ([("Éloïse", "Dubois", "eloise.dubois@x.fr"), ("Paul", "Roux", "paul.roux@x.fr")],
         ("Loïc", "O'Neil"), "loic.oneil@x.fr"),
    ],
)
def test_spellings_learnt_per_domain(known, new, expected):
    rows = [(f, l, e, None, "x") for f, l, e in known] + [(new[0], new[1], None, None, "x")]
    assert run(rows)[0][-1][0] == expected


def test_initial_only_first_name_works_with_initial_patterns():
    rows = [("Luc", "Martin", "lmartin@y.fr", None, "y"), ("Paul", "Roux", "proux@y.fr", None, "y"),
            ("J.", "Dupont", None, None, "y")]
    assert run(rows)[0][2][0] == "jdupont@y.fr"
    rows = [*ACME, ("J.", "Dupont", None, None, "acme")]
    assert run(rows)[0][3][0] is None  # first.last needs the first name


def test_too_few_known_contacts():
    out, _ = run([("Luc", "Martin", "luc.martin@z.fr", None, "z"), ("Hugo", "Petit", None, None, "z")])
    assert out[1][0] is None
    out, _ = run([("Luc", "Martin", "luc.martin@z.fr", None, "z"), ("Hugo", "Petit", None, None, "z")],
                 min_known_contacts=1, min_confidence=0.5)
    assert out[1][0] == "hugo.petit@z.fr"


def test_another_persons_address_is_never_proposed_and_homonyms_are_doubtful():
    rows = [("Luc", "Martin", "lmartin@w.fr", None, "w"), ("Paul", "Roux", "proux@w.fr", None, "w"),
            ("Anne", "Blanc", "ablanc@w.fr", None, "w"),
            ("Lucie", "Martin", None, None, "w"),  # lmartin@ is Luc's
            ("Jean", "Durand", None, None, "w"), ("Julie", "Durand", None, None, "w")]  # both jdurand@
    out, _ = run(rows)
    assert out[3][0] is None
    assert out[4][0] is None and out[5][0] is None
    out, _ = run(rows, min_confidence=0.3)
    assert out[4][0] == out[5][0] == "jdurand@w.fr" and out[4][1] < 0.5


def test_typos_nicknames_and_swapped_names_lower_the_confidence():
    rows = [*ACME, ("Isbaelle", "Moreau", None, None, "acme"), ("Dave", "Roux", None, None, "acme"),
            ("Dupont", "Marie", None, None, "acme"), ("Isabelle", "Moreau", None, None, "acme")]
    out, _ = run(rows, min_confidence=0.0)
    typo, nickname, swapped, fine = (o[1] for o in out[3:])
    assert fine > 0.8 > typo and nickname < 0.8 and swapped == 0.0


def test_history_teaches_domains_this_upload_has_no_address_for():
    _, history = run(ACME)
    out, observed = run([("Anne", "Roux", "contact@acme.fr", None, None)], history=history)
    assert out[0][0] == "anne.roux@acme.fr"
    assert observed.num_rows == 0  # this upload taught nothing new
    out, _ = run([("Anne", "Roux", "contact@acme.fr", None, None)])
    assert out[0][0] is None


def test_observations_hold_domains_and_counts_only():
    _, observed = run(ACME)
    assert observed.column_names == ["domain", "dimension", "style", "count"]
    values = set(observed["domain"].to_pylist()) | set(observed["style"].to_pylist())
    assert values <= {"acme.fr", "first.last", "", "keep", "glue", "part", "compound", "single", "main", "first", "ue", "u"}
    contacts = observed.filter(pc.equal(observed["dimension"], "contacts"))
    assert contacts["count"].to_pylist() == [3]


class MemoryStore:
    def __init__(self):
        self.objects: dict[str, bytes] = {}

    def exists(self, key):
        return key in self.objects

    def get_bytes(self, key):
        return self.objects[key]

    def put_bytes(self, key, data):
        self.objects[key] = data


def test_pattern_store_per_upload_rows():
    store = MemoryStore()
    _, observed = run(ACME)
    email_patterns_store.save_upload(store, "acme", "up-1", observed)
    email_patterns_store.save_upload(store, "acme", "up-1", observed)  # a re-run replaces, not adds
    email_patterns_store.save_upload(store, "acme", "up-2", observed)
    assert list(store.objects) == ["controllers/acme/email_patterns.parquet"]
    history = email_patterns_store.history(store, "acme")
    contacts = history.filter(pc.equal(history["dimension"], "contacts"))["count"].to_pylist()
    assert contacts == [6]
    without = email_patterns_store.history(store, "acme", exclude_upload="up-2")
    assert without.filter(pc.equal(without["dimension"], "contacts"))["count"].to_pylist() == [3]
    assert email_patterns_store.history(store, "other").num_rows == 0
    assert email_patterns_store.forget_upload(store, "acme", "up-1") == observed.num_rows
    assert email_patterns_store.load(store, "acme")["upload_id"].unique().to_pylist() == ["up-2"]
