"""Drafts of task forms: the raw field values a user saved half-filled, kept by the engine
(engine.store.drafts, one per task and user) until the task is completed.  A draft follows the user
to another browser and survives a log-out; only absurdly large ones are refused.
"""

from __future__ import annotations

from typing import Any

from engine.errors import ValidationError
from webui.context import engine, user
from webui.schema_form import Raw


def load(task_id: str) -> dict[str, list[str]] | None:
    """The user's draft of the task as raw form values, or None."""
    found = engine().draft(task_id, user=user().username)
    if found is None:
        return None
    data: dict[str, Any] = found["data"] or {}
    return {str(k): [str(v) for v in vs] for k, vs in data.items() if isinstance(vs, list)}


def save(task_id: str, raw: Raw) -> bool:
    """Keep `raw` as the user's draft of the task; False when it is too large to keep."""
    kept = {k: list(v) for k, v in raw.items() if any(x.strip() for x in v)}
    try:
        engine().save_draft(task_id, user=user().username, data=kept)
    except ValidationError:
        return False
    return True


def discard(task_id: str) -> None:
    engine().discard_draft(task_id, user=user().username)
