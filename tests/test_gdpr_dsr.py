"""Data-subject rights for one person across everything stored for a controller, the suppression
list applied at ingestion, and a request forwarded to the controller by e-mail."""

from __future__ import annotations

import json
import socket

import pytest

from pipelines import dsr
from resources.instruction_log import RecordsDB
from resources.keys import KeyStore
from resources.object_store import LocalObjectStore
from tests.test_gdpr_support import CANARY_EMAIL, NEEDLES, canary_file, copy_world, gdpr_world, scan_sqlite, scan_tree, world_env  # noqa: F401


@pytest.fixture()
def world(gdpr_world, tmp_path):
    src, upload_id = gdpr_world
    root = copy_world(src, tmp_path / "world")
    store = LocalObjectStore(root / "store")
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        yield root, upload_id, store, db, KeyStore(root / "keys")


def test_access_finds_every_stored_copy_with_provenance_and_location(world):
    root, upload_id, store, db, keys = world
    out = dsr.access(store, db, keys, "acme", dsr.Subject(email=CANARY_EMAIL.upper()))
    report = out.report
    assert out.records == 2 and len(report["person_ids"]) == 1  # the duplicate pair is one person
    files = {e["file"] for e in report["entries"]}
    assert {"source", "raw_upload", "validated_rows", "standardised_contacts", "enriched_contacts", "linked_contacts",
            "golden_records", "contacts", "golden", "duplicates", "merge_audit", "master"} <= files
    formats = {(e["file"], e["format"]) for e in report["entries"]}
    assert ("contacts", "csv") in formats and ("contacts", "parquet") in formats and ("duplicates", "xlsx") in formats
    source = next(e for e in report["entries"] if e["file"] == "source")
    assert source["values"]["Prénom"] == "Zéphyrine" and source["object_key"].startswith("uploads/acme/")
    assert source["stored_in"].startswith("local folder") and source["received_at"] == "2026-11-26T09:00:00Z"
    enriched = next(e for e in report["entries"] if e["file"] == "enriched_contacts")
    assert enriched["provenance"]["email"]["source"] == "input" and enriched["matched_by"] == "e-mail"
    # only this person's values: no other e-mail address anywhere in the report
    text = json.dumps(report, ensure_ascii=False)
    emails = {w.strip('",.;') for w in text.split() if "@" in w and "." in w.split("@")[-1]}
    assert {e.lower() for e in emails} <= {CANARY_EMAIL, f'"{CANARY_EMAIL}"'}, emails
    csv_text = dsr.access_csv(report)
    assert csv_text.splitlines()[0].startswith("stored_in,object_key,file") and ",input," in csv_text
    # by name and company (any order, case, accents, legal form): the same records
    by_name = dsr.find(store, "acme", dsr.Subject(name="CANARYWOOD Zephyrine", company="canary corp"))
    assert by_name.record_keys == set(report["records"])
    # the request log holds keyed hashes only
    row = db.one("SELECT * FROM dsr_requests")
    assert row["request_right"] == "access" and row["subject_hash"].startswith("h1:")
    assert scan_sqlite(root / "gdpr" / "records.sqlite") == set()


def test_export_gives_the_records_in_a_portable_form(world):
    _, upload_id, store, db, keys = world
    out = dsr.export(store, db, keys, "acme", dsr.Subject(email=CANARY_EMAIL))
    records = out.report["records"]
    assert len(records) == 2 and {r["record"].split(":")[0] for r in records} == {upload_id}
    assert records[0]["first_name"] == "Zéphyrine" and records[0]["phone_e164"] == "+33698765432"
    assert dsr.portability_csv(out.report).splitlines()[0].startswith("record,received_at,civility")


def test_rectify_changes_the_value_everywhere(world):
    _, _, store, db, keys = world
    out = dsr.rectify(store, db, keys, "acme", dsr.Subject(email=CANARY_EMAIL), {"last_name": "Canarywood-Martin"})
    assert out.files_changed >= 10
    report = dsr.access(store, db, keys, "acme", dsr.Subject(email=CANARY_EMAIL)).report
    last_names = {e["values"].get("last_name") or e["values"].get("Nom") or e["values"].get("kept_last_name")
                  for e in report["entries"] if e["file"] not in ("merge_audit",)} - {None}
    assert last_names == {"Canarywood-Martin"}
    # The rectified value's provenance says so, with the time; the other fields keep theirs.
    entries = [e for e in report["entries"] if e["file"] == "contacts" and isinstance(e.get("provenance"), dict)]
    assert entries and all(e["provenance"]["last_name"]["source"] == "rectified" for e in entries)
    assert all(e["provenance"]["email"]["source"] != "rectified" for e in entries if e["provenance"].get("email"))
    with pytest.raises(dsr.DsrError, match="cannot be rectified"):
        dsr.rectify(store, db, keys, "acme", dsr.Subject(email=CANARY_EMAIL), {"cluster_id": "P1"})


def test_erase_rewrites_every_file_and_a_later_upload_is_screened(world, tmp_path):
    import pyarrow.parquet as pq

    from pipelines.reader import parse_contact_bytes, source_info
    from pipelines.validate import split_rows

    root, upload_id, store, db, keys = world
    contacts_before = pq.read_table(root / "store" / "exports" / "acme" / upload_id / "contacts.parquet").num_rows
    out = dsr.erase(store, db, keys, "acme", dsr.Subject(name="Zéphyrine Canarywood", company="Canary Corp"))
    cert = out.certificate
    assert cert["verification"]["passed"] and cert["verification"]["found"] == 0
    assert out.records == 2 and out.suppression_added >= 2
    # a scan of every stored byte finds nothing of the person (Parquet decoded, XLSX unzipped)
    assert scan_tree(root / "store") == {}
    assert scan_tree(root / "gdpr") == {} and scan_tree(root / "keys") == {}
    # row-aligned files keep one row per input row, emptied and quarantined with the reason
    contacts = pq.read_table(root / "store" / "exports" / "acme" / upload_id / "contacts.parquet")
    assert contacts.num_rows == contacts_before
    assert contacts.column("status_reason").to_pylist().count(dsr.REASON["erase"]) == 2
    # the person comes back in a later file of the controller: kept out before anything is stored
    raw = parse_contact_bytes(canary_file(tmp_path, rows=20, seed=3))
    screened = dsr.screen_upload(raw, "acme", db, keys)
    assert screened.rows == {"erase": [21, 22]}
    assert not {n for n in NEEDLES if n in json.dumps(screened.table.to_pylist(), ensure_ascii=False)}
    validated, quarantined = split_rows(screened.table, source_info(screened.table))
    validated, quarantined = dsr.quarantine_screened(screened.table, validated, quarantined)
    reasons = dict(zip(quarantined.column("row_number").to_pylist(), quarantined.column("status_reason").to_pylist()))
    assert reasons[21] == reasons[22] == dsr.REASON["erase"] and validated.num_rows + quarantined.num_rows == 22


def test_restricted_person_is_stored_but_not_processed(world, tmp_path):
    from pipelines.reader import parse_contact_bytes, source_info
    from pipelines.validate import split_rows

    _, _, store, db, keys = world
    out = dsr.restrict_or_object(store, db, keys, "acme", dsr.Subject(email=CANARY_EMAIL), "restrict")
    assert out.suppression_added >= 2
    raw = parse_contact_bytes(canary_file(tmp_path, rows=20, seed=3, copies=1))
    screened = dsr.screen_upload(raw, "acme", db, keys)
    assert screened.rows == {"restrict": [21]}
    assert "Canarywood" in json.dumps(screened.table.to_pylist(), ensure_ascii=False)  # kept as sent
    validated, quarantined = dsr.quarantine_screened(screened.table, *split_rows(screened.table, source_info(screened.table)))
    assert 21 not in validated.column("row_number").to_pylist()
    row = [r for r in quarantined.to_pylist() if r["row_number"] == 21][0]
    assert row["status_reason"] == dsr.REASON["restrict"] and row["last_name"] == "Canarywood"
    # lifting the restriction lets the person through again; another controller never sees the list
    assert dsr.lift(db, keys, "acme", dsr.Subject(email=CANARY_EMAIL), "restrict") >= 1
    assert dsr.screen_upload(raw, "beta", db, keys).rows == {}


def test_screening_without_a_list_is_free(world, tmp_path):
    from pipelines.reader import parse_contact_bytes

    _, _, _, db, keys = world
    raw = parse_contact_bytes(canary_file(tmp_path, rows=20, seed=3))
    screened = dsr.screen_upload(raw, "acme", db, keys)
    assert screened.table is raw and screened.count == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


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


def test_a_request_reaching_the_processor_is_forwarded_to_the_controller(world, smtp_server, monkeypatch, capsys):
    from dagster_project.cli import main

    root, _, _, _, _ = world
    port, inbox = smtp_server
    for name, value in (world_env(root) | {"REFINERY_SMTP_HOST": "127.0.0.1", "REFINERY_SMTP_PORT": str(port),
                                           "REFINERY_SMTP_SECURITY": "none", "REFINERY_SMTP_FROM": "privacy@processor.example"}).items():
        monkeypatch.setenv(name, value)
    assert main(["dsr", "forward", "--controller", "acme", "--right", "erasure", "--email", CANARY_EMAIL]) == 1
    assert "no contact address" in capsys.readouterr().err
    assert main(["controller", "set", "--controller", "acme", "--contact-email", "privacy@acme.example", "--dpo-email", "dpo@acme.example"]) == 0
    assert main(["dsr", "forward", "--controller", "acme", "--right", "erasure", "--email", CANARY_EMAIL,
                 "--message", "Please delete my data", "--channel", "e-mail"]) == 0
    [message] = inbox.messages
    assert set(message.rcpt_tos) == {"privacy@acme.example", "dpo@acme.example"}
    from email import message_from_bytes, policy

    body = message_from_bytes(message.content, policy=policy.default).get_body(("plain",)).get_content()
    assert CANARY_EMAIL in body and "erasure" in body and "without acting on it" in body
    err = capsys.readouterr().err
    assert "forwarded to controller acme" in err and CANARY_EMAIL not in err
    with RecordsDB(sqlite_path=root / "gdpr" / "records.sqlite") as db:
        row = db.one("SELECT * FROM dsr_requests WHERE request_right = 'forward_erasure'")
        assert row["status"] == "forwarded" and json.loads(row["body"])["message_id"]
    assert scan_sqlite(root / "gdpr" / "records.sqlite") == set()


def test_dsr_cli_access_and_erase(world, monkeypatch, capsys, tmp_path):
    from dagster_project.cli import main

    root, _, _, _, _ = world
    for name, value in world_env(root).items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "access.json"
    assert main(["dsr", "access", "--controller", "acme", "--email", CANARY_EMAIL, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["records"]
    assert main(["dsr", "erase", "--controller", "acme", "--email", CANARY_EMAIL]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["dsr", "erase", "--controller", "acme", "--email", CANARY_EMAIL, "--yes"]) == 0
    err = capsys.readouterr().err
    assert "rescan found nothing" in err and "Canarywood" not in err
    assert main(["dsr", "access", "--controller", "acme", "--name", "Zéphyrine Canarywood"]) == 2
    assert capsys.readouterr().err.strip() == "refinery: error: give --email, or --name with --company"
