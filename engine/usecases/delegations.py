"""Delegations: a rep who is away has their work go to a delegate until a date.

A delegation runs from `starts_at` to `ends_at`: meanwhile the rep's open tasks and new
assignments go to the delegate, each remembering whom it came from (`delegated_from`); when
it ends they go back (engine.jobs.delegations, the worker's minute job).  A rep delegates
their own work; a Sales Manager or an admin anyone's; `actor` None is the console operator.
Every change tells the people concerned (engine.store.notifications).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.notices import period as period_of
from engine.core.notices import tasks_moved
from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import users
from engine.store.models import Delegation, OpenTask
from engine.store.records import iso
from engine.usecases.base import UseCases
from engine.usecases.notices import Notices
from engine.usecases.people import (
    active_roles,
    add_history,
    display_name,
    is_manager,
    locks_rows,
)

__all__ = [
    "DelegationCases",
    "Moment",
    "as_time",
    "cancel_delegation",
    "delegate",
    "delegation_record",
    "delegations",
    "end_delegation",
    "parse_day",
    "start_delegation",
]


Moment = datetime | str  # a time, or a date or time as text (from a form or the console)


def parse_day(text: str, *, end: bool = False) -> datetime:
    """A date or an ISO time as UTC.  A bare date ("2026-03-10") is its first moment, or with
    `end` the first moment of the next day: "until the 10th" includes the 10th."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            "not a date (2026-03-10) or a time (2026-03-10T18:00)",
            field="until" if end else "starts",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def as_time(value: Moment, *, end: bool = False) -> datetime:
    """A datetime as it is (naive ones are UTC), text through `parse_day`."""
    if isinstance(value, str):
        return parse_day(value, end=end)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def delegation_record(d: Delegation) -> dict[str, Any]:
    return {
        "id": d.id,
        "from_user": d.from_user,
        "to_user": d.to_user,
        "starts_at": iso(d.starts_at),
        "ends_at": iso(d.ends_at),
        "created_by": d.created_by,
        "created_at": iso(d.created_at),
        "ended_at": iso(d.ended_at),
    }


def delegations(s: Session, username: str | None = None) -> list[dict[str, Any]]:
    """The delegations that have not ended, from or to `username` (everyone's without)."""
    query = select(Delegation).where(Delegation.ended_at.is_(None)).order_by(Delegation.starts_at)
    if username is not None:
        query = query.where(or_(Delegation.from_user == username, Delegation.to_user == username))
    return [delegation_record(d) for d in s.scalars(query)]


def delegate(
    s: Session,
    from_user: str,
    to_user: str,
    *,
    ends_at: datetime,
    starts_at: datetime | None = None,
    actor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """While `from_user` is away (from `starts_at`, default now, until `ends_at`) their open
    tasks and new assignments go to `to_user`."""
    if actor != from_user and not is_manager(s, actor):
        raise ForbiddenError(f"{actor} may delegate only their own work")
    active_roles(s, from_user, "from")
    active_roles(s, to_user, "to")
    if from_user == to_user:
        raise ValidationError("choose someone else to cover for you", field="to")
    starts_at = max(starts_at or now, now)
    if ends_at <= starts_at:
        raise ValidationError("the end must be after the start (and in the future)", field="until")
    overlapping = (
        Delegation.ended_at.is_(None)
        & (Delegation.starts_at < ends_at)
        & (Delegation.ends_at.is_(None) | (Delegation.ends_at > starts_at))
    )
    clash = s.scalars(
        select(Delegation).where(
            overlapping,
            or_(
                Delegation.from_user.in_([from_user, to_user]),
                Delegation.to_user == from_user,
            ),
        )
    ).first()
    if clash is not None:
        until = _when(clash.ends_at)
        if clash.from_user == from_user:
            raise ConflictError(
                f"{from_user} is already away until {until} (delegated to "
                f"{clash.to_user}); cancel that first"
            )
        if clash.from_user == to_user:
            raise ValidationError(f"{to_user} is away then (until {until})", field="to")
        raise ValidationError(
            f"{from_user} covers for {clash.from_user} until {until}", field="from"
        )
    row = Delegation(
        from_user=from_user,
        to_user=to_user,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
        created_at=now,
    )
    s.add(row)
    s.flush()
    moved = start_delegation(s, row, now) if starts_at <= now else 0
    away, cover = display_name(s, from_user), display_name(s, to_user)

    def period(locale: str) -> str:
        return period_of(starts_at, ends_at, locale)

    notices = Notices(s)  # each in their language
    notices.tell(
        to_user, "delegated", "delegated_covering", now=now, away=away, period=period, moved=moved
    )
    if actor != from_user:
        notices.tell(
            from_user,
            "delegated",
            "delegated_away",
            now=now,
            who=display_name(s, actor),
            cover=cover,
            period=period,
        )
    return {**delegation_record(row), "moved": moved}


def cancel_delegation(
    s: Session, delegation_id: int, *, actor: str | None, now: datetime
) -> dict[str, Any]:
    """End a delegation now (the rep is back early, or plans changed); the tasks go back."""
    row = s.get(Delegation, delegation_id, with_for_update=locks_rows(s))
    if row is None:
        raise NotFoundError(f"no delegation {delegation_id}")
    if actor != row.from_user and not is_manager(s, actor):
        raise ForbiddenError(f"{actor} may cancel only their own delegations")
    if row.ended_at is not None:
        return {**delegation_record(row), "moved": 0}
    moved = end_delegation(s, row, now, actor=actor)
    return {**delegation_record(row), "moved": moved}


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "further notice"


def start_delegation(s: Session, d: Delegation, now: datetime) -> int:
    """Move what the rep holds now to the delegate (or to the queue of a role the delegate
    lacks); each task remembers whom it came from."""
    query = select(OpenTask).where(
        OpenTask.assignee == d.from_user, OpenTask.delegated_from.is_(None)
    )
    rows = list(s.scalars(query.with_for_update() if locks_rows(s) else query))
    held = users.roles_held(s, d.to_user)
    per_deal: dict[int, int] = defaultdict(int)
    for row in rows:
        row.assignee = d.to_user if row.role is None or row.role in held else None
        row.delegated_from = d.from_user
        per_deal[row.instance_id] += 1
    until = iso(d.ends_at)
    add_history(
        s,
        [
            {
                "instance_id": iid,
                "at": now,
                "actor": d.created_by,
                "kind": "delegated",
                "data": {"from": d.from_user, "to": d.to_user, "until": until, "tasks": n},
            }
            for iid, n in sorted(per_deal.items())
        ],
    )
    return len(rows)


def end_delegation(s: Session, d: Delegation, now: datetime, *, actor: str | None) -> int:
    """Give the rep back what was moved for them and is still with the delegate or queued;
    a task someone else took meanwhile stays with them."""
    query = select(OpenTask).where(OpenTask.delegated_from == d.from_user)
    rows = list(s.scalars(query.with_for_update() if locks_rows(s) else query))
    held = users.roles_held(s, d.from_user)
    per_deal: dict[int, int] = defaultdict(int)
    for row in rows:
        row.delegated_from = None
        if row.assignee in (d.to_user, None) and (row.role is None or row.role in held):
            row.assignee = d.from_user
            per_deal[row.instance_id] += 1
    d.ended_at = now
    add_history(
        s,
        [
            {
                "instance_id": iid,
                "at": now,
                "actor": actor,
                "kind": "delegation_ended",
                "data": {"from": d.to_user, "to": d.from_user, "tasks": n},
            }
            for iid, n in sorted(per_deal.items())
        ],
    )
    back = sum(per_deal.values())
    rep, cover = display_name(s, d.from_user), display_name(s, d.to_user)

    def moved_back(locale: str) -> str:
        return tasks_moved(back, 0, locale)

    notices = Notices(s)  # each in their language
    notices.tell(
        d.from_user, "delegation_ended", "delegation_back", now=now, cover=cover, moved=moved_back
    )
    notices.tell(
        d.to_user, "delegation_ended", "delegation_over", now=now, rep=rep, moved=moved_back
    )
    s.flush()
    return back


class DelegationCases(UseCases):
    """A rep away: their work goes to a delegate until a date, then back."""

    def delegate(
        self,
        from_user: str,
        to_user: str,
        *,
        until: Moment,
        starts: Moment | None = None,
        actor: str | None,
    ) -> dict[str, Any]:
        """`from_user`'s work goes to `to_user` until `until` (a date: to its end)."""
        ends_at = as_time(until, end=True)
        starts_at = as_time(starts) if starts not in (None, "") else None
        with self.db.write() as s:
            return delegate(
                s,
                from_user,
                to_user,
                ends_at=ends_at,
                starts_at=starts_at,
                actor=actor,
                now=clock.now(),
            )

    def cancel_delegation(self, delegation_id: int, *, actor: str | None) -> dict[str, Any]:
        with self.db.write() as s:
            return cancel_delegation(s, delegation_id, actor=actor, now=clock.now())

    def delegations(self, user: str | None = None) -> list[dict[str, Any]]:
        """Delegations not ended yet, from or to `user` (everyone's without)."""
        with self.db.read() as s:
            return delegations(s, user)
