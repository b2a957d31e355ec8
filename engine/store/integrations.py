"""Rows of the integrations (issue 18): team-chat robots and the robot each user chose, the
webhooks for deal events, the outbox of their deliveries, and the secrets of signed incoming
messages.  Rows in and out; who may is decided in engine.usecases.integrations.

The outbox: a deal event is written as a `webhook_delivery` row in the transaction of the
change it reports (`record_deal_events`, called by engine.store.changes), so it exists exactly
when the change does and a crash never loses one; the worker sends it (at least once).  The
write path pays for it only when some webhook wants an event: `wanted_events` answers from a
per-process cache, forgotten at once when this process changes a webhook and after
`CACHE_SECONDS` otherwise (a webhook registered through another process starts receiving
within that time).

The robots' addresses and every signing secret are stored sealed (engine.core.sealing; the
key: engine.store.sealing) and opened only to send or to check a signature, and to show
what pages show of them: a secret's last four characters, a robot's host.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, object_session

from engine.core import chat, runtime
from engine.core.sealing import Sealer, SealingError
from engine.core.translations import locale_of
from engine.core.webhooks import MAX_ATTEMPTS, backoff, deal_events, delivery_body, mask
from engine.store import notifications
from engine.store.models import (
    ChatChoice,
    ChatDelivery,
    ChatRobot,
    InboundHook,
    Instance,
    Notification,
    User,
    Webhook,
    WebhookDelivery,
)
from engine.store.records import iso
from engine.store.sealing import sealer

__all__ = [
    "CACHE_SECONDS",
    "LEASE",
    "forget_wanted",
    "record_deal_events",
    "robot_address",
    "wanted_events",
    "webhook_secret",
]

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
# A delivery being sent is leased this long: a worker that dies mid-send leaves it to be
# sent again (at least once) after the lease, with the same delivery id.
LEASE = timedelta(minutes=10)  # > a batch (engine.jobs.deliveries.BATCH) at its timeouts
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

_lock = threading.Lock()
_wanted: dict[int, tuple[float, frozenset[str], weakref.ref[Engine]]] = {}


# --- the cheap check of the write path ----------------------------------------------------


def wanted_events(s: Session) -> frozenset[str]:
    """The deal events some active webhook subscribes to (usually empty: then a change
    writes nothing more).  Cached per database engine: a dictionary lookup on the write path."""
    engine = s.get_bind().engine
    found = _wanted.get(id(engine))
    if found is not None and found[2]() is engine and found[0] > time.monotonic():
        return found[1]
    events: set[str] = set()
    for row in s.scalars(select(Webhook.events).where(*_SENDING_HOOK)):
        events.update(row or ())
    value = frozenset(events)
    with _lock:
        _wanted[id(engine)] = (time.monotonic() + CACHE_SECONDS, value, weakref.ref(engine))
    return value


# The webhooks deliveries are queued for: registered, not removed, not paused.
_SENDING_HOOK = (Webhook.active, Webhook.paused.is_(False))


def _not_paused(model: Any) -> Any:
    """Deliveries (of `model`, chat or webhook) whose robot or webhook is not paused."""
    if model is ChatDelivery:
        return ChatDelivery.robot_id.not_in(select(ChatRobot.id).where(ChatRobot.paused))
    return WebhookDelivery.webhook_id.not_in(select(Webhook.id).where(Webhook.paused))


def forget_wanted() -> None:
    """The webhooks changed: the next change asks the database again."""
    with _lock:
        _wanted.clear()


def record_deal_events(
    s: Session,
    inst: Instance,
    events: Iterable[str],
    now: datetime,
    *,
    task: dict[str, Any] | None = None,
) -> int:
    """Add a delivery per webhook and event it wants, in the caller's transaction."""
    events = [e for e in events if e in wanted_events(s)]
    if not events:
        return 0
    hooks = s.execute(select(Webhook.id, Webhook.events).where(*_SENDING_HOOK)).all()
    deal = deal_record(inst)
    if task is not None:
        deal["task"] = task
    count = 0
    for event in events:
        body = delivery_body(event, now, deal).decode()
        for hook_id, hook_events in hooks:
            if event not in (hook_events or ()):
                continue
            s.add(
                WebhookDelivery(
                    webhook_id=hook_id,
                    delivery_id=str(uuid.uuid4()),
                    event=event,
                    instance_id=inst.id,
                    body=body,
                    status=PENDING,
                    attempts=0,
                    replays=0,
                    next_at=now,
                    created_at=now,
                )
            )
            count += 1
    return count


def record_change(
    s: Session,
    inst: Instance,
    events: list[runtime.Event],
    new: bool,
    stage_before: str | None,
    status_before: str | None,
    now: datetime,
) -> int:
    """The deal events of one saved change (engine.store.changes.save_change), recorded."""
    done = [ev for ev in events if ev.kind == "completed" and ev.manual]
    found = deal_events(
        new=new,
        stage_before=None if new else stage_before,
        stage_after=inst.stage,
        status_before=None if new else status_before,
        status_after=inst.status,
        completed=len(done),
    )
    task = None
    if done:
        task = {"element_id": done[-1].element_id, "name": done[-1].element_name}
    return record_deal_events(s, inst, found, now, task=task)


def deal_record(inst: Instance) -> dict[str, Any]:
    """The deal as a delivery shows it: its fields, no workflow state."""
    return {
        "id": str(inst.id),
        "name": inst.name,
        "process_id": inst.process_id,
        "version": inst.version_number,
        "owner": inst.owner,
        "stage": inst.stage,
        "status": inst.status,
        "amount": str(inst.amount) if inst.amount is not None else None,
        "expected_close": inst.expected_close.isoformat() if inst.expected_close else None,
        "lead_source": inst.lead_source,
        "tier": inst.tier,
        "lost_reason": inst.lost_reason,
    }


# --- chat robots ------------------------------------------------------------------------


def robots(s: Session, *, paused: bool = True) -> list[ChatRobot]:
    """The robots in use (without the paused ones when `paused` is False)."""
    query = select(ChatRobot).where(ChatRobot.active).order_by(ChatRobot.id)
    if not paused:
        query = query.where(ChatRobot.paused.is_(False))
    return list(s.scalars(query))


def set_paused(s: Session, target: ChatRobot | Webhook, paused: bool) -> None:
    """Pause or resume a robot or a webhook: while paused nothing is queued for it (its
    events pass it by) and what waited for it stays waiting (`claim_due` leaves it), to go
    when it is resumed."""
    target.paused = paused
    if isinstance(target, Webhook):
        forget_wanted()


def robot_record(r: ChatRobot, counts: dict[int, dict[str, int]] | None = None) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "vendor": r.vendor,
        "url": _shown_url(_opened(r, r.url)),
        "secret": _masked(r, r.secret),
        "language": r.language,
        "events": list(r.events or []),
        "paused": bool(r.paused),
        "created_by": r.created_by,
        "created_at": iso(r.created_at),
        "deliveries": (counts or {}).get(r.id, {}),
    }


def _shown_url(url: str | None) -> str:
    """A robot's address as shown: only where it points.  The rest is the robot's secret
    (WeCom's key and DingTalk's access token in the query, Feishu's token in the path)."""
    if url is None:
        return "…"  # this machine's key cannot open it: the robot's sends say so
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def _opened(row: Any, stored: str | None) -> str | None:
    """A sealed value of `row` opened for what a page shows of it; None when there is none,
    or when this machine's key cannot open it (the worker's sends then say why)."""
    session = object_session(row)
    if not stored or session is None:
        return None
    try:
        return sealer(session).open(stored, "value")
    except SealingError:
        return None


def _masked(row: Any, stored: str | None) -> str | None:
    """What a page shows of a sealed secret: its last four characters at most (mask)."""
    if not stored:
        return None
    return mask(_opened(row, stored)) or "••••"


def robot_address(sealing: Sealer, robot: ChatRobot) -> tuple[str, str | None]:
    """A robot's address and signing secret, opened to send to it; SealingError naming the
    robot when this machine's key cannot open them."""
    url = sealing.open(robot.url, f"address of the robot '{robot.name}'")
    if not robot.secret:
        return url, None
    return url, sealing.open(robot.secret, f"signing secret of the robot '{robot.name}'")


def webhook_secret(sealing: Sealer, hook: Webhook) -> str:
    """A webhook's signing secret, opened to sign a delivery; SealingError naming the
    webhook when this machine's key cannot open it."""
    return sealing.open(hook.secret, f"signing secret of the webhook {hook.id} ({hook.url})")


def choice_of(s: Session, username: str) -> ChatChoice | None:
    return s.get(ChatChoice, username)


def hand_to_chats(s: Session, now: datetime, batch: int) -> int:
    """Claim the notifications not yet handed to the robots and add a chat delivery for each
    robot that wants one (the team's robots for their events; the robot a user chose for
    their own; none to a paused one).  How many deliveries were added."""
    active = robots(s, paused=False)
    if not active:
        s.execute(
            update(Notification)
            .where(Notification.chatted_at.is_(None))
            .values(chatted_at=now)
            .execution_options(synchronize_session=False)
        )
        return 0
    candidates = list(
        s.scalars(
            select(Notification.id)
            .where(Notification.chatted_at.is_(None))
            .order_by(Notification.id)
            .limit(batch)
        )
    )
    if not candidates:
        return 0
    claimed = notifications.claim(s, Notification.chatted_at, candidates, now)
    rows = s.execute(
        select(Notification, User.display_name, User.language)
        .join(User, User.username == Notification.username, isouter=True)
        .where(Notification.id.in_(claimed))
        .order_by(Notification.id)
    ).all()
    by_id = {r.id: r for r in active}
    choices = {
        c.username: c
        for c in s.scalars(
            select(ChatChoice).where(ChatChoice.username.in_({r[0].username for r in rows}))
        )
    }
    added = 0
    for note, display_name, language in rows:
        event = chat.chat_event(note.kind)
        if event is None:
            continue
        link = f"/deals/{note.instance_id}" if note.instance_id is not None else "/notifications"
        targets: dict[int, str | None] = {}
        for robot in active:
            if event in (robot.events or ()):
                targets[robot.id] = display_name or note.username  # the team's: say whose
        mine = choices.get(note.username)
        if mine is not None and mine.robot_id in by_id and event in (mine.events or ()):
            targets.setdefault(mine.robot_id, None)
        for robot_id, recipient in targets.items():
            s.add(
                ChatDelivery(
                    robot_id=robot_id,
                    notification_id=note.id,
                    event=event,
                    text=note.text,
                    language=locale_of(language),  # the text's: its recipient's
                    link=link,
                    recipient=recipient,
                    status=PENDING,
                    attempts=0,
                    next_at=now,
                    created_at=now,
                )
            )
            added += 1
    return added


# --- the deliveries the worker sends -----------------------------------------------------


def has_news(s: Session) -> bool:
    """Whether some notification waits to be handed to the robots."""
    query = select(Notification.id).where(Notification.chatted_at.is_(None)).limit(1)
    return s.scalar(query) is not None


def any_due(s: Session, now: datetime) -> bool:
    """Whether some chat or webhook delivery is due (one indexed lookup each)."""
    for model in (ChatDelivery, WebhookDelivery):
        query = select(model.id).where(model.status == PENDING, model.next_at <= now)
        if s.scalar(query.where(_not_paused(model)).limit(1)) is not None:
            return True
    return False


def claim_due(s: Session, model: Any, now: datetime, limit: int, *, skip_locked: bool) -> list[Any]:
    """Due deliveries (chat or webhook), leased for `LEASE` so no other worker takes them;
    those of a paused robot or webhook wait."""
    query = (
        select(model)
        .where(model.status == PENDING, model.next_at <= now, _not_paused(model))
        .order_by(model.next_at, model.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    rows = list(s.scalars(query))
    for row in rows:
        row.next_at = now + LEASE
    return rows


def record_attempt(
    row: ChatDelivery | WebhookDelivery,
    now: datetime,
    error: str | None,
    status: int | None = None,
) -> None:
    """The outcome of one try: delivered, or the next try after the backoff, or given up
    after MAX_ATTEMPTS (an admin may replay it)."""
    row.attempts = (row.attempts or 0) + 1
    if isinstance(row, WebhookDelivery):
        row.last_status = status
    if error is None:
        row.status = DELIVERED
        row.delivered_at = now
        row.next_at = None
        row.last_error = None
        return
    row.last_error = error[:1000]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = FAILED
        row.next_at = None
    else:
        row.next_at = now + backoff(row.attempts)


def replay(row: ChatDelivery | WebhookDelivery, now: datetime) -> None:
    """Send it again now, from the first try (a webhook's: the same delivery id and body)."""
    row.status = PENDING
    row.attempts = 0
    row.next_at = now
    if isinstance(row, WebhookDelivery):
        row.replays = (row.replays or 0) + 1


def prune(s: Session, before: datetime) -> int:
    """Forget the deliveries taken before `before` (the logs keep the recent ones, and every
    pending or failed one until it is replayed or its webhook or robot removed)."""
    count = 0
    for model in (ChatDelivery, WebhookDelivery):
        result = s.execute(
            delete(model)
            .where(model.status == DELIVERED, model.delivered_at < before)
            .execution_options(synchronize_session=False)
        )
        count += getattr(result, "rowcount", 0) or 0
    return count


def webhook_record(w: Webhook, recent: list[WebhookDelivery]) -> dict[str, Any]:
    return {
        "id": w.id,
        "url": w.url,
        "events": list(w.events or []),
        "secret": _masked(w, w.secret),
        "paused": bool(w.paused),
        "created_by": w.created_by,
        "created_at": iso(w.created_at),
        "deliveries": [delivery_record(d) for d in recent],
    }


def delivery_record(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "delivery_id": d.delivery_id,
        "event": d.event,
        "instance_id": str(d.instance_id) if d.instance_id is not None else None,
        "status": d.status,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "replays": d.replays,
        "created_at": iso(d.created_at),
        "next_at": iso(d.next_at) if d.status == PENDING else None,
        "delivered_at": iso(d.delivered_at),
    }


def chat_delivery_record(d: ChatDelivery, robot_name: str) -> dict[str, Any]:
    return {
        "id": d.id,
        "robot": robot_name,
        "event": d.event,
        "text": d.text,
        "recipient": d.recipient,
        "status": d.status,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "created_at": iso(d.created_at),
        "next_at": iso(d.next_at) if d.status == PENDING else None,
        "delivered_at": iso(d.delivered_at),
    }


def webhooks(s: Session, recent: int) -> list[dict[str, Any]]:
    """The active webhooks, each with its `recent` latest deliveries."""
    hooks = s.scalars(select(Webhook).where(Webhook.active).order_by(Webhook.id))
    return [webhook_with_log(s, hook, recent) for hook in hooks]


def webhook_with_log(s: Session, hook: Webhook, recent: int) -> dict[str, Any]:
    """A webhook's record with its `recent` latest deliveries."""
    latest = s.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(recent)
    )
    return webhook_record(hook, list(latest))


def chat_log(s: Session, limit: int) -> list[dict[str, Any]]:
    rows = s.execute(
        select(ChatDelivery, ChatRobot.name)
        .join(ChatRobot, ChatRobot.id == ChatDelivery.robot_id)
        .order_by(ChatDelivery.id.desc())
        .limit(limit)
    ).all()
    return [chat_delivery_record(d, name) for d, name in rows]


def chat_counts(s: Session) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    query = select(ChatDelivery.robot_id, ChatDelivery.status, func.count()).group_by(
        ChatDelivery.robot_id, ChatDelivery.status
    )
    for robot_id, status, n in s.execute(query):
        counts.setdefault(robot_id, {})[status] = n
    return counts


def inbound_hooks(s: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": h.id,
            "message": h.message,
            "secret": _masked(h, h.secret),
            "created_by": h.created_by,
            "created_at": iso(h.created_at),
            "last_used_at": iso(h.last_used_at),
        }
        for h in s.scalars(select(InboundHook).order_by(InboundHook.message))
    ]


def inbound_secrets(s: Session, message: str) -> list[str]:
    """The secrets a signed message `message` may be signed with, opened.  One this
    machine's key cannot open is left out (the message is refused as unsigned: the sender
    learns nothing of the server) and logged, saying what to do."""
    sealing = sealer(s)
    opened = []
    for stored in s.scalars(select(InboundHook.secret).where(InboundHook.message == message)):
        try:
            opened.append(sealing.open(stored, f"secret of the signed message '{message}'"))
        except SealingError as exc:
            log.error("%s", exc)
    return opened
