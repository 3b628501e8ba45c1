"""MX + SMTP RCPT TO verification against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from aiosmtpd.controller import Controller

from pipelines.controller_settings import ControllerSettings
from pipelines.enrich import enrich_with_report
from pipelines.standardise import standardise
from resources.verification import (
    CATCH_ALL,
    DELIVERABLE,
    UNDELIVERABLE,
    UNKNOWN,
    DnsUnavailable,
    EmailVerificationResource,
    SmtpVerifier,
)
from tests.test_enrich import validated


class Mailboxes:
    """Accepts the listed mailboxes, every address of catch-all domains; refuses the rest."""

    def __init__(self, boxes: set[str], catch_all: set[str] = frozenset()):
        self.boxes, self.catch_all = boxes, catch_all
        self.rcpts: list[str] = []
        self.data_received = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts.append(address)
        if address.lower() in self.boxes or address.rsplit("@", 1)[1] in self.catch_all:
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return "550 5.1.1 No such user"

    async def handle_DATA(self, server, session, envelope):
        self.data_received = True
        return "554 no thanks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp_server():
    handler = Mailboxes({"jean.dupont@acme.fr", "marie.durand@acme.fr"}, {"open.fr"})
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def local_mx(domain: str) -> list[str]:
    """Every domain's mail goes to the local server; nomx.fr has none; dnsdown.fr times out."""
    if domain == "dnsdown.fr":
        raise DnsUnavailable("Timeout")
    return [] if domain == "nomx.fr" else ["127.0.0.1"]


def test_verdicts(smtp_server):
    handler, port = smtp_server
    verifier = SmtpVerifier(local_mx, port=port, timeout_s=5)
    verdicts = verifier.verify(
        ["Jean.Dupont@acme.fr", "ghost@acme.fr", "anyone@open.fr", "a@nomx.fr", "b@dnsdown.fr"]
    )
    assert {a: v.status for a, v in verdicts.items()} == {
        "jean.dupont@acme.fr": DELIVERABLE,
        "ghost@acme.fr": UNDELIVERABLE,
        "anyone@open.fr": CATCH_ALL,
        "a@nomx.fr": UNDELIVERABLE,
        "b@dnsdown.fr": UNKNOWN,
    }
    assert "550" in verdicts["ghost@acme.fr"].reason
    # One random probe per domain for catch-all detection, and never a message.
    probes = [r for r in handler.rcpts if r.startswith("refinery-probe-")]
    assert len(probes) == 2 and not handler.data_received


def test_unreachable_server_is_unknown_not_invalid():
    verifier = SmtpVerifier(lambda d: ["127.0.0.1"], port=free_port(), timeout_s=2)
    assert verifier.verify(["jean@acme.fr"])["jean@acme.fr"].status == UNKNOWN


def test_domain_limit():
    verifier = SmtpVerifier(lambda d: [], max_domains=1)
    verdicts = verifier.verify(["a@one.fr", "b@two.fr"])
    assert verdicts["a@one.fr"].status == UNDELIVERABLE and verdicts["b@two.fr"].status == UNKNOWN


def test_resource_with_fixed_hosts(smtp_server):
    _, port = smtp_server
    verifier = EmailVerificationResource(port=port, mx_hosts=["127.0.0.1"], timeout_s=5).verifier()
    assert verifier.verify(["marie.durand@acme.fr"])["marie.durand@acme.fr"].status == DELIVERABLE


def test_enrichment_with_verification(smtp_server):
    _, port = smtp_server
    rows = [
        {"first_name": "Jean", "last_name": "Dupont", "email": "jean.dupont@acme.fr", "company": "Acme"},
        {"first_name": "Marie", "last_name": "Durand", "email": "marie.durand@acme.fr", "company": "Acme"},
        {"first_name": "Paul", "last_name": "Ghost", "email": "paul.ghost@acme.fr", "company": "Acme"},
        {"first_name": "Luc", "last_name": "Open", "email": "luc@open.fr", "company": "Open"},
        {"first_name": "Zoé", "last_name": "Martin", "email": "zoe.martin@gmail.com", "company": "Acme"},
    ]
    settings = dataclasses.replace(ControllerSettings(), enrichments=frozenset({"verification", "email_finding"}))
    out = enrich_with_report(
        standardise(validated(rows)), settings, verifier=SmtpVerifier(local_mx, port=port, timeout_s=5)
    ).table.to_pylist()
    jean, _, ghost, luc, zoe = out
    assert jean["email_verification"] == DELIVERABLE and jean["email_qualification"] == "nominative@pro"
    # Refused by the server: out of the e-mail column, into the notes with reason and value.
    assert ghost["email"] is None and ghost["email_qualification"] == "invalid@pro"
    assert "invalid e-mail (mailbox refused by the mail server (550)): paul.ghost@acme.fr" in ghost["notes"]
    assert luc["email_qualification"] == "catch-all@pro" and luc["email_verification"] == CATCH_ALL
    # The found address is not a mailbox of acme.fr: withdrawn rather than proposed.
    assert zoe["email_found"] is None and zoe["email"] == "zoe.martin@gmail.com"
