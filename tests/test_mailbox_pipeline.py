"""Issue #9 as a user meets it: a controller's mailbox export goes in, an update file for the CRM
comes out, the master keeps the history, and nothing is read without the controller's instruction."""

from __future__ import annotations

import datetime as dt
import mailbox as mailbox_lib
from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.generator import generate, write_file
from pipelines import controller_settings, mailbox_updates
from pipelines.fields.email_finding import learn_patterns
from pipelines.instructions import settings_summary
from tests.conftest import run_cli
from tests.master_fixtures import committed_records

CONTROLLER = "mailco"


# ------------------------------------------------------------------------------------------------
# Messages as mail servers and people write them
# ------------------------------------------------------------------------------------------------
def dsn(failed: str, status: str = "5.1.1", when: str = "Mon, 02 Nov 2026 09:15:00 +0100") -> bytes:
    """An RFC 3464 delivery status notification, Postfix style."""
    return (
        "From: MAILER-DAEMON@mx.client.example (Mail Delivery System)\r\n"
        "To: commercial@client.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {when}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"\r\n'
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.client.example.\r\n"
        "I'm sorry to have to inform you that your message could not be delivered to one or more recipients.\r\n\r\n"
        f"<{failed}>: host mx.other.example said: 550 {status} User unknown\r\n\r\n"
        "--BOUND\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.client.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\r\n\r\n"
        "--BOUND\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: commercial@client.example\r\n"
        f"To: {failed}\r\n"
        "Subject: Offre de rentrée\r\n\r\n"
        "--BOUND--\r\n"
    ).encode("utf-8")  # 8-bit headers in the returned original happen


def departure_fr(sender: str, colleague: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "commercial@client.example"
    msg["Subject"] = "Réponse automatique : Offre de rentrée"
    msg["Date"] = "Tue, 03 Nov 2026 10:00:00 +0100"
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(
        "Bonjour,\n\nJe vous informe que j'ai quitté la société le 30 octobre.\n"
        f"Pour toute demande, merci de contacter ma collègue à l'adresse {colleague}.\n\nCordialement"
    )
    return bytes(msg)


def out_of_office_en(sender: str, colleague: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "commercial@client.example"
    msg["Subject"] = "Automatic reply: back-to-school offer"
    msg["Date"] = "Wed, 04 Nov 2026 08:00:00 +0000"
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(
        f"I am out of the office until Monday 16 November with limited access to e-mail. "
        f"For urgent matters please contact {colleague}.\n"
    )
    return bytes(msg)


def write_mbox(path: Path, messages: list[bytes]) -> Path:
    box = mailbox_lib.mbox(str(path))
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()
    return path


# ------------------------------------------------------------------------------------------------
# Settings: the instruction that names a mailbox
# ------------------------------------------------------------------------------------------------
def test_mailbox_settings_parse_and_the_log_never_shows_a_login():
    settings = controller_settings.apply_layer(controller_settings.ControllerSettings(), {
        "mailboxes": [
            {"id": "sales-inbox", "host": "imap.client.example", "username": "jeanne.martin@client.example",
             "auth": "xoauth2", "folders": ["INBOX", "Bounces"], "since_days": 30},
            {"id": "ceo-export", "source": "export"},
        ]
    }, "settings.yaml")
    assert settings.mailbox("sales-inbox").folders == ("INBOX", "Bounces")
    assert settings.mailbox("ceo-export").source == "export"
    recorded = settings.to_dict()
    assert controller_settings.from_dict(recorded) == settings
    assert "jeanne.martin" not in str(settings_summary(recorded))


def test_settings_without_mailboxes_keep_their_hash():
    # Settings recorded before mailboxes existed must still match their recorded instruction.
    assert "mailboxes" not in controller_settings.ControllerSettings().to_dict()


@pytest.mark.parametrize(
    "item, key",
    [
        ({"id": "jeanne@client.example", "host": "imap.x", "username": "u"}, "mailboxes[0].id"),
        ({"id": "m1", "username": "u"}, "mailboxes[0].host"),
        ({"id": "m1", "host": "imap.x"}, "mailboxes[0].username"),
        ({"id": "m1", "host": "imap.x", "username": "u", "security": "plain"}, "mailboxes[0].security"),
        ({"id": "m1", "source": "export", "host": "imap.x"}, "mailboxes[0].host"),
        ({"id": "m1", "host": "imap.x", "username": "u", "since_days": 0}, "mailboxes[0].since_days"),
    ],
)
def test_bad_mailbox_settings_name_the_key(item, key):
    with pytest.raises(controller_settings.SettingsError) as err:
        controller_settings.apply_layer(controller_settings.ControllerSettings(), {"mailboxes": [item]}, "s.yaml")
    assert err.value.key == key


# ------------------------------------------------------------------------------------------------
# Matching and deciding (framework-free)
# ------------------------------------------------------------------------------------------------
def _records() -> pa.Table:
    return pa.table({
        "record_key": [f"up-20261101t000000-aaaaaaaa:{i}" for i in (1, 2, 3, 4)],
        "upload_id": ["up-20261101t000000-aaaaaaaa"] * 4,
        "row_number": [1, 2, 3, 4],
        "person_id": ["P0000001", "P0000001", "P0000002", "P0000003"],
        "first_name": ["Hélène", "Hélène", "Marc", "Julie"],
        "last_name": ["Dupont-Moreau", "Dupont-Moreau", "Lefèvre", "Garnier"],
        "company": ["Acme", "Acme", "Bravo", "Delta"],
        "email": ["helene.dupont-moreau@acme.example", "h.dupont@gmail.com", "marc.lefevre@bravo.example",
                  "julie.garnier@delta.example"],
    })


def _signal(address, signal, day, replacement=None, kind=None, status=None):
    return {"address": address, "signal": signal, "observed_at": f"{day}T09:00:00Z", "source_mailbox": "sales",
            "status_code": status, "replacement_email": replacement, "replacement_kind": kind, "language": "fr"}


def test_signals_match_records_once_per_day_and_unknown_addresses_are_not_kept():
    signals = pa.Table.from_pylist([
        _signal("Helene.Dupont-Moreau@ACME.example", "hard_bounce", "2026-11-02", status="5.1.1"),
        _signal("helene.dupont-moreau@acme.example", "hard_bounce", "2026-11-02", status="5.1.1"),  # same bounce again
        _signal("stranger@elsewhere.example", "hard_bounce", "2026-11-02", status="5.1.1"),
    ])
    events = mailbox_updates.match_signals(signals, _records())
    assert events.column("record_key").to_pylist() == ["up-20261101t000000-aaaaaaaa:1"]
    assert "stranger@elsewhere.example" not in str(events.to_pylist())


def test_new_address_is_checked_against_the_domains_pattern():
    # acme.example writes first.last: five known colleagues say so.
    known = learn_patterns(
        pa.array(["Paul", "Anne", "Louis", "Chloé", "Inès"]), pa.array(["Martin", "Bernard", "Petit", "Roux", "Faure"]),
        pa.array(["paul.martin@newco.example", "anne.bernard@newco.example", "louis.petit@newco.example",
                  "chloe.roux@newco.example", "ines.faure@newco.example"]),
        pa.array(["nominative@pro"] * 5),
    )
    signals = pa.Table.from_pylist([
        _signal("marc.lefevre@bravo.example", "departed", "2026-11-03", "marc.lefevre@newco.example", "new_address"),
        _signal("julie.garnier@delta.example", "departed", "2026-11-03", "jgarnier@newco.example", "new_address"),
    ])
    decided = mailbox_updates.decide(mailbox_updates.match_signals(signals, _records()), None, known)
    checks = dict(zip(decided.column("email").to_pylist(), decided.column("replacement_check").to_pylist()))
    assert checks["marc.lefevre@bravo.example"] == "matches_domain_pattern"
    assert checks["julie.garnier@delta.example"] == "differs_from_domain_pattern"
    assert set(decided.column("action").to_pylist()) == {"flag_departed"}


def test_soft_bounces_on_three_days_make_an_address_invalid_and_history_keeps_everything():
    records = _records()
    history = None
    actions = []
    for i, day in enumerate(("2026-11-02", "2026-11-05", "2026-11-09")):
        signals = pa.Table.from_pylist([_signal("marc.lefevre@bravo.example", "soft_bounce", day, status="4.2.2")])
        decided = mailbox_updates.decide(mailbox_updates.match_signals(signals, records, history), history, learn_patterns(
            pa.array([], pa.string()), pa.array([], pa.string()), pa.array([], pa.string()), pa.array([], pa.string())))
        actions += decided.column("action").to_pylist()
        history = mailbox_updates.new_history(history, decided, f"mb-2026110{i}t000000-0000000{i}", dt.datetime(2026, 11, 10))
    assert actions == ["none_soft_bounce_noted", "none_soft_bounce_noted", "mark_email_invalid_repeated_soft_bounces"]
    status = mailbox_updates.email_status(history).to_pylist()
    assert status[0]["email_status"] == "invalid" and history.num_rows == 3
    # A re-run of the last scan replaces its own events: no duplicates.
    again = mailbox_updates.new_history(history, decided, "mb-20261102t000000-00000002", dt.datetime(2026, 11, 10))
    assert again.num_rows == 3


# ------------------------------------------------------------------------------------------------
# End to end: refinery run, then refinery mailbox scan with an mbox export
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def processed_controller(tmp_path_factory):
    base = tmp_path_factory.mktemp("mailbox")
    messy, _ = generate(600, seed=21, profile="fr")
    contacts = base / "contacts.csv"
    write_file(messy, contacts, fmt="csv", encoding="utf-8", delimiter=";", header_lang="fr")
    settings = base / "settings.yaml"
    settings.write_text(
        "mailboxes:\n  - id: sales-export\n    source: export\n"
        "  - {id: sales-inbox, host: imap.mailco.example, username: jeanne.martin@mailco.example}\n", "utf-8")
    store = base / "store"
    home = base / "dagster_home"  # a real (SQLite) instance: the event log is checked below
    home.mkdir()
    result = run_cli("run", str(contacts), "--controller", CONTROLLER, "--settings", str(settings), "--out",
                     str(base / "out"), store=store, dagster_home=home)
    assert result.returncode == 0, result.stderr
    records = committed_records(store, CONTROLLER)
    return base, store, settings, records


def _pro_addresses(records: pa.Table, n: int) -> list[str]:
    rows = [r for r in records.select(["email", "email_qualification"]).to_pylist() if r["email_qualification"] == "nominative@pro"]
    seen: list[str] = []
    for r in rows:
        if r["email"] not in seen:
            seen.append(r["email"])
    return seen[:n]


def test_mbox_export_gives_an_update_file_and_the_export_is_not_kept(processed_controller):
    base, store, settings, records = processed_controller
    bounced, departed, away = _pro_addresses(records, 3)
    colleague = "service.client@" + departed.split("@")[1]
    export = write_mbox(base / "boite_commerciale.mbox", [
        dsn(bounced), departure_fr(departed, colleague), out_of_office_en(away, "backup@" + away.split("@")[1]),
    ])
    out = base / "scan-out"
    result = run_cli("mailbox", "scan", "--controller", CONTROLLER, "--mailbox", "sales-export", "--export", str(export),
                     "--settings", str(settings), "--out", str(out), store=store, dagster_home=base / "dagster_home")
    assert result.returncode == 0, result.stderr
    updates = pd.read_csv(out / "mailbox_updates.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    by_email = {e: g for e, g in updates.groupby("email")}
    assert set(by_email) == {bounced, departed}  # the out-of-office reply changes nothing
    assert set(by_email[bounced]["action"]) == {"mark_email_invalid"}
    assert set(by_email[bounced]["status_code"]) == {"5.1.1"}
    assert set(by_email[departed]["action"]) == {"flag_departed"}
    assert set(by_email[departed]["proposed_email"]) == {colleague}
    assert set(updates["source"]) == {"mailbox"}
    # Each row names the person and the row of the file the client sent.
    assert updates["person_id"].str.match(r"^P\d{7}$").all() and (updates["row_number"] != "").all()
    # The master keeps the history; the mailbox export itself is gone (message bodies are never kept).
    events = pq.read_table(store / "controllers" / CONTROLLER / "master" / "email_events.parquet")
    assert set(events.column("signal").to_pylist()) == {"hard_bounce", "departed"}
    assert not list((store / "uploads" / CONTROLLER / "mailboxes").rglob("*.mbox"))
    assert "1 hard bounces" in result.stderr

    # The next upload of the same list shows what the mailboxes said, with its provenance.
    again = run_cli("run", str(base / "contacts.csv"), "--controller", CONTROLLER, "--settings", str(settings),
                    "--out", str(base / "out2"), store=store, dagster_home=base / "dagster_home")
    assert again.returncode == 0, again.stderr
    contacts = pd.read_csv(base / "out2" / "contacts.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    status = dict(zip(contacts["email"], contacts["email_status"]))
    assert status[bounced] == "invalid" and status[departed] == "departed" and status[away] == ""
    provenance = pq.read_table(base / "out2" / "contacts.parquet").column("provenance").to_pylist()
    row = contacts.index[contacts["email"] == bounced][0]
    assert provenance[row]["email_status"]["source"] == "mailbox"

    # The register lists the processing as its own category, under service (iii) of the agreement.
    register = run_cli("register", "--controller", CONTROLLER, "--format", "json", store=store,
                       dagster_home=base / "dagster_home")
    assert register.returncode == 0, register.stderr
    assert "update of erroneous e-mail addresses from the controller's mailboxes" in register.stdout
    assert "(iii) update erroneous e-mail addresses" in register.stdout
    # Nothing of the mailbox reached the event log: no address, no login, no export file name.
    for path in (base / "dagster_home").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (bounced, departed, colleague, away, "jeanne.martin", "boite_commerciale"):
                assert secret.encode() not in data, f"{secret} found in {path.name}"


def test_a_mailbox_the_settings_do_not_name_is_never_read(processed_controller):
    base, store, settings, _ = processed_controller
    export = write_mbox(base / "other.mbox", [dsn("someone@acme.example")])
    result = run_cli("mailbox", "scan", "--controller", CONTROLLER, "--mailbox", "ceo-inbox", "--export", str(export),
                     "--settings", str(settings), "--out", str(base / "x"), store=store)
    assert result.returncode == 1
    assert "mailbox ceo-inbox is not in the settings of controller mailco" in result.stderr
    assert not (store / "uploads" / CONTROLLER / "mailboxes" / "ceo-inbox").exists()


def test_erasing_a_person_removes_their_mailbox_history_and_updates(processed_controller):
    base, store, settings, records = processed_controller
    # This test may run on its own: make sure a scan has recorded something about someone first.
    target = _pro_addresses(records, 5)[4]
    export = write_mbox(base / "erase.mbox", [dsn(target)])
    scan = run_cli("mailbox", "scan", "--controller", CONTROLLER, "--mailbox", "sales-export", "--export", str(export),
                   "--settings", str(settings), "--out", str(base / "erase-out"), store=store)
    assert scan.returncode == 0, scan.stderr
    events_file = store / "controllers" / CONTROLLER / "master" / "email_events.parquet"
    assert target in pq.read_table(events_file).column("email").to_pylist()

    erased = run_cli("dsr", "erase", "--controller", CONTROLLER, "--email", target, "--yes", store=store)
    assert erased.returncode == 0, erased.stderr
    assert target not in pq.read_table(events_file).column("email").to_pylist()
    for path in (store / "exports" / CONTROLLER).rglob("mailbox_updates.*"):
        assert target.encode() not in path.read_bytes(), path.name
    for path in (store / "work" / CONTROLLER).rglob("mailbox_*.parquet"):
        assert target not in str(pq.read_table(path).to_pylist()), path.name


def test_retention_deletes_scans_and_their_history_like_uploads(tmp_path):
    # Its own controller and store: the sweep deletes everything that is due.
    messy, _ = generate(300, seed=22, profile="fr")
    contacts = tmp_path / "c.csv"
    write_file(messy, contacts, fmt="csv", encoding="utf-8", delimiter=";", header_lang="fr")
    settings = tmp_path / "s.yaml"
    settings.write_text("mailboxes:\n  - {id: box, source: export}\n", "utf-8")
    store = tmp_path / "store"
    assert run_cli("run", str(contacts), "--controller", "keepco", "--settings", str(settings), "--out",
                   str(tmp_path / "o"), store=store).returncode == 0
    records = committed_records(store, "keepco")
    export = write_mbox(tmp_path / "b.mbox", [dsn(a) for a in _pro_addresses(records, 2)])
    scan = run_cli("mailbox", "scan", "--controller", "keepco", "--mailbox", "box", "--export", str(export),
                   "--settings", str(settings), "--out", str(tmp_path / "so"), store=store)
    assert scan.returncode == 0, scan.stderr
    assert list((store / "exports" / "keepco").glob("mb-*"))
    swept = run_cli("retention", "run", "--as-of", "2099-01-01", store=store)
    assert swept.returncode == 0, swept.stderr
    assert not list((store / "exports" / "keepco").glob("mb-*")) and not list((store / "work" / "keepco").glob("mb-*"))
    events = store / "controllers" / "keepco" / "master" / "email_events.parquet"
    assert not events.exists() or pq.read_table(events).num_rows == 0
