# ruff: noqa: RUF001 - full-width Chinese punctuation in the team's own names and notes
"""The demo's integrations (issue 18): the team's chat robots with their history, the ERP told
of won and lost deals by a webhook, and the ERP among the connectors' hosts, with the
designer's draft creating the sales order there from a service task.

Nothing leaves the machine, during the load or after it.  The robots and the webhook point
at a local test endpoint (LOCAL_TEST: 127.0.0.1, port 9, where nothing listens: a refused
connection, at once and every time), the robots' names say so, and once the story is told
they are paused (`pause`): what the team does after the load queues nothing for them, and
the worker (`make run` starts one) sends nothing.  An admin who connects a real group
removes them and adds its robot.

The ERP is connected at the story's start, the chats three weeks before its end (the logs
keep a month: engine.jobs.deliveries.KEEP).  Their logs are the story's own, written by the
code the worker's deliveries go through, with nothing sent: the change writer records each
won or lost deal for the webhook in the change's transaction, `hand_to_chats` turns the
notifications of the story into chat deliveries, and each delivery is taken at its moment,
as the worker would take it, and recorded (`record_attempt`, the worker's own bookkeeping)
with the answer its receiver would give: the vendor's `errcode 0`, a WeCom rate limit
(errcode 45009) answered once and taken on the retry, the ERP down for maintenance once
(HTTP 503) and taken on the retry.  Nothing is left pending, so the worker's first turn
after the load has nothing to send.  Why not a real exchange with a local server: the
sending lives in engine.jobs, which the use cases may not call, and a history sent to a
server gone after the load would show the same rows.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from engine.core.connectors import SALESFLOW
from engine.core.roles import role_key
from engine.store import integrations as rows
from engine.store.models import ChatDelivery, WebhookDelivery
from engine.usecases.service import Service

__all__ = [
    "ERP_HOST",
    "ERP_ORDER_TASK",
    "ERP_SECRET",
    "LOCAL_TEST",
    "DemoIntegrations",
    "connect",
    "with_erp_order",
]

ADMIN = "admin"
# Where the robots and the webhook deliver: this machine, a port nothing listens on.
LOCAL_TEST = "http://127.0.0.1:9"
TEAM_ROBOT = "销售团队群（演示：本机测试地址）"
OWN_ROBOT = "大客户跟进群（演示：本机测试地址）"
CHAT_REP = "li.na"  # the rep who chose the Feishu group for her own notifications
MANAGER = "zhang.wei"
WEBHOOK_EVENTS = ("deal.won", "deal.lost")
ERP_HOST = "erp.example-company.cn"
ERP_SECRET = "erp_api_token"
ERP_ORDER_TASK = "task_create_erp_order"
# When, before the story's end, the chats are connected (within the month the logs keep:
# engine.jobs.deliveries.KEEP), and the manager does what tells the rep in her chats.
CHATS_DAYS_BEFORE_END = 20
LOST_DAYS_BEFORE_END = 3
HANDED_DAYS_BEFORE_END = 2
# The receivers' answers: the first delivery a receiver takes in the story's last days is
# refused once, in its own words, and taken on the retry (so the logs' recent rows show one);
# every other one is taken at once.  Receiver: (days before the end, refusal, HTTP status).
REFUSALS = {
    "wecom": (LOST_DAYS_BEFORE_END, "errcode 45009: api freq out of limit", 200),
    "erp": (10, "HTTP 503: 金蝶云星空正在例行维护，请稍后重试", 503),
}
ANSWERED_AFTER = timedelta(seconds=2)  # the worker's turn and the receiver's answer
TAKEN = 500  # deliveries taken per moment: more than a moment of the story makes


@dataclass
class DemoIntegrations:
    """The integrations as the story goes: `at(moment)` does what falls due by then (the
    manager's changes that tell the rep) and takes the deliveries due, as the worker would."""

    service: Service
    end: datetime
    done: set[Callable[[Service], None]] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)  # the receivers that refused once

    def at(self, moment: datetime) -> None:
        """What happens at `moment` (the clock moved there): the scripted changes, then the
        deliveries, each answered as its receiver would."""
        for days, change in SCRIPT:
            if change not in self.done and moment >= self.end - timedelta(days=days):
                self.done.add(change)
                change(self.service)
        self._take_due(moment)

    def pause(self) -> None:
        """Pause the robots and the webhook once the story is told (see the module)."""
        for robot in self.service.integrations(user=ADMIN)["robots"]:
            self.service.pause_robot(robot["id"], paused=True, user=ADMIN)
        for hook in self.service.webhooks(user=ADMIN):
            self.service.pause_webhook(hook["id"], paused=True, user=ADMIN)

    def _take_due(self, now: datetime) -> None:
        db = self.service.db
        with db.read() as s:  # most moments have nothing for the robots or the ERP
            if not (rows.has_news(s) or rows.any_due(s, now)):
                return
        with db.write() as s:
            rows.hand_to_chats(s, now, TAKEN)
            s.flush()  # its deliveries are due now
            vendors = {r.id: r.vendor for r in rows.robots(s)}
            for row in rows.claim_due(s, ChatDelivery, now, TAKEN, skip_locked=False):
                _answer(row, now, self._refused(vendors.get(row.robot_id, ""), now))
            for hook_row in rows.claim_due(s, WebhookDelivery, now, TAKEN, skip_locked=False):
                _answer(hook_row, now, self._refused("erp", now))

    def _refused(self, receiver: str, now: datetime) -> tuple[str, int] | None:
        """How the receiver refuses this delivery's first try (None: it takes it)."""
        if receiver not in REFUSALS or receiver in self.refused:
            return None
        days, error, status = REFUSALS[receiver]
        if now < self.end - timedelta(days=days):
            return None
        self.refused.add(receiver)
        return error, status


def _answer(
    row: ChatDelivery | WebhookDelivery, now: datetime, refused: tuple[str, int] | None
) -> None:
    """Record a delivery's tries: refused once (then retried after the backoff), then taken."""
    at = now + ANSWERED_AFTER
    if refused is not None:
        rows.record_attempt(row, at, *refused)
        at = (row.next_at or at) + ANSWERED_AFTER
    rows.record_attempt(row, at, None, 200)


def connect(service: Service, end: datetime) -> DemoIntegrations:
    """The admin connects the ERP at the story's start: its webhook for won and lost deals,
    and its host and token for connectors.  The chats come later (`_connect_chats`)."""
    service.add_webhook(
        user=ADMIN,
        url=f"{LOCAL_TEST}/k3cloud/salesflow/deal-events",
        events=list(WEBHOOK_EVENTS),
        secret=secrets.token_hex(24),
    )
    service.allow_host(ERP_HOST, user=ADMIN, note="金蝶云星空 ERP：成交后创建销售订单")
    placeholder = f"demo-placeholder-{secrets.token_hex(8)}"  # not a credential of anything
    service.set_connector_secret(ERP_SECRET, placeholder, user=ADMIN)
    return DemoIntegrations(service, end)


def _connect_chats(service: Service) -> None:
    """The admin adds the WeCom group of the sales team (told of tasks given, escalations
    and deals stopped or lost) and a Feishu group, and tests both; a rep chooses the Feishu
    group for her own notifications."""
    team = service.add_robot(
        user=ADMIN,
        name=TEAM_ROBOT,
        vendor="wecom",
        url=f"{LOCAL_TEST}/cgi-bin/webhook/send?key={secrets.token_hex(16)}",
        language="zh",
        events=["assigned", "escalated", "incident"],
    )
    own = service.add_robot(
        user=ADMIN,
        name=OWN_ROBOT,
        vendor="feishu",
        url=f"{LOCAL_TEST}/open-apis/bot/v2/hook/{secrets.token_hex(16)}",
        secret=secrets.token_urlsafe(18),  # generated: the demo holds no real signing key
        language="zh",
    )
    for robot in (team, own):
        service.test_robot(robot["id"], user=ADMIN)
    service.set_language(CHAT_REP, "zh")  # she reads salesflow, and her chats, in Chinese
    service.choose_chat(user=CHAT_REP, robot_id=own["id"], events=["assigned", "incident"])


def _lose_for_the_rep(service: Service) -> None:
    """The manager marks one of the rep's early-stage deals lost: the rep is told, in her
    chats too."""
    early = ("lead", "qualification", "contact", "needs")
    deals = [
        d
        for d in service.instances(process="sales_pipeline")
        if d["owner"] == CHAT_REP and d["status"] == "running" and d["stage"] in early
    ]
    if deals:
        deal = max(deals, key=lambda d: int(d["instance_id"]))
        service.mark_lost(deal["instance_id"], user=MANAGER, reason="chose a competitor")


def _hand_to_the_rep(service: Service) -> None:
    """The manager gives one of his own deals' open tasks to the rep (he is at a trade
    show): she is told, in her chats too."""
    rep_role = role_key("Sales Rep")
    for task in service.tasks(user=MANAGER):
        if task["assignee"] == MANAGER and role_key(task["lane"] or "") == rep_role:
            service.reassign(str(task["task_id"]), CHAT_REP, actor=MANAGER)
            return


# What happens in the story's last weeks, in order: (days before its end, the change).
SCRIPT: tuple[tuple[int, Callable[[Service], None]], ...] = (
    (CHATS_DAYS_BEFORE_END, _connect_chats),
    (LOST_DAYS_BEFORE_END, _lose_for_the_rep),
    (HANDED_DAYS_BEFORE_END, _hand_to_the_rep),
)


# --- the designer's draft: the sales order created in the ERP -------------------------------

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
JOIN, RECORD_WIN, FINANCE = "gw_contract_join", "task_record_win", "lane_finance"
OLD_FLOW = "flow_join_to_record_win"
TO_ORDER, FROM_ORDER = "flow_join_to_erp_order", "flow_erp_order_to_record_win"
ORDER_NAME = "Create sales order in ERP"
ORDER_NAME_ZH = "在金蝶云星空创建销售订单"
# Where the task is drawn: in the finance lane, on the way down from the join to the win.
ORDER_BOUNDS = {"x": "2890", "y": "940", "width": "100", "height": "80"}
ORDER_TOP, ORDER_BOTTOM = ("2940", "940"), ("2940", "1020")


def with_erp_order(files: dict[str, str]) -> dict[str, str]:
    """The pipeline's files with a service task between the contract checks and the win
    that creates the sales order in the ERP through a connector (its token one of the
    connectors' secrets) and keeps the order number in the deal's data."""
    name = next(n for n, text in files.items() if f'id="{RECORD_WIN}"' in text)
    root = etree.fromstring(files[name].encode())
    _add_order_task(root)
    _draw_order_task(root)
    etree.cleanup_namespaces(root, top_nsmap={"salesflow": SALESFLOW})
    text = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    changed = {**files, name: text}
    for json_name, json_text in files.items():
        if json_name.endswith(".zh-Hans.json"):
            translations = json.loads(json_text)
            translations.setdefault("elements", {})[ERP_ORDER_TASK] = {"name": ORDER_NAME_ZH}
            changed[json_name] = json.dumps(translations, ensure_ascii=False, indent=2) + "\n"
    return changed


def _add_order_task(root: Any) -> None:
    """The service task with its connector, and the flows through it."""
    ns = {"bpmn": BPMN}
    record_win = root.find(f".//bpmn:*[@id='{RECORD_WIN}']", ns)
    task = etree.Element(f"{{{BPMN}}}serviceTask", id=ERP_ORDER_TASK, name=ORDER_NAME)
    extensions = etree.SubElement(task, f"{{{BPMN}}}extensionElements")
    connector = etree.SubElement(
        extensions,
        f"{{{SALESFLOW}}}connector",
        method="POST",
        url=f"https://{ERP_HOST}/k3cloud/api/sales-orders",
        timeout="10",
        retries="2",
        retryDelay="PT30S",
    )
    etree.SubElement(
        connector, f"{{{SALESFLOW}}}header", name="Authorization",
        value=f"Bearer {{{{secret:{ERP_SECRET}}}}}",
    )  # fmt: skip
    for body_field, expression in (
        ("customer", "company"),
        ("amount", "price"),
        ("down_payment", "amount_received"),
    ):
        etree.SubElement(connector, f"{{{SALESFLOW}}}field", name=body_field, expression=expression)
    etree.SubElement(connector, f"{{{SALESFLOW}}}result", name="erp_order_no", path="body.order_no")
    etree.SubElement(task, f"{{{BPMN}}}incoming").text = TO_ORDER
    etree.SubElement(task, f"{{{BPMN}}}outgoing").text = FROM_ORDER
    record_win.addprevious(task)
    for node in root.iter(f"{{{BPMN}}}outgoing", f"{{{BPMN}}}incoming"):
        if node.text == OLD_FLOW:
            node.text = TO_ORDER if node.getparent().get("id") == JOIN else FROM_ORDER
    flow = root.find(f".//bpmn:sequenceFlow[@id='{OLD_FLOW}']", ns)
    flow.set("id", TO_ORDER)
    flow.set("targetRef", ERP_ORDER_TASK)
    after = etree.Element(
        f"{{{BPMN}}}sequenceFlow", id=FROM_ORDER, sourceRef=ERP_ORDER_TASK, targetRef=RECORD_WIN
    )
    flow.addnext(after)
    lane = root.find(f".//bpmn:lane[@id='{FINANCE}']", ns)
    etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = ERP_ORDER_TASK


def _draw_order_task(root: Any) -> None:
    """Its shape in the finance lane, the join's edge ending on it, and an edge on to the
    win, where the old edge went straight down."""
    edge = root.find(f".//{{{BPMNDI}}}BPMNEdge[@bpmnElement='{OLD_FLOW}']")
    edge.set("bpmnElement", TO_ORDER)
    edge.set("id", f"{TO_ORDER}_di")
    points = edge.findall(f"{{{DI}}}waypoint")
    end = (points[-1].get("x"), points[-1].get("y"))
    points[-1].set("x", ORDER_TOP[0])
    points[-1].set("y", ORDER_TOP[1])
    shape = etree.Element(
        f"{{{BPMNDI}}}BPMNShape", id=f"{ERP_ORDER_TASK}_di", bpmnElement=ERP_ORDER_TASK
    )
    etree.SubElement(shape, f"{{{DC}}}Bounds", **ORDER_BOUNDS)
    edge.addprevious(shape)
    after = etree.Element(f"{{{BPMNDI}}}BPMNEdge", id=f"{FROM_ORDER}_di", bpmnElement=FROM_ORDER)
    for x, y in (ORDER_BOTTOM, end):
        etree.SubElement(after, f"{{{DI}}}waypoint", x=str(x), y=str(y))
    edge.addnext(after)
