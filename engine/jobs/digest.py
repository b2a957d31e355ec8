"""The daily digest of a rep ("Today"): my tasks due today or overdue, my stale deals, and
the timers of my deals that fire in the next 24 hours.

`digest` is what the /digest page and `salesflow digest USER` show.  `send_digests`, called by
the worker, puts one notification per user with something in their digest, once per day
(local day of the SLA calendar, from `digest_time` on; on a calendar with business hours only
on working days).  Two workers on PostgreSQL queue on the row that records the day sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exc, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.calendar import Calendar, clock_minutes
from engine.store import team_settings as settings
from engine.store import users
from engine.store.db import Database
from engine.store.models import Instance, OpenTask, Setting, User
from engine.store.notifications import notify
from engine.store.records import iso
from engine.store.stale import stale_clause

__all__ = ["as_text", "build_digest", "digest", "send_digests", "summary"]

TIMER_HORIZON = timedelta(hours=24)
KIND = "digest"


def digest(db: Database, username: str, now: datetime | None = None) -> dict[str, Any]:
    """A user's digest now (NotFoundError for an unknown or inactive user)."""
    with db.read() as s:
        users.roles_of(s, username)
        return build_digest(s, username, now or clock.now())


def build_digest(
    s: Session, username: str, now: datetime, calendar: Calendar | None = None
) -> dict[str, Any]:
    calendar = calendar or settings.sla_calendar(s)
    _start, day_end = calendar.day_bounds(now)
    due = s.execute(
        select(OpenTask, Instance.name)
        .join(Instance, Instance.id == OpenTask.instance_id)
        .where(OpenTask.assignee == username, OpenTask.due_at < day_end)
        .order_by(OpenTask.due_at, OpenTask.created_at)
    )
    tasks = [
        {
            "task_id": t.task_id,
            "instance_id": str(t.instance_id),
            "deal": name,
            "name": t.name,
            "stage": t.stage,
            "due_at": iso(t.due_at),
            "overdue": t.due_at is not None and t.due_at < now,
            "escalated": t.escalated_at is not None,
        }
        for t, name in due
    ]
    quiet = s.execute(
        select(
            Instance.id, Instance.name, Instance.stage, Instance.activity_at, Instance.created_at
        )
        .where(Instance.owner == username, stale_clause(settings.stale_days(s), now))
        .order_by(Instance.activity_at, Instance.id)
    )
    stale = [
        {
            "instance_id": str(iid),
            "name": name,
            "stage": stage,
            "activity_at": iso(activity or created),
            "quiet_days": (now - (activity or created)).days,
        }
        for iid, name, stage, activity, created in quiet
    ]
    horizon = now + TIMER_HORIZON
    soon = s.execute(
        select(Instance.id, Instance.name, Instance.timers)
        .where(
            Instance.owner == username,
            Instance.status == "running",
            Instance.next_due_at <= horizon,
        )
        .order_by(Instance.next_due_at, Instance.id)
    )
    timers = sorted(
        (
            {
                "instance_id": str(iid),
                "deal": name,
                "element_id": timer.get("element_id"),
                "name": timer.get("name") or timer.get("element_id"),
                "due_at": timer.get("due_at"),
            }
            for iid, name, waiting in soon
            for timer in waiting or []
            if timer.get("due_at") and now <= clock.parse_iso(timer["due_at"]) <= horizon
        ),
        key=lambda t: (str(t["due_at"]), t["instance_id"]),
    )
    return {
        "user": username,
        "date": calendar.local_date(now).isoformat(),
        "generated_at": iso(now),
        "tasks": tasks,
        "stale": stale,
        "timers": timers,
    }


def is_empty(found: dict[str, Any]) -> bool:
    return not (found["tasks"] or found["stale"] or found["timers"])


def summary(found: dict[str, Any]) -> str:
    """One line for the notification."""
    overdue = sum(1 for t in found["tasks"] if t["overdue"])
    return (
        f"Today: {len(found['tasks'])} task(s) due ({overdue} overdue), "
        f"{len(found['stale'])} stale deal(s), "
        f"{len(found['timers'])} timer(s) in the next 24 hours."
    )


def as_text(found: dict[str, Any]) -> str:
    """The digest for a terminal."""
    lines = [f"Digest of {found['user']} for {found['date']}", summary(found), "", "Tasks due:"]
    lines += [
        f"  {t['due_at']}  {t['name']} ({t['deal']}, #{t['instance_id']})"
        + ("  OVERDUE" if t["overdue"] else "")
        for t in found["tasks"]
    ] or ["  (none)"]
    lines.append("Stale deals:")
    lines += [
        f"  #{d['instance_id']} {d['name']}: {d['stage']}, quiet for {d['quiet_days']} days"
        for d in found["stale"]
    ] or ["  (none)"]
    lines.append("Timers in the next 24 hours:")
    lines += [
        f"  {t['due_at']}  {t['name']} ({t['deal']}, #{t['instance_id']})" for t in found["timers"]
    ] or ["  (none)"]
    return "\n".join(lines)


def send_digests(db: Database, now: datetime | None = None) -> int:
    """Notify every active user with something in their digest, once per local day;
    how many were notified (0 before the digest time, on days off, and once sent)."""
    now = now or clock.now()
    with db.read() as s:
        values = settings.load_all(s)
        sent_on = settings.get(s, settings.DIGEST_SENT_ON)
    calendar = settings.calendar_of(values)
    day = calendar.local_date(now)
    if sent_on == day.isoformat() or not _due(calendar, values["digest_time"], now):
        return 0
    _ensure_marker(db)
    with db.write() as s:
        marker = s.get(
            Setting,
            settings.DIGEST_SENT_ON,
            with_for_update=not db.is_sqlite,
            populate_existing=True,
        )
        if marker is not None and marker.value == day.isoformat():
            return 0  # another worker sent them meanwhile
        sent = 0
        for username in s.scalars(
            select(User.username).where(User.active.is_(True)).order_by(User.username)
        ):
            found = build_digest(s, username, now, calendar)
            if is_empty(found):
                continue
            notify(s, username, KIND, summary(found), now=now)
            sent += 1
        settings.store(s, settings.DIGEST_SENT_ON, day.isoformat(), now=now)
        return sent


def _due(calendar: Calendar, digest_time: str, now: datetime) -> bool:
    day = calendar.local_date(now)
    if not calendar.is_working_day(day):
        return False
    return now >= calendar.at(day, clock_minutes(digest_time))


def _ensure_marker(db: Database) -> None:
    """The row two workers lock; created once (a worker that loses the race to create it
    finds it there)."""
    try:
        with db.write() as s:
            if s.get(Setting, settings.DIGEST_SENT_ON) is None:
                settings.store(s, settings.DIGEST_SENT_ON, "")
    except exc.IntegrityError:
        pass
