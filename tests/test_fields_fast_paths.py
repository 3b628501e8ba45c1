"""The vectorised fast paths give exactly what phonenumbers and email-validator give.

Standardisation reads clean-shaped numbers and plain addresses over whole columns
(pipelines/fields/_phone_fast.py, emails._fast_standardise) and sends only the rest to the
libraries. Whatever the fast path claims must be the library's own answer: these tests compare
the two on real-world shapes and on numbers built from every supported region's own examples.
"""

import random

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from phonenumbers import PhoneNumberType

from pipelines.fields import emails, phones
from pipelines.fields._phone_fast import fast_phones
from pipelines.fields._vector import map_unique_many, map_unique_rows


def _claimed_vs_library(values: list[str], regions: list[str]) -> tuple[int, list[tuple]]:
    arr, reg = pa.array(values, pa.string()), pa.array(regions, pa.string())
    e164, kind, country = fast_phones(phones._first_reading(arr, reg), reg)
    idx = pc.indices_nonzero(pc.is_valid(e164))
    lib = map_unique_rows((arr.take(idx), reg.take(idx)), phones._standardise_py, (pa.string(),) * 3)
    fast = zip(e164.take(idx).to_pylist(), kind.take(idx).to_pylist(), country.take(idx).to_pylist())
    slow = zip(*(c.to_pylist() for c in lib))
    wrong = [(v, r, f, s) for v, r, f, s in zip(arr.take(idx).to_pylist(), reg.take(idx).to_pylist(), fast, slow) if f != s]
    return len(idx), wrong


def test_clean_numbers_as_people_type_them_read_like_phonenumbers():
    values = ["0612345678", "+33612345678", "+33(0)612345678", "(+33)612345678", "612345678",
              "0140203040", "0800123456", "+4930123456", "03012345678", "+393471234567",
              "0612345678", "+447911123456", "07911123456", "+34912345678", "912345678",
              "+3225551234", "+41446681800", "+31201234567", "0201234567", "+33012345678",
              "0033612345678", "123", "+999123456789", "+352621123456", "+15551234567"]
    regions = ["FR", "FR", "FR", "FR", "FR", "FR", "FR", "DE", "DE", "IT",
               "IT", "GB", "GB", "ES", "ES", "BE", "CH", "NL", "NL", "FR",
               "FR", "FR", "FR", "LU", "US"]
    claimed, wrong = _claimed_vs_library(values, regions)
    assert wrong == []
    assert claimed >= 15  # the clean shapes are taken by the fast path


@pytest.mark.parametrize("seed", [1, 2])
def test_numbers_of_every_region_read_like_phonenumbers(seed: int):
    rnd = random.Random(seed)
    values, regions = [], []
    types = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP,
             PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.UAN)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        cc = str(phonenumbers.country_code_for_region(region))
        for t in types:
            example = phonenumbers.example_number_for_type(region, t)
            if example is None:
                continue
            nsn = phonenumbers.national_significant_number(example)
            for _ in range(3):
                digits = list(nsn)
                for _ in range(rnd.randint(0, 2)):
                    digits[rnd.randrange(len(digits))] = str(rnd.randrange(10))
                d = "".join(digits)
                for form in ("0" + d, d, f"+{cc}{d}", f"+{cc}0{d}", f"+{cc}(0){d}", f"(+{cc}){d}",
                             f"00{cc}{d}", f"00{cc}0{d}", f"000{cc}{d}"):
                    values.append(form)
                    regions.append(region)
                # Dialled from another region ("00" is not every region's prefix for abroad).
                for other in ("FR", "US", "GB", "RU", "BR"):
                    values.append(f"00{cc}{d}")
                    regions.append(other)
    claimed, wrong = _claimed_vs_library(values, regions)
    assert wrong == []
    assert claimed > 1000


def test_plain_addresses_read_like_email_validator():
    rnd = random.Random(3)
    domains = ["gmail.com", "gmial.com", "hotmail.fr", "hotmal.fr", "acme.fr", "acme.cmo", "a-b.co.uk",
               "orange.fr", "wanadoo.fr", "localhost.localdomain", "ex.invalid", "a.local", "123.456",
               "xn--bcher-kva.de", "aa--bb.com", "a" * 63 + ".com", "a" * 64 + ".com", "gmai.com", "x.arpa",
               "acme.c", "sub.mail.example.com", "t-online.de"]
    locals_ = ["jean.dupont", "j", "contact", "a" * 64, "a" * 65, "x+crm", "a_b-c", "x" * 60 + ".y"]
    values = [f"{rnd.choice(locals_)}@{rnd.choice(domains)}" for _ in range(2000)]
    values += ["jean.dupont@acme.fr", "JEAN@ACME.FR ", "jean..dupont@acme.fr", ".jean@acme.fr", "jean@acme..fr",
               "jean@-acme.fr", "jean@acme", "jérôme@acme.fr", "jean@acme.fr.", "a@b.c"]
    prepared = emails._prepare(pa.array(values, pa.string()))
    email, note = emails._fast_standardise(prepared)
    idx = pc.indices_nonzero(pc.is_valid(email))
    lib_email, lib_note, lib_salvage = map_unique_many(prepared.take(idx), emails._standardise_full_py, (pa.string(),) * 3)
    assert email.take(idx).to_pylist() == lib_email.to_pylist()
    assert note.take(idx).to_pylist() == lib_note.to_pylist()
    assert lib_salvage.null_count == len(idx)
    assert len(idx) > 1000


def test_email_qualification_by_parts_matches_per_address():
    values = [None, "", " ", "@", "a@", "@b", " a@b.fr ", "A@B.FR", "contact+crm@Gmail.com", "info-fr@x.y",
              "jean@gmail.com", "sales2@acme.fr", "x@@y", "a@b@c", "student@etu.univ-lyon1.fr", "x@yopmail.com"]
    arr = pc.utf8_trim_whitespace(pa.array(values, pa.string()))
    per_address = [None if v is None or not v.strip() else emails._qualify_py(v) for v in arr.to_pylist()]
    assert emails._qualify(arr).to_pylist() == per_address
