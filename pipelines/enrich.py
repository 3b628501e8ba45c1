"""Enrichment stage. By default it only qualifies what the client sent (privacy by default):
the e-mail qualification and the company domain taken from a professional address.
Enrichments that infer new personal data come with the controller's settings (issue #3).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields.emails import qualify_emails
from pipelines.fields.web import registered_domains

LINEAGE: dict[str, list[str]] = {
    "email_qualification": ["email", "email_note"],
    "company_domain": ["website_domain", "email_domain"],
}


def enrich(standardised: pa.Table) -> pa.Table:
    """The standardised contacts plus `email_qualification` and `company_domain`."""
    qualification = qualify_emails(standardised.column("email"), standardised.column("email_note"))
    is_pro = pc.ends_with(pc.fill_null(qualification, ""), "@pro")
    pro_domain = pc.if_else(is_pro, registered_domains(standardised.column("email_domain")), pa.scalar(None, pa.string()))
    company_domain = pc.coalesce(standardised.column("website_domain"), pro_domain)
    table = standardised.append_column("email_qualification", qualification)
    return table.append_column("company_domain", company_domain)
