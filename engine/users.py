"""Users, the roles they hold (a lane is a role), passwords and API tokens.

Functions take an open session.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import NotFoundError, ValidationError
from engine.models import ApiToken, User, UserRole
from engine.passwords import check_password, hash_password
from engine.roles import role_key

TOKEN_PREFIX = "sf_"  # makes a leaked token recognisable to secret scanners


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


def authenticate(s: Session, username: str, password: str) -> dict[str, Any] | None:
    """The user's record when the password is right and the account active, else None.

    The hash is checked even for unknown names, so a wrong name takes as long as a wrong
    password."""
    user = s.scalars(select(User).where(User.username == username.strip())).first()
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = check_password(stored, password)
    if user is None or not user.active or not ok:
        return None
    return user_record(user)


def create_token(s: Session, username: str, name: str = "") -> tuple[int, str]:
    """A new API token for the user: its id and the token itself (shown once, never stored)."""
    user = s.scalars(select(User).where(User.username == username, User.active)).first()
    if user is None:
        raise NotFoundError(f"no user '{username}'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=_digest(token), name=name[:120], created_at=clock.now()
    )
    s.add(row)
    s.flush()
    return row.id, token


def user_for_token(s: Session, token: str) -> tuple[str, int, datetime | None] | None:
    """(user name, token id, last used) of an unrevoked token of an active user, or None."""
    row = s.scalars(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.user.active:
        return None
    return row.user.username, row.id, row.last_used_at


def touch_token(s: Session, token_id: int) -> None:
    row = s.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = clock.now()


def revoke_token(s: Session, token_id: int, username: str | None = None) -> None:
    """Revoke a token (only the owner's own when `username` is given)."""
    row = s.get(ApiToken, token_id)
    if row is None or (username is not None and row.user.username != username):
        raise NotFoundError(f"no API token {token_id}")
    row.revoked_at = row.revoked_at or clock.now()


def list_tokens(s: Session, username: str) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(ApiToken).join(User).where(User.username == username).order_by(ApiToken.id)
    )
    return [
        {
            "id": r.id,
            "name": r.name,
            "created_at": r.created_at.isoformat(),
            "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
            "revoked": r.revoked_at is not None,
        }
        for r in rows
    ]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))
