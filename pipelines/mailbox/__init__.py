"""Signals from the client's mailboxes (issue 9): bounces and departure auto-replies.

Framework-free: `exports.iter_messages` turns an uploaded export into raw messages, `signals.extract_signals`
turns one raw message into `MailboxSignal`s (never a body), `signals.signals_table` makes an Arrow table of them.
"""
