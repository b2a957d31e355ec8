"""Connections, transactions and schema migrations.

Every use case runs in one transaction: `Database.write()` for changes, `Database.read()` for
queries.  On SQLite a write transaction starts with BEGIN IMMEDIATE, so two writers queue for
the lock instead of failing half-way; WAL keeps readers going meanwhile, and synchronous=NORMAL
keeps commits free of fsync while staying safe against a killed process.  A deferred write
transaction (`write(deferred=True)`, what changes a deal) reads and computes first and takes
the lock at its first write, checking then that what it read still holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from engine.core import json_text
from engine.store import failures

_T = TypeVar("_T")
MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "salesflow_write"
CONNECT_TIMEOUT = 5  # seconds
_DEFERRED = "deferred"
_UPGRADED = "salesflow_upgraded"
_BEFORE_UPGRADE = "salesflow_before_upgrade"
MMAP_BYTES = 2**31 - 2**16  # SQLite's default SQLITE_MAX_MMAP_SIZE
# The read session a `Database.reading()` scope shares, with its database (see `reading`),
# and what its reads remember in it (`remembered`).
_MEMO = "salesflow_memo"
_SHARED: ContextVar[tuple[Database, Session] | None] = ContextVar("salesflow_reads", default=None)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions are deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Read the file through a memory map (up to SQLITE_MAX_MMAP_SIZE, 2 GiB by default):
        # a page is then read where the OS keeps it, without a system call and a copy into
        # each connection's own small cache.  A page reading thousands of deal rows (each
        # a few KiB with the deal's workflow) took several times as long without.
        cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.info[_UPGRADED] = False
        conn.info[_BEFORE_UPGRADE] = None
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write is True else "BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # A deferred write transaction takes the write lock at its first write (see
        # Database.write): end the read, wait for the lock, then let the caller check that
        # what it read is still so.
        if conn.info.get(_UPGRADED, True) or not _writes(statement):
            return
        if conn.get_execution_options().get(_WRITE) != _DEFERRED:
            return
        conn.info[_UPGRADED] = True
        raw = cursor.connection
        raw.execute("COMMIT")  # nothing was written: only a read snapshot ends
        raw.execute("BEGIN IMMEDIATE")
        check = conn.info.get(_BEFORE_UPGRADE)
        if check is not None:
            check(raw)


def remembered(s: Session, key: tuple[Any, ...], read: Callable[[], _T]) -> _T:
    """`read()`, asked once per `Database.reading()` scope: a page's use cases each ask who
    the user is, what roles they hold, what a team setting says and whether they may see the
    deal; inside one scope (one transaction, no write between) the answer stays the same.
    Outside a scope, or in a write transaction, `read()` is asked every time."""
    memo: dict[tuple[Any, ...], Any] | None = s.info.get(_MEMO)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    found: _T = memo[key]
    return found


def _writes(statement: str) -> bool:
    head = statement.lstrip()[:9].upper()
    return not head.startswith(("SELECT", "PRAGMA", "WITH", "EXPLAIN", "BEGIN"))


class Database:
    """One database: its engine, its sessions and its migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A PostgreSQL server that drops packets must not hang a request (or /healthz): give
        # up connecting after CONNECT_TIMEOUT seconds, unless the URL says otherwise.
        connect_args = (
            {"connect_timeout": CONNECT_TIMEOUT}
            if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query
            else {}
        )
        self.engine = create_engine(
            url,
            pool_pre_ping=not self.is_sqlite,
            connect_args=connect_args,
            json_serializer=json_text.dumps,  # every change writes JSON columns
        )
        self.storage = failures.install(self.engine, _WRITE)  # disk full, read-only: 503
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        # Use cases flush explicitly; autoflush before every query only costs time.
        self._writes = sessionmaker(
            self.engine.execution_options(**{_WRITE: True}),
            expire_on_commit=False,
            autoflush=False,
        )
        self._deferred_writes = sessionmaker(
            self.engine.execution_options(**{_WRITE: _DEFERRED}),
            expire_on_commit=False,
            autoflush=False,
        )

    @contextmanager
    def write(self, *, deferred: bool = False) -> Iterator[Session]:
        """A transaction that changes data: committed on success, rolled back on error.

        `deferred` (SQLite): the database's write lock is taken at the first write instead of
        at the start, so the reading and computing before it (an engine step running a
        process's scripts) never keeps other writers waiting.  At that first write the read
        ends, the lock is taken and `before_upgrade(cursor)` — set with `on_upgrade` — checks
        that what was read still holds, raising if not.  PostgreSQL locks rows, not the
        database: there it is an ordinary transaction."""
        factory = self._deferred_writes if deferred and self.is_sqlite else self._writes
        with factory() as session, session.begin():
            yield session
        shared = self._shared()
        if shared is not None:
            shared.info[_MEMO] = {}  # what the scope's reads remembered may have changed
            if shared.in_transaction():
                shared.commit()  # the scope's next read starts anew and sees this change

    @staticmethod
    def on_upgrade(session: Session, check: Callable[[Any], None]) -> None:
        """What a deferred write transaction checks once it holds the write lock (SQLite;
        called with a DB-API cursor-like connection).  Nothing on PostgreSQL."""
        conn = session.connection()
        if conn.get_execution_options().get(_WRITE) == _DEFERRED:
            conn.info[_BEFORE_UPGRADE] = check

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: its own, or the one a `reading()` scope shares."""
        shared = self._shared()
        if shared is None:
            with self._reads() as session, session.begin():
                yield session
            return
        try:
            yield shared
        except DBAPIError:
            shared.rollback()  # a failed statement ends the transaction (PostgreSQL): start anew
            raise

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Every `read()` inside shares one session and transaction: a page that asks a dozen
        use cases (the deal page) checks a connection out, pings it (PostgreSQL) and begins
        and ends a transaction once instead of a dozen times.  A `write()` inside ends the
        shared transaction after its commit, so the reads after it see the change (SQLite
        reads from a snapshot).  For one thread's work: a request's, never shared with
        another thread (threads start without the scope)."""
        if self._shared() is not None:
            yield
            return
        with self._reads() as session:
            token = _SHARED.set((self, session))
            session.info[_MEMO] = {}
            try:
                yield
            finally:
                _SHARED.reset(token)
            session.commit()  # as each read() does (after an error: rolled back on close)

    def _shared(self) -> Session | None:
        shared = _SHARED.get()
        return shared[1] if shared is not None and shared[0] is self else None

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def migrate(self) -> bool:
        """Create or upgrade the schema; True when the database was new."""
        with self.engine.connect() as conn:
            new = not inspect(conn).has_table("alembic_version")
        cfg = self.alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return new

    def is_initialised(self) -> bool:
        """Whether the schema exists (Alembic has run at least once)."""
        with self.engine.connect() as conn:
            return bool(inspect(conn).has_table("alembic_version"))

    def describe(self) -> str:
        """The database's URL as shown to people (the password hidden)."""
        return self.engine.url.render_as_string()

    def dispose(self) -> None:
        self.engine.dispose()
