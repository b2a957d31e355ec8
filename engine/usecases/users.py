"""Users, their roles and their API tokens: the use cases (the rows and the rules they keep,
such as the shortest password `MIN_PASSWORD` the admin page tells of: engine.store.users)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from engine import clock
from engine.store import users
from engine.store.users import MIN_PASSWORD
from engine.usecases.base import UseCases

__all__ = ["MIN_PASSWORD", "TOKEN_TOUCH_INTERVAL", "UserCases"]

TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


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

    def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        """The user's record for a right password, else None."""
        with self.db.read() as s:
            return users.authenticate(s, username, password)

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

    def user(self, username: str) -> dict[str, Any]:
        """One user (active or not) with the open tasks assigned to them."""
        with self.db.read() as s:
            return users.get_user(s, username)

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
