import pyarrow as pa
import pytest

from pipelines.fields.linkedin import linkedin_slugs, standardise_linkedin

P = "https://www.linkedin.com/in/"

CASES = [
    ("linkedin.com/in/jean-dupont-1234/", P + "jean-dupont-1234"),
    ("https://fr.linkedin.com/in/Jean-Dupont?originalSubdomain=fr", P + "jean-dupont"),
    ("www.linkedin.com/in/jean%C3%A9-dupont", P + "jeané-dupont"),
    ("https://www.linkedin.com/in/je%CC%81ro%CC%82me", P + "jérôme"),  # NFD percent-encoded
    ("in/jean-dupont", P + "jean-dupont"),
    ("http://m.linkedin.com/in/jean", P + "jean"),
    ("https://de-de.linkedin.com/in/hans/", P + "hans"),
    ("https://linkedin.com/in/jean-dupont/details/experience/", P + "jean-dupont"),
    ("https://www.linkedin.com/company/acme", None),
    ("https://www.linkedin.com/pub/jean-dupont/12/345/678", None),
    ("https://www.linkedin.com/in/", None),
    ("https://www.linkedin.com/in/jean%E9", None),  # broken encoding
    ("jean dupont", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_standardise_linkedin(raw, expected):
    assert standardise_linkedin(pa.array([raw], pa.string())).to_pylist() == [expected]


def test_linkedin_slugs_from_raw_and_standard_urls():
    urls = pa.array(["https://fr.linkedin.com/in/Jean-Dupont/", P + "jean-dupont", None, "x"])
    assert linkedin_slugs(urls).to_pylist() == ["jean-dupont", "jean-dupont", None, None]
