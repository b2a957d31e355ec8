"""Notifications: what a user should know, shown under the bell in the app (and e-mailed
when SMTP is configured).  Every feature that tells someone something calls `notify` inside
its own transaction, so the notification exists exactly when the change it reports does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.store.models import Notification
from engine.store.records import iso


def notify(
    s: Session,
    username: str | None,
    kind: str,
    text: str,
    *,
    instance_id: int | None = None,
    task_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Add a notification for `username` (nothing for None: a queue has no one to tell)."""
    if not username:
        return
    s.add(
        Notification(
            username=username,
            kind=kind,
            text=text,
            instance_id=instance_id,
            task_id=task_id,
            created_at=now or clock.now(),
        )
    )


def unread_count(s: Session, username: str) -> int:
    query = select(func.count()).where(
        Notification.username == username, Notification.read_at.is_(None)
    )
    return s.scalar(query) or 0


def recent(s: Session, username: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(Notification)
        .where(Notification.username == username)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [record(n) for n in rows]


def mark_read(s: Session, username: str, ids: list[int] | None = None) -> int:
    """Mark some (or all) of a user's notifications read; how many changed."""
    query = update(Notification).where(
        Notification.username == username, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    result: CursorResult[Any] = s.execute(query.values(read_at=clock.now()))  # type: ignore[assignment]
    return result.rowcount or 0


def record(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "text": n.text,
        "instance_id": str(n.instance_id) if n.instance_id is not None else None,
        "task_id": n.task_id,
        "created_at": iso(n.created_at),
        "read": n.read_at is not None,
    }


def claim(s: Session, handed: Any, candidates: list[int], now: datetime) -> list[int]:
    """Of the notifications `candidates`, those this worker takes to hand on (e-mail,
    chats): `handed` (Notification.emailed_at or .chatted_at) set to `now` where still
    unset, so that of two workers only one takes each."""
    return list(
        s.scalars(
            update(Notification)
            .where(Notification.id.in_(candidates), handed.is_(None))
            .values({handed: now})
            .returning(Notification.id)
        )
    )
