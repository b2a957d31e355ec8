"""`salesflow demo` shows the integrations (issue 18): the sales team's WeCom group and the
Feishu group a rep chose, with a delivery log; the ERP's webhook for won and lost deals with
its log; the ERP among the connectors' hosts with its token; the designer's draft creating
the sales order in the ERP through a connector.  And loading it asks nothing of the network:
every target is on this machine, every delivery is taken, nothing is left for the worker."""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, make_url, select

from engine import clock
from engine.core.connectors import read_connector
from engine.jobs.deliveries import send_pending
from engine.jobs.timers import fire_due
from engine.store import connectors as connector_rows
from engine.store.db import Database
from engine.store.models import ChatDelivery, ChatRobot, WebhookDelivery
from engine.usecases import demo_integrations as links
from engine.usecases.demo import DEMO_PASSWORD, load_demo
from engine.usecases.service import Service
from webui import create_app

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Loaded:
    """The demo's database, what the ERP was told during the load (before the worker's
    first turn forgets what is older than the logs keep), and the network it asked."""

    service: Service
    url: str
    told: list[tuple[str, str, str]]  # deal, event, status
    network: Network


class Network:
    """Every connection and name lookup this process starts while it is installed."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def install(self, patch: pytest.MonkeyPatch) -> None:
        for owner, name in (
            (socket.socket, "connect"),
            (socket.socket, "connect_ex"),
            (socket, "getaddrinfo"),
            (socket, "create_connection"),
        ):
            patch.setattr(owner, name, self._recorded(getattr(owner, name), name))

    def _recorded(self, real: Any, name: str) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.asked.append(f"{name}{args[1:] if name.startswith('connect') else args}")
            return real(*args, **kwargs)

        return recorded


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The demo loaded into a real SQLite file, the network watched all along, and the
    worker's first turn after it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
    db = Database(url)
    db.migrate()
    service = Service(db)
    network = Network()
    with pytest.MonkeyPatch.context() as patch:
        network.install(patch)
        load_demo(service, tick=lambda: fire_due(service))
        with db.read() as s:
            told = [
                (str(d.instance_id), d.event, d.status) for d in s.scalars(select(WebhookDelivery))
            ]
        taken = send_pending(db, clock.now())
    assert taken == 0
    yield Loaded(service, url, told, network)
    db.dispose()


@pytest.fixture(scope="module")
def service(demo: Loaded) -> Service:
    return demo.service


@pytest.fixture(scope="module")
def app(demo: Loaded) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SALESFLOW_DATABASE_URL": demo.url, "SECRET_KEY": "t"})
    yield app
    app.extensions["salesflow"].db.dispose()


def page(app: Flask, username: str, path: str) -> str:
    """A page as `username` reads it in a browser set to Chinese."""
    client: FlaskClient = app.test_client()
    login_page = client.get("/login", headers=CHINESE).get_data(as_text=True)
    token = _TOKEN.search(login_page)
    assert token is not None
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=form, headers=CHINESE).status_code == 302
    answer = client.get(path, headers=CHINESE)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.get_data(as_text=True)


# --- nothing leaves the machine ----------------------------------------------------------


def test_loading_the_demo_asks_nothing_of_the_network(demo: Loaded) -> None:
    assert demo.network.asked == []


def test_every_delivery_target_is_the_local_test_endpoint(service: Service) -> None:
    shown = service.integrations(user="admin")  # a robot's address shown without its key
    targets = [r["url"] for r in shown["robots"]] + [w["url"] for w in shown["webhooks"]]
    assert len(targets) == 3
    for target in targets:
        parts = urlsplit(target)
        assert (parts.hostname, parts.port) == ("127.0.0.1", 9), target


def test_every_delivery_is_taken_so_the_worker_has_nothing_to_send(service: Service) -> None:
    with service.db.read() as s:
        for model in (ChatDelivery, WebhookDelivery):
            states = list(s.scalars(select(model.status)))
            assert states and set(states) == {"delivered"}, model.__name__


def test_once_loaded_the_robots_and_the_webhook_are_paused_so_later_work_sends_nothing(
    demo: Loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a copy: a manager marks a deal lost after the load (its owner is told, the ERP
    # would be); nothing is queued for the paused robots and webhook, nothing is sent.
    copy = tmp_path / "after.sqlite3"
    source, target = sqlite3.connect(make_url(demo.url).database or ""), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    db = Database(f"sqlite:///{copy}")
    try:
        after = Service(db)
        shown = after.integrations(user="admin")
        assert [r["paused"] for r in shown["robots"]] == [True, True]
        assert [w["paused"] for w in shown["webhooks"]] == [True]
        with db.read() as s:
            queued = {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in QUEUES}
        running = [
            d
            for d in after.instances(status="running")
            if d["owner"] == links.CHAT_REP and d["outcome"] is None
        ]
        reason = after.lost_reasons("sales_pipeline")[0]["value"]
        after.mark_lost(running[0]["instance_id"], user=links.MANAGER, reason=reason)
        network = Network()
        network.install(monkeypatch)
        assert send_pending(db, clock.now()) == 0
        assert network.asked == []
        with db.read() as s:
            assert {
                m.__name__: s.scalar(select(func.count()).select_from(m)) for m in QUEUES
            } == queued
    finally:
        db.dispose()


QUEUES = (ChatDelivery, WebhookDelivery)


# --- the robots --------------------------------------------------------------------------


def test_the_team_group_and_the_reps_own_group(service: Service) -> None:
    robots = {r["vendor"]: r for r in service.integrations(user="admin")["robots"]}
    assert set(robots) == {"wecom", "feishu"}
    assert robots["wecom"]["name"] == links.TEAM_ROBOT
    assert set(robots["wecom"]["events"]) == {"assigned", "escalated", "incident"}
    assert robots["feishu"]["events"] == []  # only for the people who chose it
    assert robots["feishu"]["secret"] and robots["feishu"]["secret"].startswith("…")
    mine = service.my_chat(user=links.CHAT_REP)
    assert mine["robot_id"] == robots["feishu"]["id"]
    assert set(mine["events"]) == {"assigned", "incident"}


def test_the_chat_log_has_the_reps_news_in_chinese_one_retried(service: Service) -> None:
    log = service.integrations(user="admin")["chat_log"]
    assert {d["robot"] for d in log} == {links.TEAM_ROBOT, links.OWN_ROBOT}
    events = [d["event"] for d in log]
    assert events.count("test") == 2 and "incident" in events and "assigned" in events
    assert all(re.search(r"[\u4e00-\u9fff]", d["text"]) for d in log)
    assert {d["status"] for d in log} == {"delivered"}
    [retried] = [d for d in log if d["attempts"] > 1]
    assert retried["robot"] == links.TEAM_ROBOT and retried["attempts"] == 2
    teams = [d for d in log if d["robot"] == links.TEAM_ROBOT and d["event"] != "test"]
    assert teams and all(d["recipient"] for d in teams)  # the group is told whose news


# --- the ERP's webhook -------------------------------------------------------------------


def test_the_erp_is_told_of_every_won_and_lost_deal(demo: Loaded, service: Service) -> None:
    [hook] = service.webhooks(user="admin")
    assert sorted(hook["events"]) == ["deal.lost", "deal.won"]
    assert "k3cloud" in hook["url"]
    ended = [
        d
        for d in service.instances(process="sales_pipeline")
        if d["stage"] in ("won", "after_sales", "lost")
    ]
    assert len(demo.told) == len(ended) >= 20
    assert {deal for deal, _, _ in demo.told} == {str(d["instance_id"]) for d in ended}
    assert {event for _, event, _ in demo.told} == {"deal.won", "deal.lost"}
    assert {status for _, _, status in demo.told} == {"delivered"}
    recent = hook["deliveries"]
    assert {d["event"] for d in recent} == {"deal.won", "deal.lost"}
    assert all(d["status"] == "delivered" and d["last_status"] == 200 for d in recent)
    [retried] = [d for d in recent if d["attempts"] > 1]  # the ERP was down once
    assert retried["attempts"] == 2


# --- connectors --------------------------------------------------------------------------


def test_the_erp_host_and_its_token(service: Service) -> None:
    [host] = service.connector_hosts(user="admin")
    assert (host["host"], host["internal"]) == (links.ERP_HOST, False)
    assert [s["name"] for s in service.connector_secrets(user="admin")] == [links.ERP_SECRET]
    with service.db.read() as s:
        value = connector_rows.secret_values(s)[links.ERP_SECRET]
    assert value.startswith("demo-placeholder-")  # generated at load, a credential of nothing


def test_the_designers_draft_creates_the_order_in_the_erp(service: Service) -> None:
    draft = service.definition_draft("sales_pipeline", "designer")
    assert draft is not None
    files = draft["files"]
    problems = service.check_definition(files, replaces=["sales_pipeline"])
    assert [p for p in problems if p["severity"] == "error"] == []
    bpmn = next(text for name, text in files.items() if name.endswith(".bpmn"))
    root = etree.fromstring(bpmn.encode())
    [task] = root.xpath("//*[@id=$id]", id=links.ERP_ORDER_TASK)
    connector = read_connector(task)
    assert connector is not None
    assert urlsplit(connector.url).hostname == links.ERP_HOST
    assert ("Authorization", f"Bearer {{{{secret:{links.ERP_SECRET}}}}}") in connector.headers
    assert ("erp_order_no", "body.order_no") in connector.results
    # It sits between the contract checks and the win, and the simulation's change stays.
    flows = {f.get("sourceRef"): f.get("targetRef") for f in root.iter("{*}sequenceFlow")}
    assert flows["gw_contract_join"] == links.ERP_ORDER_TASK
    assert flows[links.ERP_ORDER_TASK] == "task_record_win"
    assert root.xpath("//*[@bpmnElement=$id]", id=links.ERP_ORDER_TASK)  # drawn
    assert 'name="duration"' in bpmn


# --- the pages, in Chinese -----------------------------------------------------------------


def test_the_integrations_page_shows_the_robots_and_both_logs(app: Flask, service: Service) -> None:
    html = page(app, "admin", "/integrations")
    for text in (links.TEAM_ROBOT, links.OWN_ROBOT, "企业微信", "飞书", "已送达", "赢单"):
        assert text in html, text
    assert "标记为丢单" in html and "交给了你" in html  # the rep's news, as the groups read it
    assert "http://127.0.0.1:9/k3cloud/salesflow/deal-events" in html
    with service.db.read() as s:
        keys = [r.url for r in s.scalars(select(ChatRobot))]
    assert not any(urlsplit(k).query and urlsplit(k).query in html for k in keys)


def test_my_chat_shows_the_reps_choice(app: Flask) -> None:
    html = page(app, links.CHAT_REP, "/integrations/mine")
    assert "我的群聊" in html and links.OWN_ROBOT in html
    chosen = re.search(r'<input type="radio" name="robot" value="(\d+)" checked', html)
    assert chosen is not None


def test_the_connectors_page_names_the_secret_and_never_shows_it(
    app: Flask, service: Service
) -> None:
    html = page(app, "admin", "/connectors")
    assert links.ERP_HOST in html and links.ERP_SECRET in html and "允许的主机" in html
    with service.db.read() as s:
        value = connector_rows.secret_values(s)[links.ERP_SECRET]
    assert value not in html


def test_the_designer_opens_the_draft_with_its_connector(app: Flask) -> None:
    html = page(app, "designer", "/designer/sales_pipeline")
    assert "你的草稿" in html and links.ERP_ORDER_TASK in html and "salesflow:connector" in html
