"""The Dagster resource that reads a staff mailbox over IMAP (issue #9).

A thin wrapper over resources/imap_source.py: the mailbox's server settings come from the
controller's recorded settings (pipelines/mailbox_settings.py), its secret from the operator's
environment (REFINERY_IMAP_SECRET_<ID>), and the date range from `since_days`. Read-only.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any, Optional

from dagster import ConfigurableResource

from pipelines.mailbox_settings import MailboxSource


class MailboxReaderResource(ConfigurableResource):
    """`ca_file`: a CA bundle for servers with a private CA (REFINERY_IMAP_CA_FILE).
    `allow_plaintext_loopback`: tests only; an IMAP server on 127.0.0.1 without TLS."""

    ca_file: Optional[str] = None
    allow_plaintext_loopback: bool = False
    max_messages: int = 50_000

    def messages(self, mailbox: MailboxSource, today: dt.date | None = None, stats: Any = None) -> Iterator[bytes]:
        """Raw messages of the mailbox's allowed folders and days; `stats` (imap_source.FetchStats)
        receives the counts, skipped messages included."""
        from resources.imap_source import ImapMailbox, fetch_messages, secret_from_env

        if mailbox.source != "imap" or not mailbox.host or not mailbox.username:
            raise ValueError(f"mailbox {mailbox.id} is not an IMAP mailbox")
        today = today or dt.datetime.now(dt.timezone.utc).date()
        imap = ImapMailbox(
            mailbox_id=mailbox.id,
            host=mailbox.host,
            username=mailbox.username,
            port=mailbox.port,
            security=mailbox.security,
            auth=mailbox.auth,
            folders=tuple(mailbox.folders),
            since=today - dt.timedelta(days=mailbox.since_days),
            ca_file=self.ca_file or os.environ.get("REFINERY_IMAP_CA_FILE") or None,
            allow_plaintext_loopback=self.allow_plaintext_loopback,
        )
        secret = secret_from_env(imap)
        for _folder, _uid, raw in fetch_messages(imap, secret, max_messages=self.max_messages, stats=stats):
            yield raw
