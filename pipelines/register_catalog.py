"""What each asset declares for the register of processing activities (Art. 30(2)): its purpose
(DPA II service), its data use, the data categories of its columns, the data subjects, and where
it is stored. Vocabulary: the fideslang taxonomy (data categories `user.*`/`system.*`, data uses,
data subjects).

Data, keyed by asset name, so the register can be built from these declarations plus the event
log (what actually ran). `tests/test_gdpr_register.py` checks that every asset of the code
location is declared here, and that every column an asset published is classified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# DPA II: customers, prospects and suppliers of the controller.
DATA_SUBJECTS: tuple[str, ...] = ("customer", "prospect", "supplier_vendor")
SUBJECT_LABELS = {
    "customer": "the controller's customers",
    "prospect": "the controller's prospects",
    "supplier_vendor": "the controller's suppliers",
}

# The services the DPA (section II) allows, and nothing else.
SERVICES = {
    "clean": "(i) clean, correct, enrich, organise the contact details",
    "dedupe": "(ii) detect and merge duplicates",
    "emails": "(iii) update erroneous e-mail addresses",
    "duties": "processor duties: retention, deletion, register (GDPR Art. 28, 30)",
}

CATEGORY_LABELS: dict[str, str] = {
    "user.name": "name (as sent, unsplit)",
    "user.name.first": "first name",
    "user.name.last": "last name",
    "user.contact.email": "e-mail address",
    "user.contact.phone_number": "phone number",
    "user.contact.url": "profile URL (LinkedIn)",
    "user.contact.address.country": "country",
    "user.contact.address.street": "postal address: street number, street, address line 2",
    "user.contact.address.postal_code": "postcode",
    "user.contact.address.city": "city",
    "user.contact.address.state": "region or state",
    "user.demographic.date_of_birth": "date of birth",
    "user.unique_id": "the controller's own person identifier (CRM id, customer number)",
    "user.government_id.national_identification_number": "national identification number (social security...)",
    "user.contact": "contact data as sent (unrecognised values kept in notes)",
    "user.demographic.gender": "civility (Mr/Mrs)",
    "user.job_title": "job title, level and function",
    "user.workplace": "workplace: company, website, company identifiers and address",
    "user.unique_id.pseudonymous": "pseudonymous ids (person id, record keys)",
    "user": "client-defined columns, kept unchanged (unclassified)",
    "system.operations": "operational data (row numbers, statuses, scores, provenance)",
}

# Column -> fideslang data categories. Columns not listed default by prefix (src_*) or fail the
# catalogue test, so a new column cannot slip into the register unclassified.
COLUMN_CATEGORIES: dict[str, tuple[str, ...]] = {
    "civility": ("user.demographic.gender",),
    "first_name": ("user.name.first",),
    "first_name_key": ("user.name.first",),
    "last_name": ("user.name.last",),
    "last_name_key": ("user.name.last",),
    "full_name": ("user.name",),
    "email": ("user.contact.email",),
    "email_note": ("user.contact.email",),
    "email_domain": ("user.contact.email",),
    "email_qualification": ("user.contact.email",),
    "email_source": ("user.contact.email",),
    "email_found": ("user.contact.email",),
    "email_confidence": ("user.contact.email",),
    "email_verification": ("user.contact.email",),
    "other_emails": ("user.contact.email",),
    "phone": ("user.contact.phone_number",),
    "mobile": ("user.contact.phone_number",),
    "phone_e164": ("user.contact.phone_number",),
    "phone_type": ("user.contact.phone_number",),
    "phone_country": ("user.contact.phone_number",),
    "other_phones": ("user.contact.phone_number",),
    "company": ("user.workplace",),
    "company_key": ("user.workplace",),
    "legal_form": ("user.workplace",),
    "website": ("user.workplace",),
    "website_domain": ("user.workplace",),
    "company_domain": ("user.workplace",),
    "siren": ("user.workplace",),
    "siret": ("user.workplace",),
    "vat_number": ("user.workplace",),
    "naf_code": ("user.workplace",),
    "headcount_band": ("user.workplace",),
    "company_address": ("user.workplace",),
    "company_postcode": ("user.workplace",),
    "company_city": ("user.workplace",),
    "linkedin_url": ("user.contact.url",),
    "linkedin_slug": ("user.contact.url",),
    "job_title": ("user.job_title",),
    "job_level": ("user.job_title",),
    "job_function": ("user.job_title",),
    "country": ("user.contact.address.country",),
    # Postal address, date of birth, person identifiers (issue 14).
    "street_number": ("user.contact.address.street",),
    "street": ("user.contact.address.street",),
    "address_line2": ("user.contact.address.street",),
    "postcode": ("user.contact.address.postal_code",),
    "city": ("user.contact.address.city",),
    "region": ("user.contact.address.state",),
    "date_of_birth": ("user.demographic.date_of_birth",),
    "client_id": ("user.unique_id",),
    "national_id": ("user.government_id.national_identification_number",),
    "notes": ("user.contact",),
    "cluster_id": ("user.unique_id.pseudonymous",),
    "person_id": ("user.unique_id.pseudonymous",),
    "person_id_l": ("user.unique_id.pseudonymous",),
    "person_id_r": ("user.unique_id.pseudonymous",),
    "record_key": ("user.unique_id.pseudonymous",),
    "record_key_l": ("user.unique_id.pseudonymous",),
    "record_key_r": ("user.unique_id.pseudonymous",),
    "master_record_key": ("user.unique_id.pseudonymous",),
    "source_records": ("user.unique_id.pseudonymous",),
    "source_rows": ("system.operations",),
    "master_row_number": ("system.operations",),
    "upload_id": ("system.operations",),
    "received_at": ("system.operations",),
    "source": ("system.operations",),
    "row_number": ("system.operations",),
    "status": ("system.operations",),
    "status_reason": ("system.operations",),
    "is_master": ("system.operations",),
    "record_count": ("system.operations",),
    "match_probability": ("system.operations",),
    "comparisons": ("system.operations",),
    "reason": ("system.operations",),
    "provenance": ("system.operations",),
    # Mailbox signals and updates (issue #9): the address concerned, what the mailbox said, when.
    "address": ("user.contact.email",),
    "replacement_email": ("user.contact.email",),
    "proposed_email": ("user.contact.email",),
    "signal": ("user.contact.email",),
    "status_code": ("system.operations",),
    "observed_at": ("system.operations",),
    "source_mailbox": ("system.operations",),
    "mailbox_id": ("system.operations",),
    "replacement_kind": ("system.operations",),
    "replacement_check": ("system.operations",),
    "proposed_email_kind": ("system.operations",),
    "proposed_email_check": ("system.operations",),
    "language": ("system.operations",),
    "action": ("system.operations",),
    "event_key": ("system.operations",),
    "email_status": ("user.contact.email",),
}

# What each optional enrichment adds (DPA III.5: off unless the controller's settings enable it).
ENRICHMENT_PROCESSING: dict[str, dict[str, object]] = {
    "civility": {"activity": "inference of the civility (Mr/Mrs) from the first name", "categories": ("user.demographic.gender",)},
    "email_finding": {"activity": "proposal of a professional e-mail address from the domain's pattern", "categories": ("user.contact.email",)},
    "verification": {"activity": "verification of professional e-mail addresses (MX lookup, SMTP RCPT probe)", "categories": ("user.contact.email",), "network": True},
    "company_reference": {"activity": "company data joined from the operator's reference file (NAF code, headcount, address)", "categories": ("user.workplace",)},
    "job_classification": {"activity": "classification of job titles (level, function)", "categories": ("user.job_title",)},
}

OBJECT_STORE = "object store"


@dataclass(frozen=True)
class AssetDeclaration:
    purpose: str
    service: str
    data_use: str
    activity: str  # the category of processing, as the register lists it
    storage: str
    columns: str = "fixed"  # "fixed": COLUMN_CATEGORIES; "source": the client's columns as sent
    extra_categories: tuple[str, ...] = ()
    subjects: tuple[str, ...] = field(default=DATA_SUBJECTS)
    personal_data: bool = True


ASSETS: dict[str, AssetDeclaration] = {
    "raw_upload": AssetDeclaration(
        purpose="receive and parse the controller's contact file", service="clean", data_use="essential.service.operations",
        activity="collection and storage of the controller's contact files",
        storage=f"{OBJECT_STORE}: uploads/<controller>/ (file as sent), work/<controller>/<upload>/raw_upload.parquet",
        columns="source",
        extra_categories=("user.name", "user.name.first", "user.name.last", "user.contact.email", "user.contact.phone_number",
                          "user.workplace", "user.job_title", "user.contact.url", "user.contact.address.country",
                          "user.demographic.gender", "user.contact.address.street", "user.contact.address.postal_code",
                          "user.contact.address.city", "user.contact.address.state", "user.demographic.date_of_birth",
                          "user.unique_id", "user.government_id.national_identification_number", "user"),
    ),
    "validated_rows": AssetDeclaration(
        purpose="rows fit to process, canonical fields", service="clean", data_use="essential.service.operations",
        activity="validation (rows without an identity set aside, never dropped)",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/validated_rows.parquet",
    ),
    "quarantined_rows": AssetDeclaration(
        purpose="rows set aside with their reason", service="clean", data_use="essential.service.operations",
        activity="validation (rows without an identity set aside, never dropped)",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/quarantined_rows.parquet",
    ),
    "standardised_contacts": AssetDeclaration(
        purpose="clean and correct names, e-mails, phones, companies, websites, LinkedIn URLs, countries, postal "
                "addresses, dates of birth and person identifiers",
        service="clean", data_use="essential.service.operations",
        activity="standardisation and correction of contact details (incl. repair of erroneous e-mails)",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/standardised_contacts.parquet",
    ),
    "enriched_contacts": AssetDeclaration(
        purpose="qualify e-mails, derive the company domain; optional enrichments per the controller's settings",
        service="clean", data_use="essential.service.operations",
        activity="enrichment: e-mail qualification and company domain",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/enriched_contacts.parquet",
    ),
    "linked_contacts": AssetDeclaration(
        purpose="detect duplicates within the upload and against the controller's earlier records",
        service="dedupe", data_use="essential.service.operations",
        activity="duplicate detection (record linkage), stable person ids across uploads",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/linked_contacts.parquet",
    ),
    "master_records": AssetDeclaration(
        purpose="the controller's records of every upload, with person ids", service="dedupe",
        data_use="essential.service.operations",
        activity="duplicate detection (record linkage), stable person ids across uploads",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/master_records.parquet (the run's working copy, "
        "deleted once its export is published; the copy of record is the controller's master)",
    ),
    "merge_audit": AssetDeclaration(
        purpose="every merge and the evidence for it, for the controller to check", service="dedupe",
        data_use="essential.service.operations", activity="merging of duplicates, with an audit of every merge",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/merge_audit.parquet",
    ),
    "review_pairs": AssetDeclaration(
        purpose="likely matches left unmerged for a person to decide (no solely automated decision)", service="dedupe",
        data_use="essential.service.operations", activity="merging of duplicates, with an audit of every merge",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/review_pairs.parquet",
    ),
    "golden_records": AssetDeclaration(
        purpose="one merged record per person", service="dedupe", data_use="essential.service.operations",
        activity="merging of duplicates, with an audit of every merge",
        storage=f"{OBJECT_STORE}: work/<controller>/<upload>/golden_records.parquet",
    ),
    "contact_export": AssetDeclaration(
        purpose="return the cleaned, deduplicated list to the controller", service="clean",
        data_use="essential.service.operations", activity="return of the results to the controller",
        storage=f"{OBJECT_STORE}: exports/<controller>/<upload>/ (CSV, Parquet, XLSX, summary)",
        columns="source",
        extra_categories=("user",),
    ),
    "controller_master": AssetDeclaration(
        purpose="keep the controller's master data so a person keeps one id across uploads", service="dedupe",
        data_use="essential.service.operations", activity="master data of the controller (stable person ids, linkage model)",
        storage=f"{OBJECT_STORE}: controllers/<controller>/master/v/<version>/ (records, decisions, model: the "
        "current version only, earlier ones deleted at each commit); which version is current: the records database",
    ),
    "mailbox_signals": AssetDeclaration(
        purpose="find bounces and departure auto-replies in the staff mailboxes the controller named",
        service="emails", data_use="essential.service.operations",
        activity="update of erroneous e-mail addresses from the controller's mailboxes (bounces, departures)",
        storage=f"{OBJECT_STORE}: work/<controller>/<scan>/mailbox_signals.parquet (signals only; the mailbox "
        "export is deleted once read, message bodies are never stored)",
    ),
    "mailbox_updates": AssetDeclaration(
        purpose="mark bounced addresses invalid, flag departed persons and propose replacement addresses",
        service="emails", data_use="essential.service.operations",
        activity="update of erroneous e-mail addresses from the controller's mailboxes (bounces, departures)",
        storage=f"{OBJECT_STORE}: exports/<controller>/<scan>/mailbox_updates.csv, "
        "controllers/<controller>/master/email_events.parquet",
    ),
    "retention_sweep": AssetDeclaration(
        purpose="delete uploads past their retention and off-boarded controllers", service="duties",
        data_use="essential.legal_obligation", activity="deletion at the end of retention or of the contract",
        storage="records database: deletion certificates (no personal data)", personal_data=False, subjects=(),
    ),
    "processing_register": AssetDeclaration(
        purpose="the register of processing activities", service="duties", data_use="essential.legal_obligation",
        activity="register of processing activities", storage=f"{OBJECT_STORE}: compliance/register/<controller>/",
        personal_data=False, subjects=(),
    ),
}


def categories_of(column: str) -> tuple[str, ...]:
    if column.startswith("src_"):
        return ("user",)  # a column of the client's file as sent: whatever it holds
    return COLUMN_CATEGORIES.get(column, ())


def unclassified(columns: list[str]) -> list[str]:
    return [c for c in columns if not categories_of(c)]


def asset_metadata(name: str) -> dict[str, object]:
    """Definition metadata for an asset, derived from its declaration (shown in the Dagster UI;
    lives in code, not in the event log). Use as `@asset(metadata=asset_metadata("raw_upload"))`
    so the catalogue stays the single source the register and the tests read."""
    decl = ASSETS[name]
    return {
        "purpose": decl.purpose,
        "gdpr/service": SERVICES[decl.service],
        "gdpr/data_use": decl.data_use,
        "gdpr/data_subjects": ", ".join(decl.subjects) or "none",
        "gdpr/storage": decl.storage,
        "gdpr/personal_data": decl.personal_data,
    }
