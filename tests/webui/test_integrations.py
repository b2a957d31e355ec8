"""The integrations over the web: the admins' page (robots, webhooks, logs with replay,
secrets of signed messages), everyone's own chat choice, the webhook API (201 for admins,
403 for others, the JSON error shape), and the signed form of the message endpoint, accepted
with a good signature and refused with 401 otherwise."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from engine import clock
from engine.core.webhooks import incoming_signature
from engine.jobs import deliveries
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA
from tests.engine.chat_servers import WebhookReceiver, WeComRobot
from tests.webui.test_api import conforms, error_of

from .conftest import LEAD, csrf_token, login, post, text

API = "/api/v1"
SECRET = "payments-shared-secret-42"
ROBOT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(fail_first=2).start()
    yield server
    server.stop()


def bearer(service: Service, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.create_token(user)['token']}"}


def test_the_admin_page_adds_a_robot_and_a_webhook_and_replays(
    client: FlaskClient, staff: Service, receiver: WebhookReceiver
) -> None:
    login(client, "root")
    page = client.get("/integrations")
    assert page.status_code == 200
    assert "No robot yet" in text(page) and "No webhook yet" in text(page)
    token = csrf_token(client, "/integrations")
    bad = client.post(
        "/integrations/robots",
        data={"csrf_token": token, "name": "Sales", "vendor": "wecom", "url": "ftp://x"},
    )
    assert bad.status_code == 422 and "http:// or https://" in text(bad)
    wecom = WeComRobot().start()
    try:
        added = client.post(
            "/integrations/robots",
            data={
                "csrf_token": token,
                "name": "Sales group",
                "vendor": "wecom",
                "url": wecom.url,
                "language": "zh",
                "events": ["incident", "escalated"],
            },
        )
        assert added.status_code == 302
        [robot] = staff.integrations(user="root")["robots"]
        client.post(f"/integrations/robots/{robot['id']}/test", data={"csrf_token": token})
        deliveries.send_pending(staff.db, clock.now())
        assert "salesflow 已连接到本群" in wecom.accepted[0].json()["markdown"]["content"]
    finally:
        wecom.stop()
    page = client.get("/integrations")
    assert "Sales group" in text(page) and wecom.key not in page.get_data(as_text=True)

    added = client.post(
        "/integrations/webhooks",
        data={
            "csrf_token": token,
            "url": receiver.url,
            "events": ["deal.started"],
            "secret": receiver.secret,
        },
    )
    assert added.status_code == 302
    assert receiver.secret not in client.get("/integrations").get_data(as_text=True)
    iid = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    now = clock.now()
    for wait in (0, 30, 90):  # fails twice, taken on the third try
        deliveries.deliver_due(staff.db, now + timedelta(seconds=wait))
    assert len(receiver.accepted) == 1
    [hook] = staff.webhooks(user="root")
    [delivery] = hook["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["instance_id"]) == (
        "delivered",
        3,
        iid,
    )
    page = client.get("/integrations")
    assert f"delivery-{delivery['id']}" in page.get_data(as_text=True)
    replayed = client.post(
        f"/integrations/deliveries/{delivery['id']}/replay", data={"csrf_token": token}
    )
    assert replayed.status_code == 302
    deliveries.deliver_due(staff.db, clock.now())
    assert len(receiver.accepted) == 2
    assert {r.headers["X-Salesflow-Delivery"] for r in receiver.received} == {
        delivery["delivery_id"]
    }


def test_the_page_in_chinese(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(client.get("/integrations"))
    assert "团队群聊机器人" in page and "企业微信" in page and "事件推送" in page


def test_an_admin_pauses_and_resumes_a_robot_and_a_webhook_on_the_page(
    client: FlaskClient, staff: Service
) -> None:
    robot = staff.add_robot(user="root", name="Sales group", vendor="wecom", url=ROBOT_URL)
    hook = staff.add_webhook(
        user="root", url="https://erp.example.com/in", events=["deal.won"], secret=SECRET
    )
    login(client, "root")
    post(client, "/language", {"lang": "zh-Hans"})
    token = csrf_token(client, "/integrations")
    for path in (f"robots/{robot['id']}", f"webhooks/{hook['id']}"):
        paused = client.post(
            f"/integrations/{path}/pause", data={"csrf_token": token, "paused": "1"}
        )
        assert paused.status_code == 302
    shown = client.get("/integrations").get_data(as_text=True)
    assert shown.count('<span class="badge paused">已暂停</span>') == 2
    assert shown.count(">恢复</button>") == 2
    assert staff.integrations(user="root")["robots"][0]["paused"] is True
    assert staff.webhooks(user="root")[0]["paused"] is True
    for path in (f"robots/{robot['id']}", f"webhooks/{hook['id']}"):
        client.post(f"/integrations/{path}/pause", data={"csrf_token": token, "paused": "0"})
    assert "已暂停" not in text(client.get("/integrations"))
    assert staff.integrations(user="root")["robots"][0]["paused"] is False


def test_everyone_chooses_their_own_chat(client: FlaskClient, staff: Service) -> None:
    login(client, "alice")
    empty = client.get("/integrations/mine")
    assert "No team chat is connected yet" in text(empty)
    assert client.get("/integrations").status_code == 403
    robot = staff.add_robot(user="root", name="Reps", vendor="feishu", url="https://f.example/h")
    token = csrf_token(client, "/integrations/mine")
    saved = client.post(
        "/integrations/mine",
        data={"csrf_token": token, "robot": str(robot["id"]), "events": ["assigned", "digest"]},
    )
    assert saved.status_code == 302
    assert staff.my_chat(user="alice")["robot_id"] == robot["id"]
    assert staff.my_chat(user="alice")["events"] == ["assigned", "digest"]
    bad = client.post("/integrations/mine", data={"csrf_token": token, "robot": "999"})
    assert bad.status_code == 422 and "Choose one of the team" in text(bad)
    assert staff.my_chat(user="alice")["robot_id"] == robot["id"]  # nothing lost


def test_webhook_api_admins_201_others_403(
    client: FlaskClient, staff: Service, receiver: WebhookReceiver
) -> None:
    body = {"url": receiver.url, "events": ["deal.started", "deal.won"], "secret": receiver.secret}
    refused = client.post(f"{API}/webhooks", json=body, headers=bearer(staff, "mia"))
    error_of(refused, 403, "ForbiddenError")
    error_of(client.get(f"{API}/webhooks", headers=bearer(staff, "alice")), 403, "ForbiddenError")
    error_of(client.post(f"{API}/webhooks", json=body), 401, "Unauthorized")

    root = bearer(staff, "root")
    made = client.post(f"{API}/webhooks", json=body, headers=root)
    assert made.status_code == 201, made.get_json()
    conforms(made.get_json(), "Webhook")
    assert made.get_json()["secret"] == "…6789"
    assert receiver.secret not in made.get_data(as_text=True)

    wrong = client.post(f"{API}/webhooks", json={**body, "url": "gopher://x"}, headers=root)
    assert error_of(wrong, 422, "ValidationError")["field"] == "url"
    short = client.post(f"{API}/webhooks", json={**body, "secret": "short"}, headers=root)
    assert error_of(short, 422)["field"] == "secret"

    staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    listed = client.get(f"{API}/webhooks", headers=root)
    conforms(listed.get_json(), "WebhookList")
    [hook] = listed.get_json()["webhooks"]
    assert [d["event"] for d in hook["deliveries"]] == ["deal.started"]
    replay = client.post(
        f"{API}/webhooks/deliveries/{hook['deliveries'][0]['id']}/replay", headers=root
    )
    assert replay.status_code == 200 and replay.get_json()["replays"] == 1
    error_of(client.post(f"{API}/webhooks/deliveries/99999/replay", headers=root), 404)
    pause = f"{API}/webhooks/{hook['id']}/pause"
    error_of(client.post(pause, headers=bearer(staff, "mia")), 403, "ForbiddenError")
    paused = client.post(pause, headers=root)
    assert paused.status_code == 200 and paused.get_json()["paused"] is True
    conforms(paused.get_json(), "Webhook")
    resumed = client.post(f"{API}/webhooks/{hook['id']}/resume", headers=root)
    assert resumed.status_code == 200 and resumed.get_json()["paused"] is False
    error_of(client.post(f"{API}/webhooks/99999/pause", headers=root), 404)
    gone = client.delete(f"{API}/webhooks/{hook['id']}", headers=root)
    assert gone.status_code == 204
    assert client.get(f"{API}/webhooks", headers=root).get_json() == {"webhooks": []}


def _waiting_deal(service: Service) -> str:
    service.deploy([ENGINE_DATA / "messages.bpmn"])
    iid = str(
        service.start("messages", owner="alice", data={"company": "ACME", "contract_no": "C-9"})[
            "instance_id"
        ]
    )
    [task] = service.tasks(instance=iid)
    service.complete(task["task_id"], user="alice")
    return iid


def _signed(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    return {
        "Content-Type": "application/json",
        "X-Salesflow-Timestamp": stamp,
        "X-Salesflow-Signature": incoming_signature(secret, stamp, body),
    }


def test_a_signed_message_is_delivered_without_a_token(client: FlaskClient, staff: Service) -> None:
    iid = _waiting_deal(staff)
    staff.set_inbound_secret("contract_signed", SECRET, user="root")
    body = json.dumps(
        {"correlate": {"contract_no": "C-9"}, "data": {"paid": True}, "message_id": "pay-1"}
    ).encode()
    # The signature, computed by hand as the other system would.
    stamp = str(int(time.time()))
    by_hand = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert _signed(body, at=int(stamp))["X-Salesflow-Signature"] == f"sha256={by_hand}"

    answer = client.post(f"{API}/hooks/messages/contract_signed", data=body, headers=_signed(body))
    assert answer.status_code == 200, answer.get_json()
    conforms(answer.get_json(), "MessageResult")
    assert answer.get_json()["instance_id"] == iid
    assert staff.show(iid)["data"]["paid"] is True
    [shown] = staff.inbound_hooks(user="root")
    assert shown["secret"] == "…t-42" and shown["last_used_at"] is not None


@pytest.mark.parametrize(
    "case", ["no signature", "wrong secret", "body changed", "too old", "unknown name", "no time"]
)
def test_a_bad_signature_is_refused_with_401_and_nothing_changes(
    client: FlaskClient, staff: Service, case: str
) -> None:
    iid = _waiting_deal(staff)
    staff.set_inbound_secret("contract_signed", SECRET, user="root")
    body = json.dumps({"correlate": {"contract_no": "C-9"}, "data": {"paid": True}}).encode()
    headers = _signed(body)
    name, sent = "contract_signed", body
    if case == "no signature":
        del headers["X-Salesflow-Signature"]
    elif case == "wrong secret":
        headers = _signed(body, secret="not-the-shared-secret")
    elif case == "body changed":
        sent = body.replace(b"true", b"false")
    elif case == "too old":
        headers = _signed(body, at=int(time.time()) - 3600)
    elif case == "unknown name":
        name = "payment_received"
    elif case == "no time":
        del headers["X-Salesflow-Timestamp"]
    answer = client.post(f"{API}/hooks/messages/{name}", data=sent, headers=headers)
    error = error_of(answer, 401, "Unauthorized")
    assert error["message"]
    assert "paid" not in staff.show(iid)["data"]  # nothing delivered


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://[::1", "events": ["deal.won"], "secret": "s" * 20}, "url"),
        ({"url": "http://a:port/", "events": ["deal.won"], "secret": "s" * 20}, "url"),
        ({"url": "http://a/\u0000", "events": ["deal.won"], "secret": "s" * 20}, "body"),  # NUL
        ({"url": "https://a/" + "x" * 3000, "events": ["deal.won"], "secret": "s" * 20}, "url"),
        ({"url": "https://a/", "events": "deal.won", "secret": "s" * 20}, "events"),
        ({"url": "https://a/", "events": [], "secret": "s" * 20}, "events"),
        ({"url": "https://a/", "events": ["deal.won"], "secret": 12345678901234567}, "secret"),
        ({"url": "https://a/", "events": ["deal.won"], "secret": "s" * 20, "x": 1}, "x"),
    ],
)
def test_hostile_webhooks_are_422_naming_the_field(
    client: FlaskClient, staff: Service, body: dict[str, object], field: str
) -> None:
    answer = client.post(f"{API}/webhooks", json=body, headers=bearer(staff, "root"))
    assert error_of(answer, 422)["field"] == field
    assert staff.webhooks(user="root") == []  # nothing registered
