"""Outgoing webhooks: deal events written to the outbox with the change they report, sent by
the worker to a real local receiver, signed, retried with backoff under the same delivery id
until the receiver takes them, and replayed on demand."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.core import webhooks
from engine.errors import ForbiddenError, ValidationError
from engine.jobs import deliveries
from engine.jobs.worker import Worker, default_jobs
from engine.store.integrations import any_due, prune
from engine.store.models import WebhookDelivery
from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

from .chat_servers import WebhookReceiver

ALL = list(webhooks.DEAL_EVENTS)


@pytest.fixture
def admins(team: Service) -> Service:
    team.add_user("root", ["admin"])
    team.deploy([PROCESSES])
    return team


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(fail_first=2).start()
    yield server
    server.stop()


def _outbox(service: Service) -> list[WebhookDelivery]:
    with service.db.read() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _start(service: Service) -> str:
    return str(
        service.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    )


def test_no_webhook_no_outbox(admins: Service) -> None:
    _start(admins)
    assert _outbox(admins) == []


def test_fails_twice_then_delivered_once_with_the_same_id_and_replayed(
    admins: Service, receiver: WebhookReceiver
) -> None:
    hook = admins.add_webhook(
        user="root", url=receiver.url, events=["deal.started"], secret=receiver.secret
    )
    assert hook["secret"] == "…6789" and receiver.secret not in json.dumps(hook)
    iid = _start(admins)
    [row] = _outbox(admins)  # written with the deal, in its transaction
    assert row.event == "deal.started" and row.status == "pending"

    now = clock.now()
    assert deliveries.deliver_due(admins.db, now) == 0  # 500
    assert deliveries.deliver_due(admins.db, now + timedelta(seconds=29)) == 0  # not yet due
    assert len(receiver.received) == 1
    assert deliveries.deliver_due(admins.db, now + timedelta(seconds=30)) == 0  # 500 again
    [row] = _outbox(admins)
    assert row.attempts == 2 and row.next_at == now + timedelta(seconds=90)  # 30 s, then 60 s
    assert deliveries.deliver_due(admins.db, now + timedelta(seconds=90)) == 1
    assert deliveries.deliver_due(admins.db, now + timedelta(hours=5)) == 0  # delivered once

    assert len(receiver.received) == 3 and len(receiver.accepted) == 1
    ids = {r.headers["X-Salesflow-Delivery"] for r in receiver.received}
    assert ids == {row.delivery_id}  # the idempotency key, the same on every try
    assert {r.body for r in receiver.received} == {row.body.encode()}  # the same body too
    got = receiver.accepted[0]
    assert got.headers["X-Salesflow-Event"] == "deal.started"
    expected = hmac.new(receiver.secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Salesflow-Signature"] == f"sha256={expected}"
    body = got.json()
    assert body["event"] == "deal.started"
    assert body["deal"]["id"] == iid and body["deal"]["name"] == "ACME"
    assert datetime.fromisoformat(body["at"]).tzinfo is not None
    [listed] = admins.webhooks(user="root")
    assert listed["deliveries"][0]["status"] == "delivered"
    assert listed["deliveries"][0]["attempts"] == 3

    replayed = admins.replay_delivery(row.id, user="root")
    assert replayed["status"] == "pending" and replayed["replays"] == 1
    assert deliveries.deliver_due(admins.db, clock.now()) == 1
    assert len(receiver.accepted) == 2
    assert receiver.accepted[1].headers["X-Salesflow-Delivery"] == row.delivery_id
    assert receiver.accepted[1].body == got.body


def test_a_paused_webhook_is_sent_nothing_and_queues_nothing_until_resumed(
    admins: Service, receiver: WebhookReceiver
) -> None:
    receiver.fail_first = 0
    hook = admins.add_webhook(
        user="root", url=receiver.url, events=["deal.started"], secret=receiver.secret
    )
    _start(admins)  # queued before the pause: it waits
    admins.pause_webhook(hook["id"], paused=True, user="root")
    _start(admins)  # while paused: nothing queued
    [listed] = admins.webhooks(user="root")
    assert listed["paused"] is True
    assert len(_outbox(admins)) == 1
    later = clock.now() + timedelta(hours=1)
    assert deliveries.deliver_due(admins.db, later) == 0 and receiver.received == []
    with admins.db.read() as s:
        assert not any_due(s, later)  # the worker is not woken for it either
    with pytest.raises(ForbiddenError):
        admins.pause_webhook(hook["id"], paused=False, user="alice")
    admins.pause_webhook(hook["id"], paused=False, user="root")
    assert deliveries.deliver_due(admins.db, later) == 1  # the one that waited
    assert len(receiver.accepted) == 1
    _start(admins)
    assert len(_outbox(admins)) == 2  # queued again


def test_stage_task_won_and_lost_events(admins: Service, receiver: WebhookReceiver) -> None:
    receiver.fail_first = 0
    admins.add_webhook(user="root", url=receiver.url, events=ALL, secret=receiver.secret)
    won = _start(admins)
    drive(admins, won, WON)  # every step of the pipeline to the won stage
    lost = _start(admins)
    reason = admins.lost_reasons("sales_pipeline")[0]["value"]
    admins.mark_lost(lost, user="mia", reason=reason)
    events = [(r.instance_id, r.event) for r in _outbox(admins)]
    of_won = [e for iid, e in events if str(iid) == won]
    assert of_won[0] == "deal.started"
    assert of_won.count("deal.won") == 1
    assert {"deal.task_completed", "deal.stage_changed"} <= set(of_won)
    assert [e for iid, e in events if str(iid) == lost] == ["deal.started", "deal.lost"]
    deliveries.deliver_due(admins.db, clock.now())
    assert len(receiver.accepted) == len(events)
    completed = next(
        r.json() for r in receiver.accepted if r.json()["event"] == "deal.task_completed"
    )
    assert completed["deal"]["task"]["element_id"] == "task_qualify_lead"
    [won_body] = [r.json() for r in receiver.accepted if r.json()["event"] == "deal.won"]
    # The change that won it already opened the after-sales revisit: a stage after "won".
    assert won_body["deal"]["stage"] == "after_sales" and won_body["deal"]["id"] == won


def test_gives_up_after_the_last_try_until_replayed(admins: Service) -> None:
    down = WebhookReceiver(fail_first=100).start()
    try:
        admins.add_webhook(user="root", url=down.url, events=ALL, secret=down.secret)
        _start(admins)
        now = clock.now()
        for _ in range(webhooks.MAX_ATTEMPTS):
            deliveries.deliver_due(admins.db, now)
            now += webhooks.LONGEST_WAIT
        [row] = _outbox(admins)
        assert row.status == "failed" and row.attempts == webhooks.MAX_ATTEMPTS
        assert row.last_status == 500 and "HTTP 500" in (row.last_error or "")
        assert deliveries.deliver_due(admins.db, now + timedelta(days=1)) == 0
        assert len(down.received) == webhooks.MAX_ATTEMPTS
    finally:
        down.stop()


def test_the_worker_delivers(admins: Service, receiver: WebhookReceiver) -> None:
    receiver.fail_first = 0
    assert "deliveries" in [job.name for job in default_jobs()]
    admins.add_webhook(user="root", url=receiver.url, events=ALL, secret=receiver.secret)
    _start(admins)
    worker = Worker(admins, name="test-worker")
    worker.register()
    try:
        worker.run_once()  # the job starts the sender in its own thread: timers never wait
        deliveries.wait_idle()
    finally:
        worker.unregister()
    assert [r.json()["event"] for r in receiver.accepted] == ["deal.started"]
    assert [r.status for r in _outbox(admins)] == ["delivered"]


def test_only_admins_and_only_http(admins: Service, receiver: WebhookReceiver) -> None:
    with pytest.raises(ForbiddenError):
        admins.add_webhook(user="mia", url=receiver.url, events=ALL, secret=receiver.secret)
    with pytest.raises(ForbiddenError):
        admins.webhooks(user="alice")
    for url in ("ftp://example.com/x", "javascript:alert(1)", "http://", "file:///etc/passwd"):
        with pytest.raises(ValidationError) as bad:
            admins.add_webhook(user="root", url=url, events=ALL, secret=receiver.secret)
        assert bad.value.field == "url"
    with pytest.raises(ValidationError) as bad:
        admins.add_webhook(user="root", url=receiver.url, events=["deal.exploded"], secret="x" * 20)
    assert bad.value.field == "events"
    with pytest.raises(ValidationError) as bad:
        admins.add_webhook(user="root", url=receiver.url, events=ALL, secret="short")
    assert bad.value.field == "secret"
    with admins.db.read() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_backoff_and_signed_incoming_rules() -> None:
    waits = [webhooks.backoff(n).total_seconds() for n in range(1, 11)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    stamp = str(int(now.timestamp()))
    body = b'{"message_id": "pay-1"}'
    good = webhooks.incoming_signature("s" * 20, stamp, body)
    assert webhooks.verify(["other" * 4, "s" * 20], good, stamp, body, now) is None
    assert "missing" in (webhooks.verify(["s" * 20], None, stamp, body, now) or "")
    assert "does not match" in (webhooks.verify(["s" * 20], good, stamp, body + b" ", now) or "")
    late = now + webhooks.REPLAY_WINDOW + timedelta(seconds=1)
    assert "minutes off" in (webhooks.verify(["s" * 20], good, stamp, body, late) or "")
    assert webhooks.deal_events(
        new=False, stage_before="negotiation", stage_after="won", status_before="running",
        status_after="running", completed=1,
    ) == ["deal.task_completed", "deal.stage_changed", "deal.won"]  # fmt: skip


def test_the_log_forgets_deliveries_taken_long_ago(
    admins: Service, receiver: WebhookReceiver
) -> None:
    receiver.fail_first = 0
    admins.add_webhook(user="root", url=receiver.url, events=ALL, secret=receiver.secret)
    _start(admins)
    _start(admins)
    now = clock.now()
    deliveries.deliver_due(admins.db, now)
    with admins.db.write() as s:
        [first, _second] = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        first.status, first.next_at = "pending", now  # one still owed: kept whatever its age
    with admins.db.write() as s:
        assert prune(s, now - timedelta(days=1)) == 0  # nothing that old
        assert prune(s, now + deliveries.KEEP) == 1
    assert [r.status for r in _outbox(admins)] == ["pending"]


def test_without_webhooks_a_change_asks_nothing_more(
    admins: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write path's one check is a cached flag: once known, no query of the webhooks."""
    from sqlalchemy import event

    from engine.store import integrations

    monkeypatch.setattr(integrations, "CACHE_SECONDS", 3600.0)
    integrations.forget_wanted()
    asked: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "FROM webhook" in statement:
            asked.append(statement)

    engine = admins.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        _start(admins)  # fills the cache
        first = len(asked)
        for _ in range(3):
            _start(admins)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert first == 1 and len(asked) == 1
    assert _outbox(admins) == []
