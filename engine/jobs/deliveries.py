"""The worker's deliveries (issue 18): notifications to team-chat robots, and deal events to
webhooks, each tried until it is taken, with backoff (engine.core.webhooks.backoff) and a
limit (MAX_ATTEMPTS) after which an admin may replay it.

One run:
1. `hand_to_chats`: the notifications not yet handed to the robots become chat deliveries
   (the team's robots for their events, the robot a user chose for their own);
2. the due deliveries are leased in a short transaction (engine.store.integrations.LEASE;
   SKIP LOCKED on PostgreSQL), so two workers never send one at the same time;
3. each is sent with httpx, outside any transaction, with a timeout: a chat message signed as
   its vendor wants (engine.core.chat), a webhook delivery with its delivery id, the same
   body and its HMAC signature (engine.core.webhooks);
4. the outcomes are written: delivered, or the next try.  A worker that dies between 3 and
   4 leaves the delivery leased; after the lease it is sent again with the same delivery id
   (at least once: the receiver's idempotency key makes it once).

The worker runs it in a thread of its own (`in_background`), so a receiver slow to answer
never holds up the timers; a worker stopped mid-send leaves those deliveries leased, to be
sent again after the lease.  Links in chat messages point at SALESFLOW_BASE_URL (default
http://127.0.0.1:5000).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from engine.core import chat
from engine.core.sealing import Sealer, SealingError
from engine.core.webhooks import delivery_headers
from engine.store import integrations as rows
from engine.store.models import ChatDelivery, ChatRobot, Webhook, WebhookDelivery
from engine.store.sealing import sealer

if TYPE_CHECKING:
    from engine.store.db import Database

__all__ = [
    "BATCH",
    "TIMEOUT",
    "base_url",
    "deliver_due",
    "in_background",
    "send_pending",
    "wait_idle",
]

log = logging.getLogger(__name__)

BATCH = 20  # deliveries per run and kind (sent one after the other, within the lease)
HAND_BATCH = 500  # notifications handed to the robots per run
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
_sender: threading.Thread | None = None
_sender_lock = threading.Lock()
KEEP = timedelta(days=30)  # how long the logs keep a delivery that was taken
PRUNE_EVERY = 3600.0  # seconds
_pruned = float("-inf")


def base_url() -> str:
    return (os.environ.get("SALESFLOW_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def in_background(db: Database, now: datetime) -> int:
    """The worker's job: `send_pending` in a thread of its own, so that a receiver slow to
    answer (up to the timeouts, for each of a batch) never holds up the timers.  One such
    thread at a time per process; a turn that finds it still busy does nothing (0)."""
    global _sender
    with _sender_lock:
        if _sender is not None and _sender.is_alive():
            return 0
        _sender = threading.Thread(
            target=_send_logged, args=(db, now), name="salesflow-deliveries", daemon=True
        )
        _sender.start()
    return 0


def wait_idle() -> None:
    """Wait until the background sender (if any) is done (tests; a stopping worker)."""
    with _sender_lock:
        sender = _sender
    if sender is not None:
        sender.join()


def _send_logged(db: Database, now: datetime) -> None:
    try:
        send_pending(db, now)
    except Exception:
        log.exception("sending chat messages and webhook deliveries failed; next turn retries")


def send_pending(db: Database, now: datetime, client: httpx.Client | None = None) -> int:
    """One run of the job: hand new notifications to the robots, then send what is due (and
    about once an hour forget deliveries taken more than KEEP ago).  How many were taken."""
    global _pruned
    prune = time.monotonic() - _pruned > PRUNE_EVERY
    with db.read() as s:  # most runs find nothing: no write transaction then (SQLite's lock)
        news = rows.has_news(s)
    if news or prune:
        with db.write() as s:
            rows.hand_to_chats(s, now, HAND_BATCH)
            if prune:
                _pruned = time.monotonic()
                rows.prune(s, now - KEEP)
    return deliver_due(db, now, client)


def deliver_due(db: Database, now: datetime, client: httpx.Client | None = None) -> int:
    """Send the chat and webhook deliveries due at `now`; how many were taken."""
    skip_locked = not db.is_sqlite
    with db.read() as s:
        if not rows.any_due(s, now):
            return 0
    with db.write() as s:
        chats = rows.claim_due(s, ChatDelivery, now, BATCH, skip_locked=skip_locked)
        hooks = rows.claim_due(s, WebhookDelivery, now, BATCH, skip_locked=skip_locked)
        robots = {r.id: r for r in s.scalars(select(ChatRobot).where(ChatRobot.active))}
        webhooks = {w.id: w for w in s.scalars(select(Webhook).where(Webhook.active))}
        sealing = sealer(s)  # their addresses and secrets are opened as each is sent
        s.flush()  # the leases
        s.expunge_all()  # read while sending, outside the transaction
    if not chats and not hooks:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    outcomes: list[tuple[Any, str | None, int | None]] = []
    try:
        for row in chats:
            robot = robots.get(row.robot_id)
            outcomes.append((row, *_send_chat(http, row, robot, sealing, now)))
        for hook_row in hooks:
            hook = webhooks.get(hook_row.webhook_id)
            outcomes.append((hook_row, *_send_webhook(http, hook_row, hook, sealing)))
    finally:
        if own:
            http.close()
    taken = 0
    with db.write() as s:
        for row, error, status in outcomes:
            fresh = s.get(type(row), row.id)
            if fresh is None or fresh.status != rows.PENDING:
                continue  # removed or given up meanwhile (its webhook or robot removed)
            rows.record_attempt(fresh, now, error, status)
            taken += error is None
            if error is not None:
                log.warning("delivery %s #%s failed: %s", type(row).__name__, row.id, error)
    return taken


def _send_chat(
    http: httpx.Client,
    row: ChatDelivery,
    robot: ChatRobot | None,
    sealing: Sealer,
    now: datetime,
) -> tuple[str | None, int | None]:
    if robot is None:
        return "the robot was removed", None
    try:
        url, secret = rows.robot_address(sealing, robot)
    except SealingError as exc:
        return str(exc), None
    link = f"{base_url()}{row.link}" if row.link else None
    message = chat.ChatMessage(
        event=row.event, text=row.text, lang=row.language, link=link, recipient=row.recipient
    )
    request = chat.chat_request(robot.vendor, url, secret, message, int(now.timestamp() * 1000))
    try:
        answer = http.post(
            request.url,
            content=request.body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return f"{type(exc).__name__}: {_hidden(str(exc), url)}"[:500], None
    return chat.refusal(robot.vendor, answer.status_code, answer.text), answer.status_code


def _send_webhook(
    http: httpx.Client, row: WebhookDelivery, hook: Webhook | None, sealing: Sealer
) -> tuple[str | None, int | None]:
    if hook is None:
        return "the webhook was removed", None
    try:
        secret = rows.webhook_secret(sealing, hook)
    except SealingError as exc:
        return str(exc), None
    body = row.body.encode()
    headers = delivery_headers(row.event, row.delivery_id, secret, body)
    try:
        answer = http.post(hook.url, content=body, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[:500], None
    if 200 <= answer.status_code < 300:
        return None, answer.status_code
    return f"HTTP {answer.status_code}: {answer.text[:200]}", answer.status_code


def _hidden(text: str, url: str) -> str:
    """An error message without the robot's key or token (in its path or its query)."""
    parts = urlsplit(url)
    for secret in (url, parts.path, parts.query):
        if secret and secret != "/":
            text = text.replace(secret, "…")
    return text
