"""Fuzz the field standardisers (names, e-mails, phones, postal addresses, dates of birth, person ids) on arbitrary column values: one output
per input value, nulls for blanks, and no exception, whatever the text.

    flock /tmp/refinery-heavy.lock .venv/bin/python fuzz/fuzz_fields.py /tmp/fuzz-corpus/fields -max_total_time=240
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["pipelines"]):
    import pyarrow as pa

    from pipelines.fields import address, dates, emails, names, person_identifiers, phones, postcodes

COUNTRIES = ["FR", "BE", "DE", "GB", "US", "", "ZZ", "fr", None]


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    count = fdp.ConsumeIntInRange(1, 8)
    values = [
        None if fdp.ConsumeIntInRange(0, 9) == 0 else fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 60))
        for _ in range(count)
    ]
    countries = [COUNTRIES[fdp.ConsumeIntInRange(0, len(COUNTRIES) - 1)] for _ in range(count)]
    column = pa.array(values, pa.string())
    outputs = [
        names.standardise_first_names(column),
        names.standardise_last_names(column),
        *names.split_full_names(column),
        names.first_name_key(column),
        *emails.standardise_emails(column),
        *emails.standardise_emails_with_salvage(column),
        emails.qualify_emails(column),
        *phones.standardise_phones(column, pa.array(countries, pa.string()), default_country="FR"),
    ]
    country_column = pa.array(countries, pa.string())
    outputs += [
        *address.standardise_street_numbers(column),
        *address.standardise_streets(column),
        *address.standardise_streets(column, column),
        address.standardise_cities(column),
        address.standardise_regions(column),
        *postcodes.standardise_postcodes(column, country_column, "FR"),
        dates.standardise_dates_of_birth(column),
        *person_identifiers.standardise_national_ids(column, country_column),
    ]
    email, note, salvage = emails.standardise_emails_with_salvage(column)
    outputs.extend(emails.repair_in_context(email, note, salvage, emails.email_domains(email), column))
    for out in outputs:
        assert len(out) == count
    for value, first in zip(values, outputs[0].to_pylist()):
        if value is None or not value.strip():
            assert first is None


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
