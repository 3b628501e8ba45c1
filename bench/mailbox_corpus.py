"""A labelled corpus of mailbox messages for the signal extractor (pipelines/mailbox), written here as templates.

    python -m bench.mailbox_corpus --out bench/data/mailbox   # writes corpus.mbox and corpus.zip (gitignored)

For each of French, English, German and Spanish: RFC 3464 delivery status notifications (hard and soft,
Exchange/Office 365, Gmail and Postfix styles), plain-text bounces (Postfix, Exim, Sendmail, qmail, Yahoo,
Exchange, Gmail, localised NDRs), delay warnings, departure auto-replies (with the person's new address, with a
colleague, without replacement), out-of-office replies (some naming a colleague to contact meanwhile: no signal),
and negatives (ordinary mail, newsletters, read receipts, success notifications, challenge-response, a colleague's
hand-written note). Every person, company and domain is invented; domains are `<company>.example.<tld>`.

Some phrasings are *held out*: they were written after the extractor's phrase lists and deliberately not added to
them, so the benchmark also shows how the lists do on wording they were not developed on (`held_out=True`).
The generator is deterministic for a given (n_per_kind, seed).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.utils
import quopri
import random
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from email.header import Header
from pathlib import Path

LANGUAGES = ("fr", "en", "de", "es")
TLD = {"fr": "fr", "en": "com", "de": "de", "es": "es"}


@dataclass
class LabelledMessage:
    raw: bytes
    folder: str
    expected: list[tuple[str, str, str | None]]  # (address, signal, replacement_email or None)
    language: str = ""
    kind: str = ""
    held_out: bool = False
    expected_kind: dict[str, str | None] = field(default_factory=dict)  # address -> replacement_kind


# ----------------------------------------------------------------------------------------------
# People and companies (invented)
# ----------------------------------------------------------------------------------------------
FIRST = {
    "en": ["James", "Emily", "Oliver", "Sarah", "Thomas", "Laura", "Daniel", "Hannah", "Michael", "Rachel", "Aisha", "Ravi"],
    "fr": ["Jean", "Marie", "Nicolas", "Camille", "Julien", "Sophie", "Thomas", "Élodie", "François", "Hélène", "Karim", "Inès"],
    "de": ["Lukas", "Anna", "Jonas", "Lena", "Felix", "Sophie", "Maximilian", "Julia", "Jürgen", "Katrin", "Emre", "Özlem"],
    "es": ["María", "José", "Lucía", "Javier", "Carmen", "Pablo", "Elena", "Sergio", "Marta", "Andrés", "Nuria", "Íñigo"],
}
LAST = {
    "en": ["Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Hughes", "Carter", "Turner", "Patel", "O'Brien"],
    "fr": ["Martin", "Dubois", "Lefèvre", "Moreau", "Girard", "Rousseau", "Faure", "Mercier", "Bonnet", "Lambert", "Benali", "Le Goff"],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer", "Köhler", "Yılmaz", "Groß"],
    "es": ["García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Moreno", "Etxeberria", "Núñez"],
}
COMPANIES = {
    "en": ["Northwind Trading", "Blue Harbor Logistics", "Granite Software", "Maple Health", "Riverside Foods", "Oakfield Partners"],
    "fr": ["Dupont Logistique", "Atelier Mercier", "Groupe Soleil", "Vins de Loire", "Cabinet Lambert", "Éditions du Quai"],
    "de": ["Bergmann Maschinenbau", "Nordlicht Versicherung", "Rheinwerk Logistik", "Alpenblick Software", "Hansa Küchen", "Isar Consult"],
    "es": ["Construcciones Ibéricas", "Mediterránea de Seguros", "Olivares del Sur", "Tecnologías Cantábricas", "Bodegas Duero", "Grupo Alba"],
}
SUBJECTS = {
    "en": ["Quote for the Q3 order", "Meeting next Tuesday", "Your invoice 2026-0412", "Follow-up on our call", "Partnership proposal"],
    "fr": ["Devis pour la commande", "Réunion de mardi prochain", "Votre facture 2026-0412", "Suite à notre échange", "Proposition de partenariat"],
    "de": ["Angebot zur Bestellung", "Termin nächsten Dienstag", "Ihre Rechnung 2026-0412", "Nachfassen zu unserem Gespräch", "Kooperationsanfrage"],
    "es": ["Presupuesto del pedido", "Reunión del martes", "Su factura 2026-0412", "Seguimiento de nuestra llamada", "Propuesta de colaboración"],
}
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"],
}
TITLE = {"en": ("Mr", "Ms"), "fr": ("M.", "Mme"), "de": ("Herr", "Frau"), "es": ("el Sr.", "la Sra.")}


def ascii_slug(text: str, sep: str = "") -> str:
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ı", "i"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", sep, text).strip(sep)


@dataclass
class Person:
    first: str
    last: str
    company: str
    domain: str
    address: str
    female: bool

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


class World:
    """Draws people, companies and dates for one language from a seeded generator."""

    def __init__(self, rng: random.Random, language: str):
        self.rng, self.lang = rng, language
        owner_first, owner_last = rng.choice(FIRST[language]), rng.choice(LAST[language])
        self.owner = Person(owner_first, owner_last, "Client", f"refinery-client.example.{TLD[language]}",
                            f"{ascii_slug(owner_first)}.{ascii_slug(owner_last)}@refinery-client.example.{TLD[language]}",
                            False)
        self.owner_colleague = f"compta@refinery-client.example.{TLD[language]}"

    def company(self) -> tuple[str, str]:
        name = self.rng.choice(COMPANIES[self.lang])
        return name, f"{ascii_slug(name, '-')}.example.{TLD[self.lang]}"

    def person(self, company: tuple[str, str] | None = None, style: str | None = None) -> Person:
        rng = self.rng
        i = rng.randrange(len(FIRST[self.lang]))
        first, last = FIRST[self.lang][i], rng.choice(LAST[self.lang])
        name, domain = company or self.company()
        f, l = ascii_slug(first), ascii_slug(last)
        style = style or rng.choice(["first.last", "first.last", "flast", "first_last", "firstlast", "f.last"])
        local = {"first.last": f"{f}.{l}", "flast": f"{f[0]}{l}", "first_last": f"{f}_{l}",
                 "firstlast": f"{f}{l}", "f.last": f"{f[0]}.{l}"}[style]
        return Person(first, last, name, domain, f"{local}@{domain}", i % 2 == 1)

    def colleague_of(self, p: Person) -> Person:
        while True:
            c = self.person((p.company, p.domain))
            if c.address != p.address and c.last != p.last:
                return c

    def new_job(self, p: Person) -> Person:
        """The same person at another company (their new address)."""
        while True:
            name, domain = self.company()
            if domain != p.domain:
                f, l = ascii_slug(p.first), ascii_slug(p.last)
                local = self.rng.choice([f"{f}.{l}", f"{f[0]}{l}", f"{f}.{l}"])
                return Person(p.first, p.last, name, domain, f"{local}@{domain}", p.female)

    def when(self) -> dt.datetime:
        start = dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.timezone.utc)
        when = start + dt.timedelta(minutes=self.rng.randrange(0, 300 * 24 * 60))
        return when.astimezone(dt.timezone(dt.timedelta(hours=self.rng.choice([0, 1, 2, -5]))))

    def day(self) -> str:
        d = self.when()
        month = MONTHS[self.lang][d.month - 1]
        return {"en": f"{d.day} {month}", "fr": f"{d.day} {month}", "de": f"{d.day}. {month}", "es": f"{d.day} de {month}"}[self.lang]

    def title(self, p: Person) -> str:
        return TITLE[self.lang][1 if p.female else 0]


# ----------------------------------------------------------------------------------------------
# Building raw messages
# ----------------------------------------------------------------------------------------------
def encode_header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def addr_header(name: str, address: str) -> str:
    return email.utils.formataddr((name, address), charset="utf-8") if name else address


def leaf(text: str, subtype: str = "plain", charset: str = "utf-8", cte: str = "8bit", extra: str = "") -> bytes:
    """A text leaf: headers, blank line, body encoded as asked (falls back to UTF-8 when the charset cannot hold it)."""
    try:
        data = text.encode(charset)
    except UnicodeEncodeError:
        charset, data = "utf-8", text.encode("utf-8")
    if data.isascii() and cte == "8bit":
        cte = "7bit"
    if cte == "quoted-printable":
        body = quopri.encodestring(data)
    elif cte == "base64":
        body = base64.encodebytes(data)
    else:
        body = data
    head = f"Content-Type: text/{subtype}; charset=\"{charset}\"\nContent-Transfer-Encoding: {cte}\n{extra}"
    return head.encode("ascii") + b"\n" + body


def multipart(subtype: str, parts: list[bytes], rng: random.Random, params: str = "") -> bytes:
    boundary = f"----=_Part_{rng.randrange(10**9):09d}"
    head = f"Content-Type: multipart/{subtype}; {params}{'; ' if params else ''}boundary=\"{boundary}\"\n".encode()
    body = b"".join(b"--" + boundary.encode() + b"\n" + p.rstrip(b"\n") + b"\n" for p in parts)
    return head + b"\n" + b"This is a multi-part message in MIME format.\n" + body + b"--" + boundary.encode() + b"--\n"


def message(headers: list[tuple[str, str]], content: bytes) -> bytes:
    """Top-level headers followed by a leaf or multipart (whose own Content-* headers start `content`)."""
    lines = [f"{k}: {v}" for k, v in headers] + ["MIME-Version: 1.0"]
    return ("\n".join(lines) + "\n").encode("ascii") + content + (b"" if content.endswith(b"\n") else b"\n")


def text_body(w: World, text: str, html_chance: float = 0.15) -> bytes:
    """A single text part in one of the encodings mail clients use (some HTML-only)."""
    rng = w.rng
    charset = rng.choice(["utf-8", "utf-8", {"fr": "windows-1252", "de": "iso-8859-1", "es": "iso-8859-15", "en": "us-ascii"}[w.lang]])
    cte = rng.choice(["8bit", "quoted-printable", "base64"])
    if rng.random() < html_chance:
        markup = "<html><body>" + "".join(f"<p>{line}</p>" for line in text.split("\n")) + "</body></html>"
        markup = markup.replace("@", "&#64;") if rng.random() < 0.2 else markup
        return leaf(markup, "html", charset, cte)
    if charset == "us-ascii" and not text.isascii():
        charset = "utf-8"
    return leaf(text, "plain", charset, cte)


def message_id(w: World, domain: str) -> str:
    return f"<{w.rng.randrange(16**12):012x}.{w.rng.randrange(10**6)}@{domain}>"


def original_message(w: World, to: Person, cc: str | None = None) -> bytes:
    """The owner's message that bounced or was answered, as returned in a report."""
    subject = w.rng.choice(SUBJECTS[w.lang])
    headers = [("From", addr_header(w.owner.name, w.owner.address)), ("To", addr_header(to.name, to.address))]
    if cc:
        headers.append(("Cc", cc))
    headers += [("Subject", encode_header(subject)), ("Date", email.utils.format_datetime(w.when())),
                ("Message-ID", message_id(w, w.owner.domain))]
    body = {"en": "Hello,\nPlease find our offer attached.\nBest regards,\n",
            "fr": "Bonjour,\nVeuillez trouver ci-joint notre offre.\nCordialement,\n",
            "de": "Guten Tag,\nanbei unser Angebot.\nMit freundlichen Grüßen\n",
            "es": "Hola,\nAdjunto nuestra oferta.\nUn saludo,\n"}[w.lang] + w.owner.name + "\n"
    return message(headers, leaf(body, "plain", "utf-8", "quoted-printable"))


# ----------------------------------------------------------------------------------------------
# Bounces
# ----------------------------------------------------------------------------------------------
HARD_REASONS = [  # (smtp, status, reason)
    ("550", "5.1.1", "<{addr}>: Recipient address rejected: User unknown in virtual mailbox table"),
    ("550", "5.1.1", "RESOLVER.ADR.RecipNotFound; not found"),
    ("550", "5.1.1", "The email account that you tried to reach does not exist."),
    ("550", "5.2.1", "Mailbox disabled for this recipient"),
    ("550", "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"),
    ("550", "5.4.1", "Recipient address rejected: Access denied"),
    ("554", "5.1.2", "Host or domain name not found"),
]
SOFT_REASONS = [
    ("452", "4.2.2", "The email account that you tried to reach is over quota."),
    ("552", "5.2.2", "Mailbox full"),
    ("450", "4.7.1", "Greylisted, please try again later"),
    ("452", "4.2.2", "Mailbox size limit exceeded"),
]
DSN_TEXT = {
    "exchange": {
        "en": ("Undeliverable: {subject}", "Delivery has failed to these recipients or groups:\n\n{addr}\n{explain}\n\n"
               "Diagnostic information for administrators:\n\nGenerating server: {mx}\n\n{addr}\nRemote Server returned '{smtp} {status} {reason}'"),
        "fr": ("Non remis : {subject}", "Échec de la remise à ces destinataires ou groupes :\n\n{addr}\n{explain}\n\n"
               "Informations de diagnostic pour les administrateurs :\n\nServeur de génération : {mx}\n\n{addr}\nLe serveur distant a renvoyé '{smtp} {status} {reason}'"),
        "de": ("Unzustellbar: {subject}", "Die Zustellung an diese Empfänger oder Gruppen ist fehlgeschlagen:\n\n{addr}\n{explain}\n\n"
               "Diagnoseinformationen für Administratoren:\n\nGenerierender Server: {mx}\n\n{addr}\nDer Remoteserver hat '{smtp} {status} {reason}' zurückgegeben"),
        "es": ("No se puede entregar: {subject}", "Error en la entrega a estos destinatarios o grupos:\n\n{addr}\n{explain}\n\n"
               "Información de diagnóstico para administradores:\n\nServidor de generación: {mx}\n\n{addr}\nEl servidor remoto devolvió '{smtp} {status} {reason}'"),
    },
    "gmail": {
        "en": ("Delivery Status Notification (Failure)", "** Address not found **\n\nYour message wasn't delivered to {addr} because the address "
               "couldn't be found, or is unable to receive mail.\n\nThe response from the remote server was:\n{smtp} {status} {reason}"),
        "fr": ("Notification d'état de la remise (échec)", "** Adresse introuvable **\n\nVotre message n'a pas été distribué à {addr}, car "
               "l'adresse est introuvable ou ne peut pas recevoir de messages.\n\nLa réponse du serveur distant était :\n{smtp} {status} {reason}"),
        "de": ("Rückmeldung zur Zustellung (Fehler)", "** Adresse nicht gefunden **\n\nIhre Nachricht wurde nicht an {addr} zugestellt, weil "
               "die Adresse nicht gefunden wurde oder keine E-Mails empfangen kann.\n\nAntwort des Remoteservers:\n{smtp} {status} {reason}"),
        "es": ("Notificación del estado del envío (error)", "** No se ha encontrado la dirección **\n\nTu mensaje no se ha entregado a {addr} "
               "porque no se ha encontrado la dirección o esta no puede recibir correo.\n\nLa respuesta del servidor remoto ha sido:\n{smtp} {status} {reason}"),
    },
}
EXPLAIN_HARD = {
    "en": "The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message.",
    "fr": "L'adresse de messagerie que vous avez entrée est introuvable. Vérifiez l'adresse du destinataire et renvoyez le message.",
    "de": "Die eingegebene E-Mail-Adresse wurde nicht gefunden. Überprüfen Sie die Adresse des Empfängers und senden Sie die Nachricht erneut.",
    "es": "No se encontró la dirección de correo electrónico que especificó. Compruebe la dirección del destinatario e intente reenviar el mensaje.",
}
EXPLAIN_SOFT = {
    "en": "The recipient's mailbox is full and can't accept messages now. Please try resending this message later.",
    "fr": "La boîte aux lettres du destinataire est pleine et ne peut pas recevoir de messages pour le moment.",
    "de": "Das Postfach des Empfängers ist voll und kann zurzeit keine Nachrichten annehmen.",
    "es": "El buzón del destinatario está lleno y no puede aceptar mensajes en este momento.",
}
DELAY_TEXT = {
    "en": ("Delivery Status Notification (Delay)", "Delivery to the following recipient has been delayed:\n\n     {addr}\n\n"
           "Message will be retried for 2 more day(s). No action is required on your part."),
    "fr": ("Remise retardée : {subject}", "La remise au destinataire suivant a été retardée :\n\n     {addr}\n\n"
           "De nouvelles tentatives seront effectuées pendant 2 jour(s). Aucune action n'est requise de votre part."),
    "de": ("Zustellung verzögert: {subject}", "Die Zustellung an folgenden Empfänger wurde verzögert:\n\n     {addr}\n\n"
           "Die Zustellung wird noch 2 Tag(e) weiterhin versucht. Sie müssen nichts unternehmen."),
    "es": ("Entrega retrasada: {subject}", "La entrega al siguiente destinatario se ha retrasado:\n\n     {addr}\n\n"
           "Se volverá a intentar durante 2 día(s) más. No es necesario que realice ninguna acción."),
}


def _bounce_headers(w: World, subject: str, daemon: str, mx: str) -> list[tuple[str, str]]:
    return [
        ("Return-Path", "<>"),
        ("Received", f"from {mx} (192.0.2.25) by mx.refinery-client.example.{TLD[w.lang]}; {email.utils.format_datetime(w.when())}"),
        ("From", daemon),
        ("To", addr_header(w.owner.name, w.owner.address)),
        ("Subject", encode_header(subject)),
        ("Date", email.utils.format_datetime(w.when())),
        ("Message-ID", message_id(w, mx)),
        ("Auto-Submitted", "auto-replied"),
    ]


def dsn_message(w: World, style: str, soft: bool, delayed: bool = False) -> LabelledMessage:
    """RFC 3464 multipart/report (Exchange/Office 365, Gmail or Postfix flavour), human part in the bucket language."""
    rng = w.rng
    to = w.person()
    mx = f"mx{rng.randrange(1, 9)}.{to.domain}"
    smtp, status, reason = rng.choice(SOFT_REASONS if soft else HARD_REASONS)
    subject_orig = rng.choice(SUBJECTS[w.lang])
    if delayed:
        smtp, status, reason = "451", rng.choice(["4.4.7", "4.4.1", "4.4.2"]), "connect to {mx}: Connection timed out"
        subject, human = DELAY_TEXT[w.lang]
        explain = ""
    elif style == "postfix":
        subject = "Undelivered Mail Returned to Sender"
        human = ("This is the mail system at host {mx}.\n\nI'm sorry to have to inform you that your message could not\n"
                 "be delivered to one or more recipients. It's attached below.\n\nFor further assistance, please send mail to postmaster.\n\n"
                 "If you do so, please include this problem report. You can\ndelete your own text from the attached returned message.\n\n"
                 "                   The mail system\n\n<{addr}>: host {mx}[192.0.2.7] said: {smtp} {status}\n    {reason} (in reply to RCPT TO command)")
        explain = ""
    else:
        subject, human = DSN_TEXT[style][w.lang]
        explain = (EXPLAIN_SOFT if soft else EXPLAIN_HARD)[w.lang]
    fill = dict(addr=to.address, mx=mx, smtp=smtp, status=status, explain=explain, subject=subject_orig)
    reason = reason.format(**fill)
    fill["reason"] = reason
    human_text = human.format(**fill)
    daemon = {"postfix": "MAILER-DAEMON@" + mx + " (Mail Delivery System)", "gmail": "Mail Delivery Subsystem <mailer-daemon@googlemail.example.com>",
              "exchange": "Microsoft Outlook <postmaster@" + mx.split(".", 1)[1] + ">"}[style if not delayed else rng.choice(["postfix", "gmail", "exchange"])]
    arrival = email.utils.format_datetime(w.when())
    per_message = f"Reporting-MTA: dns; {mx}\nX-Postfix-Queue-ID: {rng.randrange(16**10):010X}\nArrival-Date: {arrival}\n"
    original_recipient = f"Original-Recipient: rfc822;{to.address}\n" if rng.random() < 0.5 else ""
    action = "delayed" if delayed else "failed"
    per_recipient = (f"Final-Recipient: rfc822; {to.address}\n{original_recipient}Action: {action}\nStatus: {status}\n"
                     f"Remote-MTA: dns; {mx}\nDiagnostic-Code: smtp; {smtp} {status} {reason}\n")
    if delayed:
        per_recipient += f"Will-Retry-Until: {email.utils.format_datetime(w.when())}\n"
    status_part = b"Content-Type: message/delivery-status\n\n" + per_message.encode() + b"\n" + per_recipient.encode()
    cc = w.person((to.company, to.domain)).address if rng.random() < 0.4 else None
    if rng.random() < 0.5:
        returned = b"Content-Type: message/rfc822\nContent-Disposition: inline\n\n" + original_message(w, to, cc)
    else:
        headers_only = original_message(w, to, cc).split(b"\n\n", 1)[0]
        returned = b"Content-Type: text/rfc822-headers\n\n" + headers_only + b"\n"
    human_leaf = leaf(human_text, "plain", rng.choice(["utf-8", "utf-8", "iso-8859-1"]), rng.choice(["8bit", "quoted-printable", "base64"]))
    if style == "exchange" and rng.random() < 0.5:
        markup = "<html><body><p>" + human_text.replace("\n", "<br>\n") + "</p></body></html>"
        human_leaf = multipart("alternative", [human_leaf, leaf(markup, "html", "utf-8", "quoted-printable")], rng)
    body = multipart("report", [human_leaf, status_part, returned], rng, params="report-type=delivery-status")
    raw = message(_bounce_headers(w, subject.format(subject=subject_orig), daemon, mx), body)
    signal = "soft_bounce" if (soft or delayed) else "hard_bounce"
    kind = "dsn_delay" if delayed else f"dsn_{style}_{'soft' if soft else 'hard'}"
    return LabelledMessage(raw, "INBOX", [(to.address, signal, None)], w.lang, kind)


PLAIN_BOUNCES = {
    # name: (language or None for all, subject, daemon, text, signal, held_out); {addr} may be several recipients.
    "postfix_plain": ("en", "Undelivered Mail Returned to Sender", "MAILER-DAEMON@{mx} (Mail Delivery System)",
                      "This is the mail system at host {mx}.\n\nI'm sorry to have to inform you that your message could not\n"
                      "be delivered to one or more recipients.\n\n{each:<{addr}>: host {mx}[192.0.2.7] said: 550 5.1.1 <{addr}>:\n"
                      "    Recipient address rejected: User unknown in local recipient table\n\n:each}"
                      "--- Below this line is a copy of the message.\n\n{original}", "hard_bounce", False),
    "exim": ("en", "Mail delivery failed: returning message to sender", "Mail Delivery System <Mailer-Daemon@{mx}>",
             "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered "
             "to one or more of its recipients. This is a permanent error. The following address(es) failed:\n\n"
             "{each:  {addr}\n    host {mx} [192.0.2.10]\n    SMTP error from remote mail server after RCPT TO:<{addr}>:\n"
             "    550 No such user here\n:each}\n------ This is a copy of the message, including all the headers. ------\n\n{original}",
             "hard_bounce", False),
    "qmail": ("en", "failure notice", "MAILER-DAEMON@{mx}",
              "Hi. This is the qmail-send program at {mx}.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n"
              "This is a permanent error; I've given up. Sorry it didn't work out.\n\n{each:<{addr}>:\n"
              "Sorry, I couldn't find any host named {domain}. (#5.1.2)\n\n:each}--- Below this line is a copy of the message.\n\n{original}",
              "hard_bounce", False),
    "sendmail": ("en", "Returned mail: see transcript for details", "Mail Delivery Subsystem <MAILER-DAEMON@{mx}>",
                 "The original message was received at {date}\nfrom mail.refinery-client.example.com [198.51.100.4]\n\n"
                 "   ----- The following addresses had permanent fatal errors -----\n{each:<{addr}>\n    (reason: 550 5.1.1 <{addr}>... User unknown)\n:each}\n"
                 "   ----- Transcript of session follows -----\n... while talking to {mx}.:\n>>> DATA\n<<< 550 5.1.1 User unknown\n550 5.1.1 User unknown\n",
                 "hard_bounce", False),
    "yahoo": ("en", "Failure Notice", "MAILER-DAEMON@yahoo.example.com",
              "Sorry, we were unable to deliver your message to the following address.\n\n{each:<{addr}>:\n"
              "554: delivery error: dd Sorry your message to {addr} cannot be delivered. This mailbox is disabled (554.30). - mta1005.mail.example.com\n:each}\n"
              "--- Below this line is a copy of the message.\n\n{original}", "hard_bounce", False),
    "yahoo_noaccount": ("en", "Failure Notice", "MAILER-DAEMON@yahoo.example.com",
                        "Sorry, we were unable to deliver your message to the following address.\n\n{each:<{addr}>:\n"
                        "554: delivery error: dd This user doesn't have a {domain} account ({addr}) [0] - mta1005.mail.example.com\n:each}\n"
                        "--- Below this line is a copy of the message.\n\n{original}", "hard_bounce", True),
    "postfix_delay": ("en", "Delayed Mail (still being retried)", "MAILER-DAEMON@{mx} (Mail Delivery System)",
                      "This is the mail system at host {mx}.\n\n####################################################################\n"
                      "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
                      "####################################################################\n\nYour message could not be delivered for more than 4 hour(s).\n"
                      "It will be retried until it is 5 day(s) old.\n\n{each:<{addr}>: connect to {mx}[192.0.2.7]:25: Connection timed out\n:each}",
                      "soft_bounce", False),
    "exim_quota": ("en", "Mail delivery failed: returning message to sender", "Mail Delivery System <Mailer-Daemon@{mx}>",
                   "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered "
                   "to one or more of its recipients. The following address(es) failed:\n\n{each:  {addr}\n    mailbox is full: retry timeout exceeded\n:each}"
                   "\n------ This is a copy of the message, including all the headers. ------\n\n{original}", "soft_bounce", False),
    "o365_modern": (None, None, "Microsoft Outlook <postmaster@{mxdomain}>", None, "hard_bounce", False),
    "exchange_plain": (None, None, "System Administrator <postmaster@{mxdomain}>", None, "hard_bounce", False),
    "localised_held_out": (None, None, "postmaster@{mxdomain}", None, "hard_bounce", True),
    "delay_held_out": (None, None, "postmaster@{mxdomain}", None, "soft_bounce", True),
}
O365_MODERN = {
    "en": ("Undeliverable: {subject}", "Your message to {addr} couldn't be delivered.\n{local} wasn't found at {domain}.\n\n"
           "Action Required\nUnknown To address\n\nHow to Fix It\nThe address may be misspelled or may not exist.\n\n"
           "Diagnostic information for administrators:\nRemote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n\n"
           "Original message headers:\n\n{original_headers}"),
    "fr": ("Non remis : {subject}", "Votre message à {addr} n'a pas pu être remis.\n{local} est introuvable sur {domain}.\n\n"
           "Action requise\nAdresse À inconnue\n\nInformations de diagnostic pour les administrateurs :\n"
           "Le serveur distant a renvoyé '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n\n"
           "En-têtes du message d'origine :\n\n{original_headers}"),
    "de": ("Unzustellbar: {subject}", "Ihre Nachricht an {addr} konnte nicht zugestellt werden.\n{local} wurde bei {domain} nicht gefunden.\n\n"
           "Aktion erforderlich\nUnbekannte An-Adresse\n\nDiagnoseinformationen für Administratoren:\n"
           "Der Remoteserver hat '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup' zurückgegeben\n\n"
           "Ursprüngliche Nachrichtenkopfzeilen:\n\n{original_headers}"),
    "es": ("No se puede entregar: {subject}", "Su mensaje a {addr} no se pudo entregar.\nNo se encontró {local} en {domain}.\n\n"
           "Acción requerida\nDirección Para desconocida\n\nInformación de diagnóstico para administradores:\n"
           "El servidor remoto devolvió '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n\n"
           "Encabezados del mensaje original:\n\n{original_headers}"),
}
# Older Exchange wording, sent as text plus the returned message attached; soft when the mailbox is full.
EXCHANGE_PLAIN = {
    "en": ("Undeliverable: {subject}", "Your message did not reach some or all of the intended recipients.\n\n      Subject:\t{subject}\n\n"
           "The following recipient(s) cannot be reached:\n\n      {name} on {date}\n            {reason_en}\n            <{mx} #{status} smtp;{smtp} {status} {reason}>"),
    "fr": ("Non remis : {subject}", "Votre message n'a pas pu être remis à tous les destinataires.\n\n      Objet :\t{subject}\n\n"
           "Le ou les destinataires suivants n'ont pas pu être joints :\n\n      {addr} le {date}\n            {reason_loc}\n            <{mx} #{status} smtp;{smtp} {status} {reason}>"),
    "de": ("Unzustellbar: {subject}", "Ihre Nachricht hat einige oder alle Empfänger nicht erreicht.\n\n      Betreff:\t{subject}\n\n"
           "Folgende(r) Empfänger konnte(n) nicht erreicht werden:\n\n      {addr} am {date}\n            {reason_loc}\n            <{mx} #{status} smtp;{smtp} {status} {reason}>"),
    "es": ("No se puede entregar: {subject}", "Su mensaje no llegó a algunos o a todos los destinatarios.\n\n      Asunto:\t{subject}\n\n"
           "No se pudo llegar a los siguientes destinatarios:\n\n      {addr} el {date}\n            {reason_loc}\n            <{mx} #{status} smtp;{smtp} {status} {reason}>"),
}
EXCHANGE_REASON = {
    "hard": {"en": "The e-mail account does not exist at the organization this message was sent to.",
             "fr": "Le compte de messagerie n'existe pas dans l'organisation à laquelle ce message a été envoyé.",
             "de": "Das E-Mail-Konto existiert nicht in der Organisation, an die diese Nachricht gesendet wurde.",
             "es": "La cuenta de correo electrónico no existe en la organización a la que se envió este mensaje."},
    "soft": {"en": "The recipient's mailbox is full and can't accept messages now.",
             "fr": "La boîte aux lettres du destinataire est pleine.",
             "de": "Das Postfach des Empfängers ist voll.",
             "es": "El buzón del destinatario está lleno."},
}
# Held out: wording written after the phrase lists; the subject is the only listed phrase ("Message non remis"...).
LOCALISED_HELD_OUT = {
    "en": ("Message not delivered", "We could not hand your message over to {addr}: the mailbox is unknown here.\n(550 user unknown)"),
    "fr": ("Message non remis", "Nous n'avons pas pu acheminer votre message vers {addr} : cette boîte est inconnue de nos services.\n(550 user unknown)"),
    "de": ("Nachricht nicht zustellbar", "Wir konnten Ihre Nachricht nicht an {addr} übergeben: dieses Postfach ist uns unbekannt.\n(550 user unknown)"),
    "es": ("Mensaje no entregado", "No hemos podido hacer llegar su mensaje a {addr}: este buzón nos es desconocido.\n(550 user unknown)"),
}


# Held out: delay warnings without a status code, worded after the phrase lists were written.
DELAY_HELD_OUT = {
    "en": ("Delivery delay notification", "This is an automatically generated Delivery Status Notification.\n\nTHIS IS A WARNING "
           "MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\nDelivery to the following recipients has been delayed.\n\n     {addr}"),
    "fr": ("Avis de retard de distribution", "Ceci est un message d'avertissement uniquement ; vous n'avez pas besoin de renvoyer "
           "votre message.\nLa distribution à {addr} est retardée : la boîte du destinataire a atteint sa taille maximale."),
    "de": ("Verzögerte Zustellung", "Dies ist nur eine Warnung; Sie müssen Ihre Nachricht nicht erneut senden.\nDie Nachricht an "
           "{addr} liegt noch in der Warteschlange, da das Postfach seine Maximalgröße erreicht hat."),
    "es": ("Aviso de retraso en la entrega", "Esto es solo una advertencia; no es necesario que reenvíe su mensaje.\nEl mensaje "
           "para {addr} sigue en cola porque el buzón ha alcanzado su tamaño máximo."),
}


def plain_bounce(w: World, name: str) -> LabelledMessage:
    rng = w.rng
    lang_only, subject, daemon, text, signal, held_out = PLAIN_BOUNCES[name]
    company = w.company()
    n_rcpt = 2 if name in ("postfix_plain", "exim", "sendmail") and rng.random() < 0.3 else 1
    rcpts = [w.person(company) for _ in range(n_rcpt)]
    if n_rcpt == 2 and rcpts[0].address == rcpts[1].address:
        rcpts = rcpts[:1]
    to = rcpts[0]
    mx = f"mx{rng.randrange(1, 9)}.{to.domain}"
    subject_orig = rng.choice(SUBJECTS[w.lang])
    cc = w.person(company).address if rng.random() < 0.4 else None
    cc = cc if cc not in {r.address for r in rcpts} else None
    original = original_message(w, to, cc).decode("ascii", "replace")
    fill = dict(mx=mx, mxdomain=to.domain, domain=to.domain, subject=subject_orig, date=email.utils.format_datetime(w.when()),
                addr=to.address, local=to.address.split("@")[0], name=to.name, original=original,
                original_headers=original.split("\n\n", 1)[0])
    attach_original = False
    if name == "o365_modern":
        subject, text = O365_MODERN[w.lang]
    elif name == "exchange_plain":
        soft = rng.random() < 0.3
        signal = "soft_bounce" if soft else "hard_bounce"
        smtp, status, reason = ("552", "5.2.2", "Mailbox full") if soft else ("550", "5.1.1", "User unknown")
        subject, text = EXCHANGE_PLAIN[w.lang]
        key = "soft" if soft else "hard"
        fill.update(smtp=smtp, status=status, reason=reason, reason_en=EXCHANGE_REASON[key]["en"],
                    reason_loc=EXCHANGE_REASON[key][w.lang])
        if w.lang == "en":
            fill["name"] = f"{to.address}"
        attach_original = True
    elif name == "localised_held_out":
        subject, text = LOCALISED_HELD_OUT[w.lang]
    elif name == "delay_held_out":
        subject, text = DELAY_HELD_OUT[w.lang]
    # {each:...:each} repeats its inner text for every failed recipient.
    text = re.sub(r"\{each:(.*?)\:each}(?=[\n-]|$)", lambda m: "".join(
        m.group(1).replace("{addr}", r.address) for r in rcpts), text, flags=re.S)
    body_text = text.format(**fill)
    headers = _bounce_headers(w, subject.format(**fill), daemon.format(**fill), mx)
    if name.startswith("exim"):
        headers.append(("X-Failed-Recipients", ", ".join(r.address for r in rcpts)))
    if attach_original:
        part = leaf(body_text, "plain", "utf-8", rng.choice(["quoted-printable", "base64"]))
        returned = b"Content-Type: message/rfc822\n\n" + original_message(w, to, cc)
        content = multipart("mixed", [part, returned], rng)
    else:
        content = leaf(body_text, "plain", "utf-8" if not body_text.isascii() else "us-ascii", "8bit")
    raw = message(headers, content)
    return LabelledMessage(raw, "INBOX", [(r.address, signal, None) for r in rcpts], w.lang, name, held_out)


# ----------------------------------------------------------------------------------------------
# Auto-replies: departures and out-of-office
# ----------------------------------------------------------------------------------------------
# (text, held_out). {name}, {title} {last}, {company}, {day}.
DEPARTURE = {
    "en": [
        ("Thank you for your email. {name} is no longer with {company}.", False),
        ("Please note that I have left {company} as of {day}.", False),
        ("{name} has left the company and this mailbox is no longer monitored.", False),
        ("{title} {last} is no longer employed by {company}.", False),
        ("I am no longer at {company}.", True),
        ("My time at {company} has come to an end and this mailbox will be closed.", True),
        ("{name} has moved on from {company}; your message has not been forwarded.", True),
    ],
    "fr": [
        ("Bonjour,\n{name} ne fait plus partie de la société {company}.", False),
        ("J'ai quitté la société {company} le {day}.", False),
        ("{title} {last} n'est plus en poste chez {company}.", False),
        ("{name} a quitté l'entreprise. Votre message ne lui sera pas transmis.", False),
        ("Je ne suis plus chez {company} depuis le {day}.", True),
        ("{name} a rejoint une autre entreprise ; cette boîte sera bientôt fermée.", True),
        ("{name} ne fait désormais plus partie de nos équipes.", True),
    ],
    "de": [
        ("Vielen Dank für Ihre Nachricht. {title} {last} hat das Unternehmen verlassen.", False),
        ("Ich bin nicht mehr für die {company} tätig.", False),
        ("{name} ist nicht mehr bei der {company}. Ihre Nachricht wird nicht weitergeleitet.", False),
        ("{title} {last} ist zum {day} aus dem Unternehmen ausgeschieden.", False),
        ("{title} {last} ist seit dem {day} nicht mehr im Hause.", True),
        ("{name} ist in den Ruhestand gegangen.", True),
        ("Mein Arbeitsverhältnis bei der {company} endete am {day}.", True),
    ],
    "es": [
        ("Gracias por su mensaje. {name} ya no trabaja en {company}.", False),
        ("He dejado la empresa {company} el {day}.", False),
        ("{name} ya no forma parte de {company}. Este buzón ya no se consulta.", False),
        ("Le informamos de que {name} ya no pertenece a {company}.", False),
        ("{name} ya no está con nosotros.", True),
        ("Me he incorporado a otra empresa desde el {day}.", True),
        ("{name} se ha jubilado.", True),
    ],
}
# Replacement sentences: {new} the person's new address, {cname}/{caddr} a colleague.
REPLACEMENT = {
    "en": {
        "new": [("My new e-mail address is {new}.", False), ("You can reach me at {new} from now on.", False),
                ("I'm now at {newcompany}, where you'll find me as {new}.", True)],
        "colleague": [("For any matter, please contact {cname} at {caddr}.", False),
                      ("{cname} ({caddr}) has taken over my accounts.", False),
                      ("Enquiries should be sent to {caddr}.", False),
                      ("{cname} will be happy to help you: {caddr}", True)],
        "none": [("Your message has not been forwarded.", False), ("Thank you.", False), ("Kind regards.", True)],
    },
    "fr": {
        "new": [("Ma nouvelle adresse : {new}", False), ("Vous pouvez me joindre à mon nouvel e-mail : {new}", False),
                ("Vous pouvez désormais m'écrire sur {new}.", True)],
        "colleague": [("Merci de contacter {cname} : {caddr}.", False),
                      ("Pour toute demande, merci de vous adresser à {cname} ({caddr}).", False),
                      ("{cname} reprend ses dossiers ({caddr}).", False),
                      ("Son successeur, {cname}, reste à votre disposition : {caddr}", True)],
        "none": [("Votre message ne sera pas transmis.", False), ("Cordialement.", False), ("Bien à vous.", True)],
    },
    "de": {
        "new": [("Meine neue E-Mail-Adresse lautet: {new}", False), ("Sie erreichen mich ab sofort unter {new}.", False),
                ("Künftig bin ich bei der {newcompany} unter {new} zu finden.", True)],
        "colleague": [("Bitte wenden Sie sich an {cname} ({caddr}).", False),
                      ("Ihr neuer Ansprechpartner ist {cname}, {caddr}.", False),
                      ("{cname} hat seine Aufgaben übernommen: {caddr}", False),
                      ("Anfragen richten Sie bitte an {caddr}.", True)],
        "none": [("Ihre Nachricht wird nicht weitergeleitet.", False), ("Mit freundlichen Grüßen", False), ("Danke für Ihr Verständnis.", True)],
    },
    "es": {
        "new": [("Mi nueva dirección de correo es {new}.", False), ("Puede escribirme a mi nuevo correo: {new}", False),
                ("A partir de ahora me encontrará en {new}.", True)],
        "colleague": [("Por favor, póngase en contacto con {cname} en {caddr}.", False),
                      ("Puede escribir a {cname} ({caddr}), que se encarga de sus clientes.", False),
                      ("{cname} sustituye a {name}: {caddr}", False),
                      ("Para cualquier consulta, {cname} le atenderá encantado: {caddr}", True)],
        "none": [("Este buzón ya no se consulta.", False), ("Un saludo.", False), ("Gracias por su comprensión.", True)],
    },
}
OOO = {
    "en": [("I am out of the office until {day} with limited access to e-mail.", False),
           ("I'm on annual leave and will be back on {day}.", False),
           ("Thank you for your message. I am currently travelling and will reply when I return on {day}.", False),
           ("I'm away until {day} and won't be checking messages.", True)],
    "fr": [("Je suis absent du bureau jusqu'au {day}.", False), ("Je suis en congés, de retour le {day}.", False),
           ("Actuellement en déplacement, je vous répondrai dès mon retour le {day}.", False),
           ("Je ne suis pas joignable avant le {day}.", True)],
    "de": [("Ich bin bis zum {day} nicht im Büro.", False), ("Vielen Dank für Ihre Nachricht. Ich bin im Urlaub und ab dem {day} wieder erreichbar.", False),
           ("Ich befinde mich in Elternzeit.", False), ("Bis einschließlich {day} kann ich Ihre E-Mail leider nicht lesen.", True)],
    "es": [("Estoy fuera de la oficina hasta el {day}.", False), ("Estoy de vacaciones y volveré el {day}.", False),
           ("Me encuentro de baja por maternidad.", False), ("No podré leer su correo hasta el {day}.", True)],
}
OOO_COLLEAGUE = {
    "en": "For urgent matters, please contact {cname} at {caddr}.",
    "fr": "En cas d'urgence, merci de contacter {cname} ({caddr}).",
    "de": "In dringenden Fällen wenden Sie sich bitte an {cname} ({caddr}).",
    "es": "Para asuntos urgentes, póngase en contacto con {cname} en {caddr}.",
}
AUTO_SUBJECT = {"en": "Automatic reply: {subject}", "fr": "Réponse automatique : {subject}",
                "de": "Automatische Antwort: {subject}", "es": "Respuesta automática: {subject}"}
QUOTE_HEADER = {
    "en": "-----Original Message-----\nFrom: {owner} <{owner_addr}>\nSent: {date}\nTo: {to}\nCc: {cc}\nSubject: {subject}\n\n",
    "fr": "-----Message d'origine-----\nDe : {owner} <{owner_addr}>\nEnvoyé : {date}\nÀ : {to}\nCc : {cc}\nObjet : {subject}\n\n",
    "de": "-----Ursprüngliche Nachricht-----\nVon: {owner} <{owner_addr}>\nGesendet: {date}\nAn: {to}\nCc: {cc}\nBetreff: {subject}\n\n",
    "es": "-----Mensaje original-----\nDe: {owner} <{owner_addr}>\nEnviado: {date}\nPara: {to}\nCC: {cc}\nAsunto: {subject}\n\n",
}
QUOTED_BODY = {
    "en": "Hello,\nplease also copy our accounts team at {oc} on the reply.\n",
    "fr": "Bonjour,\nmerci de contacter aussi notre comptabilité : {oc}\n",
    "de": "Guten Tag,\nbitte wenden Sie sich auch an unsere Buchhaltung: {oc}\n",
    "es": "Hola,\npóngase en contacto también con contabilidad: {oc}\n",
}
FOOTER = "\n--\n{company} | Tel. +00 1 23 45 67 89 | info@{domain} | www.{domain}\nPrivacy: privacy@{domain}\n"


def _autoreply(w: World, p: Person, text: str, rng: random.Random) -> bytes:
    subject_orig = rng.choice(SUBJECTS[w.lang])
    if rng.random() < 0.5:
        text += FOOTER.format(company=p.company, domain=p.domain)
    if rng.random() < 0.4:
        text += "\n" + QUOTE_HEADER[w.lang].format(owner=w.owner.name, owner_addr=w.owner.address, date=email.utils.format_datetime(w.when()),
                                                  to=p.address, cc=w.owner_colleague, subject=subject_orig)
        text += QUOTED_BODY[w.lang].format(oc=w.owner_colleague)
    hints = rng.choice(["both", "both", "header", "subject", "x-autoreply"])
    subject = AUTO_SUBJECT[w.lang].format(subject=subject_orig) if hints in ("both", "subject") else subject_orig
    headers = [("From", addr_header(p.name, p.address)), ("To", addr_header(w.owner.name, w.owner.address)),
               ("Subject", encode_header(subject)), ("Date", email.utils.format_datetime(w.when())),
               ("Message-ID", message_id(w, p.domain)), ("In-Reply-To", message_id(w, w.owner.domain))]
    if hints in ("both", "header"):
        headers.append(("Auto-Submitted", "auto-replied"))
    if hints == "x-autoreply":
        headers += [("X-Autoreply", "yes"), ("Precedence", "auto_reply")]
    return message(headers, text_body(w, text))


def departure(w: World, replacement: str) -> LabelledMessage:
    rng = w.rng
    p = w.person()
    sentence, held1 = rng.choice(DEPARTURE[w.lang])
    repl, held2 = rng.choice(REPLACEMENT[w.lang][replacement])
    colleague = w.colleague_of(p)
    new = w.new_job(p)
    fill = dict(name=p.name, title=w.title(p), last=p.last, company=p.company, day=w.day(), new=new.address,
                newcompany=new.company, cname=colleague.name, caddr=colleague.address)
    text = sentence.format(**fill) + "\n" + repl.format(**fill) + "\n"
    if w.lang != "en" and rng.random() < 0.3:
        # Bilingual notices are common in Europe: the same words again in English, after the local ones.
        en_sentence, en_held1 = rng.choice(DEPARTURE["en"])
        en_repl, en_held2 = rng.choice(REPLACEMENT["en"][replacement])
        text += "\n" + en_sentence.format(**fill) + "\n" + en_repl.format(**fill) + "\n"
        held1, held2 = held1 or en_held1, held2 or en_held2
    expected_repl = {"new": new.address, "colleague": colleague.address, "none": None}[replacement]
    kind = {"new": "new_address", "colleague": "colleague", "none": None}[replacement]
    raw = _autoreply(w, p, text, rng)
    m = LabelledMessage(raw, "INBOX", [(p.address, "departed", expected_repl)], w.lang, f"departed_{replacement}", held1 or held2)
    m.expected_kind = {p.address: kind}
    return m


def out_of_office(w: World, with_colleague: bool) -> LabelledMessage:
    rng = w.rng
    p = w.person()
    sentence, held = rng.choice(OOO[w.lang])
    colleague = w.colleague_of(p)
    text = sentence.format(day=w.day())
    if with_colleague:
        text += "\n" + OOO_COLLEAGUE[w.lang].format(cname=colleague.name, caddr=colleague.address)
    if w.lang != "en" and rng.random() < 0.3:
        en_sentence, en_held = rng.choice(OOO["en"])
        text += "\n\n" + en_sentence.format(day=w.day())
        if with_colleague:
            text += "\n" + OOO_COLLEAGUE["en"].format(cname=colleague.name, caddr=colleague.address)
        held = held or en_held
    raw = _autoreply(w, p, text + "\n", rng)
    return LabelledMessage(raw, "INBOX", [], w.lang, "ooo_colleague" if with_colleague else "ooo", held)


# ----------------------------------------------------------------------------------------------
# Negatives
# ----------------------------------------------------------------------------------------------
ORDINARY = {
    "en": "Hello {owner_first},\nThanks for the quote. The parcel you mentioned was returned as undeliverable by the courier, "
          "could you check the address? Also note {cname} ({caddr}) now handles purchasing.\nBest,\n{name}",
    "fr": "Bonjour {owner_first},\nMerci pour le devis. Le colis n'a pas pu être livré, pouvez-vous vérifier l'adresse ? "
          "Pour info, {cname} ({caddr}) reprend les achats.\nCordialement,\n{name}",
    "de": "Hallo {owner_first},\ndanke für das Angebot. Das Paket war leider unzustellbar, können Sie die Adresse prüfen? "
          "Ab sofort ist {cname} ({caddr}) für den Einkauf zuständig.\nViele Grüße\n{name}",
    "es": "Hola {owner_first}:\nGracias por el presupuesto. El paquete no se pudo entregar, ¿puede comprobar la dirección? "
          "Por cierto, {cname} ({caddr}) se encarga ahora de las compras.\nUn saludo,\n{name}",
}
# A colleague's hand-written note about someone who left: no auto-reply, so no signal about the sender.
MANUAL_NOTE = {
    "en": "Hello,\n{name} is no longer with {company}. Please contact me instead.\nRegards,\n{cname}",
    "fr": "Bonjour,\n{name} a quitté la société. Merci de me contacter désormais.\nCordialement,\n{cname}",
    "de": "Guten Tag,\n{name} hat das Unternehmen verlassen. Bitte wenden Sie sich künftig an mich.\nGrüße\n{cname}",
    "es": "Hola,\n{name} ya no trabaja en {company}. Póngase en contacto conmigo.\nSaludos,\n{cname}",
}
NEWSLETTER = {
    "en": "<h1>{company} news</h1><p>Our team has grown and our offices have moved.</p><p>If you no longer wish to receive these emails, "
          "<a href='https://{domain}/u'>unsubscribe</a> or write to newsletter@{domain}.</p>",
    "fr": "<h1>Les nouvelles de {company}</h1><p>Notre équipe s'agrandit.</p><p>Pour ne plus recevoir cette lettre, "
          "<a href='https://{domain}/d'>désabonnez-vous</a> ou écrivez à newsletter@{domain}.</p>",
    "de": "<h1>Neuigkeiten von {company}</h1><p>Unser Team wächst.</p><p>Sie möchten den Newsletter nicht mehr erhalten? "
          "<a href='https://{domain}/a'>Abmelden</a> oder an newsletter@{domain} schreiben.</p>",
    "es": "<h1>Novedades de {company}</h1><p>Nuestro equipo crece.</p><p>Si ya no desea recibir estos correos, "
          "<a href='https://{domain}/b'>darse de baja</a> o escriba a newsletter@{domain}.</p>",
}
READ_RECEIPT = {"en": ("Read: {subject}", "Your message\n\n  To: {addr}\n  Subject: {subject}\n\nwas read on {date}."),
                "fr": ("Lu : {subject}", "Votre message\n\n  À : {addr}\n  Objet : {subject}\n\na été lu le {date}."),
                "de": ("Gelesen: {subject}", "Ihre Nachricht\n\n  An: {addr}\n  Betreff: {subject}\n\nwurde am {date} gelesen."),
                "es": ("Leído: {subject}", "Su mensaje\n\n  Para: {addr}\n  Asunto: {subject}\n\nse leyó el {date}.")}
CHALLENGE = ("I am protecting myself from receiving junk mail. Please click the link below to complete the verification process. "
             "You have to do this only once.\nhttps://verify.example.net/c/{token}\n")


def negative(w: World, kind: str) -> LabelledMessage:
    rng = w.rng
    p = w.person()
    c = w.colleague_of(p)
    subject = rng.choice(SUBJECTS[w.lang])
    base = [("From", addr_header(p.name, p.address)), ("To", addr_header(w.owner.name, w.owner.address)),
            ("Date", email.utils.format_datetime(w.when())), ("Message-ID", message_id(w, p.domain))]
    fill = dict(owner_first=w.owner.first, name=p.name, cname=c.name, caddr=c.address, company=p.company, domain=p.domain,
                subject=subject, addr=p.address, date=email.utils.format_datetime(w.when()))
    if kind == "ordinary":
        raw = message(base + [("Subject", encode_header("Re: " + subject))], text_body(w, ORDINARY[w.lang].format(**fill), 0.3))
    elif kind == "manual_note":
        base[0] = ("From", addr_header(c.name, c.address))
        raw = message(base + [("Subject", encode_header("Re: " + subject))], text_body(w, MANUAL_NOTE[w.lang].format(**fill), 0.0))
    elif kind == "newsletter":
        base[0] = ("From", addr_header(p.company, f"newsletter@{p.domain}"))
        raw = message(base + [("Subject", encode_header(p.company)), ("List-Unsubscribe", f"<https://{p.domain}/u>"), ("Precedence", "bulk")],
                      leaf(NEWSLETTER[w.lang].format(**fill), "html", "utf-8", "quoted-printable"))
    elif kind == "read_receipt":
        subj, text = READ_RECEIPT[w.lang]
        mdn = (f"Reporting-UA: {p.domain}; Microsoft Exchange Server\nFinal-Recipient: rfc822;{p.address}\n"
               f"Original-Message-ID: {message_id(w, w.owner.domain)}\nDisposition: automatic-action/MDN-sent-automatically; displayed\n")
        content = multipart("report", [leaf(text.format(**fill), "plain", "utf-8", "quoted-printable"),
                                       b"Content-Type: message/disposition-notification\n\n" + mdn.encode()],
                            rng, params="report-type=disposition-notification")
        raw = message(base + [("Subject", encode_header(subj.format(**fill)))], content)
    elif kind == "delivered_dsn":
        mx = f"mx1.{p.domain}"
        status = (f"Reporting-MTA: dns; {mx}\n\nFinal-Recipient: rfc822; {p.address}\nAction: delivered\nStatus: 2.0.0\n")
        content = multipart("report", [leaf("Your message was delivered to the recipient.\n", "plain", "us-ascii", "7bit"),
                                       b"Content-Type: message/delivery-status\n\n" + status.encode()], rng,
                            params="report-type=delivery-status")
        raw = message(_bounce_headers(w, "Delivery Status Notification (Success)", f"MAILER-DAEMON@{mx}", mx), content)
    else:  # challenge-response
        raw = message(base + [("Subject", encode_header("Re: " + subject)), ("Auto-Submitted", "auto-replied")],
                      leaf(CHALLENGE.format(token=rng.randrange(16**16)), "plain", "us-ascii", "7bit"))
    return LabelledMessage(raw, "INBOX", [], w.lang, kind)


# ----------------------------------------------------------------------------------------------
# The corpus
# ----------------------------------------------------------------------------------------------
def _kinds(language: str) -> list[tuple[str, object]]:
    kinds: list[tuple[str, object]] = [
        ("dsn_exchange_hard", lambda w: dsn_message(w, "exchange", False)),
        ("dsn_exchange_soft", lambda w: dsn_message(w, "exchange", True)),
        ("dsn_gmail_hard", lambda w: dsn_message(w, "gmail", False)),
        ("dsn_gmail_soft", lambda w: dsn_message(w, "gmail", True)),
        ("dsn_delay", lambda w: dsn_message(w, "exchange", False, delayed=True)),
        ("o365_modern", lambda w: plain_bounce(w, "o365_modern")),
        ("exchange_plain", lambda w: plain_bounce(w, "exchange_plain")),
        ("localised_held_out", lambda w: plain_bounce(w, "localised_held_out")),
        ("delay_held_out", lambda w: plain_bounce(w, "delay_held_out")),
        ("departed_new", lambda w: departure(w, "new")),
        ("departed_colleague", lambda w: departure(w, "colleague")),
        ("departed_none", lambda w: departure(w, "none")),
        ("ooo", lambda w: out_of_office(w, False)),
        ("ooo_colleague", lambda w: out_of_office(w, True)),
        ("ordinary", lambda w: negative(w, "ordinary")),
        ("manual_note", lambda w: negative(w, "manual_note")),
        ("newsletter", lambda w: negative(w, "newsletter")),
        ("read_receipt", lambda w: negative(w, "read_receipt")),
        ("delivered_dsn", lambda w: negative(w, "delivered_dsn")),
        ("challenge", lambda w: negative(w, "challenge")),
    ]
    if language == "en":
        kinds += [("dsn_postfix_hard", lambda w: dsn_message(w, "postfix", False)),
                  ("dsn_postfix_soft", lambda w: dsn_message(w, "postfix", True))]
        kinds += [(name, (lambda n: lambda w: plain_bounce(w, n))(name))
                  for name, spec in PLAIN_BOUNCES.items() if spec[0] == "en"]
    return kinds


def build_corpus(n_per_kind: int = 10, seed: int = 7) -> list[LabelledMessage]:
    """n_per_kind messages of every kind for every language (English has the extra MTA-specific kinds)."""
    rng = random.Random(seed)
    out: list[LabelledMessage] = []
    for language in LANGUAGES:
        w = World(rng, language)
        for kind, make in _kinds(language):
            for _ in range(n_per_kind):
                m = make(w)  # type: ignore[operator]
                m.kind = kind
                if rng.random() < 0.15:
                    m.raw = m.raw.replace(b"\n", b"\r\n")  # as Outlook and most .eml exports write them
                m.folder = "INBOX" if not m.expected else rng.choice(["INBOX", "INBOX", "Bounces", "Auto-replies"])
                out.append(m)
    rng.shuffle(out)
    return out


def write_mbox(messages: list[LabelledMessage], path: Path) -> None:
    """An mboxrd file: From_ line, ">From " quoting of body lines (any depth), blank line between messages."""
    with open(path, "wb") as f:
        for m in messages:
            f.write(b"From MAILER-DAEMON Thu Nov 26 10:00:00 2026\n")
            body = re.sub(rb"^(>*From )", rb">\1", m.raw, flags=re.M)
            f.write(body if body.endswith(b"\n") else body + b"\n")
            f.write(b"\n")


def write_eml_zip(messages: list[LabelledMessage], path: Path) -> None:
    """A zip of `<folder>/<n>.eml` files, as mail clients export them."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i, m in enumerate(messages):
            z.writestr(f"{m.folder}/{i:05d}.eml", m.raw)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/data/mailbox"))
    parser.add_argument("--n-per-kind", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(args.n_per_kind, args.seed)
    write_mbox(corpus, args.out / "corpus.mbox")
    write_eml_zip(corpus, args.out / "corpus.zip")
    print(f"{len(corpus)} messages written to {args.out}")


if __name__ == "__main__":
    main()
