"""Who may see which deals: the rule every page and API endpoint applies.

- Managers (role "Sales Manager") and admins see every deal of the team.
- Everyone else sees the deals they own, the deals with an open task assigned to them or
  waiting in the queue of a role they hold, and the deals they have worked on before.
- Where the team allows it (the setting `reps_see_team_deals`, off by default), a sales rep
  also sees every colleague's deal: read only, since acting on a deal has its own rules (its
  tasks are its holders', marking it lost its owner's or a manager's).
Completing or claiming a task has its own, stricter rule (engine.usecases.service).

A customer is seen by its owner, by managers and admins, and by whoever may see one of its
deals (`visible_customers`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.core.roles import MANAGERS, role_key
from engine.store import team_settings
from engine.store.db import remembered
from engine.store.models import Customer, History, Instance, OpenTask
from engine.store.plans import Unindexed

SEE_ALL = MANAGERS
SALES_REP = role_key("Sales Rep")


def sees_all(roles: set[str]) -> bool:
    return bool(roles & SEE_ALL)


def team_deals_shared(s: Session) -> bool:
    """Whether the team lets reps open their colleagues' deals (read only)."""
    return bool(team_settings.get(s, "reps_see_team_deals"))


def sees_every_deal(roles: set[str], *, team: bool = False) -> bool:
    """Whether `visible_deals` lets someone holding `roles` see every deal (`team`: as there)."""
    return sees_all(roles) or (team and SALES_REP in roles)


def visible_deals(username: str, roles: set[str], *, team: bool = False, scan: bool = False) -> Any:
    """A WHERE clause on Instance selecting the deals `username` may see (`team`: the team
    shares its deals with its reps, `team_deals_shared`; `scan`: for a query that goes
    through the deals in the order of an index that holds the owner, engine.store.plans)."""
    if sees_every_deal(roles, team=team):
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
    owner = Unindexed(Instance.owner) if scan else Instance.owner
    return or_(owner == username, own_task, worked_on)


def may_see(
    s: Session, username: str, roles: set[str], instance_id: int, *, team: bool = False
) -> bool:
    """Whether `username` may see the deal; `team`: for reading it (its page, record, chart)
    where the team shares its deals (`team_deals_shared`) — never for acting on it."""

    def read() -> bool:
        visible = visible_deals(username, roles, team=team)
        return s.scalar(select(Instance.id).where(Instance.id == instance_id, visible)) is not None

    # A page asks it for each of its panels (engine.store.db.remembered).
    return remembered(s, ("may_see", username, frozenset(roles), instance_id, team), read)


def visible_customers(username: str, roles: set[str], *, team: bool = False) -> Any:
    """A WHERE clause on Customer selecting the customers `username` may see: those they own,
    and those of the deals they may see (`team`: for reading, where the team shares its deals
    with its reps); managers and admins see every customer."""
    if sees_all(roles):
        return Customer.id.is_not(None)
    deals = select(Instance.customer_id).where(
        Instance.customer_id.is_not(None), visible_deals(username, roles, team=team)
    )
    return or_(Customer.owner == username, Customer.id.in_(deals))


def may_see_customer(
    s: Session, username: str, roles: set[str], customer_id: int, *, team: bool = False
) -> bool:
    """Whether `username` may see the customer (`visible_customers`)."""
    visible = visible_customers(username, roles, team=team)
    return s.scalar(select(Customer.id).where(Customer.id == customer_id, visible)) is not None
