"""A model drawn for Camunda with JUEL gateway conditions is checked, published and run by
the real Service on a real SQLite file: each condition that compares data fields runs as the
same condition in our language; one that calls code is refused on its flow, naming the code."""

from __future__ import annotations

from typing import Any

from engine.core.definitions import parse_sources
from engine.core.lint import Problem, check
from engine.usecases.service import Service

TEAM = {"sales rep", "sales manager"}

CAMUNDA_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs_juel" targetNamespace="http://salesflow.example/test">
  <bpmn:process id="juel_review" name="JUEL review" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="Sales Rep">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw_ok" name="Approved?">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>flow_yes</bpmn:outgoing><bpmn:outgoing>flow_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:exclusiveGateway id="gw_size" name="Key account?" default="flow_small">
      <bpmn:incoming>flow_yes</bpmn:incoming>
      <bpmn:outgoing>flow_key</bpmn:outgoing><bpmn:outgoing>flow_small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="key_account" name="Key account" camunda:candidateGroups="Sales Manager">
      <bpmn:incoming>flow_key</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_no"><bpmn:incoming>flow_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_small"><bpmn:incoming>flow_small</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_key"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="gw_ok" />
    <bpmn:sequenceFlow id="flow_yes" name="yes" sourceRef="gw_ok" targetRef="gw_size">
      <bpmn:conditionExpression>${approved}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_no" name="no" sourceRef="gw_ok" targetRef="end_no">
      <bpmn:conditionExpression>${!approved}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_key" name="key" sourceRef="gw_size" targetRef="key_account">
      <bpmn:conditionExpression>${amount &gt;= 1000 &amp;&amp; tier == 'A'}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_small" sourceRef="gw_size" targetRef="end_small" />
    <bpmn:sequenceFlow id="f3" sourceRef="key_account" targetRef="end_key" />
  </bpmn:process>
</bpmn:definitions>
"""
FILES = {"juel_review.bpmn": CAMUNDA_MODEL}


def errors(files: dict[str, str]) -> list[Problem]:
    return [p for p in check(files, held_roles=TEAM) if p.severity == "error"]


def test_plain_juel_conditions_check_clean_and_the_gateway_is_proved_covered() -> None:
    # `${approved}` / `${!approved}` cover every case once translated: no default needed.
    assert errors(FILES) == []


def deal_after_review(team: Service, data: dict[str, Any], approved: bool) -> dict[str, Any]:
    iid = team.start("juel_review", owner="alice", data=data)["instance_id"]
    [review] = team.tasks(instance=iid)
    assert review["element_id"] == "review"
    team.complete(review["task_id"], user="alice", data={"approved": approved})
    [deal] = team.instances(ids=[iid])
    return {"status": deal["status"], "open": [t["element_id"] for t in team.tasks(instance=iid)]}


def test_translated_conditions_choose_the_path_in_a_running_deal(team: Service) -> None:
    published = team.publish(FILES, actor=None)
    assert published["process_id"] == "juel_review"
    big_a = {"amount": 5000, "tier": "A"}
    assert deal_after_review(team, big_a, True) == {"status": "running", "open": ["key_account"]}
    assert deal_after_review(team, {"amount": 5000, "tier": "B"}, True) == {
        "status": "completed",
        "open": [],
    }
    assert deal_after_review(team, {"amount": 999, "tier": "A"}, True)["open"] == []
    assert deal_after_review(team, big_a, False) == {"status": "completed", "open": []}
    # What is stored is the designer's file, JUEL and all: it is translated each time it is read.
    stored = team.definition_files("juel_review")["juel_review.bpmn"]
    assert "${approved}" in stored and "${!approved}" in stored


def test_juel_that_calls_code_is_refused_on_its_flow_naming_the_code() -> None:
    text = CAMUNDA_MODEL.replace("${approved}", "${execution.getVariable('approved')}")
    [problem] = errors({"juel_review.bpmn": text})
    assert problem.element_id == "flow_yes" and problem.file == "juel_review.bpmn"
    assert problem.line is not None
    assert "'${execution.getVariable('approved')}' is JUEL" in problem.message
    assert "but not 'execution.getVariable('approved')'" in problem.message


def test_juel_of_an_activiti_file_is_translated_too() -> None:
    """Activiti (and Flowable) write the same JUEL without Camunda's namespace."""
    text = (
        CAMUNDA_MODEL.replace("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
        .replace("camunda", "activiti")
        .replace('<bpmn:startEvent id="start">', LANES + '<bpmn:startEvent id="start">')
    )
    assert errors({"juel_review.bpmn": text}) == []
    [bundle] = parse_sources({"juel_review.bpmn": text})
    conditions = sorted(c.args[0] for c, _ in bundle.spec.task_specs["gw_ok"].cond_task_specs)
    assert conditions == ["approved", "not approved"]


LANES = """<bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_rep" name="Sales Rep">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_manager" name="Sales Manager">
        <bpmn:flowNodeRef>key_account</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    """
