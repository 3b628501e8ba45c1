"""The processor's records: instruction log, runs ↔ instructions, contracts and retention,
deletion certificates, suppression list, data-subject requests and incidents.

None of it is personal data about data subjects: ids, hashes (keyed, see resources/keys.py),
counts, dates, controller codes, and the controller's own business contact (needed by the
Art. 30(2) register). It must outlive the data it documents — a deletion certificate is worth
something only after the deletion — so it is *not* in the object store, where deleting a
controller's prefixes would take it along.

Two back-ends, one SQL dialect subset:

- PostgreSQL (production) when `REFINERY_INSTRUCTIONS_DSN` is set (a libpq DSN or URL; reached
  over TLS unless on this machine, DPA III.10). The Dagster instance's server can host it in a
  database of its own.
- SQLite (the embedded default) at `$REFINERY_GDPR_DIR/records.sqlite`, default
  `<parent of REFINERY_LOCAL_STORE>/gdpr/`. Chosen over JSON lines because the log needs what a
  database gives for free: atomic appends from concurrent runs (BEGIN IMMEDIATE), uniqueness
  (one instruction id, one sequence number), indexed look-ups per controller, and the same SQL
  as the PostgreSQL back-end, so both are tested by the same code.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from resources.retry import GaveUp, RetryPolicy, call_with_retry

_TLS_MODES = ("require", "verify-ca", "verify-full")

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS instructions (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        controller TEXT NOT NULL,
        kind TEXT NOT NULL,
        origin TEXT NOT NULL,
        actor TEXT,
        created_at TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        summary TEXT NOT NULL,
        based_on TEXT,
        prev_hash TEXT NOT NULL,
        row_hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS instructions_controller ON instructions (controller, seq)",
    """CREATE TABLE IF NOT EXISTS run_links (
        run_id TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        controller TEXT NOT NULL,
        instruction_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (run_id, upload_id))""",
    "CREATE INDEX IF NOT EXISTS run_links_controller ON run_links (controller)",
    """CREATE TABLE IF NOT EXISTS contracts (
        controller TEXT PRIMARY KEY,
        retention_days INTEGER,
        end_date TEXT,
        delete_after_days INTEGER,
        offboarded_at TEXT,
        purged_at TEXT,
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS controller_profiles (
        controller TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS uploads (
        upload_id TEXT PRIMARY KEY,
        controller TEXT NOT NULL,
        received_at TEXT,
        first_exported_at TEXT,
        deleted_at TEXT,
        certificate_id TEXT)""",
    "CREATE INDEX IF NOT EXISTS uploads_controller ON uploads (controller)",
    """CREATE TABLE IF NOT EXISTS certificates (
        id TEXT PRIMARY KEY,
        controller TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL,
        body_hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS certificates_controller ON certificates (controller)",
    """CREATE TABLE IF NOT EXISTS suppression (
        controller TEXT NOT NULL,
        subject_hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at TEXT NOT NULL,
        request_id TEXT,
        PRIMARY KEY (controller, subject_hash, kind))""",
    """CREATE TABLE IF NOT EXISTS dsr_requests (
        id TEXT PRIMARY KEY,
        controller TEXT NOT NULL,
        request_right TEXT NOT NULL,
        subject_hash TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        body TEXT NOT NULL)""",
    # A controller's master data (resources/master_store.py): the current version, and the lease
    # of the one run that may write the next. Opaque ids, keys and numbers only.
    # Keyed by the store too (ObjectStore.identity): one records database may serve several stores.
    """CREATE TABLE IF NOT EXISTS master_heads (
        store TEXT NOT NULL,
        controller TEXT NOT NULL,
        version INTEGER NOT NULL,
        head TEXT NOT NULL,
        committed_at TEXT NOT NULL,
        PRIMARY KEY (store, controller))""",
    """CREATE TABLE IF NOT EXISTS master_locks (
        store TEXT NOT NULL,
        controller TEXT NOT NULL,
        holder TEXT NOT NULL,
        purpose TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        owner TEXT,
        PRIMARY KEY (store, controller))""",
    # In which master version each upload's linkage was last committed: its export checks it.
    """CREATE TABLE IF NOT EXISTS master_commits (
        store TEXT NOT NULL,
        controller TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        committed_at TEXT NOT NULL,
        PRIMARY KEY (store, controller, upload_id))""",
    # Which upload a file sent with `refinery run` became (keyed hash of its bytes): sending the
    # same bytes again re-runs that upload instead of adding its records a second time.
    """CREATE TABLE IF NOT EXISTS upload_sources (
        store TEXT NOT NULL,
        controller TEXT NOT NULL,
        source_hash TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (store, controller, source_hash))""",
    """CREATE TABLE IF NOT EXISTS incidents (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        body TEXT NOT NULL)""",
]


# Any fixed number: the advisory lock that serialises schema creation (see RecordsDB._migrate).
_MIGRATION_LOCK = 734_201_566


class RecordsError(RuntimeError):
    pass


def default_home(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if env is None else env)
    if env.get("REFINERY_GDPR_DIR"):
        return Path(env["REFINERY_GDPR_DIR"]).expanduser()
    store = Path(env.get("REFINERY_LOCAL_STORE", ".refinery/store")).expanduser()
    return store.resolve().parent / "gdpr"


def check_dsn_tls(dsn: str, env: dict[str, str] | None = None) -> None:
    """A records database that is not on this machine is reached over TLS (DPA III.10)."""
    from psycopg2.extensions import parse_dsn

    env = dict(os.environ if env is None else env)
    try:
        parts = parse_dsn(dsn)
    except Exception:
        raise RecordsError("REFINERY_INSTRUCTIONS_DSN is not a valid PostgreSQL connection string") from None
    host = parts.get("host", "") or env.get("PGHOST", "")
    if not host or host == "localhost" or host.startswith("/"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    mode = parts.get("sslmode") or env.get("PGSSLMODE", "")
    if mode not in _TLS_MODES:
        raise RecordsError(
            f"REFINERY_INSTRUCTIONS_DSN points at {host}, not this machine, without TLS: add sslmode=verify-full "
            f"(or one of {', '.join(_TLS_MODES)})"
        )


# Connection errors that waiting will not cure: wrong credentials, database, TLS or pg_hba rules.
_REFUSALS = ("authentication failed", "does not exist", "pg_hba.conf", "ssl", "certificate", "permission denied")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "connection refused"


def _refused(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in _REFUSALS)


class RecordsDB:
    """A thin connection wrapper: `all`, `one`, `run`, and `tx()` for atomic groups of writes."""

    def __init__(self, *, dsn: str | None = None, sqlite_path: str | Path | None = None):
        if (dsn is None) == (sqlite_path is None):
            raise ValueError("give exactly one of dsn or sqlite_path")
        self._in_tx = False
        if dsn is not None:
            import psycopg2
            import psycopg2.extras

            check_dsn_tls(dsn)
            self.dialect = "postgres"
            self.where = "PostgreSQL"
            self._dsn = dsn
            self._retry = RetryPolicy.database_from_env()
            self._conn = self._connect()
            self._dict_cursor = psycopg2.extras.RealDictCursor
        else:
            path = Path(sqlite_path).expanduser()
            self._sqlite_path = path
            path.parent.mkdir(parents=True, exist_ok=True)
            self.dialect = "sqlite"
            self.where = f"SQLite {path}"
            # isolation_level=None: autocommit, transactions only where tx() opens them.
            self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            # Deleted rows (suppression entries of an off-boarded controller) are overwritten.
            self._conn.execute("PRAGMA secure_delete=ON")
        self._migrate()

    def reopen(self) -> "RecordsDB":
        """Another connection to the same database (for another thread)."""
        return RecordsDB(dsn=self._dsn) if self.dialect == "postgres" else RecordsDB(sqlite_path=self._sqlite_path)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "RecordsDB":
        env = dict(os.environ if env is None else env)
        dsn = env.get("REFINERY_INSTRUCTIONS_DSN", "").strip()
        if dsn:
            return cls(dsn=dsn)
        return cls(sqlite_path=default_home(env) / "records.sqlite")

    def close(self) -> None:
        self._conn.close()

    # -- PostgreSQL restarts ----------------------------------------------------------------------
    # A restarted server (maintenance, failover) drops every connection and refuses new ones for
    # a few seconds. Connecting, and any statement outside a transaction, is retried with backoff
    # for up to REFINERY_DB_RETRY_SECONDS; a transaction cut in the middle is not replayed here
    # (only its caller knows what it did), it fails with a message asking for a re-run.
    def _connect(self):
        import psycopg2

        try:
            return call_with_retry(
                lambda: psycopg2.connect(self._dsn, connect_timeout=10),
                transient=lambda exc: isinstance(exc, psycopg2.OperationalError) and not _refused(exc),
                policy=self._retry,
            )
        except GaveUp as gave_up:
            raise RecordsError(
                f"cannot reach the records database (REFINERY_INSTRUCTIONS_DSN) after {gave_up.attempts} attempt(s) "
                f"in {gave_up.seconds:.0f} s: {_first_line(gave_up.last)}"
            ) from None
        except psycopg2.OperationalError as exc:  # refused for good: no point waiting
            raise RecordsError(
                f"cannot reach the records database (REFINERY_INSTRUCTIONS_DSN) after 1 attempt(s) in 0 s: {_first_line(exc)}"
            ) from None

    def _connection_lost(self, exc: BaseException) -> bool:
        import psycopg2

        return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)) and bool(self._conn.closed)

    def _reconnect(self, _exc: BaseException | None = None) -> None:
        try:
            self._conn.close()
        except Exception:  # already gone
            pass
        self._conn = self._connect()

    def _pg(self, fn):
        """fn() on a live connection: outside a transaction a lost connection is re-opened and
        the statement run again; inside one, the transaction fails as a whole."""
        if self._in_tx:
            try:
                return fn()
            except Exception as exc:
                if self._connection_lost(exc):
                    raise RecordsError(
                        "the connection to the records database was lost during a transaction, which was not "
                        "confirmed: re-run the command or the upload"
                    ) from None
                raise
        try:
            return call_with_retry(fn, transient=self._connection_lost, policy=self._retry, before_retry=self._reconnect)
        except GaveUp as gave_up:
            raise RecordsError(
                f"the records database (REFINERY_INSTRUCTIONS_DSN) kept dropping the connection "
                f"({gave_up.attempts} attempt(s) in {gave_up.seconds:.0f} s): check that PostgreSQL is up, then re-run"
            ) from None

    def __enter__(self) -> "RecordsDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- SQL -----------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def _migrate(self) -> None:
        with self.tx():
            if self.dialect == "postgres":
                # CREATE TABLE IF NOT EXISTS is not safe against itself in PostgreSQL: two processes
                # opening a fresh database at once both create the table's type, and one fails.
                self.run("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            for statement in SCHEMA:
                self.run(statement)

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute one statement; returns the rows affected. Commits at once outside tx()."""
        if self.dialect == "sqlite":
            cur = self._conn.execute(sql, tuple(params))
            return cur.rowcount

        def execute() -> int:
            with self._conn.cursor() as cur:
                cur.execute(self._sql(sql), tuple(params))
                count = cur.rowcount
            if not self._in_tx:
                self._conn.commit()
            return count

        return self._pg(execute)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.dialect == "sqlite":
            return [dict(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]

        def query() -> list[dict[str, Any]]:
            with self._conn.cursor(cursor_factory=self._dict_cursor) as cur:
                cur.execute(self._sql(sql), tuple(params))
                rows = [dict(r) for r in cur.fetchall()]
            if not self._in_tx:
                self._conn.commit()  # end the read transaction: PostgreSQL would hold it open
            return rows

        return self._pg(query)

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def tx(self, lock: str | None = None) -> Iterator[None]:
        """All-or-nothing; `lock` serialises writers of one table (the instruction chain)."""
        if self._in_tx:
            yield
            return
        if self.dialect == "postgres":
            # Nothing is written yet: a connection lost since the last statement is re-opened
            # here, where starting again is safe.
            self._pg(lambda: self._ping())
        self._in_tx = True
        try:
            if self.dialect == "sqlite":
                self._conn.execute("BEGIN IMMEDIATE")  # takes the write lock now, not at first write
            elif lock:
                self._pg(lambda: self._lock(lock))
            yield
        except BaseException:
            if self.dialect == "sqlite":
                self._conn.execute("ROLLBACK")
            elif not self._conn.closed:
                try:
                    self._conn.rollback()
                except Exception:  # the connection died under the rollback: the server rolled back
                    pass
            raise
        else:
            if self.dialect == "sqlite":
                self._conn.execute("COMMIT")
            else:
                self._pg(self._conn.commit)
        finally:
            self._in_tx = False

    def _ping(self) -> None:
        with self._conn.cursor() as cur:
            cur.execute("SELECT 1")
        self._conn.commit()

    def _lock(self, table: str) -> None:
        with self._conn.cursor() as cur:
            cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")

    # -- small JSON helpers ----------------------------------------------------------------------
    @staticmethod
    def dumps(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def loads(text: str | None) -> Any:
        return json.loads(text) if text else None
