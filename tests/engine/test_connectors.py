"""HTTP connectors of service tasks against a real HTTP server on 127.0.0.1 (allowed
explicitly, as an admin allows an internal service): the response mapped back into the deal,
a timeout retried as the model says then an incident with the deal where it was, a host not
allowed refused at publish (the Check names the element and the host) and at run time, a
secret header that reaches the server and is never shown back.  The worker's job runs the
calls (engine.jobs.connectors); the clock is moved, never slept on, between retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from lxml import etree

from engine.core import connectors
from engine.core.lint import check
from engine.errors import DefinitionProblemsError, ForbiddenError
from engine.jobs.connectors import run_due_calls
from engine.usecases.service import Service
from tests.engine.chat_servers import send_json

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Handler(BaseHTTPRequestHandler):
    """/lookup/<id> answers JSON about the company; /slow sleeps past any test timeout."""

    seen: list[dict[str, Any]]
    release: threading.Event

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        self.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/slow"):
            self.release.wait(5)  # past the connector's timeout; released at teardown
            return
        answer = {"crm_id": f"C-{body['company'][:4].upper()}", "score": 87, "tags": ["vip"]}
        send_json(self, 201, answer)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"seen": seen, "release": release})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}", seen
    release.set()
    httpd.shutdown()
    httpd.server_close()


def model(url: str, *, retries: int = 0, timeout: float = 2) -> dict[str, str]:
    """A lead is looked up in the CRM: a service task between two user tasks."""
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:salesflow="{connectors.SALESFLOW}" id="d" targetNamespace="http://example.com">
  <bpmn:process id="crm_lookup" name="CRM lookup" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task_lead" name="Enter lead"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:serviceTask id="task_crm" name="Look up in CRM">
      <bpmn:extensionElements>
        <salesflow:connector method="POST" url="{url}" timeout="{timeout}" retries="{retries}"
                             retryDelay="PT10S">
          <salesflow:header name="Authorization" value="Bearer {{{{secret:crm_token}}}}"/>
          <salesflow:field name="company" expression="company"/>
          <salesflow:field name="revenue" expression="annual_revenue * 2"/>
          <salesflow:result name="crm_id" path="body.crm_id"/>
          <salesflow:result name="crm_score" path="body.score"/>
          <salesflow:result name="crm_status" path="status"/>
        </salesflow:connector>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="task_call" name="Call the lead"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_lead"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task_lead" targetRef="task_crm"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task_crm" targetRef="task_call"/>
    <bpmn:sequenceFlow id="f4" sourceRef="task_call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return {"crm_lookup.bpmn": bpmn}


@pytest.fixture
def ops(team: Service) -> Service:
    team.add_user("root", ["admin"])
    team.add_user("dora", ["designer"])
    team.set_connector_secret("crm_token", "s3cr3t-T0KEN", user="root")
    return team


def start_at_service(service: Service, files: dict[str, str]) -> str:
    """Publish, start a deal, complete the lead: the deal then waits at the service task."""
    published = service.publish(files, actor="dora")
    iid = str(service.start(published["process_id"], owner="alice")["instance_id"])
    [task] = service.tasks(instance=iid)
    service.complete(
        task["task_id"], user="alice", data={"company": "ACME Tools", "annual_revenue": 4}
    )
    return iid


def test_the_response_is_mapped_into_the_deal(ops: Service, server: Any) -> None:
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/{{{{company}}}}"))
    deal = ops.show(iid)
    assert deal["position"]["task_crm"] == "ready"
    assert ops.tasks(instance=iid) == []  # nobody completes it by hand

    assert run_due_calls(ops) == 1

    [request] = seen
    assert request["path"] == "/lookup/ACME%20Tools"
    assert request["body"] == {"company": "ACME Tools", "revenue": 8}
    assert request["headers"]["Authorization"] == "Bearer s3cr3t-T0KEN"
    data = ops.show(iid)["data"]
    assert (data["crm_id"], data["crm_score"], data["crm_status"]) == ("C-ACME", 87, 201)
    assert [t["element_id"] for t in ops.tasks(instance=iid)] == ["task_call"]
    [call] = ops.connector_calls(user="mia")
    assert (call["status"], call["last_status"], call["attempts"]) == ("done", 201, 1)
    assert run_due_calls(ops) == 0  # nothing is called twice


def test_a_timeout_is_retried_then_becomes_an_incident(ops: Service, server: Any) -> None:
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/slow", retries=1, timeout=0.3))
    before = ops.show(iid)["data"]

    assert run_due_calls(ops) == 1
    [call] = ops.connector_calls(user="mia")
    assert call["status"] == "pending" and call["attempts"] == 1
    assert "no answer within 0.3 s" in call["last_error"]
    assert ops.show(iid)["status"] == "running"
    assert run_due_calls(ops) == 0  # the retry waits for its delay (PT10S)

    later = datetime.now(UTC) + timedelta(seconds=11)
    assert run_due_calls(ops, later) == 1
    assert len(seen) == 2
    deal = ops.show(iid)
    assert deal["status"] == "error"
    assert deal["error"]["element_id"] == "task_crm"
    assert "after 2 attempts" in deal["error"]["message"]
    assert deal["data"] == before  # nothing mapped, nothing lost
    [incident] = ops.incidents(user="mia")
    assert incident["error"]["element_name"] == "Look up in CRM"

    # A manager retries: the task waits for a new call, which the worker makes.
    ops.retry(iid, user="mia")
    assert ops.show(iid)["status"] == "running"
    assert [c["status"] for c in ops.connector_calls(user="mia")] == ["pending", "failed"]


def test_a_host_not_allowed_is_refused_at_publish(ops: Service, server: Any) -> None:
    host, _ = server
    files = model(f"http://{host}/lookup/x")
    with pytest.raises(DefinitionProblemsError) as refused:
        ops.publish(files, actor="dora")
    assert "Look up in CRM (task_crm)" in str(refused.value)
    assert "the host '127.0.0.1', which an admin has not allowed" in str(refused.value)
    [problem] = [p for p in check(files, hosts=connectors.Reachable({})) if p.severity == "error"]
    assert (problem.element_id, problem.line) == ("task_crm", 8)
    assert [
        p
        for p in check(files, hosts=connectors.Reachable({"127.0.0.1": True}))
        if p.severity == "error"
    ] == []


def test_a_host_no_longer_allowed_is_refused_when_the_call_is_made(
    ops: Service, server: Any
) -> None:
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/x", retries=3))
    [entry] = ops.connector_hosts(user="root")
    ops.remove_host(entry["id"], user="root")

    assert run_due_calls(ops) == 1
    assert seen == []  # nothing reached the server
    deal = ops.show(iid)
    assert deal["status"] == "error"  # refused outright: retrying cannot help
    assert "'127.0.0.1' is not on the admins' list" in deal["error"]["message"]


def test_an_internal_address_needs_its_entry_to_allow_it(ops: Service, server: Any) -> None:
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/x"))
    ops.allow_host("127.0.0.1", user="root", internal=False)  # the entry changed meanwhile
    run_due_calls(ops)
    assert seen == []
    assert "an internal address" in ops.show(iid)["error"]["message"]


def test_address_rules() -> None:
    allowed = {"api.example.com": False, "intranet.example.com": True}
    ok = connectors.address_refusal
    assert ok("api.example.com", ["93.184.216.34"], allowed) is None
    assert ok("evil.example.com", ["93.184.216.34"], allowed) is not None
    for internal in ("127.0.0.1", "10.1.2.3", "192.168.0.5", "169.254.169.254", "::1", "fe80::1"):
        assert ok("api.example.com", [internal], allowed) is not None, internal
        assert ok("intranet.example.com", [internal], allowed) is None
    # one bad address among good ones is enough to refuse (rebinding)
    assert ok("api.example.com", ["93.184.216.34", "169.254.169.254"], allowed) is not None
    assert ok("api.example.com", [], allowed) is not None


def test_secrets_are_never_shown_back(ops: Service, server: Any) -> None:
    [secret] = ops.connector_secrets(user="dora")  # a designer reads the names
    assert (secret["name"], secret["updated_by"], "value" in secret) == ("crm_token", "root", False)
    shown = json.dumps(ops.connector_secrets(user="root"))
    assert "s3cr3t" not in shown
    with pytest.raises(ForbiddenError):
        ops.connector_secrets(user="alice")
    with pytest.raises(ForbiddenError):
        ops.set_connector_secret("x", "y", user="dora")
    with pytest.raises(ForbiddenError):
        ops.allow_host("api.example.com", user="dora")
    host, _ = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    iid = start_at_service(ops, model(f"http://{host}/lookup/x"))
    run_due_calls(ops)
    everything = json.dumps([ops.show(iid), ops.connector_calls(user="mia")], default=str)
    assert "s3cr3t" not in everything


def test_retry_schedule() -> None:
    backoff = connectors.Connector("GET", "https://a.example/", retries=3, delay=10)
    assert [connectors.retry_delay(backoff, n) for n in (1, 2, 3, 4)] == [10, 20, 40, None]
    cycle = connectors.Connector("GET", "https://a.example/", retries=2, delay=10, backoff=False)
    assert [connectors.retry_delay(cycle, n) for n in (1, 2, 3)] == [10, 10, None]


def _task(extensions: str, outer: str = "") -> etree._Element:
    return etree.fromstring(
        f'<bpmn:serviceTask xmlns:bpmn="{connectors.MODEL}" xmlns:camunda="{connectors.CAMUNDA}" '
        f'xmlns:spiffworkflow="{connectors.SPIFF}" id="t"><bpmn:extensionElements>{extensions}'
        f"</bpmn:extensionElements>{outer}</bpmn:serviceTask>"
    )


def test_a_camunda_http_connector_maps_onto_a_connector() -> None:
    task = _task(
        "<camunda:failedJobRetryTimeCycle>R3/PT10S</camunda:failedJobRetryTimeCycle>"
        "<camunda:connector><camunda:connectorId>http-connector</camunda:connectorId>"
        "<camunda:inputOutput>"
        '<camunda:inputParameter name="url">https://crm.example.com/leads/${leadId}</camunda:inputParameter>'
        '<camunda:inputParameter name="method">post</camunda:inputParameter>'
        '<camunda:inputParameter name="headers"><camunda:map>'
        '<camunda:entry key="Content-Type">application/json</camunda:entry></camunda:map>'
        "</camunda:inputParameter>"
        '<camunda:inputParameter name="payload">${lead}</camunda:inputParameter>'
        '<camunda:outputParameter name="crmStatus">${statusCode}</camunda:outputParameter>'
        '<camunda:outputParameter name="crmAnswer">${response}</camunda:outputParameter>'
        "</camunda:inputOutput></camunda:connector>"
    )
    found = connectors.read_connector(task)
    assert found is not None
    assert (found.method, found.url) == ("POST", "https://crm.example.com/leads/{{leadId}}")
    assert found.headers == (("Content-Type", "application/json"),)
    assert found.results == (("crmStatus", "status"), ("crmAnswer", "body"))
    assert (found.retries, found.delay, found.backoff) == (3, 10.0, False)
    request = connectors.build_request(found, {"leadId": "L 7", "lead": {"a": 1}}, {})
    assert request.url == "https://crm.example.com/leads/L%207"
    assert request.json_body == {"a": 1}


def test_juel_beyond_a_field_is_refused_by_name() -> None:
    task = _task(
        "<camunda:connector><camunda:connectorId>http-connector</camunda:connectorId>"
        '<camunda:inputOutput><camunda:inputParameter name="url">'
        "${execution.getVariable('u')}</camunda:inputParameter>"
        "</camunda:inputOutput></camunda:connector>"
    )
    with pytest.raises(ValueError, match="JUEL salesflow does not translate"):
        connectors.read_connector(task)


def test_a_spiff_arena_http_operator_runs_as_written() -> None:
    task = _task(
        '<spiffworkflow:serviceTaskOperator id="http/GetRequestV2" resultVariable="resp">'
        "<spiffworkflow:parameters>"
        '<spiffworkflow:parameter id="url" type="str" value="base + \'/deals\'"/>'
        '<spiffworkflow:parameter id="headers" type="any" value="{&quot;Accept&quot;: '
        '&quot;application/json&quot;}"/>'
        '<spiffworkflow:parameter id="params" type="any" value="{&quot;q&quot;: name}"/>'
        '<spiffworkflow:parameter id="basic_auth_username" type="str" value="\'bot\'"/>'
        '<spiffworkflow:parameter id="basic_auth_password" type="str" value="\'secret:pw\'"/>'
        '<spiffworkflow:parameter id="attempts" type="int" value="3"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
    )
    found = connectors.read_connector(task)
    assert found is not None and found.retries == 2  # three attempts: two retries
    data = {"base": "https://erp.example.com", "name": "ACME"}
    request = connectors.build_request(found, data, {"pw": "hunter2"})
    assert (request.method, request.url) == ("GET", "https://erp.example.com/deals?q=ACME")
    assert request.headers == {"Accept": "application/json"}
    assert request.auth == ("bot", "hunter2")
    mapped = connectors.map_response(found, 200, {"id": 5}, "application/json")
    assert mapped == {
        "resp": {"body": {"id": 5}, "http_status": 200, "mimetype": "application/json"}
    }


def test_an_operator_no_admin_mapped_is_refused_at_publish(ops: Service) -> None:
    files = {
        "notify.bpmn": model("https://x.example/")["crm_lookup.bpmn"]
        .replace(
            '<salesflow:connector method="POST" url="https://x.example/"',
            '<spiffworkflow:serviceTaskOperator id="slack/PostMessage"><spiffworkflow:parameters>'
            '<spiffworkflow:parameter id="message" value="company"/></spiffworkflow:parameters>'
            '</spiffworkflow:serviceTaskOperator><salesflow:unused method="POST" url="x"',
        )
        .replace("</salesflow:connector>", "</salesflow:unused>")
        .replace("xmlns:salesflow=", f'xmlns:spiffworkflow="{connectors.SPIFF}" xmlns:salesflow=')
    }
    with pytest.raises(DefinitionProblemsError) as refused:
        ops.publish(files, actor="dora")
    assert "the operator 'slack/PostMessage', which no admin has mapped" in str(refused.value)


def camunda_model(url: str) -> dict[str, str]:
    """A Camunda 7 model: its service task an http-connector posting the lead."""
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="{connectors.CAMUNDA}" id="d" targetNamespace="http://example.com">
  <bpmn:process id="camunda_crm" name="CRM push" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task_lead" name="Enter lead"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:serviceTask id="task_push" name="Push to CRM">
      <bpmn:extensionElements>
        <camunda:connector>
          <camunda:connectorId>http-connector</camunda:connectorId>
          <camunda:inputOutput>
            <camunda:inputParameter name="url">{url}/lookup/${{company}}</camunda:inputParameter>
            <camunda:inputParameter name="method">POST</camunda:inputParameter>
            <camunda:inputParameter name="payload">${{lead}}</camunda:inputParameter>
            <camunda:outputParameter name="crm_status">${{statusCode}}</camunda:outputParameter>
            <camunda:outputParameter name="crm">${{response}}</camunda:outputParameter>
          </camunda:inputOutput>
        </camunda:connector>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_lead"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task_lead" targetRef="task_push"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task_push" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return {"camunda_crm.bpmn": bpmn}


def test_a_camunda_http_connector_model_runs(ops: Service, server: Any) -> None:
    host, seen = server
    ops.allow_host("127.0.0.1", user="root", internal=True)
    files = camunda_model(f"http://{host}")
    assert [p.message for p in check(files) if p.severity == "error"] == []
    iid = str(
        ops.start(ops.publish(files, actor="dora")["process_id"], owner="alice")["instance_id"]
    )
    [task] = ops.tasks(instance=iid)
    ops.complete(
        task["task_id"], user="alice", data={"company": "ACME", "lead": {"company": "ACME"}}
    )
    assert run_due_calls(ops) == 1
    assert seen[0]["path"] == "/lookup/ACME" and seen[0]["body"] == {"company": "ACME"}
    deal = ops.show(iid)
    assert deal["status"] == "completed"
    assert deal["data"]["crm_status"] == 201
    assert deal["data"]["crm"]["crm_id"] == "C-ACME"
