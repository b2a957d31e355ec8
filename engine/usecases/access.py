"""Who may see which deals: the rule every page and API endpoint applies.

- Managers (role "Sales Manager") and admins see every deal of the team.
- Everyone else sees the deals they own, the deals with an open task assigned to them or
  waiting in the queue of a role they hold, and the deals they have worked on before.
Completing or claiming a task has its own, stricter rule (engine.usecases.service).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.core.roles import MANAGERS
from engine.store.models import History, Instance, OpenTask

SEE_ALL = MANAGERS


def sees_all(roles: set[str]) -> bool:
    return bool(roles & SEE_ALL)


def visible_deals(username: str, roles: set[str]) -> Any:
    """A WHERE clause on Instance selecting the deals `username` may see."""
    if sees_all(roles):
        return Instance.id.is_not(None)
    # IN (subquery) rather than a correlated EXISTS: each set is read once from an index,
    # not probed once per deal.
    own_task = Instance.id.in_(
        select(OpenTask.instance_id).where(
            or_(
                OpenTask.assignee == username,
                OpenTask.assignee.is_(None) & OpenTask.role.in_(sorted(roles)),
            )
        )
    )
    worked_on = Instance.id.in_(select(History.instance_id).where(History.actor == username))
    return or_(Instance.owner == username, own_task, worked_on)


def may_see(s: Session, username: str, roles: set[str], instance_id: int) -> bool:
    query = select(Instance.id).where(Instance.id == instance_id, visible_deals(username, roles))
    return s.scalar(query) is not None
