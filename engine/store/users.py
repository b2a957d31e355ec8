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

from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import clock
from engine.core.passwords import check_password, hash_password
from engine.core.roles import ADMIN, role_key
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.store.db import remembered
from engine.store.models import (
    ApiToken,
    Instance,
    LoginThrottle,
    OpenTask,
    User,
    UserRole,
    table_of,
)
from engine.store.records import task_record

TOKEN_PREFIX = "sf_"  # makes a leaked token recognisable to secret scanners
MIN_PASSWORD = 8
# The UI languages a user can keep ("zh" is Simplified Chinese); None follows the browser.
LANGUAGES = ("en", "zh")


def add_user(
    s: Session,
    username: str,
    roles: Iterable[str] = (),
    *,
    password: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
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
    if email is not None:
        user.email = _checked_email(email)
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
        "email": user.email,
        "language": user.language,
    }


def get_user(s: Session, username: str) -> dict[str, Any]:
    """A user's record with the open tasks assigned to them (active or not)."""
    user = _user(s, username)
    return {**user_record(user), "open_tasks": _open_tasks(s, user.username)}


def set_user(
    s: Session,
    username: str,
    *,
    roles: Iterable[str] | None = None,
    display_name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Change what is given (None leaves it): `roles` replace the held ones, an empty
    display name falls back to the user name, an empty e-mail clears it.  An admin (`actor`)
    cannot take their own admin role away: another admin has to."""
    user = _user(s, username)
    if roles is not None:
        wanted: dict[str, str] = {}
        for label in roles:
            key = role_key(label)
            if not key:
                raise ValidationError("a role name cannot be empty", field="roles")
            wanted.setdefault(key, label.strip())
        held = {r.role for r in user.roles}
        if actor == user.username and ADMIN in held and ADMIN not in wanted:
            raise ForbiddenError(
                f"{actor} cannot remove their own admin role; another admin has to"
            )
        user.roles = [r for r in user.roles if r.role in wanted]
        user.roles += [UserRole(role=k, label=v) for k, v in wanted.items() if k not in held]
    if display_name is not None:
        name = display_name.strip()
        if len(name) > 200:
            raise ValidationError("a name is at most 200 characters", field="display_name")
        user.display_name = name or user.username
    if email is not None:
        user.email = _checked_email(email)
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise ValidationError(
                f"a password has at least {MIN_PASSWORD} characters", field="password"
            )
        user.password_hash = hash_password(password)
        user.session_generation += 1  # a new password ends every earlier session
    s.flush()
    return user_record(user)


def end_sessions(s: Session, username: str) -> int:
    """End every session of the user issued so far; the new generation."""
    user = _user(s, username)
    user.session_generation += 1
    s.flush()
    return user.session_generation


def session_generation(s: Session, username: str) -> int:
    return _user(s, username).session_generation


def deactivate_user(s: Session, username: str, *, actor: str | None = None) -> dict[str, Any]:
    """The user can no longer log in; their sessions end and their API tokens are revoked.
    Their open tasks stay assigned to them: the record lists them, so someone can take
    them over."""
    user = _user(s, username)
    if actor == user.username:
        raise ForbiddenError(f"{actor} cannot deactivate themselves; another admin has to")
    user.active = False
    user.session_generation += 1
    now = clock.now()
    revoked = 0
    for token in s.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now
        revoked += 1
    s.flush()
    return {
        **user_record(user),
        "open_tasks": _open_tasks(s, user.username),
        "tokens_revoked": revoked,
    }


def activate_user(s: Session, username: str) -> dict[str, Any]:
    """Let a deactivated user log in again (API tokens revoked meanwhile stay revoked)."""
    user = _user(s, username)
    user.active = True
    s.flush()
    return user_record(user)


def set_language(s: Session, username: str, language: str | None) -> None:
    """Keep the UI language the user chose ("en", "zh"; None follows the browser)."""
    if language is not None and language not in LANGUAGES:
        raise ValidationError(f"a language is one of {', '.join(LANGUAGES)}", field="language")
    _user(s, username).language = language


def _user(s: Session, username: str) -> User:
    user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user '{username}'")
    return user


def _open_tasks(s: Session, username: str) -> list[dict[str, Any]]:
    rows = s.execute(
        select(OpenTask, Instance.name)
        .join(Instance, Instance.id == OpenTask.instance_id)
        .where(OpenTask.assignee == username)
        .order_by(OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.created_at)
    )
    return [{**task_record(t), "deal": name} for t, name in rows]


def _checked_email(text: str) -> str | None:
    address = text.strip()
    if not address:
        return None
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(address) > 254
        or any(c.isspace() for c in address)
    ):
        raise ValidationError("not an e-mail address (name@example.com)", field="email")
    return address


def roles_of(s: Session, username: str | None) -> set[str]:
    """The role keys an active user holds; NotFoundError for an unknown user."""
    roles = _roles(s, username)
    if roles is None:
        raise NotFoundError(f"no user '{username}'")
    return roles


def roles_held(s: Session, username: str | None) -> set[str]:
    """The role keys an active user holds; none for a user who left or never existed."""
    return _roles(s, username) or set()


# Asked on every change and every page: built once, on the tables (a Core statement runs in
# a third of an ORM one's time).
_USERS, _USER_ROLES = table_of(User), table_of(UserRole)
_ROLES = (
    select(_USERS.c.id, _USER_ROLES.c.role)
    .select_from(_USERS.outerjoin(_USER_ROLES, _USER_ROLES.c.user_id == _USERS.c.id))
    .where(_USERS.c.username == bindparam("username"), _USERS.c.active)
)


def _roles(s: Session, username: str | None) -> set[str] | None:
    found = remembered(s, ("roles", username), lambda: _read_roles(s, username))
    return None if found is None else set(found)  # the caller's own set


def _read_roles(s: Session, username: str | None) -> frozenset[str] | None:
    rows = s.execute(_ROLES, {"username": username}).all()
    if not rows:
        return None
    return frozenset(role for _, role in rows if role is not None)


def authenticate(s: Session, username: str, password: str) -> dict[str, Any] | None:
    """The user's record when the password is right and the account active, else None.

    The hash is checked even for unknown names, so a wrong name takes as long as a wrong
    password."""
    user = s.scalars(select(User).where(User.username == username.strip())).first()
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = check_password(stored, password)
    if user is None or not user.active or not ok:
        return None
    return {**user_record(user), "session_generation": user.session_generation}


def session_roles(s: Session, username: str, generation: int) -> set[str] | None:
    """The role keys of an active user whose sessions of `generation` are still valid, else
    None (unknown, deactivated, or the session was ended by log-out or a password change)."""
    rows = s.execute(
        select(User.id, UserRole.role)
        .outerjoin(UserRole)
        .where(User.username == username, User.active, User.session_generation == generation)
    ).all()
    if not rows:
        return None
    return {role for _, role in rows if role is not None}


def blocked_until(s: Session, keys: Iterable[str]) -> datetime | None:
    """The latest time until which log-ins of any of the throttle `keys` are refused."""
    found = s.scalars(
        select(LoginThrottle.blocked_until).where(
            LoginThrottle.key.in_(list(keys)), LoginThrottle.blocked_until.is_not(None)
        )
    ).all()
    return max((t for t in found if t is not None), default=None)


def count_failure(s: Session, key: str, now: datetime, forget_before: datetime) -> int:
    """Add a failed log-in to `key` in one statement (safe with several processes; a count
    whose last failure is before `forget_before` starts again); the count now."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LoginThrottle.__table__
    stmt = insert(LoginThrottle).values(key=key, failures=1, last_failure_at=now)
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case(
                (table.c.last_failure_at < forget_before, 1), else_=table.c.failures + 1
            ),
            "last_failure_at": now,
        },
    ).returning(table.c.failures)
    return int(s.execute(upsert).scalar_one())


def block(s: Session, key: str, until: datetime | None) -> None:
    s.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(blocked_until=until))


def clear_failures(s: Session, key: str) -> None:
    s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


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
