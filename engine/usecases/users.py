"""Users, their roles and their API tokens: the use cases (the rows and the rules they keep,
such as the shortest password `MIN_PASSWORD` the admin page tells of: engine.store.users)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from engine import clock
from engine.errors import EngineError
from engine.store import users
from engine.store.users import MIN_PASSWORD
from engine.usecases.base import UseCases
from engine.usecases.texts import localize_tasks

__all__ = [
    "MIN_PASSWORD",
    "TOKEN_TOUCH_INTERVAL",
    "LoginThrottled",
    "UserCases",
    "login_delay",
]

TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)

# Log-in throttling: so many failures in a row are free, then each failure makes the next
# attempt wait twice as long, from FIRST_DELAY up to MAX_DELAY.  Counted per user name (few
# free: guessing one user's password) and per client address (more free: an office behind
# one address).  An attempt while waiting is refused without looking at the password and
# without counting, so the delay is the pace of a guesser; a real user is kept out at most
# MAX_DELAY after the guessing stops, and the count is forgotten FORGET_AFTER the last failure
# (a right password clears the user name's count at once).
FREE_FAILURES_PER_USER = 5
FREE_FAILURES_PER_ADDRESS = 20
FIRST_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=5)
FORGET_AFTER = timedelta(hours=1)

log = logging.getLogger(__name__)


class LoginThrottled(EngineError):
    """Too many failed log-ins: try again in `retry_after` seconds (an HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed log-ins: try again in {retry_after} seconds")
        self.retry_after = retry_after


def login_delay(failures: int, free: int) -> timedelta | None:
    """How long log-ins wait after `failures` failures in a row, when `free` are free."""
    if failures < free:
        return None
    doubling = min(failures - free, 20)  # 2**20 times FIRST_DELAY is far beyond MAX_DELAY
    return min(FIRST_DELAY * 2**doubling, MAX_DELAY)


class UserCases(UseCases):
    """Add, change, (de)activate users; log-in and API tokens."""

    def add_user(
        self,
        username: str,
        roles: Iterable[str] = (),
        *,
        password: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Create a user, or add roles (and a new password) to an existing one."""
        with self.db.write() as s:
            return users.add_user(
                s, username, roles, password=password, display_name=display_name, email=email
            )

    def users(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return users.list_users(s)

    def authenticate(
        self, username: str, password: str, *, address: str | None = None
    ) -> dict[str, Any] | None:
        """The user's record (with the `session_generation` a session keeps) for a right
        password, else None; LoginThrottled while the user name or the client `address`
        has to wait after failures.  Every attempt is logged (never the password)."""
        name = username.strip()
        keys = {f"user:{name.lower()[:180]}": FREE_FAILURES_PER_USER}
        if address:
            keys[f"addr:{address[:180]}"] = FREE_FAILURES_PER_ADDRESS
        now = clock.now()
        with self.db.read() as s:
            until = users.blocked_until(s, keys)
        if until is not None and until > now:
            wait = max(1, math.ceil((until - now).total_seconds()))
            log.warning("log-in throttled: user=%r address=%s wait=%ss", name, address, wait)
            raise LoginThrottled(wait)
        with self.db.read() as s:
            found = users.authenticate(s, name, password)
        with self.db.write() as s:
            if found is not None:
                users.clear_failures(s, next(iter(keys)))
            else:
                for key, free in keys.items():
                    failures = users.count_failure(s, key, now, now - FORGET_AFTER)
                    delay = login_delay(failures, free)
                    if delay is not None:
                        users.block(s, key, now + delay)
        if found is None:
            log.warning("log-in failed: user=%r address=%s", name, address)
        else:
            log.info("log-in: user=%r address=%s", name, address)
        return found

    def session_roles(self, username: str, generation: int) -> set[str] | None:
        """The role keys of the user of a session, or None when the session has ended (log-out,
        a password change, "log out everywhere", a deactivated or unknown user)."""
        with self.db.read() as s:
            return users.session_roles(s, username, generation)

    def end_sessions(self, username: str) -> int:
        """End every session of the user issued so far (log-out, "log out everywhere")."""
        with self.db.write() as s:
            generation = users.end_sessions(s, username)
        log.info("sessions ended: user=%r", username)
        return generation

    def session_generation(self, username: str) -> int:
        """The generation a new session of the user keeps."""
        with self.db.read() as s:
            return users.session_generation(s, username)

    def roles(self, username: str) -> set[str]:
        """The role keys a user holds (NotFoundError for unknown or inactive users)."""
        with self.db.read() as s:
            return users.roles_of(s, username)

    def create_token(self, username: str, name: str = "") -> dict[str, Any]:
        with self.db.write() as s:
            token_id, token = users.create_token(s, username, name)
        return {"id": token_id, "token": token}

    def user_for_token(self, token: str) -> str | None:
        """Who an API token belongs to.  Requests only read; "last used" is written at most
        every few minutes so that API calls do not queue for the write lock."""
        with self.db.read() as s:
            found = users.user_for_token(s, token)
        if found is None:
            return None
        username, token_id, last_used = found
        if last_used is None or clock.now() - last_used > TOKEN_TOUCH_INTERVAL:
            with self.db.write() as s:
                users.touch_token(s, token_id)
        return username

    def revoke_token(self, token_id: int, username: str | None = None) -> None:
        with self.db.write() as s:
            users.revoke_token(s, token_id, username)

    def tokens(self, username: str) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return users.list_tokens(s, username)

    def user(self, username: str, *, lang: str | None = None) -> dict[str, Any]:
        """One user (active or not) with the open tasks assigned to them (named in `lang`)."""
        with self.db.read() as s:
            found = users.get_user(s, username)
            tasks = localize_tasks(self, s, found["open_tasks"], lang)
            return {**found, "open_tasks": tasks}

    def set_user(
        self,
        username: str,
        *,
        roles: Iterable[str] | None = None,
        display_name: str | None = None,
        email: str | None = None,
        password: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Change an existing user; given roles replace the held ones (engine.store.users)."""
        with self.db.write() as s:
            return users.set_user(
                s,
                username,
                roles=roles,
                display_name=display_name,
                email=email,
                password=password,
                actor=actor,
            )

    def deactivate_user(self, username: str, *, actor: str | None = None) -> dict[str, Any]:
        """No more log-ins or API calls; the record lists the open tasks that stay theirs."""
        with self.db.write() as s:
            return users.deactivate_user(s, username, actor=actor)

    def activate_user(self, username: str) -> dict[str, Any]:
        with self.db.write() as s:
            return users.activate_user(s, username)

    def set_language(self, username: str, language: str | None) -> None:
        with self.db.write() as s:
            users.set_language(s, username, language)
