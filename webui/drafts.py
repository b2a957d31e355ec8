"""Drafts of task forms, kept in the user's session until the task is completed.

The engine has no table for drafts yet, so a draft lives in the signed session cookie: it
survives page loads and restarts but not a log-out, another browser, or a size above what a
cookie can carry (about 4 KB, compressed).  Newest drafts win; older ones are dropped to make
room, and a draft that alone is too large is refused (the page says so).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, session

from webui.schema_form import Raw

COOKIE_BUDGET = 3600  # bytes of the signed session value; browsers refuse cookies over 4096
KEY = "drafts"


def load(task_id: str) -> dict[str, list[str]] | None:
    drafts: dict[str, Any] = session.get(KEY) or {}
    found = drafts.get(task_id)
    return {str(k): [str(v) for v in vs] for k, vs in found.items()} if found else None


def save(task_id: str, raw: Raw) -> bool:
    """Keep `raw` as the draft of the task; False when it is too large to keep."""
    drafts: dict[str, Any] = dict(session.get(KEY) or {})
    drafts.pop(task_id, None)
    drafts[task_id] = {k: list(v) for k, v in raw.items() if any(x.strip() for x in v)}
    while True:
        session[KEY] = drafts
        if _cookie_size() <= COOKIE_BUDGET:
            return True
        if len(drafts) == 1:
            break
        del drafts[next(iter(drafts))]  # the oldest other draft
    discard(task_id)
    return False


def discard(task_id: str) -> None:
    drafts: dict[str, Any] = dict(session.get(KEY) or {})
    if drafts.pop(task_id, None) is not None:
        if drafts:
            session[KEY] = drafts
        else:
            session.pop(KEY, None)


def _cookie_size() -> int:
    serializer = current_app.session_interface.get_signing_serializer(current_app)  # type: ignore[attr-defined]
    if serializer is None:
        return 0
    return len(serializer.dumps(dict(session)))
