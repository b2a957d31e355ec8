"""Activities: the calls, visits, meetings, e-mails and messages logged with a customer or a
deal, as rows and as the records pages, API and CLI show.

Who may log or read which is engine.usecases.activities' rule; these functions keep and read
the rows as told.  They take an open session.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, and_, case, false, literal, or_, select, update
from sqlalchemy.orm import Session

from engine.store.models import Activity, Customer
from engine.store.records import iso

__all__ = [
    "KINDS",
    "ActivityRecord",
    "activities_of",
    "activity_record",
    "add_activity",
    "silent_clause",
]

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


def add_activity(s: Session, values: Mapping[str, Any], *, now: datetime) -> ActivityRecord:
    """Keep an activity (checked by the caller) and what it means for its customer, in the
    caller's transaction: the customer's last activity is the latest one's time, its next
    follow-up the next step's date of the latest activity that set one, and its cadence
    reminder is over (`reminded_at` cleared).  One UPDATE of the customer's row, so two
    activities logged at once each count (the row lock orders them)."""
    row = Activity(**values, created_at=now)
    s.add(row)
    s.flush()
    customer_id, at = row.customer_id, row.at
    if customer_id is not None:
        changes: dict[str, Any] = {
            "last_activity_at": case(
                (
                    or_(Customer.last_activity_at.is_(None), Customer.last_activity_at < at),
                    literal(at, Customer.last_activity_at.type),
                ),
                else_=Customer.last_activity_at,
            ),
            "reminded_at": None,
        }
        if row.next_step_at is not None:
            # The latest activity (by when it happened) that set a next step says when to
            # follow up: one logged late about an older call does not move it back.
            latest = (
                select(Activity.next_step_at)
                .where(Activity.customer_id == customer_id, Activity.next_step_at.is_not(None))
                .order_by(Activity.at.desc(), Activity.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            changes["next_follow_up"] = latest
        s.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
    return activity_record(row)


def silent_clause(cadence: Mapping[str, int | None], now: datetime) -> ColumnElement[bool]:
    """A WHERE clause on Customer: customers silent for longer than their tier's cadence
    (tier -> days, None: no cadence) — since their last activity, or since they were added
    when they have none.  The Python twin is engine.usecases.activities `cadence_due`."""
    parts = []
    for tier, days in cadence.items():
        if not days:
            continue
        since = now - timedelta(days=days)
        parts.append(
            and_(
                Customer.tier == tier,
                or_(
                    Customer.last_activity_at < since,
                    and_(Customer.last_activity_at.is_(None), Customer.created_at < since),
                ),
            )
        )
    return or_(*parts) if parts else false()
