# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese summary
"""A rep's daily digest ("Today"): my tasks due today or overdue, my stale deals, the
timers of my deals that fire in the next 24 hours, and my customers due a follow-up (silent
past their tier's cadence, engine.usecases.activities).

What the /digest page and `salesflow digest USER` show (`digest`), and what the worker's
daily notification says (engine.jobs.digest `send_digests` builds one per user with
`build_digest` inside its own transaction, and sends `summary`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.core.calendar import Calendar
from engine.core.translations import CHINESE, Texts, locale_of
from engine.store import team_settings as settings
from engine.store import users
from engine.store.db import Database
from engine.store.models import Instance, OpenTask
from engine.store.records import iso
from engine.store.stale import stale_clause
from engine.usecases.activities import follow_ups_due
from engine.usecases.texts import user_locale, version_texts

__all__ = ["TIMER_HORIZON", "as_text", "build_digest", "digest", "is_empty", "summary"]

TIMER_HORIZON = timedelta(hours=24)


def digest(
    db: Database, username: str, now: datetime | None = None, lang: str | None = None
) -> dict[str, Any]:
    """A user's digest now (NotFoundError for an unknown or inactive user), its task and
    timer names in `lang` (the user's own language when not given)."""
    with db.read() as s:
        users.roles_of(s, username)
        return build_digest(s, username, now or clock.now(), lang=lang)


def build_digest(
    s: Session,
    username: str,
    now: datetime,
    calendar: Calendar | None = None,
    *,
    lang: str | None = None,
    cache: dict[tuple[int, str], Texts] | None = None,
) -> dict[str, Any]:
    """A user's digest read in the caller's transaction (the worker builds everyone's in
    one), on the team's SLA calendar unless given; its names in `lang`, the user's own
    language (`User.language`) when not given ("lang" of the result says which)."""
    calendar = calendar or settings.sla_calendar(s)
    lang = locale_of(lang) if lang else user_locale(s, username)
    cache = {} if cache is None else cache
    _start, day_end = calendar.day_bounds(now)
    due = s.execute(
        select(OpenTask, Instance.name, Instance.version_id)
        .join(Instance, Instance.id == OpenTask.instance_id)
        .where(OpenTask.assignee == username, OpenTask.due_at < day_end)
        .order_by(OpenTask.due_at, OpenTask.created_at)
    )
    tasks = [
        {
            "task_id": t.task_id,
            "instance_id": str(t.instance_id),
            "deal": name,
            "name": version_texts(s, vid, lang, cache).name(t.element_id, t.name),
            "stage": t.stage,
            "due_at": iso(t.due_at),
            "overdue": t.due_at is not None and t.due_at < now,
            "escalated": t.escalated_at is not None,
        }
        for t, name, vid in due
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
        select(Instance.id, Instance.name, Instance.timers, Instance.version_id)
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
                "name": version_texts(s, vid, lang, cache).name(
                    timer.get("element_id"), timer.get("name") or timer.get("element_id")
                ),
                "due_at": timer.get("due_at"),
            }
            for iid, name, waiting, vid in soon
            for timer in waiting or []
            if timer.get("due_at") and now <= clock.parse_iso(timer["due_at"]) <= horizon
        ),
        key=lambda t: (str(t["due_at"]), t["instance_id"]),
    )
    return {
        "user": username,
        "lang": lang,
        "date": calendar.local_date(now).isoformat(),
        "generated_at": iso(now),
        "tasks": tasks,
        "stale": stale,
        "timers": timers,
        "follow_ups": follow_ups_due(s, username, now),
    }


def is_empty(found: dict[str, Any]) -> bool:
    """Nothing to tell: no notification is sent for it."""
    return not (found["tasks"] or found["stale"] or found["timers"])


def summary(found: dict[str, Any]) -> str:
    """One line for the notification, in the digest's language."""
    overdue = sum(1 for t in found["tasks"] if t["overdue"])
    follow_ups = len(found.get("follow_ups", ()))
    if found.get("lang") == CHINESE:
        return (
            f"今日：{len(found['tasks'])} 项任务到期（{overdue} 项已逾期），"
            f"{len(found['stale'])} 个商机停滞，"
            f"{len(found['timers'])} 个定时器将在 24 小时内触发，"
            f"{follow_ups} 个客户需要跟进。"
        )
    return (
        f"Today: {len(found['tasks'])} task(s) due ({overdue} overdue), "
        f"{len(found['stale'])} stale deal(s), "
        f"{len(found['timers'])} timer(s) in the next 24 hours, "
        f"{follow_ups} customer(s) due a follow-up."
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
    lines.append("Customers due a follow-up:")
    lines += [
        f"  {c['name']} (tier {c['tier']}): silent for {c['silent_days']} days"
        for c in found.get("follow_ups", ())
    ] or ["  (none)"]
    return "\n".join(lines)
