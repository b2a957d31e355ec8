"""Where this machine's key for the secrets sealed at rest (engine.core.sealing) comes from:
one rule for the web app, the worker and the command line alike, since each of them reaches
the database through the store and the store asks here.

1. `SALESFLOW_SEALING_KEY`, when it is set.  Processes on several machines sharing a
   PostgreSQL database must all set it, to the same text (as with SALESFLOW_SECRET_KEY).
2. Otherwise the file `sealing_key`, made once (a random key, mode 600) when the first secret
   is sealed: beside the SQLite database file, so that every process opening that database
   finds the same key wherever it was started from; for a database server, in
   SALESFLOW_VAR_DIR (default ./var, where the web app keeps its session key), which the
   processes of one machine share.

The key is not derived from SALESFLOW_SECRET_KEY: changing the session key (to log everyone
out) must not lose the secrets, and the worker never knows the web app's.  A lost key
cannot be recovered: the secrets sealed with it must be stored again.

The values written before sealing existed open as themselves; they are sealed when they are
next written, and all at once by `seal_plain` (run by `salesflow init` after the migrations,
which may import neither the engine nor the cipher: see migration 0019).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from engine.core.sealing import Sealer, is_sealed
from engine.store.models import ChatRobot, ConnectorSecret, InboundHook, Webhook

__all__ = ["ENV", "KEY_FILE", "key_file", "seal_plain", "sealed", "sealer"]

ENV = "SALESFLOW_SEALING_KEY"
KEY_FILE = "sealing_key"
# Every value kept sealed: (model, column).  A webhook's own address is shown to admins in
# full and carries no key, unlike a robot's.
SEALED = (
    (ConnectorSecret, "value"),
    (ChatRobot, "url"),
    (ChatRobot, "secret"),
    (Webhook, "secret"),
    (InboundHook, "secret"),
)


def key_file(url: URL, environ: dict[str, str] | os._Environ[str]) -> Path:
    """Where the key file of the database at `url` is, when the environment has no key."""
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database).resolve().parent / KEY_FILE
    return Path(environ.get("SALESFLOW_VAR_DIR") or "var").resolve() / KEY_FILE


def sealer(s: Session, *, create: bool = False) -> Sealer:
    """This machine's sealer for the database of `s`.  `create` (to seal): make the key
    file when neither the environment nor the file has a key."""
    key = os.environ.get(ENV, "").strip()
    if key:
        return Sealer(key, ENV)
    path = key_file(s.get_bind().engine.url, os.environ)
    return Sealer(_stored_key(path, create=create), str(path))


def sealed(s: Session, text: str) -> str:
    """`text` sealed with this machine's key, ready to store."""
    return sealer(s, create=True).seal(text)


def seal_plain(s: Session) -> int:
    """Seal in place every value stored before sealing existed; how many.  The key file is
    only made when there is something to seal."""
    plain = [
        (model, column, row_id, value)
        for model, column in SEALED
        for row_id, value in s.execute(select(model.id, getattr(model, column)))
        if value and not is_sealed(value)
    ]
    if not plain:
        return 0
    sealing = sealer(s, create=True)
    for model, column, row_id, value in plain:
        s.execute(update(model).where(model.id == row_id).values({column: sealing.seal(value)}))
    return len(plain)


def _stored_key(path: Path, *, create: bool) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        if not create:
            return None
    return _new_key_file(path)


def _new_key_file(path: Path) -> str:
    """A new random key in `path` (mode 600).  The file appears whole (written aside, then
    linked into place), so a process making one at the same moment either wins, and this
    one takes its key, or loses and takes this one: never two keys, never an empty file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}.")  # mode 600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())  # the key must outlive a crash that the sealed row survives
        os.link(draft, path)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    finally:
        os.unlink(draft)
    return key
