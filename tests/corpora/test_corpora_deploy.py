# ruff: noqa: E501  (each reason is one line, word for word what the designer is shown)
"""Every model of the spiff-examples and camunda7 corpora: it deploys and runs its happy
path, or REASONS says in one line why not, and that line is exactly one of the errors
engine.core.lint.check reports for it (what the designer page shows on import).

Most examples keep their human tasks in no lane, which salesflow refuses (a lane is the role
whose people do the task).  For those whose only errors are lanes, the test also puts the
tasks in a "Sales Rep" lane, as a designer would on import, and runs that: it must publish
and run its happy path to the end (each task completed with the example's test data or its
form's example data, timers fired by moving the clock).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from lxml import etree

from engine import clock
from engine.core.lint import Problem, check
from engine.jobs.timers import tick
from engine.usecases.service import Service
from tests.conftest import CORPORA
from tests.corpora.test_spiff_examples import EXAMPLES, cases

CAMUNDA = CORPORA / "camunda7"
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
HUMAN = ("userTask", "manualTask", "task")
LANE_ERROR = ("sits in no lane", "which has no name")
TEAM_ROLES = {"sales rep", "sales manager"}

# model -> why it cannot deploy, in one line: exactly one of the errors `check` reports.
REASONS = {
    "camunda:instantiating_process": "Send Message (ServiceTask_1): camunda:class 'org.camunda.bpm.example.event.message.InstantiateProcessByMessageDelegate' calls Java code, which salesflow cannot run",
    "camunda:invoice.v1": "no (reviewNotSuccessful): the condition '${!clarified}' is JUEL (Camunda's expression language), which salesflow does not run: write it in Python, for example 'not clarified'",
    "camunda:invoice.v2": "yes (reviewSuccessful): the condition '${clarified}' is JUEL (Camunda's expression language), which salesflow does not run: write it in Python, for example 'clarified'",
    "camunda:invoiceApproval": "Approve Invoice (UserTask_1): sits in no lane: put it in the lane of the role that does it",
    "camunda:invoicePayment": "Pay Invoice (Task_16y91ka): sits in no lane: put it in the lane of the role that does it",
    "camunda:loan-granting": "good score (SequenceFlow_17zmvol): the condition '${score > 5}' is JUEL (Camunda's expression language), which salesflow does not run: write it in Python, for example 'score > 5'",
    "camunda:loanApproval": "Calculate Interest (ServiceTask_1): camunda:delegateExpression '${calculateInterestService}' calls Java code, which salesflow cannot run",
    "camunda:message_start_process": "Wait in Message Process (UserTask_1): sits in no lane: put it in the lane of the role that does it",
    "camunda:order-handling": "Create Invoice (Task_06z99p1): an external task (topic 'invoiceCreator') waits for a Camunda worker, and salesflow has none",
    "camunda:order-process": "Identify needs (UserTask_1): sits in no lane: put it in the lane of the role that does it",
    "camunda:retry-example": "Fetch data from the CRM system (service-fetch-data): camunda:class 'org.camunda.bpm.example.delegate.ServiceTaskOneDelegate' calls Java code, which salesflow cannot run",
    "camunda:reviewInvoice": "Assign Reviewer (assignReviewer): sits in no lane: put it in the lane of the role that does it",
    "spiff:0-1-minimal-example": "Show Example Manual Task (Activity_0j3j0ev): sits in no lane: put it in the lane of the role that does it",
    "spiff:0-2-basic-example": "Display Questions (Activity_Display_Questions): sits in no lane: put it in the lane of the role that does it",
    "spiff:0-4-request-permissions": "Notify Sartography (Activity_12ze3hm): a service task calls an outside service, and salesflow has none configured: use a script task, or a user task for the person who does it",
    # (its form is spiff-arena's, not JSON Schema; which field jsonschema names varies)
    "spiff:1-basic-concepts/1-2-forms": "Simple Form (Activity_16bfpis): sits in no lane: put it in the lane of the role that does it",
    "spiff:1-basic-concepts/1-4-decisions": "Select a Pizza (Activity_1vwj16k): sits in no lane: put it in the lane of the role that does it",
    "spiff:1-basic-concepts/1-6-roles": "Approve Vacation (Activity_041y60h): pre-script 'requested_by = get_current_user()[\\'username\\'] lane_owners = { \"Vacation Appro...': calling 'get_current_user' is not allowed (line 1, column 16)",
    "spiff:2-in-depth/2-2-external-services/service-task-error-strategies": "Strategy Type (Gateway_1x94v9m): the exclusive gateway has no default flow and its conditions may all be false (the deal would stop in error): mark one flow as the default",
    "spiff:2-in-depth/2-3-sub-processes": "payment method (Gateway_1u659zq): the exclusive gateway has no default flow and its conditions may all be false (the deal would stop in error): mark one flow as the default",
    "spiff:2-in-depth/2-4-messages/chef": "Confirm Order Ready (Activity_01hg2o8): sits in no lane: put it in the lane of the role that does it",
    "spiff:2-in-depth/2-4-messages/waiter": "Take Order (Activity_0mg4xyf): sits in no lane: put it in the lane of the role that does it",
    "spiff:2-in-depth/2-5-loops/multi-instance": "not valid BPMN 2.0 (XSD): Element 'bpmn:outputDataItem', attribute 'id': 'composer_in_form' is not a valid value of the atomic type 'xs:ID'.",
    "spiff:2-in-depth/events/escalation-events": "Select your Path (Activity_0qpzdpu): sits in no lane: put it in the lane of the role that does it",
    "spiff:2-in-depth/events/timer-events": "Example manual task (Activity_0qpzdpu): sits in no lane: put it in the lane of the role that does it",
    "spiff:2-in-depth/message-api": "not valid BPMN 2.0 (XSD): Element 'bpmn:startEvent', attribute 'messageRef': The attribute 'messageRef' is not allowed.",
    "spiff:3-use-cases/allow-updates-until-approved": "Confirm Selection (Activity_1x1ze63): sits in the lane 'Lane_18ckkf0', which has no name: name the lane after the role whose people do the task",
    "spiff:3-use-cases/invitation-to-quote/prototype/receive-quote": 'receive_quote_prototype: the process is not executable (isExecutable="false"): set isExecutable="true" to run it',
    "spiff:3-use-cases/invitation-to-quote/prototype/request-quote": "Example manual task (Activity_0qpzdpu): sits in no lane: put it in the lane of the role that does it",
    "spiff:3-use-cases/invitation-to-quote/prototype/submit-quote": "Submit Quote (Activity_1bf1l34): sits in no lane: put it in the lane of the role that does it",
    "spiff:3-use-cases/todo-list": "Manage Todo List (manage_todo_list): sits in no lane: put it in the lane of the role that does it",
}
# Models whose happy path waits for a message from outside: model -> the message sent.
MESSAGES = {"camunda:message_start_process": "instantiationMessage"}


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


def in_a_lane(files: dict[str, str]) -> dict[str, str]:
    """The files with every human task in no lane put in a "Sales Rep" lane, and nameless
    lanes named so."""
    fixed = dict(files)
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"))
        for process in root.iterfind(f"{{{MODEL}}}process"):
            for lane in process.iter(f"{{{MODEL}}}lane"):
                if not lane.get("name"):
                    lane.set("name", "Sales Rep")
            placed = {r.text for r in process.iter(f"{{{MODEL}}}flowNodeRef")}
            loose = [
                t.get("id")
                for kind in HUMAN
                for t in process.iter(f"{{{MODEL}}}{kind}")
                if t.get("id") not in placed
            ]
            if not loose:
                continue
            lane_set = etree.Element(f"{{{MODEL}}}laneSet", id=f"{process.get('id')}_lanes")
            lane = etree.SubElement(
                lane_set, f"{{{MODEL}}}lane", id=f"{process.get('id')}_rep", name="Sales Rep"
            )
            for ident in loose:
                etree.SubElement(lane, f"{{{MODEL}}}flowNodeRef").text = ident
            before = ("documentation", "extensionElements", "ioSpecification", "laneSet")
            at = sum(1 for c in process if etree.QName(c).localname in before)
            process.insert(at, lane_set)
        fixed[name] = etree.tostring(root, encoding="unicode")
    return fixed


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
    iid = service.start(process_id, owner="alice")["instance_id"]
    message = MESSAGES.get(key)
    for _ in range(40):
        ready = sorted(service.tasks(instance=iid), key=lambda t: not inputs.get(t["element_id"]))
        if ready:
            task = ready[0]
            queue = inputs.get(task["element_id"])
            data = queue.pop(0) if queue else form_data(files, task["form"])
            if task["lane"]:
                service.add_user("alice", [task["lane"]])  # she does every part here
            service.complete(task["task_id"], user="alice", data=data)
            continue
        [deal] = service.instances(ids=[iid])
        if deal["status"] == "running" and message is not None:
            service.deliver_message(message, instance_id=iid)
            message = None
            continue
        if deal["status"] != "running" or deal["next_due_at"] is None:
            return dict(deal)
        with time_machine.travel(clock.parse_iso(deal["next_due_at"]) + timedelta(seconds=1)):
            tick(service)
    raise AssertionError(f"{key} did not finish in 40 steps")


@pytest.mark.parametrize("key", sorted(MODELS))
def test_each_model_deploys_and_runs_or_says_why(key: str, team: Service) -> None:
    files = MODELS[key]
    errors = errors_of(files)
    if key not in REASONS:
        assert errors == [], f"{key}: {errors[0].message if errors else ''}"
        runnable = files
    else:
        assert errors, f"{key} deploys now: drop it from REASONS"
        assert REASONS[key] in [e.message for e in errors]
        if not all(any(m in e.message for m in LANE_ERROR) for e in errors):
            return
        runnable = in_a_lane(files)
        assert errors_of(runnable) == [], key
    published = team.publish(runnable, actor=None)
    assert published["changed"] is True
    end = run_happy_path(team, key, published["process_id"], runnable)
    assert end["status"] == "completed", end
