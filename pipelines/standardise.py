"""Standardisation stage: every contact field to its canonical form, column by column.

Each field function works on whole Arrow columns (see pipelines/fields/); this module wires them
together, keeps what could not be standardised in `notes` (never lost), and adds the matching
keys the linkage stage uses.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields.company import standardise_company_names
from pipelines.fields.address import (
    standardise_address_lines,
    standardise_cities,
    standardise_regions,
    standardise_street_numbers,
    standardise_streets,
)
from pipelines.fields.country import standardise_countries
from pipelines.fields.dates import standardise_dates_of_birth
from pipelines.fields.emails import email_domains, repair_in_context, standardise_emails_with_salvage
from pipelines.fields.identifiers import reconcile_siren, standardise_siren, standardise_siret, standardise_vat
from pipelines.fields.jobs import standardise_job_titles
from pipelines.fields.linkedin import linkedin_slugs, standardise_linkedin
from pipelines.fields.names import (
    first_name_key,
    last_name_key,
    split_full_names,
    standardise_first_names,
    standardise_last_names,
)
from pipelines.fields.person_identifiers import standardise_client_ids, standardise_national_ids
from pipelines.fields.phone_context import phone_regions, split_phone_cells, standardise_phones_in_context
from pipelines.fields.postcodes import standardise_postcodes
from pipelines.fields.web import standardise_websites
from pipelines import progress
from pipelines.provenance import INPUT, NORMALISED, source_struct

STRING = pa.string()

# Output columns of this stage, with the validated_rows columns each one is derived from
# (the Dagster asset publishes this as column lineage).
LINEAGE: dict[str, list[str]] = {
    "row_number": ["row_number"],
    "civility": ["civility"],
    "first_name": ["first_name", "full_name"],
    "last_name": ["last_name", "full_name"],
    "email": ["email", "website", "company"],
    "phone_e164": ["phone", "mobile", "country", "company", "website", "email"],
    "phone_type": ["phone", "mobile", "country", "company", "website", "email"],
    "phone_country": ["phone", "mobile", "country", "company", "website", "email"],
    "other_phones": ["phone", "mobile", "country", "company", "website", "email"],
    "company": ["company"],
    "legal_form": ["company"],
    "website": ["website"],
    "linkedin_url": ["linkedin_url"],
    "job_title": ["job_title"],
    "country": ["country"],
    "siren": ["siren", "siret", "vat_number"],
    "siret": ["siret"],
    "vat_number": ["vat_number", "country"],
    "street_number": ["street_number", "street"],
    "street": ["street", "street_number"],
    "address_line2": ["address_line2"],
    "postcode": ["postcode", "country"],
    "city": ["city"],
    "region": ["region"],
    "date_of_birth": ["date_of_birth"],
    "client_id": ["client_id"],
    "national_id": ["national_id", "country"],
    "email_note": ["email"],
    "notes": ["email", "phone", "mobile", "website", "linkedin_url", "country", "civility", "siren", "siret", "vat_number",
              "street_number", "postcode", "date_of_birth", "national_id"],
    "provenance": ["civility", "first_name", "last_name", "full_name", "email", "phone", "mobile", "company",
                   "website", "linkedin_url", "job_title", "country", "siren", "siret", "vat_number",
                   "street_number", "street", "address_line2", "postcode", "city", "region", "date_of_birth",
                   "client_id", "national_id"],
    "first_name_key": ["first_name", "full_name"],
    "last_name_key": ["last_name", "full_name"],
    "company_key": ["company"],
    "email_domain": ["email"],
    "website_domain": ["website"],
    "linkedin_slug": ["linkedin_url"],
}

_CIVILITY_MALE = ["m", "mr", "monsieur", "mister", "sir", "herr", "hr", "sr", "senor", "señor", "sig", "signor", "signore"]
_CIVILITY_FEMALE = ["mme", "madame", "mrs", "ms", "miss", "mlle", "mademoiselle", "frau", "fr", "sra", "senora", "señora", "srta", "sig ra", "sigra", "signora"]
CIVILITY_LABELS = {"fr": ("Monsieur", "Madame"), "en": ("Mr", "Mrs")}


def _null_if_empty(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, STRING), arr)


def _note(raw: pa.Array, result: pa.Array, label: str) -> pa.Array:
    """'invalid <label>: <raw value>' where a value was given but could not be standardised."""
    lost = pc.and_(pc.is_valid(raw), pc.is_null(result))
    return pc.if_else(lost, pc.binary_join_element_wise(f"invalid {label}: ", raw, ""), pa.scalar(None, STRING))


def _join_notes(*notes: pa.Array) -> pa.Array:
    joined = pc.binary_join_element_wise(*[pc.fill_null(n, "") for n in notes], "; ")
    # Collapse the separators left by empty notes.
    joined = pc.replace_substring_regex(joined, r"(; )+", "; ")
    joined = pc.replace_substring_regex(joined, r"^(; )|(; )$", "")
    return _null_if_empty(joined)


def standardise_civility(values: pa.Array, language: str) -> pa.Array:
    """What the client sent ('M.', 'Mme', 'Herr', 'Mrs') in the output language; unknown -> null."""
    male, female = CIVILITY_LABELS[language]
    key = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_lower(values), r"[.\s]+", " "))
    key = pc.utf8_trim(key, " ")
    is_m = pc.is_in(key, value_set=pa.array(_CIVILITY_MALE))
    is_f = pc.is_in(key, value_set=pa.array(_CIVILITY_FEMALE))
    return pc.if_else(is_m, male, pc.if_else(is_f, female, pa.scalar(None, STRING)))


def _fallback_regions(countries: pa.Array, default_country: str) -> list[str]:
    """The file's countries, most frequent first: where a number with no other clue is tried."""
    counts = pc.value_counts(countries.drop_null())
    pairs = sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()), key=lambda p: -p[1])
    return [c for c, _ in pairs if c != default_country]


def _same(raw: pa.Array, value: pa.Array) -> pa.Array:
    """Provenance of a standardised field: `input` when it is exactly what was sent, else `normalised`."""
    unchanged = pc.equal(raw, value).fill_null(False)
    source = pc.if_else(unchanged, pa.scalar(INPUT), pa.scalar(NORMALISED))
    return pc.if_else(pc.is_valid(value), source, pa.scalar(None, STRING))


def _derived(value: pa.Array) -> pa.Array:
    return pc.if_else(pc.is_valid(value), pa.scalar(NORMALISED), pa.scalar(None, STRING))


# The name this stage's progress notes go under (the Dagster asset's name).
PROGRESS_STAGE = "standardised_contacts"
_STEPS = ("names", "companies and websites", "e-mails", "phones", "other fields", "postal addresses and dates of birth",
          "notes and provenance")


def _step(i: int, rows: int) -> None:
    progress.note(PROGRESS_STAGE, f"{_STEPS[i]} ({i + 1} of {len(_STEPS)} steps, {rows:,} rows)")


def standardise(validated: pa.Table, default_country: str = "FR", language: str = "fr") -> pa.Table:
    """Standardised contacts for the validated rows, same rows in the same order."""
    col = validated.column
    rows = validated.num_rows
    _step(0, rows)
    split_first, split_last = split_full_names(col("full_name"))
    first_name = standardise_first_names(pc.coalesce(col("first_name"), split_first))
    last_name = standardise_last_names(pc.coalesce(col("last_name"), split_last))

    _step(1, rows)
    country = standardise_countries(col("country"))
    company, company_key, legal_form = standardise_company_names(col("company"))
    website, website_domain = standardise_websites(col("website"))
    _step(2, rows)
    email, email_note, salvage = standardise_emails_with_salvage(col("email"))
    # Forgotten "@" or TLD, company-domain typos: repaired with what the other rows say.
    email, email_note = repair_in_context(email, email_note, salvage, website_domain, company_key)
    email_domain = email_domains(email)

    _step(3, rows)
    regions = phone_regions(country, company_key, website_domain, email_domain)
    fallback = _fallback_regions(country, default_country)
    phone_main, phone_second = split_phone_cells(col("phone"))
    mobile_main, mobile_second = split_phone_cells(col("mobile"))
    phone, phone_type, phone_country = standardise_phones_in_context(phone_main, regions, default_country, fallback)
    mobile, mobile_type, mobile_country = standardise_phones_in_context(mobile_main, regions, default_country, fallback)
    second, _, _ = standardise_phones_in_context(
        pc.coalesce(phone_second, mobile_second), regions, default_country, fallback
    )
    has_phone = pc.is_valid(phone)
    phone_e164 = pc.coalesce(phone, mobile)
    both = pc.and_(has_phone, pc.and_(pc.is_valid(mobile), pc.not_equal(phone, mobile)))
    other_phones = _join_notes(  # mobile beside a phone, and second numbers typed in one cell
        pc.if_else(both, mobile, pa.scalar(None, STRING)),
        pc.if_else(pc.not_equal(second, phone_e164).fill_null(True), second, pa.scalar(None, STRING)),
    )
    _step(4, rows)
    linkedin_url = standardise_linkedin(col("linkedin_url"))
    civility = standardise_civility(col("civility"), language)
    job_title = standardise_job_titles(col("job_title"))

    siren, siren_note = standardise_siren(col("siren"))
    siret, siret_note = standardise_siret(col("siret"))
    vat_number, vat_note = standardise_vat(col("vat_number"), country)
    siren_given = siren
    siren, siren_conflict = reconcile_siren(siren, siret, vat_number)

    _step(5, rows)
    # Postal address, date of birth, identifiers (issue #14). A number typed in the street moves
    # to street_number when the row has none; postcodes follow the row's country.
    street_number, street_number_note = standardise_street_numbers(col("street_number"))
    street, number_in_street = standardise_streets(col("street"), street_number)
    street_number = pc.coalesce(street_number, number_in_street)
    address_line2 = standardise_address_lines(col("address_line2"))
    postcode, postcode_note = standardise_postcodes(col("postcode"), country, default_country)
    city = standardise_cities(col("city"))
    region = standardise_regions(col("region"))
    # Day/month order inferred once over the file's values (validated rows are the whole file's
    # fit rows); ambiguous dates in a file proving both orders stay in the notes.
    date_of_birth = standardise_dates_of_birth(col("date_of_birth"), default_country=default_country)
    client_id = standardise_client_ids(col("client_id"))
    national_id, national_id_note = standardise_national_ids(col("national_id"), country)

    _step(6, rows)
    # An invalid address leaves the e-mail column for the notes with its reason and the value as
    # sent ("invalid e-mail (missing @): jean.dupont.acme.fr"): never silently dropped.
    email_lost = pc.and_(pc.is_null(email), pc.is_valid(email_note)).fill_null(False)
    email_note_text = pc.if_else(
        email_lost,
        pc.binary_join_element_wise(
            pc.replace_substring_regex(email_note, r"^invalid e-mail: (.*)$", r"invalid e-mail (\1)"), col("email"), ": "
        ),
        email_note,
    )
    notes = _join_notes(
        email_note_text,
        _note(col("phone"), phone, "phone"),
        _note(col("mobile"), mobile, "mobile"),
        _note(pc.coalesce(phone_second, mobile_second), second, "second phone"),
        _note(col("website"), website, "website"),
        _note(col("linkedin_url"), linkedin_url, "LinkedIn URL"),
        _note(col("country"), country, "country"),
        _note(col("civility"), civility, "civility"),
        siren_note,
        siret_note,
        vat_note,
        siren_conflict,
        street_number_note,
        postcode_note,
        _note(col("date_of_birth"), date_of_birth, "date of birth"),
        national_id_note,
    )
    phone_raw = pc.if_else(has_phone, col("phone"), col("mobile"))
    provenance = source_struct(
        {
            "civility": _same(col("civility"), civility),
            "first_name": _same(col("first_name"), first_name),
            "last_name": _same(col("last_name"), last_name),
            "email": _same(col("email"), email),
            "phone_e164": _same(phone_raw, phone_e164),
            "phone_type": _derived(phone_type),
            "phone_country": _derived(phone_country),
            "other_phones": _derived(other_phones),
            "company": _same(col("company"), company),
            "legal_form": _derived(legal_form),
            "website": _same(col("website"), website),
            "linkedin_url": _same(col("linkedin_url"), linkedin_url),
            "job_title": _same(col("job_title"), job_title),
            "country": _same(col("country"), country),
            "siren": pc.if_else(pc.is_valid(siren_given), _same(col("siren"), siren), _derived(siren)),
            "siret": _same(col("siret"), siret),
            "vat_number": _same(col("vat_number"), vat_number),
            "street_number": pc.if_else(pc.is_valid(col("street_number")), _same(col("street_number"), street_number),
                                        _derived(street_number)),
            "street": _same(col("street"), street),
            "address_line2": _same(col("address_line2"), address_line2),
            "postcode": _same(col("postcode"), postcode),
            "city": _same(col("city"), city),
            "region": _same(col("region"), region),
            "date_of_birth": _same(col("date_of_birth"), date_of_birth),
            "client_id": _same(col("client_id"), client_id),
            "national_id": _same(col("national_id"), national_id),
        }
    )
    return pa.table(
        {
            "row_number": col("row_number"),
            "civility": civility,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "phone_e164": phone_e164,
            "phone_type": pc.if_else(has_phone, phone_type, mobile_type),
            "phone_country": pc.if_else(has_phone, phone_country, mobile_country),
            "other_phones": other_phones,
            "company": company,
            "legal_form": legal_form,
            "website": website,
            "linkedin_url": linkedin_url,
            "job_title": job_title,
            "country": country,
            "siren": siren,
            "siret": siret,
            "vat_number": vat_number,
            "street_number": street_number,
            "street": street,
            "address_line2": address_line2,
            "postcode": postcode,
            "city": city,
            "region": region,
            "date_of_birth": date_of_birth,
            "client_id": client_id,
            "national_id": national_id,
            "notes": notes,
            "email_note": email_note,
            "first_name_key": first_name_key(first_name),
            "last_name_key": last_name_key(last_name),
            "company_key": company_key,
            "email_domain": email_domain,
            "website_domain": website_domain,
            "linkedin_slug": linkedin_slugs(linkedin_url),
            "provenance": provenance,
        }
    )
