"""One uploaded mailbox export in, its signals out: the loop the export asset and the IMAP reader share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pyarrow as pa

from pipelines.mailbox.exports import DEFAULT_LIMITS, ExportLimits, iter_messages
from pipelines.mailbox.signals import SIGNALS, MailboxSignal, extract_signals, signals_table


def scan_messages(messages: Iterable[bytes], source_mailbox: str) -> tuple[pa.Table, dict[str, int]]:
    """Signals of every message, and counts fit for logs and asset metadata (no address, no content):
    `messages`, `messages_with_signal` and one count per signal type."""
    found: list[MailboxSignal] = []
    counts: Counter[str] = Counter({"messages": 0, "messages_with_signal": 0, **{s: 0 for s in SIGNALS}})
    for raw in messages:
        signals = extract_signals(raw, source_mailbox)
        counts["messages"] += 1
        counts["messages_with_signal"] += bool(signals)
        counts.update(s.signal for s in signals)
        found.extend(signals)
    return signals_table(found), dict(counts)


def scan_export(name: str, data: bytes, source_mailbox: str, limits: ExportLimits = DEFAULT_LIMITS) -> tuple[pa.Table, dict[str, int]]:
    """scan_messages over an uploaded export (see exports.iter_messages; raises MailboxExportError as it does)."""
    return scan_messages(iter_messages(name, data, limits), source_mailbox)
