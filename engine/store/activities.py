"""Activities: the calls, visits, meetings, e-mails and messages logged with a customer or a
deal, as rows and as the records pages, API and CLI show.

Who may log or read which is engine.usecases.activities' rule; these functions keep and read
the rows as told.  They take an open session.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypedDict

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.store.models import Activity
from engine.store.records import iso

__all__ = ["KINDS", "ActivityRecord", "activities_of", "activity_record"]

KINDS = ("call", "visit", "meeting", "email", "message")


class ActivityRecord(TypedDict):
    """An activity as the engine hands it out (and the API answers it)."""

    id: int
    customer_id: int | None
    deal_id: str | None
    kind: str
    at: str | None
    by: str
    notes: str
    outcome: str | None
    next_step: str | None
    next_step_at: str | None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def activity_record(row: Activity) -> ActivityRecord:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "deal_id": str(row.instance_id) if row.instance_id is not None else None,
        "kind": row.kind,
        "at": iso(row.at),
        "by": row.by,
        "notes": row.notes,
        "outcome": row.outcome,
        "next_step": row.next_step,
        "next_step_at": _day(row.next_step_at),
    }


def activities_of(
    s: Session,
    *,
    customer_id: int | None = None,
    instance_id: int | None = None,
    limit: int = 100,
    since: datetime | None = None,
) -> list[ActivityRecord]:
    """The activities of a customer (its own and those of its deals) or of one deal, newest
    first: at most `limit`, and only from `since` when given."""
    query = select(Activity)
    if customer_id is not None and instance_id is not None:
        query = query.where(
            or_(Activity.customer_id == customer_id, Activity.instance_id == instance_id)
        )
    elif customer_id is not None:
        query = query.where(Activity.customer_id == customer_id)
    elif instance_id is not None:
        query = query.where(Activity.instance_id == instance_id)
    if since is not None:
        query = query.where(Activity.at >= since)
    rows = s.scalars(query.order_by(Activity.at.desc(), Activity.id.desc()).limit(limit))
    return [activity_record(r) for r in rows]
