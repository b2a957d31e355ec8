"""Sending the daily digests: `send_digests`, called by the worker, puts one notification
per user with something in their digest (engine.usecases.digests, what the /digest page and
`salesflow digest USER` show), once per day (local day of the SLA calendar, from
`digest_time` on; on a calendar with business hours only on working days).  Two workers on
PostgreSQL queue on the row that records the day sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exc, select

from engine import clock
from engine.core.calendar import Calendar, clock_minutes
from engine.core.translations import Texts
from engine.store import team_settings as settings
from engine.store.db import Database
from engine.store.models import Setting, User
from engine.store.notifications import notify
from engine.usecases.digests import build_digest, is_empty, summary

__all__ = ["send_digests"]

KIND = "digest"


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
        texts: dict[tuple[int, str], Texts] = {}  # each version's translations, read once
        for username in s.scalars(
            select(User.username).where(User.active.is_(True)).order_by(User.username)
        ):
            # In the recipient's language (User.language): build_digest looks it up.
            found = build_digest(s, username, now, calendar, cache=texts)
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
