"""Signals from mailbox messages: bounces (hard/soft), departures with their replacement, and nothing else."""

from __future__ import annotations

import base64

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.mailbox_corpus import build_corpus
from pipelines.mailbox.signals import SIGNALS, MailboxSignal, extract_signals, signals_table

OWNER = "sophie.bernard@client.example.fr"


def msg(text: str) -> bytes:
    """Messages written like they arrive: LF line ends, leading indentation of the test source removed."""
    lines = text.strip("\n").split("\n")
    indent = min(len(line) - len(line.lstrip(" ")) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines).encode("utf-8") + b"\n"


def one(raw: bytes) -> MailboxSignal:
    signals = extract_signals(raw, "mb-7")
    assert len(signals) == 1, signals
    return signals[0]


# ----------------------------------------------------------------------------------------------
# RFC 3464 delivery status notifications
# ----------------------------------------------------------------------------------------------
def dsn(action: str, status: str, diagnostic: str, *, original: str = "", human: str = "The mail system") -> bytes:
    raw = msg(f"""
        Return-Path: <>
        Received: from mx1.example.com by mx.client.example.fr; Thu, 26 Nov 2026 09:15:02 +0100
        From: MAILER-DAEMON@mx1.example.com (Mail Delivery System)
        To: Sophie Bernard <{OWNER}>
        Subject: Undelivered Mail Returned to Sender
        Date: Thu, 26 Nov 2026 09:15:00 +0100
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

        --B1
        Content-Type: text/plain; charset=us-ascii

        {human}

        --B1
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx1.example.com
        Arrival-Date: Thu, 26 Nov 2026 09:14:58 +0100

        Final-Recipient: rfc822; j.dupont@acme.example.com
        Action: {action}
        Status: {status}
        Diagnostic-Code: smtp; {diagnostic}

        --B1
        Content-Type: message/rfc822

        From: Sophie Bernard <{OWNER}>
        To: j.dupont@acme.example.com
        Cc: paul.petit@acme.example.com
        Subject: Devis

        Bonjour
        --B1--
    """)
    return raw.replace(b"Action:", original.encode() + b"Action:")


def test_rfc3464_user_unknown_is_a_hard_bounce_dated_in_utc():
    s = one(dsn("failed", "5.1.1", "550 5.1.1 <j.dupont@acme.example.com>: Recipient address rejected: User unknown"))
    assert (s.address, s.signal, s.status_code) == ("j.dupont@acme.example.com", "hard_bounce", "5.1.1")
    assert s.observed_at == "2026-11-26T08:15:00Z"
    assert s.source_mailbox == "mb-7"
    assert s.replacement_email is None


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "signal"),
    [
        ("failed", "5.1.2", "550 5.1.2 Host or domain name not found", "hard_bounce"),
        ("failed", "5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "hard_bounce"),
        ("failed", "5.2.1", "550 5.2.1 Mailbox disabled for this recipient", "hard_bounce"),
        ("failed", "5.2.2", "552 5.2.2 Mailbox full", "soft_bounce"),  # mailbox full is conventionally soft
        ("failed", "4.2.2", "452 4.2.2 The email account that you tried to reach is over quota", "soft_bounce"),
        ("failed", "5.0.0", "550 5.0.0 quota exceeded", "soft_bounce"),  # the words win over a vague 5.0.0
        ("failed", "5.7.1", "550 5.7.1 Message rejected as spam", "soft_bounce"),  # policy: the address is fine
        ("failed", "5.1.8", "553 5.1.8 Sender address rejected: Domain not found", "soft_bounce"),  # the sender's fault
        ("failed", "5.0.0", "550 5.0.0 Message rejected due to spam; listed at zen.spamhaus.org", "soft_bounce"),
        ("delayed", "4.4.7", "451 4.4.7 connect to mx: Connection timed out", "soft_bounce"),
        ("failed", "4.7.1", "450 4.7.1 Greylisted, please try again later", "soft_bounce"),
    ],
)
def test_rfc3464_hard_versus_soft(action, status, diagnostic, signal):
    s = one(dsn(action, status, diagnostic))
    assert (s.signal, s.status_code) == (signal, status)


def test_rfc3464_prefers_the_original_recipient_and_never_reports_the_sender_or_cc():
    raw = dsn("failed", "5.1.1", "550 5.1.1 user unknown", original="Original-Recipient: rfc822;Jean.Dupont@ACME.example.com\n")
    signals = extract_signals(raw, "mb-7")
    assert [s.address for s in signals] == ["jean.dupont@acme.example.com"]


def test_a_successful_delivery_report_or_a_read_receipt_is_no_signal():
    assert extract_signals(dsn("delivered", "2.0.0", "250 2.0.0 OK"), "mb") == []
    receipt = msg(f"""
        From: Jean Dupont <j.dupont@acme.example.com>
        To: {OWNER}
        Subject: Lu : Devis
        Content-Type: multipart/report; report-type=disposition-notification; boundary="R"

        --R
        Content-Type: text/plain; charset=utf-8

        Votre message a été lu le jeudi 26 novembre 2026.
        --R
        Content-Type: message/disposition-notification

        Final-Recipient: rfc822;j.dupont@acme.example.com
        Disposition: automatic-action/MDN-sent-automatically; displayed
        --R--
    """)
    assert extract_signals(receipt, "mb") == []


# ----------------------------------------------------------------------------------------------
# Plain-text bounces
# ----------------------------------------------------------------------------------------------
POSTFIX = msg(f"""
    From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
    To: {OWNER}
    Subject: Undelivered Mail Returned to Sender
    Date: Thu, 26 Nov 2026 10:00:00 +0100
    Content-Type: text/plain

    This is the mail system at host mx.example.net.

    I'm sorry to have to inform you that your message could not
    be delivered to one or more recipients.

    For further assistance, please send mail to postmaster@mx.example.net

    <jean.dupont@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1
        <jean.dupont@example.com>: Recipient address rejected: User unknown

    <marie@example.com>: host mx.example.com said: 452 4.2.2 Mailbox full

    --- Below this line is a copy of the message.

    From: Sophie Bernard <{OWNER}>
    To: jean.dupont@example.com, marie@example.com
    Cc: boss@client.example.fr
""")


def test_postfix_plain_bounce_gives_each_failed_recipient_its_own_status():
    got = {(s.address, s.signal, s.status_code) for s in extract_signals(POSTFIX, "mb")}
    assert got == {("jean.dupont@example.com", "hard_bounce", "5.1.1"), ("marie@example.com", "soft_bounce", "4.2.2")}


def test_qmail_bounce():
    raw = msg(f"""
        From: MAILER-DAEMON@mail.example.org
        To: {OWNER}
        Subject: failure notice
        Date: 26 Nov 2026 09:00:01 -0000

        Hi. This is the qmail-send program at mail.example.org.
        I'm afraid I wasn't able to deliver your message to the following addresses.
        This is a permanent error; I've given up. Sorry it didn't work out.

        <anna.weber@example.org>:
        Sorry, no mailbox here by that name. (#5.1.1)

        --- Below this line is a copy of the message.

        Return-Path: <{OWNER}>
        From: {OWNER}
        To: anna.weber@example.org
    """)
    s = one(raw)
    assert (s.address, s.signal, s.status_code, s.language) == ("anna.weber@example.org", "hard_bounce", "5.1.1", "en")
    assert s.observed_at == "2026-11-26T09:00:01Z"


def test_exim_bounce_uses_x_failed_recipients_and_ignores_the_returned_headers():
    raw = msg(f"""
        From: Mail Delivery System <Mailer-Daemon@mx.example.co.uk>
        To: {OWNER}
        Subject: Mail delivery failed: returning message to sender
        X-Failed-Recipients: tom.baker@example.co.uk
        Auto-Submitted: auto-replied

        This message was created automatically by mail delivery software.

        A message that you sent could not be delivered to one or more of its
        recipients. This is a permanent error. The following address(es) failed:

          tom.baker@example.co.uk
            SMTP error from remote mail server after RCPT TO:<tom.baker@example.co.uk>:
            550 No such user here

        ------ This is a copy of the message, including all the headers. ------

        Return-path: <{OWNER}>
        From: Sophie Bernard <{OWNER}>
        To: tom.baker@example.co.uk
        Cc: accounts@example.co.uk
    """)
    s = one(raw)
    assert (s.address, s.signal) == ("tom.baker@example.co.uk", "hard_bounce")


def test_exchange_ndr_in_french_with_remote_server_status():
    raw = msg(f"""
        From: Microsoft Outlook <postmaster@acme.example.fr>
        To: {OWNER}
        Subject: =?utf-8?q?Non_remis_=3A_Devis?=
        Content-Type: text/plain; charset=windows-1252
        Content-Transfer-Encoding: quoted-printable

        =C9chec de la remise =E0 ces destinataires ou groupes :

        claire.moreau@acme.example.fr
        L'adresse de messagerie que vous avez entr=E9e est introuvable.

        Le serveur distant a renvoy=E9 '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'
    """)
    s = one(raw)
    assert (s.address, s.signal, s.status_code, s.language) == ("claire.moreau@acme.example.fr", "hard_bounce", "5.1.1", "fr")


def test_german_ndr_mailbox_full_is_soft():
    raw = msg(f"""
        From: postmaster@firma.example.de
        To: {OWNER}
        Subject: Unzustellbar: Angebot
        Content-Type: text/plain; charset=iso-8859-1
        Content-Transfer-Encoding: 8bit

    """) + "Die Nachricht konnte nicht zugestellt werden.\n\nk.schaefer@firma.example.de\nDas Postfach des Empfängers ist voll.\n".encode("latin-1")
    s = one(raw)
    assert (s.address, s.signal, s.language) == ("k.schaefer@firma.example.de", "soft_bounce", "de")


def test_spanish_ndr_and_gmail_text_bounce():
    spanish = msg(f"""
        From: Mail Delivery Subsystem <mailer-daemon@correo.example.es>
        To: {OWNER}
        Subject: No se puede entregar: Presupuesto

        Su mensaje a lucia.ruiz@empresa.example.es no se pudo entregar.
        Destinatario desconocido. El servidor remoto devolvió '550 5.1.1 user unknown'
    """)
    s = one(spanish)
    assert (s.address, s.signal, s.language) == ("lucia.ruiz@empresa.example.es", "hard_bounce", "es")
    gmail = msg(f"""
        From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
        To: {OWNER}
        Subject: Delivery Status Notification (Failure)

        ** Address not found **

        Your message wasn't delivered to ghost@example.com because the address couldn't be found,
        or is unable to receive mail.
    """)
    s = one(gmail)
    assert (s.address, s.signal, s.status_code) == ("ghost@example.com", "hard_bounce", None)


def test_a_delay_warning_is_a_soft_bounce():
    raw = msg(f"""
        From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
        To: {OWNER}
        Subject: Delayed Mail (still being retried)

        ####################################################################
        # THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
        ####################################################################

        Your message could not be delivered for more than 4 hour(s).
        It will be retried until it is 5 day(s) old.

        <slow@example.net>: connect to mx.example.net[192.0.2.7]:25: Connection timed out
    """)
    assert (one(raw).address, one(raw).signal) == ("slow@example.net", "soft_bounce")


# ----------------------------------------------------------------------------------------------
# Departures
# ----------------------------------------------------------------------------------------------
def autoreply(sender: str, subject: str, body: str, charset: str = "utf-8", headers: str = "Auto-Submitted: auto-replied") -> bytes:
    head = msg(f"""
        From: {sender}
        To: Sophie Bernard <{OWNER}>
        Subject: {subject}
        Date: Tue, 03 Nov 2026 14:02:11 +0100
        {headers}
        Content-Type: text/plain; charset={charset}
        Content-Transfer-Encoding: 8bit
    """)
    return head + b"\n" + body.encode(charset)


def test_english_departure_with_a_colleague():
    raw = autoreply("James Carter <jcarter@northwind.example.com>", "Automatic reply: Quote",
                    "Thank you for your email. James Carter is no longer with Northwind.\n"
                    "For any matter, please contact Laura Hughes at laura.hughes@northwind.example.com.\n\n"
                    "-- \nNorthwind | info@northwind.example.com\n")
    s = one(raw)
    assert (s.address, s.signal, s.language) == ("jcarter@northwind.example.com", "departed", "en")
    assert (s.replacement_email, s.replacement_kind) == ("laura.hughes@northwind.example.com", "colleague")
    assert s.observed_at == "2026-11-03T13:02:11Z"


def test_french_departure_with_a_new_address_in_latin1():
    raw = autoreply("=?utf-8?q?H=C3=A9l=C3=A8ne_Faure?= <helene.faure@soleil.example.fr>", "=?utf-8?q?R=C3=A9ponse_automatique_=3A_Devis?=",
                    "Bonjour,\nJ'ai quitté la société Groupe Soleil le 30 octobre.\n"
                    "Ma nouvelle adresse : h.faure@vins-loire.example.fr\nCordialement", charset="iso-8859-1")
    s = one(raw)
    assert (s.address, s.language) == ("helene.faure@soleil.example.fr", "fr")
    assert (s.replacement_email, s.replacement_kind) == ("h.faure@vins-loire.example.fr", "new_address")


def test_departure_replacement_is_the_new_address_when_it_carries_the_persons_name():
    raw = autoreply("Jean Dupont <jdupont@acme.example.fr>", "Absence",
                    "Jean Dupont ne fait plus partie de la société ACME.\n"
                    "Merci de le contacter désormais sur jean.dupont@nouvelle.example.fr")
    s = one(raw)
    assert (s.replacement_email, s.replacement_kind) == ("jean.dupont@nouvelle.example.fr", "new_address")


def test_german_and_spanish_departures():
    de = autoreply("Katrin Becker <k.becker@rheinwerk.example.de>", "Automatische Antwort: Angebot",
                   "Vielen Dank für Ihre Nachricht. Frau Becker hat das Unternehmen verlassen.\n"
                   "Bitte wenden Sie sich an Jonas Wagner (jonas.wagner@rheinwerk.example.de).", headers="X-Autoreply: yes")
    s = one(de)
    assert (s.address, s.language, s.replacement_email, s.replacement_kind) == (
        "k.becker@rheinwerk.example.de", "de", "jonas.wagner@rheinwerk.example.de", "colleague")
    es = autoreply("Pablo Gómez <pgomez@bodegas.example.es>", "=?utf-8?q?Respuesta_autom=C3=A1tica?=",
                   "He dejado la empresa Bodegas Duero.\nMi nueva dirección de correo es pablo.gomez@alba.example.es.")
    s = one(es)
    assert (s.address, s.language, s.replacement_email, s.replacement_kind) == (
        "pgomez@bodegas.example.es", "es", "pablo.gomez@alba.example.es", "new_address")


def test_departure_never_takes_the_departed_the_owner_or_the_quoted_original_as_replacement():
    raw = autoreply("Paul Petit <paul.petit@acme.example.fr>", "Réponse automatique : Devis",
                    "Paul Petit n'est plus en poste chez ACME. Votre message ne lui sera pas transmis.\n\n"
                    "-----Message d'origine-----\nDe : Sophie Bernard <sophie.bernard@client.example.fr>\n"
                    "À : paul.petit@acme.example.fr\n\nMerci de contacter aussi compta@client.example.fr\n")
    s = one(raw)
    assert (s.address, s.replacement_email, s.replacement_kind) == ("paul.petit@acme.example.fr", None, None)


def test_a_hand_written_note_about_someone_who_left_flags_nobody():
    raw = msg(f"""
        From: Laura Hughes <laura.hughes@northwind.example.com>
        To: {OWNER}
        Subject: Re: Quote

        Hello, James is no longer with Northwind. Please contact me instead.
    """)
    assert extract_signals(raw, "mb") == []


@pytest.mark.parametrize(
    ("sender", "subject", "body"),
    [
        ("emily@example.com", "Automatic reply: Quote", "I am out of the office until 4 January with limited access to e-mail. "
         "For urgent matters, please contact Daniel Walker at daniel.walker@example.com."),
        ("marie@example.fr", "Réponse automatique : Devis", "Je suis absente du bureau jusqu'au 5 janvier. En cas d'urgence, "
         "merci de contacter Julien Girard (julien.girard@example.fr)."),
        ("lena@example.de", "Abwesenheitsnotiz", "Ich bin im Urlaub und ab dem 7. Januar wieder erreichbar. In dringenden Fällen "
         "wenden Sie sich bitte an Felix Meyer (felix.meyer@example.de)."),
        ("carmen@example.es", "Fuera de la oficina", "Estoy de vacaciones hasta el 8 de enero. Para asuntos urgentes, póngase en "
         "contacto con Sergio Díaz en sergio.diaz@example.es."),
    ],
)
def test_out_of_office_replies_give_no_signal_even_with_a_colleague(sender, subject, body):
    assert extract_signals(autoreply(sender, subject, body), "mb") == []


def test_ordinary_mail_newsletter_and_challenge_response_give_no_signal():
    ordinary = msg(f"""
        From: Jean Dupont <jdupont@acme.example.fr>
        To: {OWNER}
        Subject: Re: Devis

        Merci, le colis était non remis par le transporteur, pouvez-vous vérifier ?
    """)
    newsletter = msg("""
        From: ACME <newsletter@acme.example.com>
        To: sophie@client.example.fr
        Subject: News
        Precedence: bulk
        Content-Type: text/html; charset=utf-8

        <p>If you no longer wish to receive these emails, <a href="#">unsubscribe</a>.</p>
    """)
    challenge = autoreply("jdupont@acme.example.fr", "Re: Devis", "I am protecting myself from junk mail. Please click "
                          "https://verify.example.net/c/1 to complete the verification process.")
    for raw in (ordinary, newsletter, challenge):
        assert extract_signals(raw, "mb") == []


# ----------------------------------------------------------------------------------------------
# Broken input
# ----------------------------------------------------------------------------------------------
def test_truncated_mime_still_yields_what_it_can():
    raw = dsn("failed", "5.1.1", "550 5.1.1 user unknown")
    truncated = raw[: raw.index(b"Diagnostic-Code")]
    s = one(truncated)
    assert (s.address, s.signal) == ("j.dupont@acme.example.com", "hard_bounce")
    for cut in range(0, len(raw), 97):
        extract_signals(raw[:cut], "mb")  # never raises


def test_wrong_declared_charset_nul_bytes_and_html_only():
    wrong = autoreply("Élodie Lambert <elodie.lambert@example.fr>", "Réponse automatique",
                      "Élodie Lambert a quitté la société. Merci de contacter m.bonnet@example.fr", charset="latin-1")
    wrong = wrong.replace(b"charset=latin-1", b"charset=utf-8")  # declared UTF-8, really Latin-1
    s = one(wrong)
    assert (s.address, s.replacement_email) == ("elodie.lambert@example.fr", "m.bonnet@example.fr")
    assert len(extract_signals(POSTFIX.replace(b"could not\n", b"could\x00 not\n"), "mb")) == 2  # NUL bytes do not stop it
    html = msg("""
        From: Anna Weber <a.weber@example.de>
        To: sophie@client.example.fr
        Subject: Automatische Antwort
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: base64

    """) + base64.encodebytes("<html><body><p>Frau Weber hat das Unternehmen verlassen.</p><p>Bitte wenden Sie sich an "
                              "<a href='mailto:t.koehler@example.de'>t.koehler&#64;example.de</a></p></body></html>".encode())
    s = one(html)
    assert (s.address, s.signal, s.replacement_email) == ("a.weber@example.de", "departed", "t.koehler@example.de")


def test_a_ten_megabyte_body_is_read_only_as_far_as_needed():
    body = "James Carter is no longer with Northwind. Please contact laura@northwind.example.com.\n" + "x" * (10 * 2**20)
    s = one(autoreply("jcarter@northwind.example.com", "Automatic reply", body))
    assert (s.signal, s.replacement_email) == ("departed", "laura@northwind.example.com")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(data):
    signals = extract_signals(data, "mb")
    assert all(s.signal in SIGNALS for s in signals)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=2000))
def test_real_messages_with_junk_spliced_in_never_raise(junk, at):
    for raw in (POSTFIX, dsn("failed", "5.1.1", "550 5.1.1 user unknown")):
        extract_signals(raw[:at] + junk + raw[at:], "mb")


def test_non_bytes_and_empty_input_give_no_signal():
    assert extract_signals(b"", "mb") == []
    assert extract_signals(None, "mb") == []  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# Table and corpus
# ----------------------------------------------------------------------------------------------
def test_signals_table_has_one_string_column_per_field():
    signals = extract_signals(POSTFIX, "mb-3")
    table = signals_table(signals)
    assert table.column_names == ["address", "signal", "observed_at", "source_mailbox", "status_code",
                                  "replacement_email", "replacement_kind", "language"]
    assert all(t == pa.string() for t in table.schema.types)
    assert table.num_rows == 2 and set(table["source_mailbox"].to_pylist()) == {"mb-3"}
    assert signals_table([]).num_rows == 0


def test_every_corpus_message_with_developed_phrasings_gives_exactly_its_signals():
    wrong = []
    for m in build_corpus(n_per_kind=3, seed=11):
        if m.held_out:
            continue
        got = {(s.address, s.signal, s.replacement_email) for s in extract_signals(m.raw, "mb")}
        if got != set(m.expected):
            wrong.append((m.kind, m.language))
    assert wrong == []


def test_deeply_nested_mime_is_no_signal():
    parts = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(3000))
    raw = b"From: MAILER-DAEMON@mx.example.com\nSubject: Undeliverable\n" + parts + b"Content-Type: text/plain\n\nx@example.com\n"
    assert extract_signals(raw, "mb") == []


def test_a_departure_with_one_personal_address_and_no_cue_gives_it_but_never_a_shared_mailbox():
    one_address = autoreply("Ravi O'Brien <r.obrien@granite.example.com>", "Automatic reply",
                            "Ravi O'Brien has left the company. Tom Baker will be glad to help: tom.baker@granite.example.com\n")
    s = one(one_address)
    assert (s.replacement_email, s.replacement_kind) == ("tom.baker@granite.example.com", "colleague")
    moved = autoreply("Ravi O'Brien <r.obrien@granite.example.com>", "Automatic reply",
                      "I have left the company. You'll find me as ravi.obrien@maple.example.com.\n")
    assert (one(moved).replacement_email, one(moved).replacement_kind) == ("ravi.obrien@maple.example.com", "new_address")
    shared_only = autoreply("Ravi O'Brien <r.obrien@granite.example.com>", "Automatic reply",
                            "Ravi O'Brien has left the company.\nGranite | info@granite.example.com | +44 20 0000 0000\n")
    assert one(shared_only).replacement_email is None


def test_observed_at_falls_back_to_the_received_header_then_to_the_callers_arrival_time():
    body = "\nJames Carter is no longer with Northwind.\n"
    with_received = (b"Received: from mx.example.com by mx.client.example.fr; Mon, 2 Nov 2026 23:30:00 -0300\n"
                     b"From: jcarter@northwind.example.com\nSubject: Automatic reply\n" + body.encode())
    assert one(with_received).observed_at == "2026-11-03T02:30:00Z"
    bare = b"From: jcarter@northwind.example.com\nSubject: Automatic reply\nDate: not a date\n" + body.encode()
    assert extract_signals(bare, "mb", received_at="2026-11-04T08:00:00Z")[0].observed_at == "2026-11-04T08:00:00Z"
    assert one(bare).observed_at == ""


@pytest.mark.parametrize(
    "body",
    [
        "I have left the office on Friday and will be back on Monday 7 December.",
        "Ab Januar bin ich nicht mehr für das Projekt Nordlicht zuständig; ich bin bis 4.1. im Urlaub.",
        "I no longer work on Fridays. I will answer your message on Monday.",
        "Je ne travaille plus le mercredi ; je vous répondrai jeudi.",
    ],
)
def test_absence_wording_close_to_a_departure_is_no_signal(body):
    assert extract_signals(autoreply("someone@example.com", "Automatic reply", body), "mb") == []


def test_a_helpdesk_address_in_a_bounce_is_not_a_failed_recipient():
    raw = msg(f"""
        From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
        To: {OWNER}
        Subject: Undelivered Mail Returned to Sender

        Your message could not be delivered to one or more recipients.

        <gone@example.net>: 550 5.1.1 user unknown

        If you need help, contact your e-mail administrator at helpdesk@example.net.
        Transcript: 250 2.1.0 Sender OK
    """)
    got = [(s.address, s.signal, s.status_code) for s in extract_signals(raw, "mb")]
    assert got == [("gone@example.net", "hard_bounce", "5.1.1")]


def test_a_report_whose_recipient_succeeded_without_action_is_no_signal():
    raw = dsn("failed", "2.0.0", "250 2.0.0 OK").replace(b"Action: failed\n", b"")
    assert extract_signals(raw, "mb") == []


def test_exchange_ndr_listing_recipients_before_their_codes_gives_each_its_own():
    raw = msg(f"""
        From: Microsoft Outlook <postmaster@acme.example.com>
        To: {OWNER}
        Subject: Undeliverable: Quote

        Delivery has failed to these recipients or groups:

        anna@acme.example.com
        bob@acme.example.com

        Diagnostic information for administrators:

        anna@acme.example.com
        Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'

        bob@acme.example.com
        Remote Server returned '552 5.2.2 mailbox full'
    """)
    got = {(s.address, s.signal, s.status_code) for s in extract_signals(raw, "mb")}
    assert got == {("anna@acme.example.com", "hard_bounce", "5.1.1"), ("bob@acme.example.com", "soft_bounce", "5.2.2")}


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("Peter Evans has retired. Please direct your enquiries to anna.bell@example.com.", "en"),
        ("Jean Martin a quitté ACME Logistique le 30 septembre. Merci de contacter anna.bell@example.com", "fr"),
        ("Herr Weber hat die ACME GmbH zum 30.09.2026 verlassen. Bitte wenden Sie sich an anna.bell@example.com", "de"),
        ("El Sr. Ruiz causó baja en la empresa. Por favor, póngase en contacto con anna.bell@example.com", "es"),
    ],
)
def test_more_ways_of_saying_someone_left(body, language):
    s = one(autoreply("leaver@example.com", "Automatic reply", body))
    assert (s.address, s.signal, s.language, s.replacement_email, s.replacement_kind) == (
        "leaver@example.com", "departed", language, "anna.bell@example.com", "colleague")


def test_a_colleague_who_can_be_reached_somewhere_is_a_colleague_not_a_new_address():
    s = one(autoreply("James Carter <jcarter@northwind.example.com>", "Automatic reply",
                      "James Carter is no longer with Northwind. His colleague Tom Baker can be reached at tom.baker@northwind.example.com."))
    assert (s.replacement_email, s.replacement_kind) == ("tom.baker@northwind.example.com", "colleague")


def test_the_mailbox_owners_address_is_refused_as_source_mailbox():
    with pytest.raises(ValueError) as exc:
        extract_signals(POSTFIX, OWNER)
    assert OWNER not in str(exc.value)


def test_names_with_letters_that_do_not_decompose_match_their_new_address():
    raw = autoreply("=?utf-8?q?Emre_Y=C4=B1lmaz?= <emre.yilmaz@rheinwerk.example.de>", "Automatische Antwort",
                    "Herr Yılmaz hat das Unternehmen verlassen. Künftig bin ich unter eyilmaz@hansa.example.de zu finden.")
    assert one(raw).replacement_kind == "new_address"


def test_a_departure_notice_with_a_null_return_path_is_no_bounce():
    raw = b"Return-Path: <>\n" + autoreply(
        "James Carter <jcarter@northwind.example.com>", "Automatic reply: Quote",
        "James Carter is no longer with Northwind: your message was not delivered to him.\n"
        "Please contact laura.hughes@northwind.example.com.")
    s = one(raw)
    assert (s.address, s.signal, s.replacement_email) == ("jcarter@northwind.example.com", "departed", "laura.hughes@northwind.example.com")
