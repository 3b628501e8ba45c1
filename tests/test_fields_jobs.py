import unicodedata

import pyarrow as pa
import pytest

from pipelines.fields.jobs import standardise_job_titles

CASES = [
    ("DIRECTEUR COMMERCIAL", "Directeur commercial"),
    ("DIRECTEUR GÉNÉRAL ADJOINT", "Directeur général adjoint"),
    (unicodedata.normalize("NFD", "DIRECTEUR GÉNÉRAL"), "Directeur général"),
    ("DIRECTEUR DES SYSTEMES D'INFORMATION (DSI)", "Directeur des systemes d'information (DSI)"),
    ("CEO & FOUNDER", "CEO & founder"),
    ("CO-FOUNDER & CTO", "Co-founder & CTO"),
    ("VP SALES EMEA", "VP sales EMEA"),
    ("RESPONSABLE R&D", "Responsable R&D"),
    ("DRH", "DRH"),
    ("PDG", "PDG"),
    ("DAF / CFO", "DAF / CFO"),
    ("RESPONSABLE SEO", "Responsable SEO"),
    ("ceo", "CEO"),
    ("directeur général", "Directeur général"),
    ("head of it", "Head of IT"),
    ("Head of Sales", "Head of Sales"),  # mixed case typed on purpose: kept
    ("Responsable RH", "Responsable RH"),
    ("  - Responsable   RH - ", "Responsable RH"),
    ("•  Chef de projet IT  ", "Chef de projet IT"),
    ("Directeur (H/F)", "Directeur (H/F)"),
    ("Directeur commercial.", "Directeur commercial"),
    ("-", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_standardise_job_titles(raw, expected):
    assert standardise_job_titles(pa.array([raw], pa.string())).to_pylist() == [expected]
