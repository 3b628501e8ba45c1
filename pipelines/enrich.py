"""Enrichment stage, driven by the controller's settings (pipelines/controller_settings.py).

Always (correction and normalisation of what the client sent): the e-mail qualification and the
company domain, taken from the website or, failing that, a professional address.
Only when the settings enable them, because each produces new personal data or calls the network:

- `civility`: Monsieur/Madame (Mr/Mrs) from the first name where the client sent none;
- `job_classification`: job_level and job_function from the job title;
- `email_finding`: a professional address proposed from the domain's pattern (`email_found`);
- `verification`: MX + SMTP RCPT TO probe of professional addresses, catch-all detection;
- `company_reference`: NAF code, headcount band, address from the operator's reference file.

With default settings the output has the enrichment columns but no value in them, and no
provenance other than `input` and `normalised`: privacy by default, tested.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from pipelines import provenance as prov
from pipelines.controller_settings import ControllerSettings
from pipelines.fields.civility import infer_civility
from pipelines.fields.company_reference import OUTPUTS as REFERENCE_OUTPUTS
from pipelines.fields.company_reference import join_reference, load_reference
from pipelines.fields.email_finding import (
    FindingSettings,
    OBSERVATIONS_SCHEMA,
    company_mail_domains,
    find_emails,
    learn_patterns,
    merge_observations,
)
from pipelines.fields.emails import qualify_emails
from pipelines.fields.jobs import classify_job_titles
from pipelines.fields.web import registered_domains

STRING = pa.string()
FLOAT = pa.float64()

# Columns this stage adds, with the standardised columns each comes from (column lineage).
LINEAGE: dict[str, list[str]] = {
    "email_qualification": ["email", "email_note"],
    "company_domain": ["website_domain", "email_domain"],
    "civility": ["civility", "first_name", "country", "phone_country"],
    "job_level": ["job_title"],
    "job_function": ["job_title"],
    "email_source": ["email", "provenance"],
    "email_found": ["first_name", "last_name", "email", "email_domain", "website_domain", "company_key"],
    "email_confidence": ["first_name", "last_name", "email", "email_domain", "website_domain", "company_key"],
    "email_verification": ["email"],
    "naf_code": ["siret", "siren", "vat_number", "website_domain", "email_domain", "company_key"],
    "headcount_band": ["siret", "siren", "vat_number", "website_domain", "email_domain", "company_key"],
    "company_address": ["siret", "siren", "vat_number", "website_domain", "email_domain", "company_key"],
    "company_postcode": ["siret", "siren", "vat_number", "website_domain", "email_domain", "company_key"],
    "company_city": ["siret", "siren", "vat_number", "website_domain", "email_domain", "company_key"],
    "provenance": ["provenance"],
}
# Added in this order after the standardised columns; present (null) even when an enrichment is off.
ADDED_COLUMNS: tuple[str, ...] = (
    "email_qualification", "company_domain", "job_level", "job_function", "email_source", "email_found",
    "email_confidence", "email_verification", *REFERENCE_OUTPUTS,
)
NOTE_VERIFICATION = "invalid e-mail (refused by its mail server)"


class Verifier(Protocol):
    """What enrichment needs from resources.verification.SmtpVerifier."""

    def verify(self, addresses: Iterable[str]) -> dict: ...


@dataclass
class EnrichOutput:
    table: pa.Table
    # This upload's e-mail pattern observations (domain, dimension, style, count) for the
    # controller's pattern store; empty when e-mail finding is off.
    observations: pa.Table
    # Seconds spent per enrichment (the benchmark reports the cost of each).
    seconds: dict[str, float] = field(default_factory=dict)


def _nulls(n: int, type_: pa.DataType = STRING) -> pa.Array:
    return pa.nulls(n, type_)


def _join_notes(*notes: pa.Array) -> pa.Array:
    joined = pc.binary_join_element_wise(*[pc.fill_null(n, "") for n in notes], "; ")
    joined = pc.replace_substring_regex(joined, r"(; )+", "; ")
    joined = pc.replace_substring_regex(joined, r"^(; )|(; )$", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, STRING), joined)


def _timed(seconds: dict[str, float], name: str, fn: Callable[[], object]) -> object:
    started = time.perf_counter()
    try:
        return fn()
    finally:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started


def _verify(
    verifier: Verifier, emails: pa.Array, quals: pa.Array, found: pa.Array
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(status and reason per row for the client's professional address, status for the found one).

    One probe per distinct address; the verifier groups them by domain."""
    is_pro = pc.ends_with(pc.fill_null(quals, ""), "@pro")
    client = pc.if_else(is_pro, emails, pa.scalar(None, STRING))
    wanted = set(client.drop_null().to_pylist()) | set(found.drop_null().to_pylist())
    verdicts = verifier.verify(sorted(wanted)) if wanted else {}
    keys = pa.array(sorted(verdicts), STRING)
    statuses = pa.array([verdicts[k].status for k in keys.to_pylist()], STRING)
    reasons = pa.array([verdicts[k].reason for k in keys.to_pylist()], STRING)
    client_pos = pc.index_in(pc.utf8_lower(client), value_set=keys)
    found_pos = pc.index_in(pc.utf8_lower(found), value_set=keys)
    return pc.take(statuses, client_pos), pc.take(reasons, client_pos), pc.take(statuses, found_pos)


def _apply_verification(
    verifier: Verifier, email: pa.Array, notes: pa.Array, qualification: pa.Array, found: pa.Array, confidence: pa.Array
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array, pa.Array, pa.Array]:
    """(email, notes, qualification, found, confidence, verification) after the SMTP verdicts."""
    client_status, client_reason, found_status = _verify(verifier, email, qualification, found)
    refused = pc.equal(client_status, "undeliverable").fill_null(False)
    catch_all = pc.equal(client_status, "catch-all").fill_null(False)
    # A refused address leaves the e-mail column for the notes, with the reason and the value.
    note = pc.binary_join_element_wise(pa.scalar("invalid e-mail ("), client_reason, pa.scalar("): "), email, "")
    new_notes = pc.if_else(refused, _join_notes(notes, note), notes)
    new_email = pc.if_else(refused, pa.scalar(None, STRING), email)
    # "nominative@pro" -> "catch-all@pro" / "invalid@pro": the local-part class changes.
    domain_class = pc.replace_substring_regex(pc.fill_null(qualification, ""), r"^[^@]*", "")
    new_qual = pc.if_else(catch_all, pc.binary_join_element_wise(pa.scalar("catch-all"), domain_class, ""), qualification)
    new_qual = pc.if_else(refused, pc.binary_join_element_wise(pa.scalar("invalid"), domain_class, ""), new_qual)
    # Found addresses: confirmed ones are near certain, refused ones are withdrawn.
    confirmed = pc.equal(found_status, "deliverable").fill_null(False)
    withdrawn = pc.equal(found_status, "undeliverable").fill_null(False)
    new_conf = pc.if_else(confirmed, pc.max_element_wise(confidence, pa.scalar(0.99)), confidence)
    new_conf = pc.if_else(withdrawn, pa.scalar(None, FLOAT), new_conf)
    new_found = pc.if_else(withdrawn, pa.scalar(None, STRING), found)
    found_status = pc.if_else(withdrawn, pa.scalar(None, STRING), found_status)
    # The verdict shown is the client's address's, else (no address sent) the found one's.
    status = pc.coalesce(client_status, pc.if_else(pc.is_null(email), found_status, pa.scalar(None, STRING)))
    return new_email, new_notes, new_qual, new_found, new_conf, status


def enrich_with_report(
    standardised: pa.Table,
    settings: ControllerSettings | None = None,
    *,
    history: pa.Table | None = None,
    reference: pa.Table | None = None,
    verifier: Verifier | None = None,
    received_at: dt.datetime | str | None = None,
    processed_at: dt.datetime | None = None,
) -> EnrichOutput:
    """The standardised contacts plus the enrichment columns (ADDED_COLUMNS) and final provenance.

    history: e-mail pattern observations of the controller's earlier uploads (pattern store).
    reference: a loaded reference table (load_reference); loaded from the settings when None.
    verifier: needed when `verification` is enabled (resources.verification.SmtpVerifier).
    received_at / processed_at: provenance times of input values and of everything else.
    """
    settings = settings or ControllerSettings()
    processed_at = processed_at or dt.datetime.now(dt.timezone.utc)
    received_at = received_at or processed_at
    seconds: dict[str, float] = {}
    t = standardised
    n = t.num_rows
    col = t.column
    sources: dict[str, pa.Array] = {}

    def qualify() -> tuple[pa.Array, pa.Array]:
        qualification = qualify_emails(col("email"), col("email_note"))
        is_pro = pc.ends_with(pc.fill_null(qualification, ""), "@pro")
        pro_domain = pc.if_else(is_pro, registered_domains(col("email_domain")), pa.scalar(None, STRING))
        return qualification, pc.coalesce(col("website_domain"), pro_domain)

    qualification, company_domain = _timed(seconds, "qualification", qualify)
    sources["email_qualification"] = prov.source_of(qualification, prov.NORMALISED)
    sources["company_domain"] = prov.source_of(company_domain, prov.NORMALISED)
    email = col("email").combine_chunks()
    notes = col("notes").combine_chunks()
    civility = col("civility").combine_chunks()

    if settings.enabled("civility"):
        def civilities() -> pa.Array:
            region = pc.coalesce(col("country"), col("phone_country"), pa.scalar(settings.default_country))
            return infer_civility(col("first_name"), region, settings.language)

        guessed = _timed(seconds, "civility", civilities)
        inferred = pc.and_(pc.is_null(civility), pc.is_valid(guessed))
        civility = pc.coalesce(civility, guessed)
        sources["civility"] = pc.if_else(inferred, pa.scalar(prov.INFERRED), _struct_source(t, "civility"))

    job_level, job_function = _nulls(n), _nulls(n)
    if settings.enabled("job_classification"):
        job_level, job_function = _timed(seconds, "job_classification", lambda: classify_job_titles(col("job_title")))
    sources["job_level"] = prov.source_of(job_level, prov.INFERRED)
    sources["job_function"] = prov.source_of(job_function, prov.INFERRED)

    found, confidence = _nulls(n), _nulls(n, FLOAT)
    observations = OBSERVATIONS_SCHEMA.empty_table()
    if settings.enabled("email_finding"):
        def finding() -> tuple[pa.Array, pa.Array, pa.Table]:
            observed = learn_patterns(col("first_name"), col("last_name"), email, qualification)
            domains = company_mail_domains(col("email_domain"), qualification, col("website_domain"), col("company_key"))
            options = FindingSettings(settings.email_finding.min_known_contacts, settings.email_finding.min_confidence)
            known = merge_observations(observed, history if settings.email_finding.use_history else None)
            f, c = find_emails(col("first_name"), col("last_name"), email, qualification, domains, known, options)
            return f, c, observed

        found, confidence, observations = _timed(seconds, "email_finding", finding)

    verification = _nulls(n)
    if settings.enabled("verification"):
        if verifier is None:
            raise ValueError("verification is enabled but no verifier was given")

        def verify() -> tuple[pa.Array, ...]:
            return _apply_verification(verifier, email, notes, qualification, found, confidence)

        email, notes, qualification, found, confidence, verification = _timed(seconds, "verification", verify)
        sources["email"] = pc.if_else(pc.is_valid(email), _struct_source(t, "email"), pa.scalar(None, STRING))
        sources["email_qualification"] = prov.source_of(qualification, prov.NORMALISED)
        sources["email_verification"] = prov.source_of(verification, prov.INFERRED)
    sources["email_found"] = prov.source_of(found, prov.INFERRED)
    sources["email_confidence"] = prov.source_of(confidence, prov.INFERRED)
    # Where the row's address comes from: the client's (input/normalised), else a found one.
    email_src = sources.get("email", _struct_source(t, "email"))
    email_source = pc.if_else(
        pc.is_valid(email), email_src, pc.if_else(pc.is_valid(found), pa.scalar(prov.INFERRED), pa.scalar(None, STRING))
    )

    sources.setdefault("email_verification", _nulls(n))
    reference_cols = {name: _nulls(n) for name in REFERENCE_OUTPUTS}
    sources.update({name: _nulls(n) for name in REFERENCE_OUTPUTS})
    siren = col("siren").combine_chunks()
    if settings.enabled("company_reference"):
        def referencing() -> dict[str, pa.Array]:
            ref = reference if reference is not None else load_reference(settings.reference)
            return join_reference(
                col("siret"), col("siren"), col("vat_number"), company_domain, col("company_key"), ref,
                settings.reference.join_on,
            )

        joined = _timed(seconds, "company_reference", referencing)
        reference_cols = {name: joined[name] for name in REFERENCE_OUTPUTS}
        from_reference = pc.and_(pc.is_null(siren), pc.is_valid(joined["siren"]))
        siren = pc.coalesce(siren, joined["siren"])
        sources["siren"] = pc.if_else(from_reference, pa.scalar(prov.REFERENCE), _struct_source(t, "siren"))
        for name in REFERENCE_OUTPUTS:
            sources[name] = prov.source_of(reference_cols[name], prov.REFERENCE)

    provenance = prov.finalise(prov.with_sources(t.column("provenance"), sources), received_at, processed_at)
    out = t.drop_columns(["provenance"])
    out = _set(out, "civility", civility)
    out = _set(out, "email", email)
    out = _set(out, "notes", notes)
    out = _set(out, "siren", siren)
    added = {
        "email_qualification": qualification,
        "company_domain": company_domain,
        "job_level": job_level,
        "job_function": job_function,
        "email_source": email_source,
        "email_found": found,
        "email_confidence": confidence,
        "email_verification": verification,
        **reference_cols,
    }
    for name in ADDED_COLUMNS:
        out = out.append_column(name, added[name])
    out = out.append_column("provenance", provenance)
    if settings.provenance_in_csv:
        out = out.append_column("provenance_text", prov.csv_text(provenance))
    return EnrichOutput(out, observations, seconds)


def enrich(standardised: pa.Table, settings: ControllerSettings | None = None, **context: object) -> pa.Table:
    """The enriched table only (see `enrich_with_report`)."""
    return enrich_with_report(standardised, settings, **context).table  # type: ignore[arg-type]


def _struct_source(table: pa.Table, name: str) -> pa.Array:
    """The standardisation stage's provenance source for one column."""
    struct = table.column("provenance").combine_chunks()
    return pc.struct_field(struct, name)


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)
