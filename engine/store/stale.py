"""Stale ("rotting") deals: running deals nobody has worked on for N days in their stage.

N is per stage (store.team_settings `stale_days`; None: never stale there) and counts calendar
days since `Instance.activity_at`, which engine.store.changes sets when someone completes,
claims or releases a task, comments, or the deal changes stage.  The condition is one SQL
clause, so lists, the board, the digest and the `stale=1` filter agree, and it reads the
(status, stage, activity_at) index; `is_stale` says the same of one deal already read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from engine import clock
from engine.store import team_settings as settings
from engine.store.db import Database
from engine.store.models import Instance

__all__ = ["is_stale", "stale_among", "stale_clause"]


def stale_clause(stale_days: Mapping[str, int | None], now: datetime) -> ColumnElement[bool]:
    """A WHERE clause on Instance: running, and quiet for longer than its stage allows."""
    parts = []
    for stage, days in sorted(stale_days.items()):
        if not days:
            continue
        cutoff = now - timedelta(days=days)
        quiet = or_(
            Instance.activity_at < cutoff,
            # Deals from before activity was recorded count from their start.
            and_(Instance.activity_at.is_(None), Instance.created_at < cutoff),
        )
        parts.append(and_(Instance.stage == stage, quiet))
    if not parts:
        return false()
    return and_(Instance.status == "running", or_(*parts))


def is_stale(
    stale_days: Mapping[str, int | None],
    now: datetime,
    *,
    status: str,
    stage: str | None,
    activity_at: datetime | None,
    created_at: datetime,
) -> bool:
    """`stale_clause` for one deal already read (its page): the same condition in Python."""
    days = stale_days.get(stage) if stage is not None else None
    if status != "running" or not days:
        return False
    since = activity_at if activity_at is not None else created_at
    return since < now - timedelta(days=days)


def stale_among(
    db: Database, deals: Iterable[Mapping[str, Any]], now: datetime | None = None
) -> set[str]:
    """Which of the deal records already read (a page of the list, the board's cards) are
    stale now (ids as strings): decided from their status, stage and times, as
    `stale_clause` would."""
    records = list(deals)
    if not records:
        return set()
    with db.read() as s:
        days = settings.stale_days(s)
    moment = now or clock.now()
    return {
        str(d["instance_id"])
        for d in records
        if is_stale(
            days,
            moment,
            status=d["status"],
            stage=d["stage"],
            activity_at=_moment(d["activity_at"]),
            created_at=_moment(d["created_at"]) or moment,
        )
    }


def _moment(value: str | datetime | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
