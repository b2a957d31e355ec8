# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese the incident shows
"""The connectors', webhooks', robots' and signed messages' secrets sealed at rest: the
database (read with plain SQL, and on SQLite its very files) holds none of them, yet the
worker's connector call still sends the right header to a real local server, webhook
deliveries and robot messages are still signed as the receivers check, and signed messages
are still accepted.  Rows an older salesflow wrote in plain text keep working and are sealed by
`salesflow init` or when written again; a wrong or lost key fails the call (an incident) or
the delivery (its log) naming the secret and what to do, never a 500 or an empty value.

The connector and webhook fixtures are the ones of test_connectors and test_webhooks; the key
is each test's own (a key file beside its database, or its own SALESFLOW_SEALING_KEY)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from engine import clock
from engine.core.webhooks import incoming_signature
from engine.jobs import deliveries
from engine.jobs.connectors import run_due_calls
from engine.store import sealing
from engine.store.db import Database
from engine.store.models import ChatRobot, ConnectorSecret, InboundHook, Webhook
from engine.store.notifications import notify
from engine.usecases.incidents import incident_record
from engine.usecases.integrations import SignatureError
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES
from tests.engine.chat_servers import DingTalkRobot, WebhookReceiver
from tests.engine.test_connectors import model, ops, server, start_at_service

__all__ = ["ops", "server"]  # the fixtures of test_connectors, used here

TOKEN = "s3cr3t-T0KEN"  # what ops stores as the connector secret crm_token
OTHER_KEY = "c" * 64  # a test key, nobody's
FIX = "set SALESFLOW_SEALING_KEY to the key it was sealed with"
SEALED_COLUMNS = (
    "SELECT value FROM connector_secret",
    "SELECT url FROM chat_robot",
    "SELECT secret FROM chat_robot",
    "SELECT secret FROM webhook",
    "SELECT secret FROM inbound_hook",
)


@pytest.fixture(autouse=True)
def _own_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No key from the environment; a server database's key file under the test's folder."""
    monkeypatch.delenv(sealing.ENV, raising=False)
    monkeypatch.setenv("SALESFLOW_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def dingtalk() -> Iterator[DingTalkRobot]:
    robot = DingTalkRobot().start()
    yield robot
    robot.stop()


def stored(db: Database) -> list[str]:
    """Every sealed column's values, read with plain SQL."""
    with db.engine.connect() as conn:
        return [v for query in SEALED_COLUMNS for v in conn.execute(text(query)).scalars() if v]


def in_the_files(db: Database, secret: str) -> bool:
    """Whether `secret` is anywhere in the SQLite database's files (the file and its WAL);
    False on PostgreSQL, whose files are the server's."""
    path = db.engine.url.database
    if not db.is_sqlite or not path:
        return False
    files = [Path(path), Path(f"{path}-wal")]
    return any(secret.encode() in f.read_bytes() for f in files if f.exists())


def with_everything(ops: Service, receiver: WebhookReceiver, dingtalk: DingTalkRobot) -> None:
    """A webhook, a signed DingTalk robot and a signed message's secret, beside crm_token."""
    ops.deploy([PROCESSES])
    ops.add_webhook(user="root", url=receiver.url, events=["deal.started"], secret=receiver.secret)
    ops.add_robot(
        user="root",
        name="Sales DingTalk",
        vendor="dingtalk",
        url=dingtalk.url,
        secret=dingtalk.secret,
        events=["escalated"],
    )
    ops.set_inbound_secret("contract_signed", "inbound-secret-0042", user="root")


def notify_and_start(ops: Service) -> None:
    """A deal started (a webhook delivery) and an escalation (a message to the robot)."""
    ops.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    with ops.db.write() as s:
        notify(s, "alice", "escalated", "Overdue: 'Needs analysis' on ACME.")


def signed_message_headers(secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"signature": incoming_signature(secret, stamp, body), "timestamp": stamp}


def test_the_database_holds_no_secret_yet_each_still_reaches_its_receiver(
    ops: Service, server: Any, receiver: WebhookReceiver, dingtalk: DingTalkRobot
) -> None:
    with_everything(ops, receiver, dingtalk)
    values = stored(ops.db)
    assert len(values) == 5 and all(v.startswith("sealed:v1:") for v in values)
    secrets = (TOKEN, receiver.secret, dingtalk.secret, dingtalk.token, "inbound-secret-0042")
    for secret in secrets:
        assert not any(secret in v for v in values), secret
        assert not in_the_files(ops.db, secret), secret

    # The webhook delivery and the robot's message are signed as their receivers check.
    notify_and_start(ops)
    assert deliveries.send_pending(ops.db, clock.now()) == 2
    assert len(receiver.accepted) == 1 and len(dingtalk.accepted) == 1

    # The worker's connector call sends the header with the secret opened.
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/{{{{company}}}}"))
    assert run_due_calls(ops) == 1
    assert [r["headers"]["Authorization"] for r in seen] == [f"Bearer {TOKEN}"]
    assert ops.show(iid)["data"]["crm_id"] == "C-ACME"

    # A signed message is checked against the secret opened.
    body = b'{"data": {"paid": true}}'
    good = signed_message_headers("inbound-secret-0042", body)
    ops.check_signed_message("contract_signed", body, **good)
    with pytest.raises(SignatureError):
        ops.check_signed_message("contract_signed", body, **signed_message_headers("x", body))

    # What pages show: the last four characters and the robot's host, never more.
    shown = ops.integrations(user="root")
    assert shown["webhooks"][0]["secret"] == "…6789"
    assert shown["robots"][0]["secret"] == "…0001"
    assert shown["robots"][0]["url"] == f"{dingtalk.base}/…"
    assert shown["inbound"][0]["secret"] == "…0042"
    assert ops.connector_secrets(user="root")[0].keys() == {"name", "updated_by", "updated_at"}


def test_the_longest_secret_an_admin_may_give_fits_sealed(
    ops: Service, receiver: WebhookReceiver
) -> None:
    receiver.secret = "k" * 300  # MAX_SECRET; sealed it is about 500 characters
    ops.deploy([PROCESSES])
    ops.add_webhook(user="root", url=receiver.url, events=["deal.started"], secret=receiver.secret)
    ops.set_inbound_secret("contract_signed", receiver.secret, user="root")
    assert all(len(v) > 300 for v in stored(ops.db)[1:])
    ops.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    assert deliveries.deliver_due(ops.db, clock.now()) == 1
    assert len(receiver.accepted) == 1


def add_plain_rows(db: Database, receiver: WebhookReceiver, dingtalk: DingTalkRobot) -> None:
    """The rows as a salesflow of before sealing wrote them: plain text."""
    now = clock.now()
    with db.write() as s:
        s.add(ConnectorSecret(name="crm_token", value=TOKEN, updated_by="root", updated_at=now))
        s.add(
            Webhook(
                url=receiver.url, events=["deal.started"], secret=receiver.secret, created_at=now
            )
        )
        s.add(
            ChatRobot(
                name="Old robot",
                vendor="dingtalk",
                url=dingtalk.url,
                secret=dingtalk.secret,
                language="en",
                events=["escalated"],
                created_at=now,
            )
        )
        s.add(InboundHook(message="contract_signed", secret="plain-secret-0042", created_at=now))


@pytest.fixture
def legacy(team: Service) -> Service:
    """A team whose secrets an older salesflow stored, in plain text."""
    team.add_user("root", ["admin"])
    team.add_user("dora", ["designer"])
    team.deploy([PROCESSES])
    return team


def test_plain_legacy_rows_keep_working_and_init_seals_them(
    legacy: Service, server: Any, receiver: WebhookReceiver, dingtalk: DingTalkRobot
) -> None:
    add_plain_rows(legacy.db, receiver, dingtalk)
    host, seen = server
    legacy.allow_host("127.0.0.1", user="root", internal=True)
    start_at_service(legacy, model(f"http://{host}/lookup/{{{{company}}}}"))
    assert run_due_calls(legacy) == 1  # read as it is
    assert seen[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert [v.startswith("sealed:") for v in stored(legacy.db)] == [False] * 5
    assert legacy.integrations(user="root")["robots"][0]["secret"] == "…0001"

    # `salesflow init` after the upgrade seals them all, once.
    assert legacy.setup_database()["sealed"] == 5
    assert legacy.setup_database()["sealed"] == 0
    values = stored(legacy.db)
    assert all(v.startswith("sealed:v1:") for v in values)
    assert not any(TOKEN in v or dingtalk.token in v for v in values)
    notify_and_start(legacy)  # the CRM deal's start and this one's go to the webhook
    assert deliveries.send_pending(legacy.db, clock.now()) == 3
    assert len(receiver.accepted) == 2 and len(dingtalk.accepted) == 1
    body = b"{}"
    legacy.check_signed_message(
        "contract_signed", body, **signed_message_headers("plain-secret-0042", body)
    )


def test_a_plain_legacy_secret_is_sealed_when_written_again(
    legacy: Service, receiver: WebhookReceiver, dingtalk: DingTalkRobot
) -> None:
    add_plain_rows(legacy.db, receiver, dingtalk)
    legacy.set_connector_secret("crm_token", "n3w-T0KEN", user="root")
    legacy.set_inbound_secret("contract_signed", "new-plain-secret-42", user="root")
    with legacy.db.engine.connect() as conn:
        token = conn.execute(text("SELECT value FROM connector_secret")).scalar_one()
        inbound = conn.execute(text("SELECT secret FROM inbound_hook")).scalar_one()
    assert token.startswith("sealed:v1:") and "n3w-T0KEN" not in token  # the whole secret
    assert inbound.startswith("sealed:v1:") and "new-plain-secret-42" not in inbound
    with legacy.db.read() as s:
        assert sealing.sealer(s).open(token, "secret 'crm_token'") == "n3w-T0KEN"


def test_a_wrong_key_makes_an_incident_naming_the_secret_and_the_right_key_mends_it(
    ops: Service, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/{{{{company}}}}", retries=3))
    monkeypatch.setenv(sealing.ENV, OTHER_KEY)  # not the key file crm_token was sealed with

    assert run_due_calls(ops) == 0
    assert seen == []  # nothing was sent, not even an empty header
    deal = ops.show(iid)
    assert deal["status"] == "error" and deal["error"]["element_id"] == "task_crm"
    assert (
        "the sealed secret 'crm_token' cannot be opened with this machine's key "
        f"(SALESFLOW_SEALING_KEY): {FIX}"
    ) in deal["error"]["message"]
    worded = incident_record(deal["error"], "zh-Hans")
    assert (
        worded is not None
        and (
            "已加密保存的密钥「crm_token」无法用本机的密钥（SALESFLOW_SEALING_KEY）解开："
            "请把 SALESFLOW_SEALING_KEY 设为加密时所用的密钥"
        )
        in worded["text"]
    )

    monkeypatch.delenv(sealing.ENV)  # the key it was sealed with, again
    ops.retry(iid, user="mia")
    assert run_due_calls(ops) == 1
    assert seen[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert ops.show(iid)["status"] == "running"


def test_a_lost_key_says_so(ops: Service, server: Any) -> None:
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/x"))
    key_file = sealing.key_file(ops.db.engine.url, os.environ)
    key_file.unlink()
    assert run_due_calls(ops) == 0 and seen == []
    message = ops.show(iid)["error"]["message"]
    assert (
        "the sealed secret 'crm_token' cannot be opened: this machine has no sealing key "
        f"(neither SALESFLOW_SEALING_KEY nor {key_file}): {FIX}"
    ) in message
    worded = incident_record(ops.show(iid)["error"], "zh-Hans")
    assert (
        worded is not None
        and (f"本机没有加密密钥（既没有 SALESFLOW_SEALING_KEY，也没有 {key_file}）")
        in worded["text"]
    )


def test_a_wrong_key_fails_the_delivery_clearly_and_the_page_still_shows(
    ops: Service,
    receiver: WebhookReceiver,
    dingtalk: DingTalkRobot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_everything(ops, receiver, dingtalk)
    notify_and_start(ops)
    monkeypatch.setenv(sealing.ENV, OTHER_KEY)
    now = clock.now()

    assert deliveries.send_pending(ops.db, now) == 0
    assert receiver.received == [] and dingtalk.received == []
    shown = ops.integrations(user="root")
    [delivery] = shown["webhooks"][0]["deliveries"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 1  # tried again later
    assert delivery["last_error"].startswith(
        f"the sealed signing secret of the webhook 1 ({receiver.url}) cannot be opened with "
        f"this machine's key (SALESFLOW_SEALING_KEY): {FIX}"
    )
    [chat] = shown["chat_log"]
    assert chat["last_error"].startswith(
        "the sealed address of the robot 'Sales DingTalk' cannot be opened"
    )
    # The page lists them without a value it cannot open.
    assert shown["webhooks"][0]["secret"] == "••••" and shown["robots"][0]["url"] == "…"
    body = b"{}"
    with pytest.raises(SignatureError):  # a 401 to the sender, not a 500
        ops.check_signed_message(
            "contract_signed", body, **signed_message_headers("inbound-secret-0042", body)
        )

    monkeypatch.delenv(sealing.ENV)
    assert deliveries.send_pending(ops.db, now + timedelta(minutes=1)) == 2
    assert len(receiver.accepted) == 1 and len(dingtalk.accepted) == 1


def test_a_secret_this_key_cannot_open_fails_only_the_calls_that_use_it(
    ops: Service, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sealing.ENV, OTHER_KEY)
    ops.set_connector_secret("erp_token", "sealed-elsewhere", user="root")
    monkeypatch.delenv(sealing.ENV)
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/{{{{company}}}}"))
    assert run_due_calls(ops) == 1  # crm_token opens; erp_token is never asked for
    assert seen[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert ops.show(iid)["status"] == "running"
