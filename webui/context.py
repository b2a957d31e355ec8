"""What a view needs from the request it serves: the engine's use cases and who is asking."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, g, request

from engine.core.roles import ADMIN, PROCESS_VIEWERS, role_key
from engine.usecases.service import Service

# Roles that open the process pages and the user administration (role keys).
# The pages ask the engine's role sets (engine.core.roles), never a list of their own.
PROCESS_ROLES = PROCESS_VIEWERS
ADMIN_ROLES = frozenset({ADMIN})


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in user: roles are read from the database on every request, so a role
    taken away or an account deactivated counts at once."""

    username: str
    display_name: str
    roles: frozenset[str]

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & {role_key(r) for r in roles})


def engine() -> Service:
    """The engine's use cases of this app."""
    found: Service = current_app.extensions["salesflow"]
    return found


def user() -> CurrentUser:
    """The logged-in user (the log-in guard has run before every view that calls this)."""
    found: CurrentUser | None = g.get("user")
    if found is None:
        abort(401)
    return found


def require_any_role(roles: Iterable[str]) -> CurrentUser:
    """The user, or a 403 page when they hold none of `roles`."""
    me = user()
    if not me.has_any(roles):
        abort(403)
    return me


def per_request(key: str, compute: Any) -> Any:
    """`compute()` once per request (navigation counts, user names)."""
    cache: dict[str, Any] = g.setdefault("_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def team() -> list[dict[str, Any]]:
    """Every user with roles and display name, read once per request (names on a page, the
    hand-over choices)."""
    found: list[dict[str, Any]] = per_request("team", lambda: engine().users())
    return found


# A list page beyond any real list; keeps OFFSET within every database's integers (a page of
# 26 digits was a 500).
MAX_PAGE = 1_000_000


def page_number() -> int:
    """The `page` query argument of a list page: 1 for anything that is not a number, and
    never beyond MAX_PAGE."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return min(max(1, page), MAX_PAGE)
