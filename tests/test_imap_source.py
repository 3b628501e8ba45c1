"""The IMAP mailbox source against a real Dovecot on loopback (tests/imap_server.py)."""

from __future__ import annotations

import base64
import datetime as dt
import email
import socket
from dataclasses import replace

import pytest

from resources.imap_source import (
    FetchStats,
    ImapError,
    ImapMailbox,
    fetch_messages,
    imap_utf7,
    search_criteria,
    secret_env_name,
    secret_from_env,
    xoauth2_string,
)
from tests.imap_server import _free_port, dovecot, dovecot_factory  # noqa: F401 (a fixture)


def _message(subject: str, body: str = "Bonjour,\r\n", *, size: int = 0) -> bytes:
    padding = ("x" * 76 + "\r\n") * (size // 78) if size else ""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.client.example>\r\n"
        "To: anne.staff@client.example\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 2 Mar 2026 10:00:00 +0100\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@test.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}{padding}"
    ).encode("utf-8")


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=9, tzinfo=dt.timezone.utc)


INBOX = {
    "inbox-march-2": (_message("inbox-march-2"), _at("2026-03-02")),
    "inbox-march-10": (_message("inbox-march-10", "Message non remis\r\n"), _at("2026-03-10")),
    "inbox-april-1": (_message("inbox-april-1"), _at("2026-04-01")),
    "inbox-big": (_message("inbox-big", size=60_000), _at("2026-03-05")),
}
FOLDERS = {
    "INBOX": list(INBOX.values()),
    "Archive": [(_message("archive-dec"), _at("2025-12-01"))],
    "Private": [(_message("private-never-read"), _at("2026-03-03"))],
    # 'Envoyés' as stored on the server: IMAP folder names travel in modified UTF-7.
    "Envoy&AOk-s": [(_message("sent-accented-folder"), _at("2026-03-04"))],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with dovecot(tmp_path_factory.mktemp("imap"), FOLDERS, oauth2=True) as info:
        yield info


def _mailbox(server, **kw) -> ImapMailbox:
    base = dict(mailbox_id="mbx-sales-1", host=server.host, username=server.username, port=server.imaps_port,
                security="tls", ca_file=server.ca_file)
    base.update(kw)
    return ImapMailbox(**base)


def _subjects(messages) -> set[str]:
    return {email.message_from_bytes(raw)["Subject"] for _, _, raw in messages}


def test_password_over_implicit_tls_reads_the_inbox(server):
    got = list(fetch_messages(_mailbox(server), server.password))
    assert _subjects(got) == set(INBOX)
    assert {folder for folder, _, _ in got} == {"INBOX"}
    assert all(uid.isdigit() for _, uid, _ in got)
    raw = {email.message_from_bytes(r)["Subject"]: r for _, _, r in got}
    assert raw["inbox-march-10"] == INBOX["inbox-march-10"][0]  # the message exactly as delivered


def test_password_over_starttls(server):
    mailbox = _mailbox(server, port=server.imap_port, security="starttls", folders=("Archive",))
    assert _subjects(fetch_messages(mailbox, server.password)) == {"archive-dec"}


def test_xoauth2_access_token(server):
    mailbox = _mailbox(server, auth="xoauth2", folders=("Archive",))
    assert _subjects(fetch_messages(mailbox, server.oauth2_token)) == {"archive-dec"}


def test_expired_or_foreign_xoauth2_token_is_refused_without_leaking_it(server):
    mailbox = _mailbox(server, auth="xoauth2")
    for token in (server.make_token(expires_in=-60), server.make_token(subject="someone.else@client.example")):
        with pytest.raises(ImapError, match="refused the login") as err:
            list(fetch_messages(mailbox, token))
        message = str(err.value)
        assert "mbx-sales-1" in message and token not in message and server.username not in message
        assert "REFINERY_IMAP_SECRET_MBX_SALES_1" in message


def _commands_of(server, run) -> list[str]:
    """The IMAP commands the server received while `run()` fetched (one session, ending in LOGOUT)."""
    start = len(server.commands())
    run()
    logouts = server.commands()[:start].count("LOGOUT") + 1
    return server.commands(wait_for_logouts=logouts)[start:]


def test_only_the_allowed_folders_are_read(server):
    mailbox = _mailbox(server, folders=("INBOX", "Archive", "Envoyés"))
    got = []
    commands = _commands_of(server, lambda: got.extend(fetch_messages(mailbox, server.password)))
    assert "private-never-read" not in _subjects(got)
    assert {f for f, _, _ in got} == {"INBOX", "Archive", "Envoyés"}
    assert "sent-accented-folder" in _subjects(got)
    # The server's own log: only the three allowed folders were opened, no LIST of the others.
    assert [c for c in commands if not c.startswith("UID ")] == [
        'EXAMINE "INBOX"', 'EXAMINE "Archive"', 'EXAMINE "Envoy&AOk-s"', "LOGOUT"]


def test_since_and_before_limit_the_days_read(server):
    # SINCE is inclusive, BEFORE exclusive, both on the day the server received the message.
    mailbox = _mailbox(server, folders=("INBOX", "Archive"), since=dt.date(2026, 3, 5), before=dt.date(2026, 4, 1))
    assert _subjects(fetch_messages(mailbox, server.password)) == {"inbox-big", "inbox-march-10"}
    only_since = _mailbox(server, since=dt.date(2026, 3, 10))
    assert _subjects(fetch_messages(only_since, server.password)) == {"inbox-march-10", "inbox-april-1"}


def _flags_and_counts(server) -> dict[str, tuple[int, int, list[bytes]]]:
    conn = server.connect()
    try:
        state = {}
        for folder in FOLDERS:
            typ, data = conn.status(f'"{folder}"', "(MESSAGES UNSEEN)")
            assert typ == "OK"
            conn.select(f'"{folder}"', readonly=True)
            _, flags = conn.fetch("1:*", "(FLAGS)")
            state[folder] = (data[0], sorted(flags))
        return state
    finally:
        conn.logout()


def test_reading_changes_nothing_in_the_mailbox(server):
    before = _flags_and_counts(server)
    mailbox = _mailbox(server, folders=("INBOX", "Archive", "Envoyés"), since=dt.date(2026, 1, 1))
    got = []
    commands = _commands_of(server, lambda: got.extend(fetch_messages(mailbox, server.password, batch_size=2)))
    assert len(got) == 5
    # What the server received: read-only opens, searches and peeks, in batches; nothing else.
    verbs = {" ".join(c.split()[:2]) if c.startswith("UID ") else c.split()[0] for c in commands}
    assert verbs == {"EXAMINE", "UID SEARCH", "UID FETCH", "LOGOUT"}
    fetches = [c for c in commands if c.startswith("UID FETCH")]
    assert all(c.endswith("(RFC822.SIZE)") or c.endswith("(UID BODY.PEEK[])") for c in fetches)
    assert "UID FETCH 1,2 (RFC822.SIZE)" in fetches and 'UID SEARCH SINCE 01-Jan-2026' in commands
    after = _flags_and_counts(server)
    assert after == before
    # Still unseen everywhere, with a separate connection's view of the flags.
    assert all(b"\\Seen" not in line for _, lines in after.values() for line in lines)
    assert b"MESSAGES 4 UNSEEN 4" in after["INBOX"][0]


def test_wrong_password_is_a_clear_error_without_personal_data(server):
    mailbox = _mailbox(server)
    with pytest.raises(ImapError, match="refused the login") as err:
        list(fetch_messages(mailbox, "not-the-password"))
    message = str(err.value)
    assert "mbx-sales-1" in message
    assert server.username not in message and "not-the-password" not in message and server.password not in message
    assert "\n" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert server.username not in repr(mailbox)


def test_self_signed_certificate_without_ca_file_is_a_tls_error(server):
    for security, port in (("tls", server.imaps_port), ("starttls", server.imap_port)):
        mailbox = _mailbox(server, security=security, port=port, ca_file=None)
        with pytest.raises(ImapError, match="TLS certificate") as err:
            list(fetch_messages(mailbox, server.password))
        assert "ca_file" in str(err.value)


def test_tls_to_a_plain_port_is_a_tls_error(server):
    mailbox = _mailbox(server, port=server.imap_port, security="tls")
    with pytest.raises(ImapError, match="TLS handshake"):
        list(fetch_messages(mailbox, server.password, timeout=5))


def test_plain_text_is_refused_unless_loopback_and_allowed(server):
    with pytest.raises(ImapError, match="plain-text IMAP is refused"):
        ImapMailbox("mbx-1", "imap.client.example", "anne.staff@client.example", port=143, security="plain",
                    allow_plaintext_loopback=True)
    with pytest.raises(ImapError, match="plain-text IMAP is refused"):
        ImapMailbox("mbx-1", "127.0.0.1", "anne.staff@client.example", port=143, security="plain")
    loopback = _mailbox(server, port=server.imap_port, security="plain", allow_plaintext_loopback=True,
                        folders=("Archive",))
    assert _subjects(fetch_messages(loopback, server.password)) == {"archive-dec"}


def test_oversized_messages_are_skipped_and_counted(server):
    stats = FetchStats()
    got = list(fetch_messages(_mailbox(server), server.password, max_message_bytes=20_000, stats=stats))
    assert _subjects(got) == set(INBOX) - {"inbox-big"}
    assert stats.skipped_oversized == 1 and stats.messages_read == 3 and stats.messages_in_range == 4


def test_max_messages_stops_and_counts_the_rest(server):
    stats = FetchStats()
    mailbox = _mailbox(server, folders=("INBOX", "Archive"))
    got = list(fetch_messages(mailbox, server.password, max_messages=2, stats=stats, batch_size=1))
    assert len(got) == 2 and stats.skipped_over_limit == 3 and stats.messages_read == 2


def test_unknown_folder_names_its_position(server):
    mailbox = _mailbox(server, folders=("INBOX", "Does Not Exist"))
    got = []
    with pytest.raises(ImapError, match=r"folder #1 of the instruction cannot be opened"):
        for item in fetch_messages(mailbox, server.password):
            got.append(item)
    assert len(got) == 4  # what was read before the error stays usable


def test_connection_refused_and_silent_server_fail_fast():
    refused = ImapMailbox("mbx-1", "127.0.0.1", "anne.staff@client.example", port=_free_port())
    with pytest.raises(ImapError, match="connection refused on port"):
        list(fetch_messages(refused, "pw", timeout=2))
    # A server that accepts the connection and never says a word: the socket timeout ends the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        mailbox = ImapMailbox("mbx-1", "127.0.0.1", "anne.staff@client.example", port=silent.getsockname()[1])
        with pytest.raises(ImapError, match=r"no answer from the IMAP server within 0.5s while connecting"):
            list(fetch_messages(mailbox, "pw", timeout=0.5))


def test_server_dying_mid_fetch_is_a_clear_error(tmp_path):
    with dovecot(tmp_path, {"INBOX": [(_message(f"m{i}"), _at("2026-03-02")) for i in range(3)]}) as info:
        mailbox = _mailbox(info)
        got = []
        with pytest.raises(ImapError, match="closed the connection while reading folder #0"):
            for item in fetch_messages(mailbox, info.password, batch_size=1):
                got.append(item)
                if len(got) == 1:
                    assert info.kill_sessions() == 1
        assert _subjects(got) == {"m0"}


def test_non_ascii_password(dovecot_factory):
    info = dovecot_factory(password="mot-de-passe-été")
    info.deliver("INBOX", _message("m"), _at("2026-03-02"))
    assert _subjects(fetch_messages(_mailbox(info), "mot-de-passe-été")) == {"m"}


def test_secret_from_env(tmp_path):
    mailbox = ImapMailbox("mbx-sales.1", "imap.client.example", "anne.staff@client.example")
    assert secret_env_name("mbx-sales.1") == "REFINERY_IMAP_SECRET_MBX_SALES_1"
    assert secret_from_env(mailbox, {"REFINERY_IMAP_SECRET_MBX_SALES_1": "s3cret"}) == "s3cret"
    token_file = tmp_path / "token"
    token_file.write_text("ya29.token-value\n")
    env = {"REFINERY_IMAP_SECRET_MBX_SALES_1_FILE": str(token_file)}
    assert secret_from_env(mailbox, env) == "ya29.token-value"
    with pytest.raises(ImapError, match="no secret; set REFINERY_IMAP_SECRET_MBX_SALES_1 "):
        secret_from_env(mailbox, {})
    with pytest.raises(ImapError, match="both"):
        secret_from_env(mailbox, {**env, "REFINERY_IMAP_SECRET_MBX_SALES_1": "x"})
    with pytest.raises(ImapError, match="cannot read the file") as err:
        secret_from_env(mailbox, {"REFINERY_IMAP_SECRET_MBX_SALES_1_FILE": str(tmp_path / "missing")})
    assert "anne.staff" not in str(err.value)


def test_xoauth2_sasl_string_is_googles_format():
    raw = xoauth2_string("someone@gmail.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert raw == b"user=someone@gmail.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    # Google's documented example, base64 as it goes on the wire.
    assert base64.b64encode(raw).startswith(b"dXNlcj1zb21lb25lQGdtYWlsLmNvbQFhdXRoPUJlYXJlciB5YTI5")


def test_folder_names_in_modified_utf7():
    assert imap_utf7("INBOX") == "INBOX"
    assert imap_utf7("Envoyés") == "Envoy&AOk-s"
    assert imap_utf7("Éléments supprimés") == "&AMk-l&AOk-ments supprim&AOk-s"
    assert imap_utf7("R&D") == "R&-D"
    assert imap_utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501 example


def test_search_dates_are_english_whatever_the_locale():
    mailbox = ImapMailbox("m", "h", "u", since=dt.date(2026, 3, 5), before=dt.datetime(2026, 12, 1, 8))
    assert search_criteria(mailbox) == "SINCE 05-Mar-2026 BEFORE 01-Dec-2026"
    assert search_criteria(replace(mailbox, since=None, before=None)) == "ALL"


def test_mailbox_settings_are_checked():
    with pytest.raises(ImapError, match="opaque id"):
        ImapMailbox("anne.staff@client.example", "h", "u")
    with pytest.raises(ImapError, match="not one string"):
        ImapMailbox("m", "h", "u", folders="INBOX")
    with pytest.raises(ImapError, match="since"):
        ImapMailbox("m", "h", "u", since=dt.date(2026, 3, 1), before=dt.date(2026, 3, 1))
    with pytest.raises(ImapError, match="security"):
        ImapMailbox("m", "h", "u", security="ssl")
    assert ImapMailbox("m", "h", "u", folders=["INBOX", "Archive"]).folders == ("INBOX", "Archive")
    # Checked at the call, before anything connects (no list() needed).
    with pytest.raises(ImapError, match="empty secret"):
        fetch_messages(ImapMailbox("m", "h", "u"), "")
    with pytest.raises(ImapError, match="batch_size"):
        fetch_messages(ImapMailbox("m", "h", "u"), "pw", batch_size=0)


def test_missing_dovecot_is_a_failure_not_a_skip(tmp_path, monkeypatch):
    import tests.imap_server as imap_server

    monkeypatch.setattr(imap_server, "DOVECOT", str(tmp_path / "no-dovecot"))
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y dovecot-imapd"):
        with dovecot(tmp_path, {}):
            pass
