import pyarrow as pa
import pytest

from pipelines.fields.phones import standardise_phones

CASES = [
    # (raw, row country, expected (e164, type, country))
    ("06 12 34 56 78", None, ("+33612345678", "mobile", "FR")),
    ("06.12.34.56.78", "FR", ("+33612345678", "mobile", "FR")),
    ("06-12-34-56-78", "fr", ("+33612345678", "mobile", "FR")),
    ("+33 (0)6 12 34 56 78", None, ("+33612345678", "mobile", "FR")),
    ("0033 6 12 34 56 78", None, ("+33612345678", "mobile", "FR")),
    ("0033 6 12 34 56 78", "US", ("+33612345678", "mobile", "FR")),  # IDD of another region
    ("612345678", "FR", ("+33612345678", "mobile", "FR")),  # Excel dropped the leading 0
    ("612345678.0", "FR", ("+33612345678", "mobile", "FR")),  # ... and exported a float
    ("3.3612345678E+10", None, ("+33612345678", "mobile", "FR")),  # scientific notation
    ("3,3612345678E+10", "FR", ("+33612345678", "mobile", "FR")),  # with a decimal comma
    ("33612345678", "FR", ("+33612345678", "mobile", "FR")),  # "+" lost
    ("447400123456", "FR", ("+447400123456", "mobile", "GB")),
    ("01 23 45 67 89 poste 123", None, ("+33123456789", "landline", "FR")),
    ("01 23 45 67 89 ext. 12", None, ("+33123456789", "landline", "FR")),
    ("+33 1 23 45 67 89 x 12", None, ("+33123456789", "landline", "FR")),
    ("09 72 12 34 56", None, ("+33972123456", "voip", "FR")),
    ("0800 123 456", None, ("+33800123456", "toll_free", "FR")),
    ("0890 12 34 56", None, ("+33890123456", "other", "FR")),  # premium rate
    ("(+44) 07400 123456", None, ("+447400123456", "mobile", "GB")),
    ("07400 123456", "GB", ("+447400123456", "mobile", "GB")),
    ("+44 20 7123 4567", "FR", ("+442071234567", "landline", "GB")),
    ("+49 (0) 30 1234567", None, ("+49301234567", "landline", "DE")),
    ("030 1234567", "DE", ("+49301234567", "landline", "DE")),
    ("+32 470 12 34 56", "XX", ("+32470123456", "mobile", "BE")),  # unknown region code
    ("0470 12 34 56", "BE", ("+32470123456", "mobile", "BE")),
    ("+41 44 668 18 00", None, ("+41446681800", "landline", "CH")),
    ("(650) 253-0000", "US", ("+16502530000", "landline_or_mobile", "US")),
    ("\u00a006\u00a012\u00a034\u00a056\u00a078", None, ("+33612345678", "mobile", "FR")),
    # invalid -> all null
    ("06 12 34 56 78", "BE", (None, None, None)),
    ("01 23", "FR", (None, None, None)),
    ("n/a", None, (None, None, None)),
    ("", "FR", (None, None, None)),
    (None, "FR", (None, None, None)),
]


@pytest.mark.parametrize(("raw", "country", "expected"), CASES)
def test_standardise_phones(raw, country, expected):
    e164, phone_type, phone_country = standardise_phones(
        pa.array([raw], pa.string()), pa.array([country], pa.string())
    )
    assert (e164[0].as_py(), phone_type[0].as_py(), phone_country[0].as_py()) == expected


def test_region_is_part_of_the_key_and_default_country_applies():
    values = pa.chunked_array([["0470 12 34 56", "0470 12 34 56"], ["0470 12 34 56", None]])
    countries = pa.chunked_array([["BE", None], ["FR", "BE"]])
    e164, _, country = standardise_phones(values, countries, default_country="BE")
    # row 2 has no region -> default BE; row 3 is read as a French (Lyon) landline
    assert e164.to_pylist() == ["+32470123456", "+32470123456", "+33470123456", None]
    assert country.to_pylist() == ["BE", "BE", "FR", None]


def test_countries_may_be_omitted():
    e164, phone_type, _ = standardise_phones(pa.array(["06 12 34 56 78"]), None)
    assert e164.to_pylist() == ["+33612345678"]
    assert phone_type.to_pylist() == ["mobile"]


def test_excel_rule_only_for_france():
    # 9 digits in Germany are read as a German number, never as a French mobile.
    e164, _, country = standardise_phones(pa.array(["612345678"]), pa.array(["DE"]))
    assert e164.to_pylist() == ["+49612345678"]
    assert country.to_pylist() == ["DE"]
