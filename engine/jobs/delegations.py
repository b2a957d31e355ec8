"""The worker's minute job for delegations: end those whose end has passed, and move to the
delegate what a rep who is away still holds (the rules: engine.usecases.delegations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.store.db import Database
from engine.store.delegations import running_at
from engine.store.models import Delegation, OpenTask
from engine.usecases.delegations import end_delegation, start_delegation
from engine.usecases.people import locks_rows


def end_expired_delegations(db: Database, now: datetime) -> dict[str, int]:
    """The worker's minute job: end the delegations whose end has passed (the tasks go
    back), and move to the delegate what a rep who is away still holds (a delegation that
    began since the last run, or a task the rep took meanwhile).  Two indexed queries when
    nothing is due; safe to run twice or from several workers at once."""
    with db.read() as s:
        ending = list(
            s.scalars(
                select(Delegation.id).where(
                    Delegation.ended_at.is_(None), Delegation.ends_at <= now
                )
            )
        )
        starting = list(
            s.scalars(
                select(Delegation.id)
                .join(OpenTask, OpenTask.assignee == Delegation.from_user)
                .where(running_at(now), OpenTask.delegated_from.is_(None))
                .distinct()
            )
        )
    done = {"ended": 0, "started": 0}
    for key, ids in (("ended", ending), ("started", starting)):
        for delegation_id in ids:
            with db.write() as s:
                query = select(Delegation).where(Delegation.id == delegation_id)
                if locks_rows(s):
                    query = query.with_for_update(skip_locked=True)
                d = s.scalars(query).first()
                if d is None or d.ended_at is not None:
                    continue  # done meanwhile by another worker
                if key == "ended" and d.ends_at is not None and d.ends_at <= now:
                    end_delegation(s, d, now, actor=None)
                    done["ended"] += 1
                elif key == "started" and d.starts_at <= now:
                    done["started"] += 1 if start_delegation(s, d, now) else 0
    return done
