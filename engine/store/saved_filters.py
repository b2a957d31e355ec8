"""Saved filters: a user's named filters and sorts of a list (the deal list's "saved views").

What a saved filter may hold and how many a user keeps are engine.usecases.saved_filters'
rules; these functions keep the rows as told.  They take an open session.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypedDict

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.store.models import SavedFilter

__all__ = [
    "SavedFilterRecord",
    "count_filters",
    "default_filter",
    "delete_filter",
    "find_filter",
    "list_filters",
    "put_filter",
]


class SavedFilterRecord(TypedDict):
    """A saved filter as the engine hands it out (and the API answers it)."""

    id: int
    name: str
    page: str
    query: dict[str, str]
    default: bool


def list_filters(s: Session, username: str, page: str) -> list[SavedFilterRecord]:
    """The user's saved filters of the list, by name."""
    rows = s.scalars(
        select(SavedFilter)
        .where(SavedFilter.username == username, SavedFilter.page == page)
        .order_by(func.lower(SavedFilter.name), SavedFilter.name, SavedFilter.id)
    )
    return [record(row) for row in rows]


def default_filter(s: Session, username: str, page: str) -> SavedFilterRecord | None:
    row = s.scalars(
        select(SavedFilter)
        .where(
            SavedFilter.username == username,
            SavedFilter.page == page,
            SavedFilter.is_default.is_(True),
        )
        .order_by(SavedFilter.id)
        .limit(1)
    ).first()
    return record(row) if row is not None else None


def count_filters(s: Session, username: str, page: str) -> int:
    return int(
        s.scalar(
            select(func.count(SavedFilter.id)).where(
                SavedFilter.username == username, SavedFilter.page == page
            )
        )
        or 0
    )


def find_filter(s: Session, username: str, page: str, name: str) -> SavedFilter | None:
    """The user's saved filter of that list and name."""
    return s.scalars(
        select(SavedFilter).where(
            SavedFilter.username == username, SavedFilter.page == page, SavedFilter.name == name
        )
    ).first()


def put_filter(
    s: Session,
    username: str,
    page: str,
    name: str,
    query: Mapping[str, str],
    *,
    default: bool,
    now: datetime,
) -> SavedFilterRecord:
    """Keep the filter under its name (replacing the one of that name); a default one stops
    the user's other filters of the list from being the default."""
    if default:
        s.execute(
            update(SavedFilter)
            .where(
                SavedFilter.username == username,
                SavedFilter.page == page,
                SavedFilter.name != name,
                SavedFilter.is_default.is_(True),
            )
            .values(is_default=False)
        )
    row = find_filter(s, username, page, name)
    if row is None:
        row = SavedFilter(username=username, page=page, name=name, created_at=now)
        s.add(row)
    row.query = dict(query)
    row.is_default = default
    s.flush()
    return record(row)


def delete_filter(s: Session, filter_id: int, username: str) -> bool:
    """Forget the user's saved filter; False when the user has none with that id."""
    row = s.get(SavedFilter, filter_id)
    if row is None or row.username != username:
        return False
    s.delete(row)
    s.flush()
    return True


def record(row: SavedFilter) -> SavedFilterRecord:
    return {
        "id": row.id,
        "name": row.name,
        "page": row.page,
        "query": {str(k): str(v) for k, v in (row.query or {}).items()},
        "default": bool(row.is_default),
    }
