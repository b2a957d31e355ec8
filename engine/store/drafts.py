"""Drafts of task forms: what one user typed into a task's form and saved half-filled.

One draft per task and user, kept in the database (so it follows the user to another browser
or device) until the task is completed; then the drafts of everyone on that task go.  The data
is whatever the caller's form holds (the web pages keep the raw field values): the engine
neither validates nor reads it.  Functions take an open session.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import ValidationError
from engine.store.models import Draft, OpenTask, table_of
from engine.store.records import iso

# A form with a long text or two is a few KB; this only stops abuse of the table.
MAX_DRAFT_CHARS = 200_000


def save_draft(s: Session, task_id: str, username: str, data: dict[str, Any]) -> dict[str, Any]:
    """Keep `data` as the user's draft of the task (replacing an older one), and drop the
    user's drafts of tasks that are no longer open (closed by a timer, a cancelled deal)."""
    try:
        size = len(json.dumps(data, ensure_ascii=False))
    except (TypeError, ValueError):
        raise ValidationError("a draft holds JSON data only", field="data") from None
    if size > MAX_DRAFT_CHARS:
        raise ValidationError(
            f"a draft is at most {MAX_DRAFT_CHARS:,} characters ({size:,} given)", field="data"
        )
    s.execute(
        delete(Draft).where(
            Draft.username == username,
            Draft.task_id != task_id,
            Draft.task_id.not_in(select(OpenTask.task_id)),
        )
    )
    row = s.get(Draft, (task_id, username))
    if row is None:
        row = Draft(task_id=task_id, username=username, data=data, saved_at=clock.now())
        s.add(row)
    else:
        row.data = data
        row.saved_at = clock.now()
    s.flush()
    return _record(row)


def load_draft(s: Session, task_id: str, username: str) -> dict[str, Any] | None:
    row = s.get(Draft, (task_id, username))
    return _record(row) if row is not None else None


def discard_draft(s: Session, task_id: str, username: str) -> bool:
    """Forget the user's draft of the task; False when there was none."""
    row = s.get(Draft, (task_id, username))
    if row is None:
        return False
    s.delete(row)
    s.flush()
    return True


# Run by every completion (built once, on the table: see engine.store.changes).
_DISCARD = delete(table_of(Draft)).where(table_of(Draft).c.task_id == bindparam("task_id"))


def discard_task_drafts(s: Session, task_id: str) -> None:
    """Forget every user's draft of a task (it was completed)."""
    s.execute(_DISCARD, {"task_id": task_id})


def _record(row: Draft) -> dict[str, Any]:
    return {
        "task_id": row.task_id,
        "username": row.username,
        "data": row.data,
        "saved_at": iso(row.saved_at),
    }
