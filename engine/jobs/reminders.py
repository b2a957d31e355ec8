"""Initiative reminders: a row of an initiative's execution table that is in progress and
that nobody updated for a day tells its owner to update it, at most once a day per row
(engine.usecases.initiatives keeps the tables).

The worker calls `send_reminders` every ten minutes: one query of the rows due, locked with
SKIP LOCKED on PostgreSQL so two workers never remind twice, a count returned.  Rows of an
initiative whose process is over, and owners no longer active, are left alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine import clock
from engine.core.initiatives import REMIND_AFTER
from engine.store.db import Database
from engine.store.models import Initiative, InitiativeRow, Instance, User
from engine.usecases.notices import Notices

if TYPE_CHECKING:
    from engine.usecases.service import Service

__all__ = ["send_reminders"]


def send_reminders(service_or_db: Service | Database, now: datetime | None = None) -> int:
    """Tell the owner of every row in progress that nobody updated for a day to update it;
    at most once a day per row.  How many were told (the worker's job)."""
    db = service_or_db if isinstance(service_or_db, Database) else service_or_db.db
    now = now or clock.now()
    due = now - REMIND_AFTER
    with db.write() as s:
        query = (
            select(InitiativeRow, Initiative.name)
            .join(Initiative, Initiative.id == InitiativeRow.initiative_id)
            .join(User, User.username == InitiativeRow.owner)
            .outerjoin(Instance, Instance.id == Initiative.instance_id)
            .where(
                InitiativeRow.status == "in progress",
                InitiativeRow.updated_at <= due,
                InitiativeRow.reminded_at.is_(None) | (InitiativeRow.reminded_at <= due),
                User.active.is_(True),
                Instance.status.is_(None) | (Instance.status == "running"),
            )
            .order_by(InitiativeRow.id)
        )
        if not db.is_sqlite:
            query = query.with_for_update(of=InitiativeRow, skip_locked=True)
        sent = 0
        notices = Notices(s)  # each owner in their language
        for row, name in s.execute(query).all():
            notices.tell(
                row.owner,
                "initiative_reminder",
                "initiative_reminder",
                now=now,
                initiative=name,
                step=row.task,
                days=(now - row.updated_at).days,
            )
            row.reminded_at = now
            sent += 1
        return sent
