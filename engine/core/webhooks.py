"""Outgoing webhooks and signed incoming messages: the events, the body of a delivery, its
HMAC-SHA256 signature, the retry schedule, and which URLs an admin may register.

A delivery is a POST of `{"event", "at", "deal": {...}}` with the headers
`X-Salesflow-Event`, `X-Salesflow-Delivery` (the same id on every retry: the receiver's
idempotency key) and `X-Salesflow-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under
the webhook's secret.  The same signature, with `X-Salesflow-Timestamp` (seconds) signed in
front of the body, lets another system post a BPMN message without a user's token.

Pure: the caller gives the time; no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from engine.core.stages import STAGE_ORDER

__all__ = [
    "DEAL_EVENTS",
    "MAX_ATTEMPTS",
    "REPLAY_WINDOW",
    "backoff",
    "check_url",
    "deal_events",
    "delivery_body",
    "delivery_headers",
    "incoming_signature",
    "mask",
    "sign",
    "verify",
]

STARTED, STAGE_CHANGED, TASK_COMPLETED = "deal.started", "deal.stage_changed", "deal.task_completed"
WON, LOST, SLA_BREACHED, INCIDENT = "deal.won", "deal.lost", "deal.sla_breached", "deal.incident"
DEAL_EVENTS = (STARTED, STAGE_CHANGED, TASK_COMPLETED, WON, LOST, SLA_BREACHED, INCIDENT)

# Retries: 30 s, 1, 2, 4, 8, 16, 32 min, then at most an hour apart; given up after 10 tries
# (about 4 hours), when an admin may replay it from the log.
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
MAX_ATTEMPTS = 10
# A signed incoming message must be signed within this long of its arrival (either way).
REPLAY_WINDOW = timedelta(minutes=5)
MAX_URL = 2000
_WON_STAGES = frozenset(s for s in STAGE_ORDER[STAGE_ORDER.index("won") :] if s != "lost")


def deal_events(
    *,
    new: bool,
    stage_before: str | None,
    stage_after: str | None,
    status_before: str | None,
    status_after: str,
    completed: int,
) -> list[str]:
    """The events one saved change of a deal raises (engine.store.changes): `completed` is
    how many human tasks it completed."""
    found = []
    if new:
        found.append(STARTED)
    if completed:
        found.append(TASK_COMPLETED)
    if not new and stage_after != stage_before and stage_after is not None:
        found.append(STAGE_CHANGED)
    if stage_after != stage_before:
        if stage_after in _WON_STAGES and stage_before not in _WON_STAGES:
            found.append(WON)
        elif stage_after == "lost":
            found.append(LOST)
    if status_after == "error" and status_before != "error":
        found.append(INCIDENT)
    return found


def delivery_body(event: str, at: datetime, deal: dict[str, Any]) -> bytes:
    """The raw body of a delivery: the bytes that are signed and sent, the same on retries."""
    body = {"event": event, "at": at.isoformat(), "deal": deal}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: the HMAC-SHA256 of the raw body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(event: str, delivery_id: str, secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "salesflow-webhooks/1",
        "X-Salesflow-Event": event,
        "X-Salesflow-Delivery": delivery_id,
        "X-Salesflow-Signature": sign(secret, body),
    }


def incoming_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of a signed incoming message: over `<timestamp>.<raw body>`, so that an
    old request replayed later no longer matches its own time."""
    return sign(secret, timestamp.encode() + b"." + body)


def verify(
    secrets: Iterable[str], signature: str | None, timestamp: str | None, body: bytes, now: datetime
) -> str | None:
    """Why a signed incoming message is refused (None: it is good): a missing or malformed
    header, a time outside the replay window, or a signature no secret gives."""
    if not signature:
        return "the header X-Salesflow-Signature is missing: sign the body (see the docs)"
    if not timestamp:
        return "the header X-Salesflow-Timestamp is missing: the time of signing, in seconds"
    try:
        at = int(timestamp)
    except ValueError:
        return "X-Salesflow-Timestamp must be whole seconds since 1970"
    if abs(now.timestamp() - at) > REPLAY_WINDOW.total_seconds():
        minutes = int(REPLAY_WINDOW.total_seconds() // 60)
        return f"X-Salesflow-Timestamp is more than {minutes} minutes off: sign it again now"
    if not signature.startswith("sha256="):
        return "X-Salesflow-Signature must be sha256=<hex HMAC-SHA256>"
    for secret in secrets:
        if hmac.compare_digest(incoming_signature(secret, timestamp, body), signature):
            return None
    return "the signature does not match: sign <timestamp>.<raw body> with the shared secret"


def backoff(attempts: int) -> timedelta:
    """How long to wait before the next try, after `attempts` failed ones (1, 2, ...)."""
    wait = FIRST_WAIT * (2 ** max(0, min(attempts - 1, 20)))
    return min(wait, LONGEST_WAIT)


def check_url(url: str) -> str | None:
    """Why an admin may not register this URL (None: it is fine): http(s) only, with a host."""
    if not url or len(url) > MAX_URL:
        return f"enter an http:// or https:// address of at most {MAX_URL} characters"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "the address may hold no spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        return "the address is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// addresses are allowed"
    if not parts.hostname:
        return "the address has no host"
    return None


def mask(secret: str | None) -> str | None:
    """What a page or the API shows of a stored secret: its last four characters at most."""
    if not secret:
        return None
    return "…" + secret[-4:] if len(secret) >= 12 else "••••"
