"""Sending e-mail to controllers: forwarded data-subject requests (DPA III.7) and breach notices
(DPA III.8, by e-mail within 72 hours).

SMTP settings from the environment:

| variable | meaning | default |
|---|---|---|
| REFINERY_SMTP_HOST | relay host | (unset: nothing can be sent) |
| REFINERY_SMTP_PORT | port | 587 (starttls), 465 (ssl), 25 (none) |
| REFINERY_SMTP_SECURITY | `starttls`, `ssl` or `none` | starttls |
| REFINERY_SMTP_USER / REFINERY_SMTP_PASSWORD | login, when the relay needs one | unset |
| REFINERY_SMTP_FROM | sender address | (required) |
| REFINERY_SMTP_TIMEOUT | seconds | 30 |

`none` (plain SMTP) is accepted only for a relay on this machine: messages carry personal data
(a forwarded request names the person) and the DPA asks for TLS in transit (III.10). STARTTLS is
required, not opportunistic: a relay that does not offer it is refused. Nothing is logged.
"""

from __future__ import annotations

from resources.hosts import is_local_host
import os
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

SECURITY_MODES = ("starttls", "ssl", "none")
_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class MailerError(RuntimeError):
    """Mail could not be configured or sent; one line, no message content."""


def _is_local(host: str) -> bool:
    return is_local_host(host)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    sender: str
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    # Tests against a local server with a self-signed certificate; never set in production.
    verify_tls: bool = True

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise MailerError(f"REFINERY_SMTP_SECURITY={self.security!r}: expected one of {', '.join(SECURITY_MODES)}")
        if self.security == "none" and not _is_local(self.host):
            raise MailerError(
                f"REFINERY_SMTP_HOST={self.host} is not on this machine: plain SMTP is refused, set REFINERY_SMTP_SECURITY to starttls or ssl"
            )
        if "@" not in self.sender:
            raise MailerError("REFINERY_SMTP_FROM must be an e-mail address")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "SmtpSettings":
        env = dict(os.environ if env is None else env)
        host = env.get("REFINERY_SMTP_HOST", "").strip()
        if not host:
            raise MailerError("no mail relay configured: set REFINERY_SMTP_HOST and REFINERY_SMTP_FROM")
        security = env.get("REFINERY_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        try:
            port = int(env.get("REFINERY_SMTP_PORT") or _DEFAULT_PORTS.get(security, 587))
            timeout = float(env.get("REFINERY_SMTP_TIMEOUT") or 30)
        except ValueError:
            raise MailerError("REFINERY_SMTP_PORT and REFINERY_SMTP_TIMEOUT must be numbers") from None
        return cls(
            host=host, port=port, security=security, sender=env.get("REFINERY_SMTP_FROM", "").strip(),
            username=env.get("REFINERY_SMTP_USER") or None, password=env.get("REFINERY_SMTP_PASSWORD") or None,
            timeout=timeout,
        )


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime: str = "application/octet-stream"


class Mailer:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Mailer":
        return cls(SmtpSettings.from_env(env))

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.settings.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def send(self, to: Sequence[str], subject: str, body: str, attachments: Sequence[Attachment] = ()) -> str:
        """Send one message; returns its Message-ID (recorded instead of the content)."""
        recipients = [a for a in to if a and "@" in a]
        if not recipients:
            raise MailerError("no recipient address: record the controller's contact (refinery controller set --contact-email)")
        s = self.settings
        message = EmailMessage()
        message["From"] = s.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message_id = make_msgid(domain=s.sender.split("@", 1)[1])
        message["Message-ID"] = message_id
        message.set_content(body)
        for a in attachments:
            maintype, _, subtype = a.mime.partition("/")
            message.add_attachment(a.data, maintype=maintype, subtype=subtype or "octet-stream", filename=a.filename)
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                client.ehlo()
                if s.security == "starttls":
                    if not client.has_extn("starttls"):
                        raise MailerError(f"the mail relay {s.host}:{s.port} does not offer STARTTLS: refused (TLS required)")
                    client.starttls(context=self._context())
                    client.ehlo()
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(message)
        except MailerError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            # The reason, never the message: it may name the person a request is about.
            raise MailerError(f"mail relay {s.host}:{s.port}: {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}") from None
        return message_id
