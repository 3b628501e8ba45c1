import pyarrow as pa
import pytest

from pipelines.fields.web import registered_domains, standardise_websites

CASES = [
    ("https://www.acme.fr/contact?x=1", ("www.acme.fr", "acme.fr")),
    ("ACME.FR", ("www.acme.fr", "acme.fr")),
    ("  www.Acme.fr/  ", ("www.acme.fr", "acme.fr")),
    ("shop.acme.co.uk", ("www.acme.co.uk", "acme.co.uk")),
    ("http://www.acme.fr:8080/", ("www.acme.fr", "acme.fr")),
    ("acme.fr:8080", ("www.acme.fr", "acme.fr")),
    ("http//acme.fr", ("www.acme.fr", "acme.fr")),
    ("www.acme.com.", ("www.acme.com", "acme.com")),
    ("acme.wixsite.com/acme", ("www.acme.wixsite.com", "acme.wixsite.com")),
    ("café.fr", ("www.café.fr", "café.fr")),
    ("xn--caf-dma.fr", ("www.café.fr", "café.fr")),
    # invalid, no public suffix, e-mails, social networks
    ("acme", (None, None)),
    ("www.acme", (None, None)),
    ("acme.con", (None, None)),
    ("192.168.0.1", (None, None)),
    ("localhost:8080", (None, None)),
    ("jean@acme.fr", (None, None)),
    ("mailto:jean@acme.fr", (None, None)),
    ("https://www.linkedin.com/company/acme", (None, None)),
    ("facebook.com/acme", (None, None)),
    ("n/a", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_standardise_websites(raw, expected):
    website, domain = standardise_websites(pa.array([raw], pa.string()))
    assert (website[0].as_py(), domain[0].as_py()) == expected


def test_registered_domains():
    domains = pa.chunked_array(
        [["mail.acme.fr", "x.acme.co.uk"], ["ACME.FR", None, "gmail.com", "localhost", ""]]
    )
    assert registered_domains(domains).to_pylist() == [
        "acme.fr", "acme.co.uk", "acme.fr", None, "gmail.com", None, None,
    ]
