"""Delegations as the change writer reads them: where a task for someone who is away goes.
Creating, ending and listing delegations is engine.usecases.handover's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.orm import Session

from engine.store import users
from engine.store.models import Delegation, table_of


def running_at(now: datetime) -> ColumnElement[bool]:
    return (
        Delegation.ended_at.is_(None)
        & (Delegation.starts_at <= now)
        & (Delegation.ends_at.is_(None) | (Delegation.ends_at > now))
    )


# Asked at every change that opens a task for someone (built once: see engine.store.changes).
_DELEGATIONS = table_of(Delegation)
_DELEGATE = (
    select(_DELEGATIONS.c.to_user)
    .where(
        _DELEGATIONS.c.from_user == bindparam("assignee"),
        _DELEGATIONS.c.ended_at.is_(None),
        _DELEGATIONS.c.starts_at <= bindparam("now"),
        _DELEGATIONS.c.ends_at.is_(None) | (_DELEGATIONS.c.ends_at > bindparam("now")),
    )
    .order_by(_DELEGATIONS.c.id.desc())
    .limit(1)
)


def route(
    s: Session,
    assignee: str,
    role: str | None,
    now: datetime,
    away: dict[str, tuple[str, set[str]] | None],
) -> tuple[str | None, str | None]:
    """Where a task for `assignee` goes now: (assignee, delegated_from).  To the delegate of
    a running delegation (or the role's queue when the delegate lacks the role), else to
    `assignee` itself.  `away` caches the look-up per person for one change."""
    if assignee not in away:
        delegate = s.execute(_DELEGATE, {"assignee": assignee, "now": now}).scalar()
        away[assignee] = (delegate, users.roles_held(s, delegate)) if delegate else None
    found = away[assignee]
    if found is None:
        return assignee, None
    delegate, held = found
    return (delegate if role is None or role in held else None), assignee
