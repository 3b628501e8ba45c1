"""Breach notices (Art. 33(3)) with counts from lineage, sent by e-mail, the 72-hour clock; the
mailer's TLS rules; the audit bundle and its hashes."""

from __future__ import annotations

import datetime as dt
import json
import socket
import zipfile

import pytest

from pipelines import incidents, register_audit
from resources.instruction_log import RecordsDB
from resources.mailer import Mailer, MailerError, SmtpSettings
from resources.object_store import LocalObjectStore
from tests.test_gdpr_support import copy_world, gdpr_world, scan_tree, world_env  # noqa: F401

UTC = dt.timezone.utc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _text(envelope) -> str:
    """The message body as the recipient reads it (transfer encoding undone)."""
    from email import message_from_bytes, policy

    return message_from_bytes(envelope.content, policy=policy.default).get_body(("plain",)).get_content()


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _self_signed(tmp_path):
    crypto = pytest.importorskip("cryptography")  # noqa: F841
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return tmp_path / "cert.pem", tmp_path / "key.pem"


@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def test_mailer_requires_tls_except_on_this_machine(smtp_server, tmp_path):
    port, inbox = smtp_server
    with pytest.raises(MailerError, match="plain SMTP is refused"):
        SmtpSettings("smtp.example.eu", 25, "none", "a@b.example")
    with pytest.raises(MailerError, match="REFINERY_SMTP_HOST"):
        SmtpSettings.from_env({})
    # a relay that offers no STARTTLS is refused when TLS is asked for
    with pytest.raises(MailerError, match="does not offer STARTTLS"):
        Mailer(SmtpSettings("127.0.0.1", port, "starttls", "a@b.example")).send(["c@d.example"], "s", "b")
    assert inbox.messages == []


def test_mailer_sends_over_starttls(tmp_path):
    import ssl

    from aiosmtpd.controller import Controller

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=context, require_starttls=True)
    controller.start()
    try:
        settings = SmtpSettings("127.0.0.1", controller.port, "starttls", "privacy@processor.example", verify_tls=False)
        message_id = Mailer(settings).send(["dpo@acme.example"], "subject", "body")
    finally:
        controller.stop()
    assert message_id.startswith("<") and inbox.messages[0].rcpt_tos == ["dpo@acme.example"]


def test_breach_notice_counts_from_lineage_and_is_sent_within_the_deadline(gdpr_world, tmp_path, smtp_server, monkeypatch, capsys):
    from dagster_project.cli import main

    src, upload_id = gdpr_world
    root = copy_world(src, tmp_path / "world")
    port, inbox = smtp_server
    env = world_env(root) | {"REFINERY_SMTP_HOST": "127.0.0.1", "REFINERY_SMTP_PORT": str(port), "REFINERY_SMTP_SECURITY": "none",
                             "REFINERY_SMTP_FROM": "privacy@processor.example", "REFINERY_PROCESSOR_NAME": "Refinery SAS",
                             "REFINERY_PROCESSOR_DPO_NAME": "DPO", "REFINERY_PROCESSOR_DPO_EMAIL": "dpo@processor.example"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = LocalObjectStore(root / "store")
    summary = json.loads(store.get_bytes(f"exports/acme/{upload_id}/summary.json"))
    assert main(["controller", "set", "--controller", "acme", "--name", "ACME SAS", "--contact-email", "privacy@acme.example"]) == 0
    aware = (dt.datetime.now(UTC) - dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["incident", "open", "--nature", "an export folder was readable by another tenant for 2 hours",
                 "--aware-at", aware, "--controller", "acme", "--upload", upload_id,
                 "--measures", "access revoked, keys rotated", "--out", str(tmp_path / "notices")]) == 0
    captured = capsys.readouterr()
    incident_id = captured.out.strip()
    assert "h" in captured.err and "left to notify" in captured.err and "notice sent to controller acme" in captured.err
    [message] = inbox.messages
    assert message.rcpt_tos == ["privacy@acme.example"]
    body = _text(message)
    assert f"Approximate number of records concerned: {summary['rows_in']}" in body
    assert f"Approximate number of data subjects concerned: {summary['golden_records'] + summary['rows_quarantined']}" in body \
        or "data subjects concerned" in body
    for needed in ("(a) Nature of the breach", "e-mail address (user.contact.email)", "(b) Contact point", "dpo@processor.example",
                   "(c) Likely consequences", "phishing", "(d) Measures taken or proposed", "access revoked", "72-hour deadline"):
        assert needed in body, needed
    assert (tmp_path / "notices" / f"{incident_id}-acme.txt").is_file()
    # the counts: rows of the upload, and persons from linkage (golden records + quarantined rows)
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        incident = incidents.get_incident(db, incident_id)
        sent = incident["notices"]["acme"]
        assert sent["records"] == summary["rows_in"] == 62
        assert sent["data_subjects"] == summary["golden_records"] + summary["rows_quarantined"]
        assert incidents.describe_time_left(incident) == "every controller notified"
        late = incidents.open_incident(db, nature="x", aware_at="2026-01-01T00:00:00Z", controllers=["acme"], now=dt.datetime(2026, 1, 4, 1, tzinfo=UTC))
        assert incidents.describe_time_left(late, dt.datetime(2026, 1, 4, 1, tzinfo=UTC)).startswith("OVERDUE by 1 h 00 min")
        assert incidents.time_left(late, dt.datetime(2026, 1, 1, 12, tzinfo=UTC)) == dt.timedelta(hours=60)
        n = incidents.notice(store, db, late, "acme", now=dt.datetime(2026, 1, 4, 1, tzinfo=UTC))
        assert n["late"] and "LATE" in incidents.render_notice(n)
    assert main(["incident", "update", incident_id, "--status", "contained", "--measures", "tenant isolation fixed", "--send"]) == 0
    assert len(inbox.messages) == 2 and "tenant isolation fixed" in _text(inbox.messages[1])
    assert main(["incident", "list"]) == 0
    assert incident_id in capsys.readouterr().out
    assert main(["incident", "open", "--nature", "x", "--aware-at", "yesterday", "--controller", "acme"]) == 2
    assert main(["incident", "update", "inc-nope", "--status", "closed"]) == 2


def test_audit_bundle_is_complete_and_its_hashes_verify(gdpr_world, tmp_path, monkeypatch, capsys):
    from dagster_project.cli import main
    from pipelines import retention

    src, _ = gdpr_world
    root = copy_world(src, tmp_path / "world")
    for name, value in world_env(root).items():
        monkeypatch.setenv(name, value)
    assert main(["instructions", "record", "--controller", "acme"]) == 0
    assert main(["incident", "open", "--nature", "test", "--aware-at", "2026-11-26T08:00:00Z", "--controller", "acme", "--no-send"]) == 0
    assert main(["retention", "run", "--as-of", "2027-06-01"]) == 0
    out = tmp_path / "bundle"
    assert main(["audit", "bundle", "--out", str(out), "--zip"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    names = set(manifest["files"])
    assert {"register/acme.json", "register/acme.csv", "register/acme.md", "register/acme.html", "instructions.jsonl",
            "instructions_check.json", "dsr_requests.jsonl", "run_links.jsonl"} <= names
    assert any(n.startswith("certificates/") for n in names) and any(n.startswith("incidents/") for n in names)
    assert any(n.startswith("notices/") for n in names)
    assert json.loads((out / "instructions_check.json").read_text())["ok"]
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        [cert] = retention.certificates(db)
    assert f"| {cert['id']} |" in (out / "register" / "acme.md").read_text()  # the register lists the certificate
    assert scan_tree(out) == {}  # nothing personal in the bundle
    assert register_audit.verify_bundle(out) == [] and register_audit.verify_bundle(tmp_path / "bundle.zip") == []
    assert main(["audit", "verify", str(tmp_path / "bundle.zip")]) == 0
    # tampering shows
    (out / "register" / "acme.md").write_text("edited")
    (out / "extra.txt").write_text("x")
    problems = register_audit.verify_bundle(out)
    assert "register/acme.md: content does not match its hash" in problems and "extra.txt: not listed in the manifest" in problems
    assert main(["audit", "verify", str(out)]) == 1
    with zipfile.ZipFile(tmp_path / "bundle.zip") as zf:
        assert "manifest.json" in zf.namelist()
    assert main(["audit", "bundle", "--out", str(out)]) == 2  # never into a folder with files
