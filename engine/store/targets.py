"""Targets (目标分解): a month's goal of one metric for the team (stored under the user name "")
or for one rep, as rows of the `target` table.

Who may set them and what a value may be is engine.usecases.targets' rule; these functions keep
and read the rows as told.  They take an open session.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.store.models import Target

__all__ = [
    "TEAM",
    "TargetRow",
    "delete_target",
    "month_bounds",
    "month_of",
    "prorated",
    "put_target",
    "targets_of",
]

TEAM = ""  # the team's targets' user name: a NULL would not be unique


class TargetRow(TypedDict):
    """A target as stored: `user` None for the team's."""

    period: str
    user: str | None
    metric: str
    value: Decimal


def put_target(
    s: Session,
    period: str,
    username: str | None,
    metric: str,
    value: Decimal,
    *,
    actor: str | None,
    now: datetime,
) -> None:
    """Set the target, replacing the one of the same period, user and metric."""
    key = username or TEAM
    row = s.scalar(
        select(Target).where(
            Target.period == period, Target.username == key, Target.metric == metric
        )
    )
    if row is None:
        row = Target(period=period, username=key, metric=metric)
        s.add(row)
    row.value, row.set_by, row.set_at = value, actor, now
    s.flush()


def delete_target(s: Session, period: str, username: str | None, metric: str) -> bool:
    """Remove a target; whether there was one."""
    gone = s.execute(
        delete(Target).where(
            Target.period == period, Target.username == (username or TEAM), Target.metric == metric
        )
    )
    return bool(getattr(gone, "rowcount", 0))


def targets_of(s: Session, periods: list[str]) -> list[TargetRow]:
    """The targets of these months, the team's first, then by user and metric."""
    rows = s.scalars(
        select(Target)
        .where(Target.period.in_(sorted(periods)))
        .order_by(Target.period, Target.username, Target.metric)
    )
    return [
        {"period": r.period, "user": r.username or None, "metric": r.metric, "value": r.value}
        for r in rows
    ]


# --- months -----------------------------------------------------------------------------------


def month_of(moment: datetime, tz: tzinfo) -> str:
    """The month (YYYY-MM) `moment` falls in where the team is."""
    local = moment.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"  # strftime's %Y drops a small year's zeros


def month_bounds(period: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """The month `period` (YYYY-MM) in the team's time zone, as UTC datetimes [since, until)."""
    year, month = (int(p) for p in period.split("-"))
    first = datetime(year, month, 1, tzinfo=tz)
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return first.astimezone(UTC), after.astimezone(UTC)


def prorated(
    s: Session, metric: str, since: datetime, until: datetime, tz: tzinfo
) -> dict[str | None, Decimal]:
    """Per user (None: the team) the targets of `metric` over [since, until): each month's
    target times the share of the month the stretch covers (the reps report's period)."""
    # Only the months that have a target: a stretch of centuries has a handful.
    first, last = month_of(since, tz), month_of(until - timedelta(microseconds=1), tz)
    rows = s.scalars(
        select(Target).where(Target.metric == metric, Target.period.between(first, last))
    )
    found: dict[str | None, Decimal] = {}
    for target in rows:
        start, after = month_bounds(target.period, tz)
        covered = (min(after, until) - max(start, since)).total_seconds()
        if covered <= 0:
            continue
        share = Decimal(str(round(covered / (after - start).total_seconds(), 6)))
        user = target.username or None
        found[user] = found.get(user, Decimal(0)) + target.value * share
    return {user: round(value, 2) for user, value in found.items()}
