"""Issue #9 on real parts: the written corpus of bounces and auto-replies (FR, EN, DE, ES) in a real
Dovecot on loopback, read by `refinery mailbox scan` over TLS; the same corpus as an mbox export;
both give the same signals and the same updates of the controller's contacts."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pyarrow.parquet as pq
import pytest

from bench.mailbox_corpus import build_corpus, write_mbox
from tests.conftest import run_cli
from tests.imap_server import dovecot

CONTROLLER = "imapco"


def _signals(store, scan_dir) -> set[tuple[str, str, str | None]]:
    table = pq.read_table(store / "work" / CONTROLLER / scan_dir / "mailbox_signals.parquet")
    return {(r["address"], r["signal"], r["replacement_email"]) for r in table.to_pylist()}


def _scan_dir(stderr: str) -> str:
    line = next(l for l in stderr.splitlines() if "mailbox scan mb-" in l)
    return line.split("mailbox scan ")[1].split()[0]


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(n_per_kind=2, seed=3)


def test_imap_and_mbox_give_the_same_signals_and_updates(corpus, tmp_path, monkeypatch):
    expected = {(a, s, r) for m in corpus for a, s, r in m.expected}
    # The controller's contacts: every address the corpus speaks of, one row each.
    contacts = tmp_path / "contacts.csv"
    addresses = sorted({a for a, _, _ in expected})
    with open(contacts, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(["E-mail", "Société"])
        writer.writerows([[a, a.split("@")[1].split(".")[0].title()] for a in addresses])
    now = dt.datetime.now(dt.timezone.utc)
    folders: dict[str, list] = {}
    for i, m in enumerate(corpus):
        folders.setdefault(m.folder, []).append((m.raw, now - dt.timedelta(hours=i + 1)))
    # An old message outside the settings' date range, and a folder the settings do not allow: never read.
    old_bounce = next(m for m in corpus if m.expected and m.expected[0][1] == "hard_bounce")
    folders["INBOX"].append((old_bounce.raw.replace(old_bounce.expected[0][0].encode(), b"old.one@outside.example"),
                             now - dt.timedelta(days=400)))
    folders["Private"] = [(old_bounce.raw.replace(old_bounce.expected[0][0].encode(), b"private.one@outside.example"),
                           now - dt.timedelta(hours=1))]
    with dovecot(tmp_path, folders) as server:
        settings = tmp_path / "settings.yaml"
        settings.write_text(
            "mailboxes:\n"
            f"  - {{id: sales-inbox, host: {server.host}, port: {server.imaps_port}, security: tls, auth: password,\n"
            f"      username: {server.username}, folders: [INBOX, Bounces, Auto-replies], since_days: 30}}\n"
            "  - {id: sales-archive, source: export}\n",
            "utf-8",
        )
        monkeypatch.setenv("REFINERY_IMAP_SECRET_SALES_INBOX", server.password)
        monkeypatch.setenv("REFINERY_IMAP_CA_FILE", str(server.ca_file))
        store = tmp_path / "store"
        first = run_cli("run", str(contacts), "--controller", CONTROLLER, "--settings", str(settings), "--out",
                        str(tmp_path / "out"), store=store)
        assert first.returncode == 0, first.stderr

        imap = run_cli("mailbox", "scan", "--controller", CONTROLLER, "--mailbox", "sales-inbox", "--settings",
                       str(settings), "--out", str(tmp_path / "imap-out"), store=store)
        assert imap.returncode == 0, imap.stderr
        # Read-only: every message is still unseen on the server.
        conn = server.connect()
        try:
            conn.select("INBOX", readonly=True)
            _, unseen = conn.search(None, "UNSEEN")
            assert len(unseen[0].split()) == len(folders["INBOX"])
        finally:
            conn.logout()

    mbox = tmp_path / "archive.mbox"
    write_mbox(corpus, mbox)
    export = run_cli("mailbox", "scan", "--controller", CONTROLLER, "--mailbox", "sales-archive", "--export", str(mbox),
                     "--settings", str(settings), "--out", str(tmp_path / "mbox-out"), store=store)
    assert export.returncode == 0, export.stderr

    from_imap = _signals(store, _scan_dir(imap.stderr))
    from_mbox = _signals(store, _scan_dir(export.stderr))
    assert from_imap == from_mbox
    assert not {a for a, _, _ in from_imap} & {"old.one@outside.example", "private.one@outside.example"}
    found = {(a, s, r) for a, s, r in from_imap}
    true_positives = len(found & expected)
    # A floor against regressions; the measured figures are bench_mailbox's (BENCHMARKS.md).
    assert true_positives / len(found) >= 0.9 and true_positives / len(expected) >= 0.8, (
        f"precision {true_positives / len(found):.3f}, recall {true_positives / len(expected):.3f}")

    imap_summary = json.loads((tmp_path / "imap-out" / "summary.json").read_text())
    mbox_summary = json.loads((tmp_path / "mbox-out" / "summary.json").read_text())
    for key in ("signals", "hard_bounces", "soft_bounces", "departures", "emails_marked_invalid", "departed_flagged"):
        assert imap_summary[key] == mbox_summary[key], key
    assert imap_summary["emails_marked_invalid"] > 0 and imap_summary["departed_flagged"] > 0
