"""Integrations (issue 18): team-chat robots, outgoing webhooks for deal events, and BPMN
messages another system posts signed instead of with a user's token.

Who may:
- admins register, change and remove robots, webhooks and the secrets of signed incoming
  messages, read the delivery logs and replay a delivery;
- every user chooses, for their own notifications, one of the team's robots and the events
  it tells them (`my_chat` / `choose_chat`);
- a signed incoming message needs no user: the signature under the admin's secret for that
  message name is the permission (`deliver_signed_message`).

Secrets, and the robots' addresses, are stored sealed (engine.core.sealing) and never
returned: records show at most a secret's last four characters (engine.core.webhooks.mask),
and a robot's address without its query (WeCom's key and DingTalk's access token live
there).  Robot and webhook addresses are the admin's to choose, but only http(s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.core import chat
from engine.core.roles import ADMIN
from engine.core.translations import LOCALES
from engine.core.webhooks import DEAL_EVENTS, check_url, verify
from engine.errors import EngineError, ForbiddenError, NotFoundError, ValidationError
from engine.store import integrations as rows
from engine.store import users
from engine.store.models import (
    ChatChoice,
    ChatDelivery,
    ChatRobot,
    InboundHook,
    User,
    Webhook,
    WebhookDelivery,
)
from engine.store.sealing import sealed
from engine.usecases.messages import MessageCases

__all__ = [
    "CHAT_EVENTS",
    "DEAL_EVENTS",
    "INTEGRATION_ROLES",
    "MIN_SECRET",
    "VENDORS",
    "IntegrationCases",
    "SignatureError",
]

INTEGRATION_ROLES = frozenset({ADMIN})
CHAT_EVENTS = tuple(chat.CHAT_EVENTS)
VENDORS = chat.VENDORS
MIN_SECRET, MAX_SECRET = 16, 300
MAX_NAME = 120
MAX_ROBOTS = MAX_WEBHOOKS = 50
RECENT = 10  # deliveries listed with each webhook
LOG = 100  # chat deliveries in the log
_MESSAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,119}$")


class SignatureError(EngineError):
    """A signed incoming message whose signature is missing, stale or wrong (HTTP 401)."""


class IntegrationCases(MessageCases):  # signed messages are delivered as any other
    """Robots, webhooks and signed messages: the admins' settings, and each user's choice."""

    # --- the admin's view -------------------------------------------------------------

    def check_integrator(self, user: str) -> None:
        """ForbiddenError unless `user` may manage the integrations (an admin): asked first,
        so that anyone else is refused before their data is looked at."""
        with self.db.read() as s:
            _check_admin(s, user)

    def integrations(self, *, user: str) -> dict[str, Any]:
        """Everything the integrations page shows: robots, webhooks with their recent
        deliveries, the chat delivery log, the secrets of signed messages (masked)."""
        with self.db.read() as s:
            _check_admin(s, user)
            counts = rows.chat_counts(s)
            return {
                "robots": [rows.robot_record(r, counts) for r in rows.robots(s)],
                "webhooks": rows.webhooks(s, RECENT),
                "chat_log": rows.chat_log(s, LOG),
                "inbound": rows.inbound_hooks(s),
            }

    def webhooks(self, *, user: str) -> list[dict[str, Any]]:
        with self.db.read() as s:
            _check_admin(s, user)
            return rows.webhooks(s, RECENT)

    def add_robot(
        self,
        *,
        user: str,
        name: str,
        vendor: str,
        url: str,
        secret: str | None = None,
        language: str = "zh",
        events: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Register a group robot; ValidationError naming the field that is wrong."""
        self.check_integrator(user)
        name = (name or "").strip()
        url = (url or "").strip()
        secret = (secret or "").strip() or None
        if not name or len(name) > MAX_NAME:
            raise ValidationError(
                f"give the robot a name of 1 to {MAX_NAME} characters", field="name"
            )
        if vendor not in VENDORS:
            raise ValidationError(f"the vendor is one of {', '.join(VENDORS)}", field="vendor")
        _checked_url(url)
        if secret is not None and len(secret) > MAX_SECRET:
            raise ValidationError(f"the secret is at most {MAX_SECRET} characters", field="secret")
        if language not in LOCALES:
            raise ValidationError(f"the language is one of {', '.join(LOCALES)}", field="language")
        chosen = _events(events, CHAT_EVENTS)
        with self.db.write() as s:
            _check_admin(s, user)
            if len(rows.robots(s)) >= MAX_ROBOTS:
                raise ValidationError(f"at most {MAX_ROBOTS} robots", field="name")
            robot = ChatRobot(
                name=name,
                vendor=vendor,
                url=sealed(s, url),  # its key or token is in it
                secret=secret and sealed(s, secret),
                language=language,
                events=chosen,
                active=True,
                created_by=user,
                created_at=clock.now(),
            )
            s.add(robot)
            s.flush()
            return rows.robot_record(robot)

    def remove_robot(self, robot_id: int, *, user: str) -> None:
        """Stop using a robot: nothing more goes to it, its log stays; the users who chose
        it go back to no chat."""
        with self.db.write() as s:
            _check_admin(s, user)
            robot = _active(s, ChatRobot, robot_id, "robot")
            robot.active = False
            for choice in s.scalars(select(ChatChoice).where(ChatChoice.robot_id == robot.id)):
                s.delete(choice)
            for row in s.scalars(
                select(ChatDelivery).where(
                    ChatDelivery.robot_id == robot.id, ChatDelivery.status == rows.PENDING
                )
            ):
                row.status = rows.FAILED
                row.next_at = None
                row.last_error = "the robot was removed"

    def pause_robot(self, robot_id: int, *, paused: bool, user: str) -> None:
        """Pause a robot (nothing is queued for it or sent to it; what waits for it stays
        waiting), or resume it.  Its settings, its log and the users' choices stay."""
        with self.db.write() as s:
            _check_admin(s, user)
            rows.set_paused(s, _active(s, ChatRobot, robot_id, "robot"), paused)

    def test_robot(self, robot_id: int, *, user: str) -> dict[str, Any]:
        """Queue a test message to a robot (the worker sends it, as any other)."""
        now = clock.now()
        with self.db.write() as s:
            _check_admin(s, user)
            robot = _active(s, ChatRobot, robot_id, "robot")
            text = {
                "en": f"salesflow is connected to this group ({robot.name}).",
                "zh": f"salesflow 已连接到本群（{robot.name}）。",  # noqa: RUF001
            }[robot.language if robot.language in LOCALES else "en"]
            row = ChatDelivery(
                robot_id=robot.id,
                event="test",
                text=text,
                language=robot.language,
                link="/",
                status=rows.PENDING,
                attempts=0,
                next_at=now,
                created_at=now,
            )
            s.add(row)
            s.flush()
            return rows.chat_delivery_record(row, robot.name)

    def add_webhook(
        self, *, user: str, url: str, events: Iterable[str], secret: str
    ) -> dict[str, Any]:
        """Register an address for deal events, each delivery signed with `secret`."""
        self.check_integrator(user)
        url = (url or "").strip() if isinstance(url, str) else ""
        _checked_url(url)
        chosen = _events(events, DEAL_EVENTS)
        if not chosen:
            raise ValidationError(
                f"choose at least one event: {', '.join(DEAL_EVENTS)}", field="events"
            )
        secret = secret.strip() if isinstance(secret, str) else ""
        if not MIN_SECRET <= len(secret) <= MAX_SECRET:
            raise ValidationError(
                f"the secret is {MIN_SECRET} to {MAX_SECRET} characters: the receiver checks "
                "each delivery's signature with it",
                field="secret",
            )
        with self.db.write() as s:
            _check_admin(s, user)
            count = len(list(s.scalars(select(Webhook.id).where(Webhook.active))))
            if count >= MAX_WEBHOOKS:
                raise ValidationError(f"at most {MAX_WEBHOOKS} webhooks", field="url")
            hook = Webhook(
                url=url,
                events=chosen,
                secret=sealed(s, secret),
                active=True,
                created_by=user,
                created_at=clock.now(),
            )
            s.add(hook)
            s.flush()
            record = rows.webhook_record(hook, [])
        rows.forget_wanted()
        return record

    def remove_webhook(self, webhook_id: int, *, user: str) -> None:
        """Stop sending to a webhook: its pending deliveries are dropped, its log stays."""
        with self.db.write() as s:
            _check_admin(s, user)
            hook = _active(s, Webhook, webhook_id, "webhook")
            hook.active = False
            for row in s.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.webhook_id == hook.id,
                    WebhookDelivery.status == rows.PENDING,
                )
            ):
                row.status = rows.FAILED
                row.next_at = None
                row.last_error = "the webhook was removed"
        rows.forget_wanted()

    def pause_webhook(self, webhook_id: int, *, paused: bool, user: str) -> dict[str, Any]:
        """Pause a webhook (no delivery is queued for it or sent to it; what waits for it
        stays waiting), or resume it.  Its settings and its log stay.  The webhook, as
        listed."""
        with self.db.write() as s:
            _check_admin(s, user)
            hook = _active(s, Webhook, webhook_id, "webhook")
            rows.set_paused(s, hook, paused)
            return rows.webhook_with_log(s, hook, RECENT)

    def replay_delivery(self, delivery_id: int, *, user: str) -> dict[str, Any]:
        """Send a webhook delivery again (same delivery id and body), from its first try."""
        with self.db.write() as s:
            _check_admin(s, user)
            row = s.get(WebhookDelivery, delivery_id) if 0 < delivery_id < 2**31 else None
            if row is None or not _is_active(s, Webhook, row.webhook_id):
                raise NotFoundError(f"no delivery {delivery_id}")
            rows.replay(row, clock.now())
            s.flush()
            return rows.delivery_record(row)

    def replay_chat(self, delivery_id: int, *, user: str) -> dict[str, Any]:
        """Send a chat message again, from its first try."""
        with self.db.write() as s:
            _check_admin(s, user)
            row = s.get(ChatDelivery, delivery_id) if 0 < delivery_id < 2**31 else None
            robot = s.get(ChatRobot, row.robot_id) if row is not None else None
            if row is None or robot is None or not robot.active:
                raise NotFoundError(f"no chat message {delivery_id}")
            rows.replay(row, clock.now())
            s.flush()
            return rows.chat_delivery_record(row, robot.name)

    def set_inbound_secret(self, message: str, secret: str, *, user: str) -> dict[str, Any]:
        """Let another system post the message `message` signed with `secret` (replacing the
        secret it had)."""
        self.check_integrator(user)
        message = (message or "").strip()
        if not _MESSAGE_NAME.match(message):
            raise ValidationError(
                "the message name is a BPMN message's name: letters, digits, _ . -",
                field="message",
            )
        secret = (secret or "").strip()
        if not MIN_SECRET <= len(secret) <= MAX_SECRET:
            raise ValidationError(
                f"the secret is {MIN_SECRET} to {MAX_SECRET} characters", field="secret"
            )
        with self.db.write() as s:
            _check_admin(s, user)
            hook = s.scalar(select(InboundHook).where(InboundHook.message == message))
            if hook is None:
                hook = InboundHook(message=message, created_at=clock.now())
                s.add(hook)
            hook.secret = sealed(s, secret)
            hook.created_by = user
            s.flush()
        return next(h for h in self.inbound_hooks(user=user) if h["message"] == message)

    def remove_inbound_secret(self, message: str, *, user: str) -> None:
        with self.db.write() as s:
            _check_admin(s, user)
            hook = s.scalar(select(InboundHook).where(InboundHook.message == message))
            if hook is None:
                raise NotFoundError(f"no secret for the message '{message}'")
            s.delete(hook)

    def inbound_hooks(self, *, user: str) -> list[dict[str, Any]]:
        with self.db.read() as s:
            _check_admin(s, user)
            return rows.inbound_hooks(s)

    # --- each user's own choice -------------------------------------------------------

    def my_chat(self, *, user: str) -> dict[str, Any]:
        """The robots a user may choose from, and their choice (robot id and events)."""
        with self.db.read() as s:
            choice = rows.choice_of(s, user)
            robots = [{"id": r.id, "name": r.name, "vendor": r.vendor} for r in rows.robots(s)]
            ids = {r["id"] for r in robots}
            chosen = choice is not None and choice.robot_id in ids
            return {
                "robots": robots,
                "robot_id": choice.robot_id if chosen and choice is not None else None,
                "events": list(choice.events) if chosen and choice is not None else [],
            }

    def choose_chat(
        self, *, user: str, robot_id: int | None, events: Iterable[str]
    ) -> dict[str, Any]:
        """A user's own notifications of `events` also go to the robot `robot_id` (None:
        to no chat)."""
        chosen = _events(events, CHAT_EVENTS)
        with self.db.write() as s:
            if s.scalar(select(User.id).where(User.username == user, User.active)) is None:
                raise ForbiddenError(f"{user} is no active user")
            choice = s.get(ChatChoice, user)
            if robot_id is None:
                if choice is not None:
                    s.delete(choice)
            else:
                if not _is_active(s, ChatRobot, robot_id):
                    raise ValidationError("choose one of the team's robots", field="robot")
                if choice is None:
                    choice = ChatChoice(username=user, robot_id=robot_id)
                    s.add(choice)
                choice.robot_id = robot_id
                choice.events = chosen
                choice.updated_at = clock.now()
        return self.my_chat(user=user)

    # --- signed incoming messages -------------------------------------------------------

    def check_signed_message(
        self, name: str, body: bytes, *, signature: str | None, timestamp: str | None
    ) -> None:
        """SignatureError unless `body` is signed with the admin's secret for the message
        `name` within the replay window; an unknown name reads the same, so names cannot be
        probed."""
        now = clock.now()
        with self.db.read() as s:
            secrets = rows.inbound_secrets(s, name)
        problem = verify(secrets, signature, timestamp, body, now)
        if problem is None and not secrets:
            problem = "the signature does not match"
        if problem is not None:
            raise SignatureError(problem)

    def deliver_signed_message(self, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Deliver a message whose signature `check_signed_message` accepted: the signature
        stands for the sending system, which reaches any deal and may have it kept."""
        result = self.deliver_message(
            name,
            instance_id=fields.get("instance_id"),
            correlate=fields.get("correlate"),
            data=fields.get("data"),
            message_id=fields.get("message_id"),
            sender=None,
        )
        with self.db.write() as s:
            hook = s.scalar(select(InboundHook).where(InboundHook.message == name))
            if hook is not None:
                hook.last_used_at = clock.now()
        return dict(result)


def _check_admin(s: Session, user: str) -> None:
    if not users.roles_of(s, user) & INTEGRATION_ROLES:
        raise ForbiddenError(
            f"{user} may not see or change the integrations: that needs the admin role"
        )


def _checked_url(url: str) -> None:
    problem = check_url(url)
    if problem is not None:
        raise ValidationError(problem, field="url")


def _events(events: Iterable[str], allowed: tuple[str, ...]) -> list[str]:
    if isinstance(events, str) or not isinstance(events, Iterable):
        raise ValidationError("events is a list", field="events")
    chosen = []
    for event in events:
        if event not in allowed:
            raise ValidationError(
                f"unknown event {str(event)[:60]!r}: one of {', '.join(allowed)}", field="events"
            )
        if event not in chosen:
            chosen.append(event)
    return chosen


def _active(s: Session, model: Any, ident: int, what: str) -> Any:
    row = s.get(model, ident) if 0 < ident < 2**31 else None
    if row is None or not row.active:
        raise NotFoundError(f"no {what} {ident}")
    return row


def _is_active(s: Session, model: Any, ident: int) -> bool:
    row = s.get(model, ident) if 0 < ident < 2**31 else None
    return row is not None and bool(row.active)
