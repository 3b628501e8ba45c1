"""E-mail verification: MX lookup and an SMTP RCPT TO probe, with catch-all detection.

Off by default (the controller's settings enable `verification`): it is the only enrichment that
talks to the network, and it tells each domain's own mail server which addresses we asked about
(no message is ever sent: the probe stops before DATA). One connection per domain:

    EHLO <helo_name>; MAIL FROM:<mail_from or null sender>;
    RCPT TO:<random address on the domain>   -> accepted: the domain accepts everything (catch-all)
    RCPT TO:<each address>                    -> 250/251 deliverable, 550-553 undeliverable
    QUIT

A domain without MX (nor an A record, the implicit MX of RFC 5321) is undeliverable; a server
that cannot be reached, a 4xx answer (greylisting) or a timeout is "unknown", never a verdict.
The MX lookup is injectable so tests run against a local aiosmtpd server on 127.0.0.1.
"""

from __future__ import annotations

import secrets
import smtplib
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dagster import ConfigurableResource

DELIVERABLE = "deliverable"
UNDELIVERABLE = "undeliverable"
CATCH_ALL = "catch-all"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    status: str  # deliverable, undeliverable, catch-all or unknown
    reason: str  # short and free of personal data: "550 from the mail server", "no MX"


class DnsUnavailable(RuntimeError):
    """The DNS could not answer (timeout, no resolver): the domain's fate is unknown."""


# domain -> mail hosts, best preference first; [] when the domain has no mail server.
MxResolver = Callable[[str], list[str]]


def dns_mx_resolver(timeout_s: float = 5.0) -> MxResolver:
    """MX hosts from the system's DNS resolver (dnspython), falling back to the A record."""
    import dns.exception
    import dns.resolver

    resolvers: list[dns.resolver.Resolver] = []

    def resolve(domain: str) -> list[str]:
        if not resolvers:  # built at first use: a machine without DNS configuration fails here
            try:
                resolvers.append(dns.resolver.Resolver())
            except dns.exception.DNSException as exc:
                raise DnsUnavailable(type(exc).__name__) from None
            resolvers[0].lifetime = timeout_s
        resolver = resolvers[0]
        try:
            answer = resolver.resolve(domain, "MX")
            hosts = sorted(((r.preference, r.exchange.to_text().rstrip(".")) for r in answer))
            return [h for _, h in hosts if h]  # a null MX (".") says the domain takes no mail
        except dns.resolver.NXDOMAIN:
            return []
        except dns.resolver.NoAnswer:
            pass
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(type(exc).__name__) from None
        try:
            resolver.resolve(domain, "A")
            return [domain]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(type(exc).__name__) from None

    return resolve


class SmtpVerifier:
    """Verifies addresses domain by domain; see the module docstring for the dialogue."""

    def __init__(
        self,
        resolver: MxResolver,
        *,
        port: int = 25,
        helo_name: str = "refinery.localhost",
        mail_from: str = "",
        timeout_s: float = 10.0,
        max_domains: int = 500,
    ):
        self.resolver, self.port, self.helo_name = resolver, port, helo_name
        self.mail_from, self.timeout_s, self.max_domains = mail_from, timeout_s, max_domains

    def verify(self, addresses: Iterable[str]) -> dict[str, Verdict]:
        """Verdict per distinct address (lower-cased). Domains beyond `max_domains` are unknown."""
        by_domain: dict[str, list[str]] = {}
        for address in addresses:
            if address and address.count("@") == 1:
                by_domain.setdefault(address.rsplit("@", 1)[1].lower(), []).append(address.lower())
        verdicts: dict[str, Verdict] = {}
        for i, (domain, group) in enumerate(sorted(by_domain.items())):
            group = sorted(set(group))
            if i >= self.max_domains:
                verdicts.update({a: Verdict(UNKNOWN, "verification limit reached") for a in group})
                continue
            verdicts.update(self._verify_domain(domain, group))
        return verdicts

    def _verify_domain(self, domain: str, addresses: list[str]) -> dict[str, Verdict]:
        try:
            hosts = self.resolver(domain)
        except DnsUnavailable as exc:
            return {a: Verdict(UNKNOWN, f"DNS unavailable ({exc})") for a in addresses}
        if not hosts:
            return {a: Verdict(UNDELIVERABLE, "the domain has no mail server (no MX)") for a in addresses}
        for host in hosts:
            try:
                return self._probe(host, domain, addresses)
            except (OSError, smtplib.SMTPException):
                continue  # next MX
        return {a: Verdict(UNKNOWN, "no mail server of the domain could be reached") for a in addresses}

    def _probe(self, host: str, domain: str, addresses: list[str]) -> dict[str, Verdict]:
        with smtplib.SMTP(host, self.port, local_hostname=self.helo_name, timeout=self.timeout_s) as smtp:
            code, _ = smtp.ehlo()
            if not 200 <= code < 300:
                smtp.helo()
            code, _ = smtp.mail(self.mail_from)
            if code >= 400:
                return {a: Verdict(UNKNOWN, f"sender refused ({code})") for a in addresses}
            probe = f"refinery-probe-{secrets.token_hex(8)}@{domain}"
            catch_all = self._rcpt(smtp, probe) in (250, 251)
            out = {}
            for address in addresses:
                code = self._rcpt(smtp, address)
                if code in (250, 251):
                    out[address] = Verdict(CATCH_ALL, "the domain accepts every address") if catch_all \
                        else Verdict(DELIVERABLE, f"{code} from the mail server")
                elif code in (550, 551, 553):
                    out[address] = Verdict(UNDELIVERABLE, f"mailbox refused by the mail server ({code})")
                else:
                    out[address] = Verdict(UNKNOWN, f"{code} from the mail server")
            try:
                smtp.rset()
            except smtplib.SMTPException:
                pass
            return out

    @staticmethod
    def _rcpt(smtp: smtplib.SMTP, address: str) -> int:
        try:
            code, _ = smtp.rcpt(address)
        except (smtplib.SMTPServerDisconnected, socket.timeout):
            raise
        except smtplib.SMTPException:
            return 0
        return code


class EmailVerificationResource(ConfigurableResource):
    """Dagster resource for the verifier. The run's settings (`verification:` section) override
    these defaults; `mx_hosts` pins every domain to fixed hosts (tests, a relay)."""

    port: int = 25
    helo_name: str = "refinery.localhost"
    mail_from: str = ""
    timeout_s: float = 10.0
    max_domains: int = 500
    mx_hosts: list[str] = []

    def verifier(self, resolver: MxResolver | None = None, **overrides: object) -> SmtpVerifier:
        if resolver is None:
            resolver = (lambda _domain: list(self.mx_hosts)) if self.mx_hosts else dns_mx_resolver(self.timeout_s)
        options = {
            "port": self.port, "helo_name": self.helo_name, "mail_from": self.mail_from,
            "timeout_s": self.timeout_s, "max_domains": self.max_domains,
        } | overrides
        return SmtpVerifier(resolver, **options)  # type: ignore[arg-type]


def verifier_from_settings(settings: object, resolver: MxResolver | None = None) -> SmtpVerifier:
    """A verifier configured by the run's `VerificationSettings` (pipelines.controller_settings)."""
    return SmtpVerifier(
        resolver or dns_mx_resolver(getattr(settings, "timeout_s", 10.0)),
        port=getattr(settings, "port", 25),
        helo_name=getattr(settings, "helo_name", "refinery.localhost"),
        mail_from=getattr(settings, "mail_from", ""),
        timeout_s=getattr(settings, "timeout_s", 10.0),
        max_domains=getattr(settings, "max_domains", 500),
    )
