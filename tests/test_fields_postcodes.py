"""Postcodes per country (pipelines/fields/postcodes.py)."""

import pyarrow as pa

from pipelines.fields.postcodes import standardise_postcodes


def pc(values, countries=None, default=None):
    codes, notes = standardise_postcodes(pa.array(values, pa.string()),
                                         None if countries is None else pa.array(countries, pa.string()), default)
    return codes.to_pylist(), notes.to_pylist()


def test_formats_per_country():
    codes, notes = pc(["sw1a 1aa", "F-75001", "1234ab", "10115", "123456789", "a1a1a1", "1000-123"],
                      ["GB", "FR", "NL", "DE", "US", "CA", "PT"])
    assert codes == ["SW1A 1AA", "75001", "1234 AB", "10115", "12345-6789", "A1A 1A1", "1000-123"]
    assert notes == [None] * 7


def test_leading_zero_lost_by_a_spreadsheet_is_put_back_with_a_note():
    # 06000 Nice typed into Excel comes back as 6000: a French postcode has five digits, so the
    # missing zero is the only reading. It is restored, and the note says so with the value sent.
    codes, notes = pc(["6000", "6000.0", "1067"], ["FR", "FR", "DE"])
    assert codes == ["06000", "06000", "01067"]
    assert notes[0] == "postcode 6000 read as 06000 (leading zero lost)"
    assert notes[2] == "postcode 1067 read as 01067 (leading zero lost)"


def test_invalid_for_the_country_goes_to_the_notes_as_sent():
    codes, notes = pc(["750", "SW1A", "abc"], ["FR", "GB", "FR"])
    assert codes == [None, None, None]
    assert notes == ["invalid postcode: 750", "invalid postcode: SW1A", "invalid postcode: abc"]


def test_default_country_only_when_the_file_fits_it():
    # Australian 4-digit postcodes (FEBRL) in a run whose default country is FR: not French
    # postcodes with a lost zero, so they are only tidied.
    assert pc(["2615", "4011", "0800"], default="FR") == (["2615", "4011", "0800"], [None] * 3)
    # A French file without a country column: the default applies, lost zeros included.
    assert pc(["75001", "69002", "6000"], default="FR")[0] == ["75001", "69002", "06000"]


def test_no_country_known_tidies_what_looks_like_a_postcode():
    assert pc([" sw1a  1aa ", "2615", "n/a", None]) == (["SW1A 1AA", "2615", None, None],
                                                       [None, None, "invalid postcode: n/a", None])
