# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese the pages show
"""An incident says what failed in the reader's language: each kind of failure is made for
real (a service task calling a real HTTP server on 127.0.0.1, a script failing in a real
deal in a real SQLite database: a script, an expression at a wait, a decision table, a limit
of the safe language), then the incident page is read in Chinese and in English.
A library's text no wording covers is shown inside a Chinese frame, and the original stays
under the technical detail; the connectors page words its recent calls the same way."""

from __future__ import annotations

import html
import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient

from engine.core.connectors import MAX_RESPONSE_BYTES
from engine.jobs.connectors import run_due_calls
from engine.jobs.timers import tick
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA
from tests.engine.test_connectors import model, start_at_service

from .conftest import login, post, text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Service(BaseHTTPRequestHandler):
    """The other system: each path answers as one kind of failure does."""

    release: threading.Event

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/slow":
            self.release.wait(5)  # past the connector's timeout; released at teardown
            return
        if self.path == "/echo":  # a careless service: its refusal repeats the credentials
            said = f"invalid credentials: {self.headers.get('Authorization')}"
            status, headers, body = 401, {"Content-Type": "text/plain"}, said.encode()
        else:
            status, headers, body = _ANSWERS[self.path]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


_ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/redirect": (302, {"Location": "http://elsewhere.example/crm"}, b""),
    "/big": (200, {"Content-Type": "text/plain"}, b"x" * (MAX_RESPONSE_BYTES + 1)),
    "/refuse": (422, {"Content-Type": "text/plain"}, b"quota exceeded for this key"),
    "/down": (503, {}, b""),
    "/text": (200, {"Content-Type": "text/plain"}, b"all good"),
    "/json": (200, {"Content-Type": "application/json"}, json.dumps({"id": 7}).encode()),
}


@pytest.fixture
def crm() -> Iterator[str]:
    """The address (host:port) of the other system."""
    release = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Service,), {"release": release}))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    release.set()
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    """A port nothing listens on: one the system just handed out and got back."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def at_the_crm(staff: Service, url: str, *, timeout: float = 2, retries: int = 0) -> str:
    """A deal of alice's waiting for its CRM lookup (tests.engine.test_connectors' model:
    it keeps body.crm_id of the answer) to `url`, the secret stored and 127.0.0.1 allowed."""
    staff.set_connector_secret("crm_token", "t0ken", user="root")
    staff.allow_host("127.0.0.1", user="root", internal=True)
    return start_at_service(staff, model(url, timeout=timeout, retries=retries))


def called(staff: Service, iid: str) -> str:
    """The worker makes the call (once): the deal is in error."""
    assert run_due_calls(staff) == 1
    assert staff.show(iid)["status"] == "error"
    return iid


def page(client: FlaskClient, url: str, lang: str) -> str:
    """The page as a sales manager reads it in `lang`, as text (entities decoded)."""
    post(client, "/language", {"lang": lang})
    return html.unescape(text(client.get(url)))


def incident_page(client: FlaskClient, iid: str, lang: str) -> str:
    return page(client, f"/incidents/{iid}", lang)


def read_both(client: FlaskClient, iid: str) -> tuple[str, str]:
    """The incident page in Chinese, then in English."""
    login(client, "mia")
    return incident_page(client, iid, "zh-Hans"), incident_page(client, iid, "en")


# --- connector failures ----------------------------------------------------------------

Setup = Callable[[Service, str], str]


def timed_out(staff: Service, crm: str) -> str:
    return called(staff, at_the_crm(staff, f"http://{crm}/slow", timeout=0.3))


def refused_connection(staff: Service, _crm: str) -> str:
    return called(staff, at_the_crm(staff, f"http://127.0.0.1:{closed_port()}/x"))


def host_removed(staff: Service, crm: str) -> str:
    iid = at_the_crm(staff, f"http://{crm}/json")
    [entry] = staff.connector_hosts(user="root")
    staff.remove_host(entry["id"], user="root")
    return called(staff, iid)


def internal_refused(staff: Service, crm: str) -> str:
    iid = at_the_crm(staff, f"http://{crm}/json")
    staff.allow_host("127.0.0.1", user="root", internal=False)
    return called(staff, iid)


def answered(path: str) -> Setup:
    def setup(staff: Service, crm: str) -> str:
        return called(staff, at_the_crm(staff, f"http://{crm}{path}"))

    return setup


def secret_removed(staff: Service, crm: str) -> str:
    iid = at_the_crm(staff, f"http://{crm}/json")
    staff.remove_connector_secret("crm_token", user="root")
    assert run_due_calls(staff) == 0  # the request cannot be built: nothing is sent
    assert staff.show(iid)["status"] == "error"
    return iid


def retries_spent(staff: Service, crm: str) -> str:
    iid = at_the_crm(staff, f"http://{crm}/down", retries=1)
    assert run_due_calls(staff) == 1
    assert staff.show(iid)["status"] == "running"  # the first failure is retried
    assert run_due_calls(staff, datetime.now(UTC) + timedelta(seconds=11)) == 1
    assert staff.show(iid)["status"] == "error"
    return iid


CONNECTOR_FAILURES = {
    "timeout": (
        timed_out,
        "调用 127.0.0.1 失败：0.3 秒内没有应答（已到连接器的超时时间）",
        "the call to 127.0.0.1 failed: no answer within 0.3 s (the connector's timeout)",
    ),
    "connection refused": (
        refused_connection,
        "连接被拒绝：该地址和端口上没有服务应答",
        "the connection was refused: nothing answers at that address and port",
    ),
    "host not allowed": (
        host_removed,
        "已拒绝调用：主机「127.0.0.1」不在管理员允许的主机列表中",
        "refused: the host '127.0.0.1' is not on the admins' list of allowed hosts",
    ),
    "internal address": (
        internal_refused,
        "主机「127.0.0.1」解析到内部地址 127.0.0.1（回环、私有、链路本地或云元数据地址），"
        "而它的条目不允许访问内部地址",
        "resolves to 127.0.0.1, an internal address",
    ),
    "redirect": (
        answered("/redirect"),
        "对方服务返回 HTTP 302，重定向到 http://elsewhere.example/crm：连接器不跟随重定向",
        "a redirect to http://elsewhere.example/crm: connectors do not follow redirects",
    ),
    "too large": (
        answered("/big"),
        "应答超过 1,000,000 字节",
        "the answer is larger than 1,000,000 bytes",
    ),
    "HTTP 4xx": (
        answered("/refuse"),
        "对方服务拒绝了请求（HTTP 422）：quota exceeded for this key",
        "the service refused the request with HTTP 422: quota exceeded for this key",
    ),
    "HTTP 5xx": (
        answered("/down"),
        "对方服务出错（HTTP 503）",
        "the service failed with HTTP 503",
    ),
    "not JSON": (
        answered("/text"),
        "应答不是 JSON，因此没有「body.crm_id」",
        "the answer is not JSON, so it has no 'body.crm_id'",
    ),
    "path missing": (
        answered("/json"),
        "应答中没有「body.crm_id」（在「crm_id」处找不到）",
        "the response has no 'body.crm_id' (at 'crm_id')",
    ),
    "secret not stored": (
        secret_removed,
        "连接器的请求头「Authorization」需要密钥「crm_token」，但管理员尚未保存它",
        "the connector's header Authorization needs the secret 'crm_token', which an admin "
        "has not stored",
    ),
    "retries spent": (
        retries_spent,
        "调用 127.0.0.1 失败（已尝试 2 次，重试次数已用完）：对方服务出错（HTTP 503）",
        "the call to 127.0.0.1 failed after 2 attempts: the service failed with HTTP 503",
    ),
}


@pytest.mark.parametrize("kind", list(CONNECTOR_FAILURES))
def test_a_connector_failure_in_chinese_and_in_english(
    client: FlaskClient, staff: Service, crm: str, kind: str
) -> None:
    make, chinese, english = CONNECTOR_FAILURES[kind]
    iid = make(staff, crm)
    zh, en = read_both(client, iid)
    assert chinese in zh
    assert "技术细节" in zh and english in zh  # the original, under the disclosure
    assert english in en
    assert "Technical detail" not in en  # the English says it as the engine did


def test_a_refusal_that_echoes_the_secret_shows_it_masked(
    client: FlaskClient, staff: Service, crm: str
) -> None:
    iid = answered("/echo")(staff, crm)
    zh, en = read_both(client, iid)
    admin = client.application.test_client()
    login(admin, "root")
    calls = page(admin, "/connectors", "en")
    for shown in (zh, en, calls, json.dumps(staff.show(iid), ensure_ascii=False)):
        assert "invalid credentials: •••• ••••" in shown
        assert "t0ken" not in shown


def test_the_connectors_page_words_the_recent_calls(
    client: FlaskClient, staff: Service, crm: str
) -> None:
    timed_out(staff, crm)
    login(client, "root")
    zh = page(client, "/connectors", "zh-Hans")
    assert "0.3 秒内没有应答（已到连接器的超时时间）" in zh
    assert "技术细节" in zh
    en = page(client, "/connectors", "en")
    assert "no answer within 0.3 s (the connector's timeout)" in en


def test_the_list_and_the_deal_page_word_the_incident_too(
    client: FlaskClient, staff: Service, crm: str
) -> None:
    iid = answered("/down")(staff, crm)
    login(client, "mia")
    assert "对方服务出错（HTTP 503）" in page(client, "/incidents", "zh-Hans")
    deal = page(client, f"/deals/{iid}", "zh-Hans")
    assert deal.count("对方服务出错（HTTP 503）") >= 2  # the panel and the timeline
    owner = client.application.test_client()
    login(owner, "alice")  # the owner reads it in her words, without the technical detail
    own = page(owner, f"/deals/{iid}", "zh-Hans")
    assert "对方服务出错（HTTP 503）" in own and "技术细节" not in own


# --- failures of scripts and expressions -------------------------------------------------


def order_failing(staff: Service, **entered: Any) -> str:
    """The order process: the total script runs on what the rep entered."""
    staff.deploy([ENGINE_DATA / "incident_order.bpmn"], actor="dora")
    iid = str(staff.start("incident_order", owner="alice")["instance_id"])
    [task] = staff.tasks(instance=iid)
    staff.complete(task["task_id"], user=task["assignee"] or "mia", data=entered)
    assert staff.show(iid)["status"] == "error"
    return iid


def test_a_name_the_data_lacks(client: FlaskClient, staff: Service) -> None:
    iid = order_failing(staff, price=100, discount=5)
    zh, en = read_both(client, iid)
    assert "脚本出错：商机数据中没有名为「quantity」的值" in zh
    assert "NameError" in zh  # the technical detail keeps the library's words
    assert "the script failed: the deal's data has no value named 'quantity'" in en
    assert "Technical detail" in en and "NameError" in en


def test_an_unknown_library_text_is_framed_not_lost(client: FlaskClient, staff: Service) -> None:
    iid = order_failing(staff, price="100", quantity="2", discount=5)
    zh, en = read_both(client, iid)
    python = "TypeError: can't multiply sequence by non-int of type 'str'"
    assert f"脚本出错：系统报告「{python}」" in zh
    assert f"the script failed: {python}" in en


def test_an_expression_failing_at_a_wait(client: FlaskClient, staff: Service) -> None:
    staff.deploy([ENGINE_DATA / "incident_wait.bpmn"], actor="dora")
    with time_machine.travel(T0, tick=False) as clock:
        iid = str(staff.start("incident_wait", owner="alice")["instance_id"])
        [task] = staff.tasks(instance=iid)
        staff.complete(task["task_id"], user="alice", data={})
        clock.shift(timedelta(days=1, seconds=1))
        tick(staff)
    assert staff.show(iid)["status"] == "error"
    zh, en = read_both(client, iid)
    assert "表达式「wait_for」出错：商机数据中没有名为「wait_for」的值" in zh
    assert "the expression 'wait_for' failed: the deal's data has no value named 'wait_for'" in en


def chain(process_id: str, *steps: str) -> str:
    """A process whose `steps` (BPMN elements, each with its id) run one after the other."""
    ids = [step.split('id="', 1)[1].split('"', 1)[0] for step in steps]
    flows = [
        f'<bpmn:sequenceFlow id="flow_{n}" sourceRef="{a}" targetRef="{b}"/>'
        for n, (a, b) in enumerate(pairwise(ids))
    ]
    body = "\n".join([*steps, *flows])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="defs" targetNamespace="http://example.com">\n'
        f'<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>\n'
        "</bpmn:definitions>"
    )


LOOPING = chain(
    "count_leads",
    '<bpmn:startEvent id="start"/>',
    '<bpmn:userTask id="task_enter" name="Enter the count"/>',
    '<bpmn:scriptTask id="script_count" name="Count"><bpmn:script>n = 0\n'
    "for i in range(rows):\n    for j in range(rows):\n        n = n + 1</bpmn:script>"
    "</bpmn:scriptTask>",
    '<bpmn:endEvent id="end"/>',
)


def test_a_limit_of_the_safe_language(client: FlaskClient, staff: Service) -> None:
    process = staff.publish({"count_leads.bpmn": LOOPING}, actor="dora")["process_id"]
    iid = str(staff.start(process, owner="alice")["instance_id"])
    [task] = staff.tasks(instance=iid)
    staff.complete(task["task_id"], user="alice", data={"rows": 400})
    assert staff.show(iid)["status"] == "error"
    zh, en = read_both(client, iid)
    assert "脚本出错：循环步数过多：超过 100,000 步" in zh
    assert "the script failed: too many loop steps: more than 100,000" in en


def test_a_retry_that_fails_again_says_why_in_chinese(client: FlaskClient, staff: Service) -> None:
    iid = order_failing(staff, price=100, discount=5)
    login(client, "mia")
    post(client, "/language", {"lang": "zh-Hans"})
    answer = post(client, f"/incidents/{iid}/retry", {"data": "{}"})
    assert answer.status_code == 422
    assert "脚本出错：商机数据中没有名为「quantity」的值" in html.unescape(text(answer))
    assert staff.show(iid)["status"] == "error"  # nothing changed


def test_a_decision_table_failing_at_a_rule(client: FlaskClient, staff: Service) -> None:
    grading = chain(
        "grade_leads",
        '<bpmn:startEvent id="start"/>',
        '<bpmn:userTask id="task_enter" name="Enter the lead"/>',
        '<bpmn:businessRuleTask id="task_grade" name="Grade the lead" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core">'
        "<bpmn:extensionElements><spiffworkflow:calledDecisionId>expr_grade_decision"
        "</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>",
        '<bpmn:endEvent id="end"/>',
    )
    table = (ENGINE_DATA / "expr_grade.dmn").read_text(encoding="utf-8")
    files = {"grade_leads.bpmn": grading, "expr_grade.dmn": table}
    process = staff.publish(files, actor="dora")["process_id"]
    iid = str(staff.start(process, owner="alice")["instance_id"])
    [task] = staff.tasks(instance=iid)
    staff.complete(task["task_id"], user="alice", data={"annual_revenue": "lots", "intent": "high"})
    assert staff.show(iid)["status"] == "error"
    zh, en = read_both(client, iid)
    python = "TypeError: '>=' not supported between instances of 'str' and 'int'"
    assert f"决策表在第 1 条规则处出错：系统报告「{python}」" in zh
    assert f"the decision table failed at rule 1: {python}" in en
