"""What the rules of people covering for people share (engine.usecases.handover and
engine.usecases.delegations): who manages, who is active and holds which roles, names in
texts, the history rows a move writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.core.roles import MANAGERS
from engine.errors import NotFoundError, ValidationError
from engine.store import users
from engine.store.models import History, Instance, User

SYSTEM = "salesflow"  # who acted, in texts, when the console operator did


def is_manager(s: Session, actor: str | None) -> bool:
    return actor is None or bool(users.roles_of(s, actor) & MANAGERS)


def active_roles(s: Session, username: str, field: str) -> set[str]:
    """The roles of an active user named in a request, or invalid data naming the field."""
    try:
        return users.roles_of(s, username)
    except NotFoundError:
        raise ValidationError(f"no active user '{username}'", field=field) from None


def display_name(s: Session, username: str | None) -> str:
    if username is None:
        return SYSTEM
    found = s.scalar(select(User.display_name).where(User.username == username))
    return found or username


def deal_names(s: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(s.execute(select(Instance.id, Instance.name).where(Instance.id.in_(wanted))).all())


def locks_rows(s: Session) -> bool:
    return s.get_bind().dialect.name != "sqlite"  # SQLite's write transaction locks it all


def add_history(s: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        s.execute(insert(History), rows)


def moved_note(tasks: int, queued: int) -> str:
    text = f"{tasks} open task{'s' if tasks != 1 else ''}"
    return text + (f" ({queued} of them to their role's queue)" if queued else "")


def is_active(s: Session, username: str) -> bool:
    return s.scalar(select(User.active).where(User.username == username)) is True
