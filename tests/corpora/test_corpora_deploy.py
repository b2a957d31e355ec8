# ruff: noqa: E501  (each reason is one line, word for word what the designer is shown)
"""Every model of the spiff-examples and camunda7 corpora: it deploys as it is and runs its
happy path, or REASONS says in one line why not, and that line is exactly one of the errors
engine.core.lint.check reports for it (what the designer page shows on import).

A model that runs is published unchanged and run to its end: each task completed with the
example's test data or its form's example data, timers fired by moving the clock, the
message it waits for sent.  Most examples keep their human tasks in no lane (or in a lane
without a name): those tasks go to the deal's owner, who alone sees and completes them.  A
model that does not run is refused for a reason of its own (Java code, an external worker,
invalid XML, a gateway that may find no way out, ...), never for one of ours: RUN_COUNT
counts them, so a regression shows.  A model whose service task calls out runs the way a
team sets it up: the host allowed, the secret stored, the operator mapped (SLACK), the
service a stand-in on 127.0.0.1, and the worker's calls made as the deal waits for them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from lxml import etree

from engine import clock
from engine.core.lint import Problem, check
from engine.errors import ForbiddenError
from engine.jobs.connectors import run_due_calls
from engine.jobs.timers import tick
from engine.usecases.service import Service
from tests.conftest import CORPORA
from tests.corpora.test_spiff_examples import EXAMPLES, cases

CAMUNDA = CORPORA / "camunda7"
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
OWNER = "alice"
TEAM_ROLES = {"sales rep", "sales manager"}

# model -> why it cannot deploy, in one line: exactly one of the errors `check` reports.
REASONS = {
    "camunda:instantiating_process": "Send Message (ServiceTask_1): camunda:class 'org.camunda.bpm.example.event.message.InstantiateProcessByMessageDelegate' calls Java code, which salesflow cannot run",
    "camunda:invoice.v1": "Archive Invoice (ServiceTask_1): camunda:class 'org.camunda.bpm.example.invoice.service.ArchiveInvoiceService' calls Java code, which salesflow cannot run",
    "camunda:invoice.v2": "Archive Invoice (ServiceTask_1): camunda:class 'org.camunda.bpm.example.invoice.service.ArchiveInvoiceService' calls Java code, which salesflow cannot run",
    "camunda:loan-granting": "Check credit score (Task_1lvjtd4): an external task (topic 'creditScoreChecker') waits for a Camunda worker, and salesflow has none",
    "camunda:loanApproval": "Calculate Interest (ServiceTask_1): camunda:delegateExpression '${calculateInterestService}' calls Java code, which salesflow cannot run",
    "camunda:order-handling": "Create Invoice (Task_06z99p1): an external task (topic 'invoiceCreator') waits for a Camunda worker, and salesflow has none",
    "camunda:retry-example": "Fetch data from the CRM system (service-fetch-data): camunda:class 'org.camunda.bpm.example.delegate.ServiceTaskOneDelegate' calls Java code, which salesflow cannot run",
    # (issue 18, integrations with HTTP service tasks, is open: no service is configured)
    # spiff-arena's own form dialect, not JSON Schema
    "spiff:1-basic-concepts/1-2-forms": "Simple Form (Activity_16bfpis): the form 'test-schema.json': not a valid JSON schema at properties/favoriteFruit/anyOf/0: 'options_from_task_data_var:fruits' is not of type 'object', 'boolean'",
    # Its three service tasks call https://4j2l0.wiremockapi.cloud (http/GetRequestV2, which
    # salesflow runs), but the strategy form's three choices are not known to cover every case
    "spiff:2-in-depth/2-2-external-services/service-task-error-strategies": "Strategy Type (Gateway_1x94v9m): the exclusive gateway has no default flow and its conditions may all be false (the deal would stop in error): mark one flow as the default",
    # pay_on_delivery and pay_online are two check boxes: both may be left empty
    "spiff:2-in-depth/2-3-sub-processes": "payment method (Gateway_1u659zq): the exclusive gateway has no default flow and its conditions may all be false (the deal would stop in error): mark one flow as the default",
    "spiff:2-in-depth/2-5-loops/multi-instance": "not valid BPMN 2.0 (XSD): Element 'bpmn:outputDataItem', attribute 'id': 'composer_in_form' is not a valid value of the atomic type 'xs:ID'.",
    "spiff:2-in-depth/message-api": "not valid BPMN 2.0 (XSD): Element 'bpmn:startEvent', attribute 'messageRef': The attribute 'messageRef' is not allowed.",
    "spiff:3-use-cases/invitation-to-quote/prototype/receive-quote": 'receive_quote_prototype: the process is marked as not executable (isExecutable="false"), so nothing of it can run: mark it executable in your modeler (isExecutable="true"), then fix what this check reports',
}
# How many of the models run their happy path, of how many (before issue 15: none as they
# were; 16 once a test put their human tasks in a lane; 18 with issue 18: a service task
# posting to Slack through a connector, and spiff-arena's get_current_user()).
RUN_COUNT = (18, 31)
# Models whose service task posts to Slack (spiff-arena's slack/PostMessage operator).
SLACK = {"spiff:0-4-request-permissions"}
# Models whose happy path waits for a message from outside: model -> the message sent and
# its data.  The chef and the waiter are the two sides of one conversation: each is run
# here with the other side's message sent from outside (a table's order, as the waiter's
# form example enters it).
ORDER = {"table_number": 12, "drink": "Sprite"}
MESSAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "camunda:message_start_process": ("instantiationMessage", {}),
    "spiff:2-in-depth/2-4-messages/chef": ("order_accept", ORDER),
    "spiff:2-in-depth/2-4-messages/waiter": ("order_dispatch", ORDER),
}


class _Slack(BaseHTTPRequestHandler):
    """A stand-in for Slack's chat.postMessage on 127.0.0.1: keeps what it is sent."""

    posts: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.posts.append({"headers": dict(self.headers), "json": json.loads(body)})
        answer = json.dumps({"ok": True, "ts": "1733541000.000100"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: Any) -> None:
        pass


@contextmanager
def slack_stand_in() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    posts: list[dict[str, Any]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Slack", (_Slack,), {"posts": posts}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posts
    finally:
        server.shutdown()
        server.server_close()


def slack_set_up(service: Service, base: str) -> None:
    """As a team sets salesflow up for spiff-arena's slack/PostMessage operator: an admin
    allows Slack's host (here the stand-in on this machine), stores the bot token the model
    names ('secret:slack_token') and maps the operator to Slack's HTTP API."""
    service.add_user("root", ["admin"])
    service.allow_host("127.0.0.1", user="root", internal=True, note="Slack stand-in")
    service.set_connector_secret("slack_token", "xoxb-test-token", user="root")
    service.set_connector_operator(
        "slack/PostMessage",
        {
            "method": "POST",
            "url": f"{base}/api/chat.postMessage",
            "headers": "Authorization: Bearer {{token}}",
            "fields": "channel = channel\ntext = message",
            "results": "slack_ts = body.ts",
        },
        user="root",
    )


def spiff_models() -> dict[str, dict[str, str]]:
    models = {}
    for marker in sorted(EXAMPLES.rglob("process_model.json")):
        folder = marker.parent
        files = {
            p.name: p.read_text(encoding="utf-8")
            for p in folder.iterdir()
            if p.suffix in (".bpmn", ".dmn", ".json")
            and p.name != "process_model.json"
            and not p.name.startswith("test_")
        }
        if any(n.endswith(".bpmn") for n in files):
            models[f"spiff:{folder.relative_to(EXAMPLES)}"] = files
    return models


def camunda_models() -> dict[str, dict[str, str]]:
    """One model per BPMN file, with the DMN files beside it and the processes it calls."""
    models = {}
    for path in sorted(CAMUNDA.rglob("*.bpmn")):
        files = {path.name: path.read_text(encoding="utf-8")}
        files.update({p.name: p.read_text(encoding="utf-8") for p in path.parent.glob("*.dmn")})
        called = {
            e.get("calledElement") for e in etree.parse(str(path)).iter(f"{{{MODEL}}}callActivity")
        }
        for other in path.parent.glob("*.bpmn"):
            ids = {p.get("id") for p in etree.parse(str(other)).iter(f"{{{MODEL}}}process")}
            if other != path and ids & called:
                files[other.name] = other.read_text(encoding="utf-8")
        models[f"camunda:{path.stem}"] = files
    return models


MODELS = {**spiff_models(), **camunda_models()} if CORPORA.is_dir() else {}
pytestmark = pytest.mark.skipif(not MODELS, reason="shared/corpora is not beside")


def errors_of(files: dict[str, str]) -> list[Problem]:
    return [p for p in check(files, held_roles=TEAM_ROLES) if p.severity == "error"]


def task_inputs(key: str) -> dict[str, list[dict[str, Any]]]:
    """Element id -> the data the example's own test case enters, in order."""
    if not key.startswith("spiff:"):
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for _, case in cases(EXAMPLES / key.removeprefix("spiff:"))[:1]:
        for task, entered in case["tasks"].items():
            found[task.split(":")[-1]] = list(entered["data"])
    return found


def form_data(files: dict[str, str], form: str | None) -> dict[str, Any]:
    """What a rep would enter: the form's example data, else its required fields filled."""
    if form is None:
        return {}
    example = files.get(form.replace("-schema.", "-exampledata."))
    if example and json.loads(example):
        return dict(json.loads(example))
    filled = fill(json.loads(files[form]))
    return filled if isinstance(filled, dict) else {}


def fill(schema: dict[str, Any]) -> Any:
    """A value that satisfies a simple JSON schema: required fields, first enum choices."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: fill(props[k]) for k in props if k in schema.get("required", list(props))}
    defaults = {"string": "x", "boolean": True, "array": [], "integer": 1}
    return defaults.get(kind, max(1, schema.get("minimum", 1)))


def run_happy_path(
    service: Service, key: str, process_id: str, files: dict[str, str]
) -> dict[str, Any]:
    """Start a deal; complete each task as it comes (those the example's own test enters data
    for first); move the clock to each timer; send the message it waits for."""
    inputs = task_inputs(key)
    iid = service.start(process_id, owner=OWNER)["instance_id"]
    message = MESSAGES.get(key)
    for _ in range(40):
        ready = sorted(service.tasks(instance=iid), key=lambda t: not inputs.get(t["element_id"]))
        if ready:
            task = ready[0]
            queue = inputs.get(task["element_id"])
            data = queue.pop(0) if queue else form_data(files, task["form"])
            if task["lane"] is None:
                owners_task(service, task, data)
            else:
                service.add_user(OWNER, [task["lane"]])  # she does every part here
            service.complete(task["task_id"], user=OWNER, data=data)
            continue
        if run_due_calls(service):  # a service task's call, as the worker makes it
            continue
        [deal] = service.instances(ids=[iid])
        if deal["status"] == "running" and message is not None:
            name, sent = message
            service.deliver_message(name, instance_id=iid, data=sent)
            message = None
            continue
        if deal["status"] != "running" or deal["next_due_at"] is None:
            return dict(deal)
        with time_machine.travel(clock.parse_iso(deal["next_due_at"]) + timedelta(seconds=1)):
            tick(service)
    raise AssertionError(f"{key} did not finish in 40 steps")


def owners_task(service: Service, task: Mapping[str, Any], data: dict[str, Any]) -> None:
    """A task in no lane (or a nameless one) is the deal owner's: in her own list, assigned
    to her, and refused to a colleague of the team's own role."""
    assert task["assignee"] == OWNER, task
    assert task["task_id"] in {t["task_id"] for t in service.tasks(user=OWNER)}
    assert task["task_id"] not in {t["task_id"] for t in service.tasks(user="bob")}
    with pytest.raises(ForbiddenError):
        service.complete(task["task_id"], user="bob", data=data)


@pytest.mark.parametrize("key", sorted(MODELS))
def test_each_model_deploys_and_runs_or_says_why(key: str, team: Service) -> None:
    files = MODELS[key]
    errors = errors_of(files)
    if key in REASONS:
        assert errors, f"{key} deploys now: drop it from REASONS"
        assert REASONS[key] in [e.message for e in errors]
        return
    assert errors == [], f"{key}: {errors[0].message if errors else ''}"
    with slack_stand_in() as (base, posts):
        if key in SLACK:
            slack_set_up(team, base)
        published = team.publish(files, actor=None)  # as it is: nothing rewritten
        assert published["changed"] is True
        end = run_happy_path(team, key, published["process_id"], files)
    assert end["status"] == "completed", end
    if key in SLACK:  # the message reached "Slack", with the stored token
        [post] = posts
        assert post["headers"]["Authorization"] == "Bearer xoxb-test-token"
        assert post["json"]["channel"] == "team"
        assert post["json"]["text"].startswith("New Demo Request!!!")
        data = team.show(end["instance_id"])["data"]
        assert data["slack_result"]["http_status"] == 200
        assert data["slack_ts"] == "1733541000.000100"
        assert data["current_user"] == {"username": OWNER}  # its pre-script's get_current_user()


def test_the_count_of_models_that_run() -> None:
    assert (len(MODELS) - len(REASONS), len(MODELS)) == RUN_COUNT
