"""Saved filters ("saved views"): a user keeps a filter and sort of a list under a name, opens
it with one click, and may make one of them the default that the list opens with.

A saved filter is its user's alone: no one else lists, opens or deletes it, and someone
else's id reads like a missing one (NotFoundError), so ids cannot be probed.  It keeps only
the query parameters the list itself reads (the deal list's: engine.usecases.deals
LIST_PARAMETERS), as text, so a saved view is never more than a link the user could have
typed; a sort is checked like the list checks it.  Saving under a name the user has already
used replaces that filter; making one the default makes the others not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.errors import NotFoundError, ValidationError
from engine.store import saved_filters as store
from engine.store.saved_filters import SavedFilterRecord
from engine.usecases.base import UseCases
from engine.usecases.deals import LIST_PARAMETERS, sort_order
from engine.usecases.unit import parse_id

__all__ = [
    "MAX_FILTERS",
    "MAX_NAME",
    "MAX_VALUE",
    "PAGES",
    "SavedFilterCases",
    "SavedFilterRecord",
]

# The lists that have saved filters, and the query parameters each keeps.
PAGES: dict[str, tuple[str, ...]] = {"deals": LIST_PARAMETERS}
MAX_NAME = 80  # SavedFilter.name
MAX_VALUE = 200  # a parameter's value: a name, a stage, a search text
MAX_FILTERS = 50  # per user and list: a bar of links, not a store of data


class SavedFilterCases(UseCases):
    """A user's saved filters of the lists."""

    def saved_filters(self, username: str, page: str) -> list[SavedFilterRecord]:
        """The user's saved filters of the list `page`, by name."""
        _check_page(page)
        with self.db.read() as s:
            return store.list_filters(s, username, page)

    def default_filter(self, username: str, page: str) -> SavedFilterRecord | None:
        """The saved filter the user's list opens with, if the user chose one."""
        _check_page(page)
        with self.db.read() as s:
            return store.default_filter(s, username, page)

    def save_filter(
        self,
        username: str,
        page: str,
        name: str,
        query: Mapping[str, Any],
        default: bool = False,
    ) -> SavedFilterRecord:
        """Keep `query` (parameter -> value; empty values are no filter and are left out) as
        the user's filter `name` of the list, replacing one of that name; `default`: the list
        opens with it.  ValidationError naming `page`, `name` or `query`."""
        _check_page(page)
        name = _checked_name(name)
        kept = _checked_query(page, query)
        if not isinstance(default, bool):
            raise ValidationError("true or false", field="default")
        # Two saves of a new name at once (PostgreSQL): the loser meets the unique name and
        # replaces what the winner saved, as a later save would.
        for attempt in (1, 2):
            try:
                with self.db.write() as s:
                    exists = store.find_filter(s, username, page, name) is not None
                    if not exists and store.count_filters(s, username, page) >= MAX_FILTERS:
                        raise ValidationError(
                            f"at most {MAX_FILTERS} saved views per list: delete one first",
                            field="name",
                        )
                    return store.put_filter(
                        s, username, page, name, kept, default=default, now=clock.now()
                    )
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def delete_filter(self, username: str, filter_id: str | int) -> None:
        """Forget one of the user's saved filters.  Someone else's reads like a missing one."""
        missing = NotFoundError(f"no saved view with id '{str(filter_id)[:40]}'")
        try:
            number = parse_id(filter_id, "saved view")
        except NotFoundError:
            raise missing from None
        with self.db.write() as s:
            if not store.delete_filter(s, number, username):
                raise missing


def _check_page(page: str) -> None:
    if page not in PAGES:
        raise ValidationError(f"one of {', '.join(sorted(PAGES))}", field="page")


def _checked_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("give the view a name", field="name")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise ValidationError(f"a name of at most {MAX_NAME} characters", field="name")
    if "\x00" in name:
        raise ValidationError("must not hold a NUL character", field="name")
    return name


def _checked_query(page: str, query: Any) -> dict[str, str]:
    """The parameters to keep: the list's own, text of at most MAX_VALUE characters each."""
    if not isinstance(query, Mapping):
        raise ValidationError("parameter names and their values", field="query")
    allowed = PAGES[page]
    kept: dict[str, str] = {}
    for key, value in query.items():
        if key not in allowed:
            raise ValidationError(
                f"'{str(key)[:40]}' is not a parameter of the list: {', '.join(allowed)}",
                field="query",
            )
        if not isinstance(value, str):
            raise ValidationError(f"{key}: the value is text", field="query")
        if len(value) > MAX_VALUE or "\x00" in value:
            raise ValidationError(
                f"{key}: at most {MAX_VALUE} characters, no NUL character", field="query"
            )
        if value.strip():
            kept[key] = value.strip()
    if "sort" in kept:
        try:
            sort_order(kept["sort"])
        except ValidationError as exc:
            raise ValidationError(exc.errors[0]["message"], field="query") from None
    return kept
