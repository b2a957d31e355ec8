"""Storage failures: the database cannot be written or reached (issue 13, item 7).

`install(engine, write_option)`, done once by `Database.__init__`, hooks SQLAlchemy's
`handle_error` event so that a driver error meaning "the storage is unavailable" comes out of
any statement, commit or new connection as `engine.errors.StorageUnavailableError` (the pages
and the API answer 503 and log it, the command line exits 75).  The transaction is rolled
back as for any error, so nothing is half-written, and the server works again, without a
restart, once the disk has room or the server takes writes again (on PostgreSQL the pooled
connections are replaced after a failure, so the next request connects afresh).

What counts as unavailable storage:
- SQLite: SQLITE_FULL ("database or disk is full"), SQLITE_READONLY ("attempt to write a
  readonly database"), SQLITE_IOERR ("disk I/O error": the system refused a write or a read),
  SQLITE_CANTOPEN.  Not SQLITE_BUSY ("database is locked"): another writer holds the lock.
- PostgreSQL: disk full (53100, "could not extend file"), other lack of resources (53xxx: memory,
  connections), a read-only transaction (25006: `default_transaction_read_only`, a standby),
  a server shutting down or starting up (57P01-57P03), a system I/O error (58030), and a
  connection refused or lost.

`StorageMonitor.check()` answers /healthz: whether the database can be read and written now,
cheaply enough to be polled (see its docstring).
"""

from __future__ import annotations

import itertools
import os
import resource
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError

from engine.errors import StorageUnavailableError

__all__ = ["MIN_FREE_BYTES", "StorageMonitor", "classify", "install"]

# /healthz reports the storage as unavailable when less room than this is left for the
# SQLite database (free disk space, SQLite's max_page_count, the process's file-size limit).
MIN_FREE_BYTES = 16 * 1024 * 1024

_WHY = {
    "full": "the disk is full",
    "read_only": "it is read-only",
    "io_error": "the disk refused to read or write it",
    "unreachable": "the database server cannot be reached",
    "resources": "the database server is out of resources",
}

# SQLite's primary result codes (the low byte of the extended code).
_SQLITE = {13: "full", 8: "read_only", 10: "io_error", 14: "io_error"}
# PostgreSQL's SQLSTATEs (exact codes first, then their class).
_POSTGRES = {
    "53100": "full",
    "25006": "read_only",
    "57P01": "unreachable",
    "57P02": "unreachable",
    "57P03": "unreachable",
    "58030": "io_error",
}
_POSTGRES_CLASSES = {"53": "resources", "08": "unreachable"}


def unavailable(reason: str, detail: str = "") -> StorageUnavailableError:
    """The error people see, `reason` being one of `_WHY`'s keys."""
    return StorageUnavailableError(
        f"The database cannot store anything right now: {_WHY[reason]}. Nothing was "
        "changed; try again later (an administrator has to make room or make it writable).",
        reason=reason,
        detail=detail,
    )


def classify(error: BaseException, backend: str, *, disconnected: bool = False) -> str | None:
    """The reason (a key of `_WHY`) when the driver's `error` means unavailable storage."""
    if backend == "sqlite":
        code = getattr(error, "sqlite_errorcode", None)
        return _SQLITE.get(code & 0xFF) if isinstance(code, int) else None
    if backend == "postgresql":
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str):
            found = _POSTGRES.get(state) or _POSTGRES_CLASSES.get(state[:2])
            if found or not disconnected:
                return found
        # No SQLSTATE: the connection failed, or the server went away mid-way.
        if disconnected or type(error).__name__ == "OperationalError":
            return "unreachable"
    return None


class StorageMonitor:
    """What one engine's storage did lately, and the health check over it.

    Every storage failure and every write transaction that reaches its commit is numbered in
    order: the storage counts as failing while the latest failure is newer than the latest
    commit attempt (a commit that then fails is a failure after it)."""

    def __init__(self, engine: Engine, write_option: str) -> None:
        self.engine = engine
        self.write_option = write_option
        self._order = itertools.count(1)
        self._lock = threading.Lock()
        self._failed = 0
        self._committed = 0
        self.last_failure: StorageUnavailableError | None = None

    def failed(self, error: StorageUnavailableError) -> None:
        with self._lock:
            self._failed = next(self._order)
            self.last_failure = error

    def committing(self) -> None:
        with self._lock:
            self._committed = next(self._order)

    @property
    def failing(self) -> bool:
        with self._lock:
            return self._failed > self._committed

    def check(self) -> StorageUnavailableError | None:
        """None when the database can be read and written now, else why not.

        Cheap enough to be polled: on SQLite, the file, its WAL and its folder writable, room
        left (free disk space, SQLite's own page limit, the process's file-size limit) and the
        connection not read-only, then a read; on PostgreSQL a tiny write (a no-op UPDATE of
        Alembic's one row) rolled back.  After a write failed, the check commits that no-op
        write, so the health comes back by itself once writes work again."""
        try:
            if self.engine.dialect.name == "sqlite":
                found = _sqlite_room(self.engine)
                if found is not None:
                    return found
            self._probe(commit=self.failing)
        except StorageUnavailableError as exc:
            return exc
        return None

    def _probe(self, *, commit: bool) -> None:
        sqlite = self.engine.dialect.name == "sqlite"
        engine = self.engine.execution_options(**{self.write_option: True}) if commit else None
        with (engine or self.engine).connect() as conn:
            if sqlite and not commit:
                conn.execute(text("SELECT version_num FROM alembic_version")).all()
                return
            if not sqlite:
                conn.execute(text("SET LOCAL lock_timeout = 1000"))
                conn.execute(text("SET LOCAL statement_timeout = 3000"))
            try:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) == "55P03":  # a migration holds the row
                    return
                raise
            if commit:
                conn.commit()
            else:
                conn.rollback()


def _sqlite_room(engine: Engine) -> StorageUnavailableError | None:
    """Whether the SQLite database has room and may be written, without writing."""
    with engine.connect() as conn:
        read_only = conn.exec_driver_sql("PRAGMA query_only").scalar()
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
        most = conn.exec_driver_sql("PRAGMA max_page_count").scalar() or 0
        size = conn.exec_driver_sql("PRAGMA page_size").scalar() or 4096
    if read_only:
        return unavailable("read_only", "PRAGMA query_only is on")
    if (most - pages) * size < MIN_FREE_BYTES:
        return unavailable("full", f"{pages} of at most {most} pages used (max_page_count)")
    name = engine.url.database or ""
    if name.startswith("file:"):
        name = name[5:].split("?")[0]
    if not name or name == ":memory:":
        return None
    path = Path(name)
    wal = Path(f"{path}-wal")
    for each in (path, wal, path.parent):
        if each.exists() and not os.access(each, os.W_OK):
            return unavailable("read_only", f"{each} is not writable")
    disk = os.statvfs(path.parent)
    free = disk.f_bavail * disk.f_frsize
    if free < MIN_FREE_BYTES:
        return unavailable("full", f"{free} bytes free on the disk of {path}")
    limit, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if limit != resource.RLIM_INFINITY:
        largest = max(each.stat().st_size for each in (path, wal) if each.exists())
        if limit - largest < MIN_FREE_BYTES:
            return unavailable("full", f"this process may write files of {limit} bytes at most")
    return None


def install(engine: Engine, write_option: str) -> StorageMonitor:
    """Translate `engine`'s storage failures into StorageUnavailableError (see the module's
    docstring); `write_option` is the execution option that marks write transactions."""
    monitor = StorageMonitor(engine, write_option)

    def translate(ctx: ExceptionContext) -> BaseException | None:
        if ctx.is_pre_ping:  # the pool is finding out whether to reconnect: let it
            return None
        original = ctx.original_exception
        reason = classify(original, ctx.dialect.name, disconnected=ctx.is_disconnect)
        if reason is None:
            return None
        detail = str(original).strip().splitlines()[0][:300] if str(original).strip() else ""
        error = unavailable(reason, detail or type(original).__name__)
        monitor.failed(error)
        if ctx.dialect.name != "sqlite":
            # Drop this connection and have every pooled one replaced when next taken: the
            # next request connects afresh (to the new primary after a fail-over, say).  Not
            # on SQLite: its connection is fine once rolled back, and pysqlite's close() of a
            # connection with statements left would keep the write lock until they are freed.
            ctx.is_disconnect = True
            ctx.invalidate_pool_on_disconnect = True
        return error

    def committing(conn: Any) -> None:
        if conn.get_execution_options().get(write_option, False):
            monitor.committing()

    event.listen(engine, "handle_error", translate)
    event.listen(engine, "commit", committing)
    return monitor
