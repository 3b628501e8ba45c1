"""Dates of birth to ISO, the day/month order decided once per file (pipelines/fields/dates.py)."""

import datetime as dt

import pyarrow as pa

from pipelines.fields.dates import infer_day_first, standardise_dates_of_birth

TODAY = dt.date(2026, 12, 8)


def iso(values, **kw):
    return standardise_dates_of_birth(pa.array(values, pa.string()), today=TODAY, **kw).to_pylist()


def test_febrl_compact_dates_and_their_typos():
    # FEBRL writes YYYYMMDD; its typos give impossible days, which are not dates of birth.
    assert iso(["19560909", "19081209", "19371233", "19729518", None, ""]) == [
        "1956-09-09", "1908-12-09", None, None, None, None]
    assert iso(["09091956"]) == ["1956-09-09"]  # DDMMYYYY where YYYYMMDD cannot be


def test_day_month_order_inferred_from_the_file():
    # 13/09 proves day first: 09/12/1956 is 9 December.
    assert iso(["09/12/1956", "13/09/1956"]) == ["1956-12-09", "1956-09-13"]
    # 12/13 proves month first: 09/12/1956 is 12 September.
    assert iso(["09/12/1956", "12/13/1956"]) == ["1956-09-12", "1956-12-13"]
    assert infer_day_first(pa.array(["09/12/1956", "12/13/1956"])) is False
    # No proof either way: the default country's habit (day first in Europe, month first in the US).
    assert iso(["09/12/1956"]) == ["1956-12-09"]
    assert iso(["09/12/1956"], default_country="US") == ["1956-09-12"]


def test_a_file_proving_both_orders_leaves_ambiguous_dates_unread():
    assert infer_day_first(pa.array(["13/09/1956", "12/13/1956", "09/12/1956"])) is None
    assert iso(["13/09/1956", "12/13/1956", "09/12/1956"]) == ["1956-09-13", "1956-12-13", None]


def test_other_written_forms():
    assert iso(["1956-09-09", "1956-09-09T00:00:00", "9.12.1956", "9. September 1956", "9 sept. 1956",
                "September 9, 1956", "9 de septiembre de 1956", "9 settembre 1956", "1er mars 1956", "12/09/56"]) == [
        "1956-09-09", "1956-09-09", "1956-12-09", "1956-09-09", "1956-09-09",
        "1956-09-09", "1956-09-09", "1956-09-09", "1956-03-01", "1956-09-12"]


def test_excel_serial_dates():
    # A date cell saved as CSV from a sheet formatted as a number: days since 1899-12-30.
    assert iso(["20707", "20707.0", "32874"]) == ["1956-09-09", "1956-09-09", "1990-01-01"]


def test_not_a_date_of_birth():
    # A year alone, 31 February, the future, before 1900, words.
    assert iso(["1956", "31/02/1956", "2090-01-01", "1850-01-01", "inconnu", "00/00/0000"]) == [None] * 6
