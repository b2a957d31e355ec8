"""Users and the roles they hold (a lane is a role).  Functions take an open session."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFoundError, ValidationError
from engine.models import User, UserRole
from engine.passwords import hash_password
from engine.roles import role_key


def add_user(
    s: Session,
    username: str,
    roles: Iterable[str] = (),
    *,
    password: str | None = None,
    display_name: str | None = None,
) -> dict[str, Any]:
    """Create a user, or add roles (and a new password) to an existing one."""
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ValidationError("a user name is 1-80 characters without spaces", field="name")
    user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = User(username=username, display_name=display_name or username)
        s.add(user)
    if display_name:
        user.display_name = display_name
    if password is not None:
        user.password_hash = hash_password(password)
    held = {r.role for r in user.roles}
    for label in roles:
        key = role_key(label)
        if not key:
            raise ValidationError("a role name cannot be empty", field="role")
        if key not in held:
            user.roles.append(UserRole(role=key, label=label.strip()))
            held.add(key)
    s.flush()
    return user_record(user)


def list_users(s: Session) -> list[dict[str, Any]]:
    return [user_record(u) for u in s.scalars(select(User).order_by(User.username))]


def user_record(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": sorted(r.label for r in user.roles),
        "active": user.active,
    }


def roles_of(s: Session, username: str | None) -> set[str]:
    """The role keys an active user holds; NotFoundError for an unknown user."""
    roles = _roles(s, username)
    if roles is None:
        raise NotFoundError(f"no user '{username}'")
    return roles


def roles_held(s: Session, username: str | None) -> set[str]:
    """The role keys an active user holds; none for a user who left or never existed."""
    return _roles(s, username) or set()


def _roles(s: Session, username: str | None) -> set[str] | None:
    rows = s.execute(
        select(User.id, UserRole.role)
        .outerjoin(UserRole)
        .where(User.username == username, User.active)
    ).all()
    if not rows:
        return None
    return {role for _, role in rows if role is not None}
