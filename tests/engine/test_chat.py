"""Team-chat robots: notifications go to WeCom, Feishu and DingTalk group robots (real local
servers that check the vendors' request formats and signatures), the team's robots for their
events and the robot each user chose for their own, in the recipient's language, with a
link back; a refusal is retried; secrets are never shown back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.core import chat
from engine.errors import ForbiddenError, ValidationError
from engine.jobs import deliveries
from engine.store.models import ChatDelivery
from engine.store.notifications import notify
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

from .chat_servers import DingTalkRobot, FeishuBot, WeComRobot


@pytest.fixture
def admins(team: Service) -> Service:
    team.add_user("root", ["admin"])
    team.set_language("mia", "zh")
    return team


@pytest.fixture
def robots() -> Iterator[tuple[WeComRobot, FeishuBot, DingTalkRobot]]:
    servers = (WeComRobot().start(), FeishuBot().start(), DingTalkRobot().start())
    yield servers
    for server in servers:
        server.stop()


def _tell(
    service: Service, username: str, kind: str, text: str, instance_id: int | None = None
) -> None:
    """A notification, as a feature writes it (engine.store.notifications.notify)."""
    with service.db.write() as s:
        notify(s, username, kind, text, instance_id=instance_id)


def test_each_vendor_takes_a_signed_message_in_its_format(
    admins: Service, robots: tuple[WeComRobot, FeishuBot, DingTalkRobot]
) -> None:
    wecom, feishu, dingtalk = robots
    for name, vendor, server, secret in (
        ("Sales WeCom", "wecom", wecom, None),
        ("Sales Feishu", "feishu", feishu, feishu.secret),
        ("Sales DingTalk", "dingtalk", dingtalk, dingtalk.secret),
    ):
        admins.add_robot(
            user="root",
            name=name,
            vendor=vendor,
            url=server.url,
            secret=secret,
            events=["escalated", "incident"],
        )
    _tell(admins, "alice", "escalated", "Overdue: 'Needs analysis' on ACME was due 2 Mar.", 7)
    _tell(admins, "alice", "reassigned", "Bob gave you the task 'Quote'.")  # not a team event

    assert deliveries.send_pending(admins.db, clock.now()) == 3
    for server in robots:
        assert len(server.accepted) == 1, server.received
    content = wecom.accepted[0].json()["markdown"]["content"]
    assert "Needs analysis" in content and "For alice" in content
    assert "http://127.0.0.1:5000/deals/7" in content  # the link back to the deal
    card = feishu.accepted[0].json()["card"]
    button = card["elements"][-1]["actions"][0]
    assert button["url"] == "http://127.0.0.1:5000/deals/7"
    assert card["header"]["title"]["content"] == "salesflow · SLA escalation"
    assert dingtalk.accepted[0].json()["markdown"]["title"] == "salesflow · SLA escalation"
    # Nothing is sent twice.
    assert deliveries.send_pending(admins.db, clock.now()) == 0
    assert sum(len(s.received) for s in robots) == 3


def test_a_wrong_signing_secret_is_refused_and_retried_with_backoff(
    admins: Service, robots: tuple[WeComRobot, FeishuBot, DingTalkRobot]
) -> None:
    _wecom, feishu, dingtalk = robots
    admins.add_robot(
        user="root", name="DT", vendor="dingtalk", url=dingtalk.url, secret="SECwrong",
        events=["incident"],
    )  # fmt: skip
    admins.add_robot(
        user="root", name="FS", vendor="feishu", url=feishu.url, secret="wrong", events=["incident"]
    )
    _tell(admins, "alice", "incident", "Deal 'ACME' stopped: Grade lead failed.", 3)
    now = clock.now()
    assert deliveries.send_pending(admins.db, now) == 0
    assert len(dingtalk.received) == 1 and not dingtalk.accepted
    assert len(feishu.received) == 1 and not feishu.accepted
    with admins.db.read() as s:
        rows = list(s.scalars(select(ChatDelivery).order_by(ChatDelivery.id)))
    assert [r.status for r in rows] == ["pending", "pending"]
    assert "errcode 310000" in (rows[0].last_error or "")
    assert "code 19021" in (rows[1].last_error or "")
    assert all(r.attempts == 1 and r.next_at == now + timedelta(seconds=30) for r in rows)
    # Not again before the wait is over.
    assert deliveries.send_pending(admins.db, now + timedelta(seconds=29)) == 0
    assert len(dingtalk.received) == 1


def test_people_choose_their_own_robot_and_read_it_in_their_language(
    admins: Service, robots: tuple[WeComRobot, FeishuBot, DingTalkRobot]
) -> None:
    wecom, _feishu, dingtalk = robots
    team_robot = admins.add_robot(
        user="root", name="Team", vendor="wecom", url=wecom.url, events=["incident"]
    )
    own = admins.add_robot(
        user="root", name="Managers", vendor="dingtalk", url=dingtalk.url, secret=dingtalk.secret
    )
    assert own["events"] == []  # no team events: only those who chose it
    mine = admins.choose_chat(user="mia", robot_id=own["id"], events=["assigned", "escalated"])
    assert mine["robot_id"] == own["id"] and mine["events"] == ["assigned", "escalated"]
    assert {r["name"] for r in admins.my_chat(user="alice")["robots"]} == {"Team", "Managers"}

    _tell(admins, "mia", "reassigned", "王芳 把商机「ACME」的任务「报价」交给了你。", 5)
    _tell(admins, "alice", "reassigned", "Bob gave you the task 'Quote'.")  # alice chose none
    assert deliveries.send_pending(admins.db, clock.now()) == 1
    sent = dingtalk.accepted[0].json()["markdown"]
    assert sent["title"] == "salesflow · 你有新任务"  # mia reads Chinese
    assert "在 salesflow 中打开" in sent["text"]
    assert "发给" not in sent["text"]  # her own robot: no need to say whose
    assert not wecom.received  # "assigned" is no event of the team's robot
    assert team_robot["secret"] is None

    # Choosing no chat stops it.
    assert admins.choose_chat(user="mia", robot_id=None, events=[])["robot_id"] is None
    _tell(admins, "mia", "reassigned", "又一个任务。", 5)
    assert deliveries.send_pending(admins.db, clock.now()) == 0


def test_a_real_loss_reaches_the_owners_chat(
    admins: Service, robots: tuple[WeComRobot, FeishuBot, DingTalkRobot]
) -> None:
    """End to end: a manager marks alice's deal lost; alice is told (kind "lost"), and her
    robot's group reads it."""
    wecom = robots[0]
    admins.deploy([PROCESSES])
    robot = admins.add_robot(user="root", name="Mine", vendor="wecom", url=wecom.url)
    admins.choose_chat(user="alice", robot_id=robot["id"], events=["incident"])
    iid = admins.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    reason = admins.lost_reasons("sales_pipeline")[0]["value"]
    admins.mark_lost(iid, user="mia", reason=reason)
    assert deliveries.send_pending(admins.db, clock.now()) == 1
    content = wecom.accepted[0].json()["markdown"]["content"]
    assert "ACME" in content and f"/deals/{iid}" in content


def test_a_paused_robot_is_told_nothing_until_resumed(
    admins: Service, robots: tuple[WeComRobot, FeishuBot, DingTalkRobot]
) -> None:
    wecom = robots[0]
    admins.deploy([PROCESSES])
    robot = admins.add_robot(
        user="root", name="Team", vendor="wecom", url=wecom.url, events=["incident"]
    )
    admins.pause_robot(robot["id"], paused=True, user="root")
    reason = admins.lost_reasons("sales_pipeline")[0]["value"]

    def lose() -> None:
        iid = admins.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
        admins.mark_lost(iid["instance_id"], user="mia", reason=reason)

    lose()
    assert deliveries.send_pending(admins.db, clock.now()) == 0 and wecom.received == []
    [listed] = admins.integrations(user="root")["robots"]
    assert listed["paused"] is True and listed["deliveries"] == {}  # nothing queued
    admins.pause_robot(robot["id"], paused=False, user="root")
    lose()
    assert deliveries.send_pending(admins.db, clock.now()) == 1
    assert len(wecom.accepted) == 1


def test_only_admins_register_robots_and_secrets_are_never_shown(
    admins: Service, robots: tuple[WeComRobot, FeishuBot, DingTalkRobot]
) -> None:
    _wecom, feishu, _dingtalk = robots
    with pytest.raises(ForbiddenError):
        admins.add_robot(user="mia", name="X", vendor="feishu", url=feishu.url)
    with pytest.raises(ForbiddenError):
        admins.integrations(user="alice")
    with pytest.raises(ValidationError) as bad:
        admins.add_robot(user="root", name="X", vendor="feishu", url="file:///etc/passwd")
    assert bad.value.field == "url"
    with pytest.raises(ValidationError) as bad:
        admins.add_robot(user="root", name="X", vendor="slack", url=feishu.url)
    assert bad.value.field == "vendor"
    made = admins.add_robot(
        user="root",
        name="FS",
        vendor="feishu",
        url=feishu.url + "?k=topsecret",
        secret=feishu.secret,
    )
    shown = json.dumps(admins.integrations(user="root"), ensure_ascii=False)
    assert feishu.secret not in shown and "topsecret" not in shown
    assert feishu.token not in shown  # Feishu's token is in the path: not shown either
    assert made["url"] == f"{feishu.base}/…"
    assert made["secret"] == "…0002"


def test_payloads_and_signatures_match_the_vendors_examples() -> None:
    """The signatures, computed as the vendors' documentation does it by hand."""
    import base64
    import hashlib
    import hmac
    from urllib.parse import parse_qs, urlsplit

    msg = chat.ChatMessage(event="incident", text="Deal *X* [y](z)", lang="en", link="https://a/b")
    req = chat.chat_request("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=T",
                            "SECabc", msg, 1_700_000_000_123)  # fmt: skip
    query = parse_qs(urlsplit(req.url).query)
    expected = base64.b64encode(
        hmac.new(b"SECabc", b"1700000000123\nSECabc", hashlib.sha256).digest()
    ).decode()
    assert query == {"access_token": ["T"], "timestamp": ["1700000000123"], "sign": [expected]}
    body = json.loads(req.body)
    assert "\\*X\\*" in body["markdown"]["text"]  # markup in names is not markup in the group
    feishu = json.loads(chat.chat_request("feishu", "https://f", "s", msg, 1_700_000_000_999).body)
    assert feishu["timestamp"] == "1700000000"
    assert (
        feishu["sign"]
        == base64.b64encode(hmac.new(b"1700000000\ns", b"", hashlib.sha256).digest()).decode()
    )
    assert chat.refusal("wecom", 200, '{"errcode":0,"errmsg":"ok"}') is None
    assert chat.refusal("feishu", 200, '{"code":19021,"msg":"sign"}') == "code 19021: sign"
    assert chat.refusal("dingtalk", 502, "bad gateway") == "HTTP 502: bad gateway"
