"""Notifications: the bell on every page, a user's recent news, marking them read (the rows
and `notify`: engine.store.notifications), and a user's daily digest (engine.usecases.digests).
"""

from __future__ import annotations

from typing import Any

from engine.store import notifications
from engine.usecases import digests
from engine.usecases.base import UseCases


class NotificationCases(UseCases):
    """A user's notifications and digest."""

    def notifications(self, user: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return notifications.recent(s, user, limit)

    def unread_notifications(self, user: str) -> int:
        """One COUNT (the bell on every page)."""
        with self.db.read() as s:
            return notifications.unread_count(s, user)

    def mark_notifications_read(self, user: str, ids: list[int] | None = None) -> int:
        """Mark some (or all) of the user's notifications read; how many changed."""
        with self.db.write() as s:
            return notifications.mark_read(s, user, ids)

    def digest(self, user: str, *, lang: str | None = None) -> dict[str, Any]:
        """The user's digest now: tasks due, stale deals, timers firing soon (NotFoundError
        for an unknown or inactive user); names in `lang`, else in the user's language."""
        return digests.digest(self.db, user, lang=lang)
