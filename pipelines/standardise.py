"""Standardisation stage: every contact field to its canonical form, column by column.

Each field function works on whole Arrow columns (see pipelines/fields/); this module wires them
together, keeps what could not be standardised in `notes` (never lost), and adds the matching
keys the linkage stage uses.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields.company import standardise_company_names
from pipelines.fields.country import standardise_countries
from pipelines.fields.emails import email_domains, standardise_emails
from pipelines.fields.jobs import standardise_job_titles
from pipelines.fields.linkedin import linkedin_slugs, standardise_linkedin
from pipelines.fields.names import (
    first_name_key,
    last_name_key,
    split_full_names,
    standardise_first_names,
    standardise_last_names,
)
from pipelines.fields.phones import standardise_phones
from pipelines.fields.web import registered_domains, standardise_websites

STRING = pa.string()

# Output columns of this stage, with the validated_rows columns each one is derived from
# (the Dagster asset publishes this as column lineage).
LINEAGE: dict[str, list[str]] = {
    "row_number": ["row_number"],
    "civility": ["civility"],
    "first_name": ["first_name", "full_name"],
    "last_name": ["last_name", "full_name"],
    "email": ["email"],
    "phone_e164": ["phone", "mobile", "country"],
    "phone_type": ["phone", "mobile", "country"],
    "phone_country": ["phone", "mobile", "country"],
    "other_phones": ["phone", "mobile", "country"],
    "company": ["company"],
    "legal_form": ["company"],
    "website": ["website"],
    "linkedin_url": ["linkedin_url"],
    "job_title": ["job_title"],
    "country": ["country"],
    "email_note": ["email"],
    "notes": ["email", "phone", "mobile", "website", "linkedin_url", "country", "civility"],
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


def standardise(validated: pa.Table, default_country: str = "FR", language: str = "fr") -> pa.Table:
    """Standardised contacts for the validated rows, same rows in the same order."""
    col = validated.column
    split_first, split_last = split_full_names(col("full_name"))
    first_name = standardise_first_names(pc.coalesce(col("first_name"), split_first))
    last_name = standardise_last_names(pc.coalesce(col("last_name"), split_last))

    email, email_note = standardise_emails(col("email"))
    country = standardise_countries(col("country"))
    phone, phone_type, phone_country = standardise_phones(col("phone"), country, default_country)
    mobile, mobile_type, mobile_country = standardise_phones(col("mobile"), country, default_country)
    has_phone = pc.is_valid(phone)
    phone_e164 = pc.coalesce(phone, mobile)
    both = pc.and_(has_phone, pc.and_(pc.is_valid(mobile), pc.not_equal(phone, mobile)))
    company, company_key, legal_form = standardise_company_names(col("company"))
    website, website_domain = standardise_websites(col("website"))
    linkedin_url = standardise_linkedin(col("linkedin_url"))
    civility = standardise_civility(col("civility"), language)

    notes = _join_notes(
        email_note,
        _note(col("phone"), phone, "phone"),
        _note(col("mobile"), mobile, "mobile"),
        _note(col("website"), website, "website"),
        _note(col("linkedin_url"), linkedin_url, "LinkedIn URL"),
        _note(col("country"), country, "country"),
        _note(col("civility"), civility, "civility"),
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
            "other_phones": pc.if_else(both, mobile, pa.scalar(None, STRING)),
            "company": company,
            "legal_form": legal_form,
            "website": website,
            "linkedin_url": linkedin_url,
            "job_title": standardise_job_titles(col("job_title")),
            "country": country,
            "notes": notes,
            "email_note": email_note,
            "first_name_key": first_name_key(first_name),
            "last_name_key": last_name_key(last_name),
            "company_key": company_key,
            "email_domain": email_domains(email),
            "website_domain": website_domain,
            "linkedin_slug": linkedin_slugs(linkedin_url),
        }
    )
