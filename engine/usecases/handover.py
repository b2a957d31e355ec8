"""People covering for people: reassign one task, hand over everything a rep has (the
delegations of a rep who is away: engine.usecases.delegations).

The rules (`actor` None is the console operator, who may do everything):
- A Sales Manager or an admin may do all of it for anyone.  A rep may reassign a task they
  hold.
- A task goes only to a user holding its lane's role; where a whole set of tasks moves and
  the new person lacks a task's role, that task waits in the role's queue instead (the rule
  of engine.store.changes for new tasks).
- A hand-over gives the new owner the deals (`Instance.owner`, so tasks that become ready
  later follow it), the open tasks, the rep's running delegations and the customers they own
  (engine.usecases.customers); one `handover` history row per deal.  One deal handed over
  alone goes only to someone who may own deals (an owner role, engine.usecases.deals), as on
  its page, and leaves its customer with its owner; a rep's whole work to anyone active.
- Every change tells the people concerned (engine.store.notifications).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.core.notices import deals_and_tasks
from engine.core.records import TaskRecord
from engine.core.roles import MANAGERS
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.store import customers as customer_rows
from engine.store.delegations import route
from engine.store.models import Delegation, History, Instance, OpenTask, User
from engine.store.records import task_record
from engine.usecases.base import UseCases
from engine.usecases.deals import OWNER_ROLES
from engine.usecases.notices import Notices
from engine.usecases.people import (
    active_roles,
    add_history,
    deal_names,
    display_name,
    is_active,
    is_manager,
    locks_rows,
)
from engine.usecases.tasks import lock_open_task
from engine.usecases.unit import parse_id

if TYPE_CHECKING:
    pass

__all__ = ["MANAGERS", "HandoverCases", "hand_over", "handover_preview", "reassign"]


# --- reading -------------------------------------------------------------------------------


# --- checks --------------------------------------------------------------------------------


# --- one task ------------------------------------------------------------------------------


def reassign(
    s: Session, row: OpenTask, to_user: str, *, actor: str | None, now: datetime
) -> TaskRecord:
    """Give one open task (`row`, locked by the caller) to `to_user`."""
    if not is_manager(s, actor) and row.assignee != actor:
        raise ForbiddenError(
            f"task '{row.name}' is not assigned to {actor}; only its holder or a sales "
            "manager may reassign it"
        )
    held = active_roles(s, to_user, "to")
    if row.role is not None and row.role not in held:
        raise ValidationError(
            f"{to_user} does not hold the role '{row.lane}' of task '{row.name}'", field="to"
        )
    if row.assignee == to_user:
        return task_record(row)
    before = row.assignee
    assignee, delegated_from = route(s, to_user, row.role, now, {})
    row.assignee, row.delegated_from = assignee, delegated_from
    s.add(
        History(
            instance_id=row.instance_id,
            at=now,
            actor=actor,
            kind="reassigned",
            element_id=row.element_id,
            element_name=row.name,
            task_id=row.task_id,
            data={"from": before, "to": to_user},
        )
    )
    deal = deal_names(s, [row.instance_id]).get(row.instance_id, "")
    who = display_name(s, actor)
    told = {actor}
    notices = Notices(s)  # each in their language, the task's name from the deal's version
    task = notices.element(row.instance_id, row.element_id, row.name)
    for person, sentence in (
        (to_user, "reassigned_to_you"),
        (assignee, "reassigned_covering"),
        (before, "reassigned_away"),
    ):
        if person is not None and person not in told:
            told.add(person)
            notices.tell(
                person,
                "reassigned",
                sentence,
                instance_id=row.instance_id,
                task_id=row.task_id,
                now=now,
                task=task,
                who=who,
                deal=deal,
                to=to_user,
            )
    s.flush()
    return task_record(row)


# --- everything a rep has ------------------------------------------------------------------


def _handover_scope(
    s: Session, from_user: str, instance_id: int | None, *, lock: bool
) -> tuple[list[int], list[OpenTask]]:
    """The deals `from_user` owns and the open tasks that are theirs (held, or held for them
    by a delegate or their role's queue while they are away)."""
    deals = select(Instance.id).where(Instance.owner == from_user)
    delegates = select(Delegation.to_user).where(
        Delegation.from_user == from_user, Delegation.ended_at.is_(None)
    )
    theirs = or_(
        OpenTask.assignee == from_user,
        (OpenTask.delegated_from == from_user)
        & (OpenTask.assignee.is_(None) | OpenTask.assignee.in_(delegates)),
    )
    tasks = select(OpenTask).where(theirs).order_by(OpenTask.instance_id, OpenTask.created_at)
    if instance_id is not None:
        deals = deals.where(Instance.id == instance_id)
        tasks = tasks.where(OpenTask.instance_id == instance_id)
    if lock and locks_rows(s):
        tasks = tasks.with_for_update()
    return list(s.scalars(deals.order_by(Instance.id))), list(s.scalars(tasks))


def _check_handover(s: Session, from_user: str, to_user: str, actor: str | None) -> set[str]:
    """The roles of `to_user`, after checking the request."""
    if not is_manager(s, actor):
        raise ForbiddenError("only a sales manager or an administrator hands over a rep's work")
    if s.scalar(select(User.id).where(User.username == from_user)) is None:
        raise ValidationError(f"no user '{from_user}'", field="from")
    if from_user == to_user:
        raise ValidationError("hand over to someone else", field="to")
    return active_roles(s, to_user, "to")


def _check_owner(to_user: str, held: set[str], instance_id: int | None, deals: list[int]) -> None:
    """One deal handed over gets an owner as a new deal would (engine.usecases.deals: an
    owner role).  A rep's whole work may go to anyone active, as it always could."""
    if instance_id is not None and deals and not held & OWNER_ROLES:
        raise ValidationError(
            f"{to_user} may not own a deal: owners hold the role Sales Rep or Sales Manager",
            field="to",
        )


def handover_preview(
    s: Session,
    from_user: str,
    to_user: str,
    *,
    actor: str | None,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """What `hand_over` would move, without moving it."""
    held = _check_handover(s, from_user, to_user, actor)
    deals, tasks = _handover_scope(s, from_user, instance_id, lock=False)
    _check_owner(to_user, held, instance_id, deals)
    queued = sum(1 for t in tasks if t.role is not None and t.role not in held)
    return {
        "from": from_user,
        "to": to_user,
        "deals": len(deals),
        "tasks": len(tasks),
        "queued": queued,
        "customers": customer_rows.count_owned(s, from_user) if instance_id is None else 0,
    }


def hand_over(
    s: Session,
    from_user: str,
    to_user: str,
    *,
    actor: str | None,
    now: datetime,
    instance_id: int | None = None,
) -> dict[str, Any]:
    """Give `to_user` everything `from_user` has (or one deal of it): the deals they own,
    their open tasks, and (for everything) their running delegations, in one transaction."""
    held = _check_handover(s, from_user, to_user, actor)
    if instance_id is not None and s.get(Instance, instance_id) is None:
        raise NotFoundError(f"no instance with id '{instance_id}'")
    deals, tasks = _handover_scope(s, from_user, instance_id, lock=True)
    _check_owner(to_user, held, instance_id, deals)
    if deals:
        # One UPDATE, not the ORM: the deals' lock_version stays, so nobody's open form
        # turns stale because its deal changed hands.
        s.execute(update(Instance).where(Instance.id.in_(deals)).values(owner=to_user))
    per_deal: dict[int, int] = defaultdict(int)
    queued = 0
    for row in tasks:
        per_deal[row.instance_id] += 1
        if row.delegated_from == from_user:
            row.delegated_from = None  # what was covered for them is the new person's now
        if row.role is None or row.role in held:
            row.assignee = to_user
        else:
            row.assignee = None
            queued += 1
    if instance_id is None:
        mine = or_(Delegation.from_user == from_user, Delegation.to_user == from_user)
        for d in s.scalars(select(Delegation).where(Delegation.ended_at.is_(None), mine)):
            if d.from_user == from_user:
                d.ended_at = now  # their tasks are the new person's now
            elif d.to_user == from_user:
                d.to_user = to_user  # the new person covers for whom they covered
        # Tasks a colleague took from the queue while the rep was away stay theirs.
        s.execute(
            update(OpenTask).where(OpenTask.delegated_from == from_user).values(delegated_from=None)
        )
        # Their customers go with their work (one deal handed over alone leaves them).
        customers = customer_rows.hand_over(s, from_user, to_user, now)
    else:
        customers = 0
    touched = sorted(set(deals) | set(per_deal))
    owned = set(deals)
    add_history(
        s,
        [
            {
                "instance_id": iid,
                "at": now,
                "actor": actor,
                "kind": "handover",
                "data": {
                    "from": from_user,
                    "to": to_user,
                    "owner": iid in owned,
                    "tasks": per_deal.get(iid, 0),
                },
            }
            for iid in touched
        ],
    )
    who, giver, taker = display_name(s, actor), display_name(s, from_user), display_name(s, to_user)
    count = len(deals)

    def what(locale: str) -> str:
        return deals_and_tasks(count, len(tasks), queued, locale)

    only = touched[0] if len(touched) == 1 else None
    notices = Notices(s)  # each in their language
    notices.tell(
        to_user,
        "handover",
        "handover_to_you",
        instance_id=only,
        now=now,
        who=who,
        giver=giver,
        what=what,
    )
    if actor != from_user and is_active(s, from_user):
        notices.tell(
            from_user,
            "handover",
            "handover_yours",
            instance_id=only,
            now=now,
            who=who,
            taker=taker,
            what=what,
        )
    s.flush()
    return {
        "from": from_user,
        "to": to_user,
        "deals": len(deals),
        "tasks": len(tasks),
        "queued": queued,
        "customers": customers,
    }


# --- holidays ------------------------------------------------------------------------------


# The most tasks one bulk action takes (a page of the inbox is 50).
MAX_BATCH = 200


class HandoverCases(UseCases):
    """People covering for people: one task reassigned, a rep's work handed over, delegations."""

    def reassign(self, task_id: str, to_user: str, *, actor: str | None) -> TaskRecord:
        """Give one open task to another user holding its lane's role."""
        with self.db.write() as s:
            row = lock_open_task(s, task_id, sqlite=self.db.is_sqlite)
            return reassign(s, row, to_user, actor=actor, now=clock.now())

    def reassign_many(
        self, task_ids: Sequence[str], to_user: str, *, actor: str | None
    ) -> list[TaskRecord]:
        """Give several open tasks to `to_user` in one transaction: all of them, or none (the
        first refusal names its task)."""
        if not task_ids:
            raise ValidationError("choose at least one task", field="tasks")
        if len(task_ids) > MAX_BATCH:
            raise ValidationError(f"at most {MAX_BATCH} tasks at once", field="tasks")
        now = clock.now()
        with self.db.write() as s:
            return [
                reassign(s, lock_open_task(s, tid, sqlite=self.db.is_sqlite), to_user,
                         actor=actor, now=now)
                for tid in dict.fromkeys(task_ids)
            ]  # fmt: skip

    def handover_preview(
        self, from_user: str, to_user: str, *, actor: str | None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """How many deals and tasks `hand_over` would move (nothing is changed)."""
        iid = parse_id(instance_id) if instance_id is not None else None
        with self.db.read() as s:
            return handover_preview(s, from_user, to_user, actor=actor, instance_id=iid)

    def hand_over(
        self, from_user: str, to_user: str, *, actor: str | None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """Everything `from_user` has (or one deal of it) to `to_user`, in one transaction."""
        iid = parse_id(instance_id) if instance_id is not None else None
        with self.db.write() as s:
            return hand_over(s, from_user, to_user, actor=actor, now=clock.now(), instance_id=iid)
