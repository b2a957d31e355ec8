"""Delegations as the change writer reads them: where a task for someone who is away goes.
Creating, ending and listing delegations is engine.usecases.handover's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from engine.store import users
from engine.store.models import Delegation


def running_at(now: datetime) -> ColumnElement[bool]:
    return (
        Delegation.ended_at.is_(None)
        & (Delegation.starts_at <= now)
        & (Delegation.ends_at.is_(None) | (Delegation.ends_at > now))
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
        delegate = s.scalars(
            select(Delegation.to_user)
            .where(Delegation.from_user == assignee, running_at(now))
            .order_by(Delegation.id.desc())
            .limit(1)
        ).first()
        away[assignee] = (delegate, users.roles_held(s, delegate)) if delegate else None
    found = away[assignee]
    if found is None:
        return assignee, None
    delegate, held = found
    return (delegate if role is None or role in held else None), assignee
