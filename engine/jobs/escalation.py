"""SLA escalation: a task open past its due time is escalated to the role its SLA names.

When a task with an SLA becomes ready, engine.store.changes stores its due time (ready time plus
the SLA on the team's calendar, engine.core.calendar) and the role in its open-task row.  The
worker calls `escalate_due` every second: each task past due, not yet escalated, gets
`escalated_at`, its deal gets the escalation flag (`Instance.escalated_at`, cleared by
recording once no escalated task is open), the deal's history an `escalated` row, and every
active user of the role and the task's assignee a notification.  The task itself stays open
and completable.  (A deal's flags for its page: engine.usecases.deals `deal_sla`.)

It is one plain sweep: an indexed query on `open_task.due_at`, rows locked with SKIP LOCKED
on PostgreSQL (two workers never escalate a task twice; a deal being changed right now is
taken on the next sweep), a count returned.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.core import webhooks
from engine.core.notices import moment
from engine.core.roles import role_key
from engine.store.db import Database
from engine.store.integrations import record_deal_events, wanted_events
from engine.store.models import History, Instance, OpenTask, User, UserRole
from engine.store.records import iso
from engine.usecases.notices import Named, Notices

__all__ = ["escalate_due"]

BATCH = 500
KIND = "escalated"


def escalate_due(db: Database, now: datetime | None = None) -> int:
    """Escalate every task whose SLA has passed; how many were escalated."""
    now = now or clock.now()
    total = 0
    while True:
        done, seen = _escalate_batch(db, now)
        total += done
        # A full batch may have more behind it; one with skipped deals is taken up again on
        # the next sweep (asking at once would find the same rows first).
        if seen < BATCH or done < seen:
            return total


def _escalate_batch(db: Database, now: datetime) -> tuple[int, int]:
    with db.write() as s:
        query = (
            select(OpenTask)
            .where(
                OpenTask.due_at <= now,
                OpenTask.escalated_at.is_(None),
                OpenTask.escalate_to.is_not(None),
            )
            .order_by(OpenTask.due_at)
            .limit(BATCH)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = list(s.scalars(query))
        if not rows:
            return 0, 0
        # The deals too: a completion in progress holds its deal's row, and must not miss
        # the flag (it clears it when the escalated task is done).  Such a deal waits for
        # the next sweep.
        deals = select(Instance.id, Instance.name, Instance.version_id).where(
            Instance.id.in_(sorted({r.instance_id for r in rows}))
        )
        if not db.is_sqlite:
            deals = deals.with_for_update(skip_locked=True)
        found = s.execute(deals).all()
        names = {iid: name for iid, name, _version in found}
        versions = {iid: version for iid, _name, version in found}
        # Each recipient in their language, the task's and role's names from the deal's version.
        notices = Notices(s)
        members: dict[str, list[str]] = {}
        flagged: set[int] = set()
        for row in rows:
            if row.instance_id not in names:
                continue
            role = str(row.escalate_to)
            row.escalated_at = now
            flagged.add(row.instance_id)
            s.add(
                History(
                    instance_id=row.instance_id,
                    at=now,
                    actor=None,
                    kind=KIND,
                    element_id=row.element_id,
                    element_name=row.name,
                    task_id=row.task_id,
                    data={"escalate_to": role, "due_at": iso(row.due_at)},
                )
            )
            if role not in members:
                members[role] = _active_holders(s, role)
            task = Named(versions[row.instance_id], row.element_id, row.name)
            for username in dict.fromkeys([*members[role], row.assignee]):
                notices.tell(
                    username,
                    KIND,
                    "escalated",
                    instance_id=row.instance_id,
                    task_id=row.task_id,
                    now=now,
                    task=task,
                    role=role,
                    deal=names[row.instance_id],
                    due=partial(moment, row.due_at),
                )
        if flagged and webhooks.SLA_BREACHED in wanted_events(s):
            for iid in sorted(flagged):
                record_deal_events(s, s.get_one(Instance, iid), [webhooks.SLA_BREACHED], now)
        if flagged:
            # No ORM update: the flag is not workflow state, so the deal's lock_version (and
            # the cached workflow that goes with it) stays valid.
            s.execute(
                update(Instance)
                .where(Instance.id.in_(sorted(flagged)), Instance.escalated_at.is_(None))
                .values(escalated_at=now)
                .execution_options(synchronize_session=False)
            )
        return sum(1 for r in rows if r.instance_id in names), len(rows)


def _active_holders(s: Session, role: str) -> list[str]:
    query = (
        select(User.username)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role_key(role), User.active.is_(True))
        .order_by(User.username)
    )
    return list(s.scalars(query))
