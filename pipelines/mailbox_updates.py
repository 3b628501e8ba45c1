"""Mailbox signals turned into updates of the controller's contacts (issue #9, DPA II (iii)).

What a mailbox knows that the CRM does not: an address that bounces, a person who left (and the
address or colleague to write to instead). This stage matches the signals extracted from the
client's mailboxes (pipelines/mailbox) to the controller's master records by address, and gives:

- the new *events* (one per signal and matched record, never seen before), kept in the master's
  e-mail history (`controllers/<c>/master/email_events.parquet`): a hard-bounced address is
  marked invalid there, not erased from the record;
- the *update file* for the client's CRM: which address to mark invalid, which person to flag as
  departed, which replacement address to consider, with provenance `mailbox` and, for a new
  address, whether it fits the pattern the domain's addresses follow.

Signals about addresses that no record holds are dropped (counted only): the mailbox knows people
the client's list does not, and they are not ours to keep. Framework-free: Arrow in, Arrow out.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fields.email_finding import find_emails
from sql import load_sql

PROVENANCE = "mailbox"
# Soft bounces on this many different days make an address as good as invalid.
REPEATED_SOFT_BOUNCE_DAYS = 3

SIGNAL_COLUMNS = (
    "address", "signal", "observed_at", "source_mailbox", "status_code", "replacement_email", "replacement_kind", "language",
)

EVENT_SCHEMA = pa.schema([
    ("event_key", pa.string()),
    ("person_id", pa.string()),
    ("record_key", pa.string()),
    ("email", pa.string()),
    ("signal", pa.string()),
    ("status_code", pa.string()),
    ("observed_at", pa.string()),
    ("mailbox_id", pa.string()),
    ("replacement_email", pa.string()),
    ("replacement_kind", pa.string()),
    ("replacement_check", pa.string()),
    ("action", pa.string()),
    ("scan_id", pa.string()),
    ("recorded_at", pa.string()),
])

UPDATE_COLUMNS = (
    "person_id", "upload_id", "row_number", "first_name", "last_name", "company", "email", "action", "signal",
    "status_code", "observed_at", "mailbox_id", "proposed_email", "proposed_email_kind", "proposed_email_check", "source",
)

ACTIONS = {
    "hard_bounce": "mark_email_invalid",
    "soft_bounce": "none_soft_bounce_noted",
    "departed": "flag_departed",
}


def empty_signals() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in SIGNAL_COLUMNS})


def empty_history() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


def _records_for_matching(records: pa.Table) -> pa.Table:
    wanted = ("person_id", "record_key", "upload_id", "row_number", "first_name", "last_name", "company", "email")
    cols = {}
    for name in wanted:
        if name in records.column_names:
            cols[name] = records.column(name)
        else:
            cols[name] = pa.nulls(records.num_rows, pa.int64() if name == "row_number" else pa.string())
    return pa.table(cols)


def match_signals(signals: pa.Table, records: pa.Table, history: pa.Table | None = None) -> pa.Table:
    """New events: one row per signal (deduplicated per address, signal, day and mailbox) and
    master record holding that address, leaving out events the history already has."""
    for name in SIGNAL_COLUMNS:
        if name not in signals.column_names:
            signals = signals.append_column(name, pa.nulls(signals.num_rows, pa.string()))
    known = (history if history is not None and history.num_rows else empty_history()).select(["event_key"])
    con = duckdb.connect()
    try:
        con.register("signals", signals.select(list(SIGNAL_COLUMNS)))
        con.register("records", _records_for_matching(records))
        con.register("known", known)
        return con.sql(load_sql("mailbox_matches")).to_arrow_table()
    finally:
        con.close()


def _domain(addresses: pa.Array) -> pa.Array:
    has_at = pc.match_substring(addresses, "@")
    return pc.if_else(has_at, pc.replace_substring_regex(addresses, "^.*@", ""), pa.scalar(None, pa.string()))


def check_replacements(events: pa.Table, observations: pa.Table) -> pa.Array:
    """For each event's replacement address: does it fit the learned pattern of its domain?

    - `matches_domain_pattern`: the person's name rendered with the domain's pattern gives it;
    - `differs_from_domain_pattern`: the pattern gives another address (worth a look);
    - `no_pattern_known`: the domain has too few known addresses to tell;
    - `colleague_not_checked`: a colleague's address (their name is not known to us).
    Null where there is no replacement."""
    n = events.num_rows
    if n == 0:
        return pa.array([], pa.string())
    replacement = events.column("replacement_email").combine_chunks()
    kind = events.column("replacement_kind").combine_chunks()
    proposed, _confidence = find_emails(
        events.column("first_name").combine_chunks(),
        events.column("last_name").combine_chunks(),
        pa.nulls(n, pa.string()),
        pa.nulls(n, pa.string()),
        _domain(replacement),
        observations,
    )
    check = pc.if_else(
        pc.is_null(proposed),
        pa.scalar("no_pattern_known"),
        pc.if_else(pc.equal(proposed, replacement), pa.scalar("matches_domain_pattern"), pa.scalar("differs_from_domain_pattern")),
    )
    check = pc.if_else(pc.equal(kind, "colleague").fill_null(False), pa.scalar("colleague_not_checked"), check)
    return pc.if_else(pc.is_null(replacement), pa.scalar(None, pa.string()), check)


def _soft_bounce_days(history: pa.Table, events: pa.Table) -> pa.Array:
    """Per event: the distinct days with a soft bounce for its record and address, history included."""
    con = duckdb.connect()
    try:
        con.register("h", history.select(["record_key", "email", "signal", "observed_at"]))
        con.register("e", events.select(["record_key", "email", "signal", "observed_at"]))
        return con.sql(
            """
            WITH allsb AS (
                SELECT record_key, email, left(observed_at, 10) AS day FROM h WHERE signal = 'soft_bounce'
                UNION SELECT record_key, email, left(observed_at, 10) FROM e WHERE signal = 'soft_bounce'
            ), days AS (SELECT record_key, email, count(DISTINCT day) AS n FROM allsb GROUP BY ALL),
            numbered AS (SELECT row_number() OVER () AS i, record_key, email FROM e)
            SELECT coalesce(d.n, 0) AS n FROM numbered AS x
            LEFT JOIN days AS d USING (record_key, email) ORDER BY x.i
            """
        ).to_arrow_table().column("n").combine_chunks()
    finally:
        con.close()


def decide(events: pa.Table, history: pa.Table | None, observations: pa.Table) -> pa.Table:
    """The new events with their action and replacement check."""
    history = history if history is not None and history.num_rows else empty_history()
    signal = events.column("signal").combine_chunks()
    action = pc.fill_null(pc.take(pa.array(list(ACTIONS.values())), pc.index_in(signal, pa.array(list(ACTIONS)))), "none")
    if events.num_rows:
        repeated = pc.and_(pc.equal(signal, "soft_bounce"), pc.greater_equal(_soft_bounce_days(history, events), REPEATED_SOFT_BOUNCE_DAYS))
        action = pc.if_else(repeated, pa.scalar("mark_email_invalid_repeated_soft_bounces"), action)
    return events.append_column("action", action).append_column("replacement_check", check_replacements(events, observations))


def update_file(decided: pa.Table) -> pa.Table:
    """The file the client imports into its CRM: one row per change to consider, with provenance."""
    n = decided.num_rows
    return pa.table({
        "person_id": decided.column("person_id"),
        "upload_id": decided.column("upload_id"),
        "row_number": decided.column("row_number"),
        "first_name": decided.column("first_name"),
        "last_name": decided.column("last_name"),
        "company": decided.column("company"),
        "email": decided.column("email"),
        "action": decided.column("action"),
        "signal": decided.column("signal"),
        "status_code": decided.column("status_code"),
        "observed_at": decided.column("observed_at"),
        "mailbox_id": decided.column("mailbox_id"),
        "proposed_email": decided.column("replacement_email"),
        "proposed_email_kind": decided.column("replacement_kind"),
        "proposed_email_check": decided.column("replacement_check"),
        "source": pa.array([PROVENANCE] * n, pa.string()),
    }).select(list(UPDATE_COLUMNS))


def new_history(history: pa.Table | None, decided: pa.Table, scan_id: str, recorded_at: dt.datetime) -> pa.Table:
    """The history with this scan's events appended (a re-run of the same scan replaces its own)."""
    history = history if history is not None and history.num_rows else empty_history()
    history = history.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
    if history.num_rows:
        history = history.filter(pc.invert(pc.equal(history.column("scan_id"), scan_id)))
    n = decided.num_rows
    stamp = recorded_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    added = pa.table({
        **{c: decided.column(c) for c in EVENT_SCHEMA.names if c in decided.column_names},
        "scan_id": pa.array([scan_id] * n, pa.string()),
        "recorded_at": pa.array([stamp] * n, pa.string()),
    }).select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
    return pa.concat_tables([history, added])


def email_status(history: pa.Table) -> pa.Table:
    """Per record and address, what the mailboxes say now: `invalid` (hard bounce, or soft bounces
    on several days), `departed` (with the latest replacement), or `soft_bounce`."""
    con = duckdb.connect()
    try:
        con.register("h", history if history.num_rows else empty_history())
        return con.sql(
            f"""
            SELECT record_key, person_id, email,
                   CASE WHEN bool_or(signal = 'hard_bounce') THEN 'invalid'
                        WHEN count(DISTINCT CASE WHEN signal = 'soft_bounce' THEN left(observed_at, 10) END)
                             >= {REPEATED_SOFT_BOUNCE_DAYS} THEN 'invalid'
                        WHEN bool_or(signal = 'departed') THEN 'departed'
                        ELSE 'soft_bounce' END AS email_status,
                   max(observed_at) AS status_observed_at,
                   arg_max(replacement_email, CASE WHEN replacement_email IS NOT NULL THEN observed_at END) AS proposed_email
            FROM h GROUP BY record_key, person_id, email ORDER BY record_key
            """
        ).to_arrow_table()
    finally:
        con.close()


def with_email_status(contacts: pa.Table, history: pa.Table | None) -> pa.Table:
    """`contacts` with `email_status`: what the controller's mailboxes said of each row's address
    (`invalid`, `departed`, `soft_bounce`; null when nothing), so a later upload's export shows a
    bounced address as such instead of as good; its provenance is `mailbox`."""
    status = pa.nulls(contacts.num_rows, pa.string())
    if history is not None and history.num_rows and "email" in contacts.column_names:
        con = duckdb.connect()
        try:
            con.register("h", email_status(history).select(["email", "email_status"]))
            con.register("c", pa.table({"email": contacts.column("email")}))
            # Per address, the gravest thing any record's history says; one value per input row, in order.
            status = con.sql(
                """
                WITH per_address AS (
                    SELECT lower(email) AS email,
                           CASE max(CASE email_status WHEN 'invalid' THEN 3 WHEN 'departed' THEN 2 ELSE 1 END)
                                WHEN 3 THEN 'invalid' WHEN 2 THEN 'departed' ELSE 'soft_bounce' END AS email_status
                    FROM h GROUP BY 1
                ),
                numbered AS (SELECT row_number() OVER () AS i, lower(email) AS email FROM c)
                SELECT p.email_status FROM numbered AS n LEFT JOIN per_address AS p USING (email) ORDER BY n.i
                """
            ).to_arrow_table().column("email_status").combine_chunks()
        finally:
            con.close()
    table = contacts.append_column("email_status", status) if "email_status" not in contacts.column_names else \
        contacts.set_column(contacts.schema.get_field_index("email_status"), "email_status", status)
    if "provenance" in table.column_names and pa.types.is_struct(table.schema.field("provenance").type):
        from pipelines import provenance

        current = table.column("provenance").combine_chunks()
        source = provenance.source_of(status, PROVENANCE)
        if current.type.num_fields and pa.types.is_struct(current.type.field(0).type):
            # Already finalised (struct<source, at>): the status's entry gets this run's time.
            now = dt.datetime.now(dt.timezone.utc)
            entry = provenance.finalise(provenance.source_struct({"email_status": source}), now, now).field(0)
            fields = {current.type.field(i).name: current.field(i) for i in range(current.type.num_fields)}
            fields["email_status"] = entry
            marked = pa.StructArray.from_arrays(list(fields.values()), names=list(fields))
        else:
            marked = provenance.with_sources(current, {"email_status": source})
        table = table.set_column(table.schema.get_field_index("provenance"), "provenance", marked)
    return table


def summary_counts(signals: pa.Table, decided: pa.Table) -> dict[str, int]:
    """Counts for metadata and logs (nothing personal)."""
    def count(table: pa.Table, column: str, value: str) -> int:
        if table.num_rows == 0:
            return 0
        return int(pc.sum(pc.cast(pc.equal(table.column(column), value).fill_null(False), pa.int64())).as_py() or 0)

    matched_addresses = pc.count_distinct(decided.column("email")).as_py() if decided.num_rows else 0
    return {
        "signals": signals.num_rows,
        "hard_bounces": count(signals, "signal", "hard_bounce"),
        "soft_bounces": count(signals, "signal", "soft_bounce"),
        "departures": count(signals, "signal", "departed"),
        "new_events": decided.num_rows,
        "matched_addresses": matched_addresses,
        "persons_updated": pc.count_distinct(decided.column("person_id")).as_py() if decided.num_rows else 0,
        "emails_marked_invalid": count(decided, "action", "mark_email_invalid")
        + count(decided, "action", "mark_email_invalid_repeated_soft_bounces"),
        "departed_flagged": count(decided, "action", "flag_departed"),
        "replacements_proposed": int(pc.sum(pc.cast(pc.is_valid(decided.column("replacement_email")), pa.int64())).as_py() or 0)
        if decided.num_rows else 0,
    }
