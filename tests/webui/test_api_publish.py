"""POST /api/v1/definitions (webui/api/definitions_publish.py): publish from a team's tooling.

The BPMN as the body, or a multipart upload with its DMN and forms; 201 for a new version,
200 for content deployed already, 422 with every error on its element (nothing stored),
403 for anyone but designers and admins.  Answers match the OpenAPI document.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.webui.test_api import conforms

API = "/api/v1"
LINT = Path(__file__).resolve().parents[1] / "engine" / "data" / "lint"
SIMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs_api_simple" targetNamespace="http://salesflow.example/test">
  <bpmn:process id="api_simple" name="Call back" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_rep" name="Sales Rep">
        <bpmn:flowNodeRef>task_call</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task_call" name="Call back"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_call" />
    <bpmn:sequenceFlow id="f2" sourceRef="task_call" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
XML = {"Content-Type": "application/xml"}


@pytest.fixture
def tokens(staff: Service) -> dict[str, dict[str, str]]:
    return {
        u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"}
        for u in ("dora", "root", "alice", "mia")
    }


def upload(*names: str, replace: tuple[str, str] | None = None) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for number, name in enumerate(names):
        data = (LINT / name).read_bytes()
        if replace is not None and name.endswith(".bpmn"):
            data = data.replace(replace[0].encode(), replace[1].encode())
        parts[f"file{number}"] = (io.BytesIO(data), name)
    return parts


def test_publish_the_xml_body_then_again_unchanged(
    client: FlaskClient, staff: Service, tokens: dict[str, dict[str, str]]
) -> None:
    answer = client.post(f"{API}/definitions", data=SIMPLE, headers={**tokens["dora"], **XML})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert {k: body[k] for k in ("process_id", "version", "changed")} == {
        "process_id": "api_simple",
        "version": 1,
        "changed": True,
    }
    conforms(body, "PublishedDefinition")
    # Named after its process, stored as sent.
    assert staff.definition_files("api_simple") == {"api_simple.bpmn": SIMPLE}
    again = client.post(f"{API}/definitions", data=SIMPLE, headers={**tokens["root"], **XML})
    assert again.status_code == 200 and again.get_json()["changed"] is False
    named = client.post(
        f"{API}/definitions?filename=callback.bpmn",
        data=SIMPLE.replace("Call back", "Ring back"),
        headers={**tokens["dora"], "Content-Type": "text/xml"},
    )
    assert named.status_code == 201 and named.get_json()["version"] == 2
    assert list(staff.definition_files("api_simple")) == ["callback.bpmn"]


def test_publish_json_files_by_name(
    client: FlaskClient, staff: Service, tokens: dict[str, dict[str, str]]
) -> None:
    files = {"callback.bpmn": SIMPLE}
    answer = client.post(f"{API}/definitions", json={"files": files}, headers=tokens["dora"])
    assert answer.status_code == 201, answer.get_json()
    assert staff.definition_files("api_simple") == files


def test_publish_a_multipart_upload_with_its_decision_and_form(
    client: FlaskClient, staff: Service, tokens: dict[str, dict[str, str]]
) -> None:
    parts = upload("clean.bpmn", "lint_grade.dmn", "lint_quote.schema.json")
    answer = client.post(f"{API}/definitions", data=parts, headers=tokens["dora"])
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["process_id"] == "lint_clean"
    stored = staff.definition_files("lint_clean")
    assert stored == {
        n: (LINT / n).read_text(encoding="utf-8")
        for n in ("clean.bpmn", "lint_grade.dmn", "lint_quote.schema.json")
    }


def test_a_refused_definition_lists_every_error_on_its_element_and_stores_nothing(
    client: FlaskClient, staff: Service, tokens: dict[str, dict[str, str]]
) -> None:
    before = staff.definitions()
    parts = upload("clean.bpmn", "lint_quote.schema.json", replace=("&lt; 10000", "&lt; 50"))
    answer = client.post(f"{API}/definitions", data=parts, headers=tokens["dora"])
    assert answer.status_code == 422
    body = answer.get_json()
    conforms(body, "DefinitionRefused")
    assert [(e["element_id"], e["line"], e["file"]) for e in body["errors"]] == [
        ("task_grade", 36, "clean.bpmn"),
        ("gw_amount", 43, "clean.bpmn"),
    ]
    assert "lint_grade_decision" in body["errors"][0]["message"]
    assert "default" in body["errors"][1]["message"]
    assert body["message"].endswith("(and 1 more)")
    assert staff.definitions() == before


def test_unsafe_expressions_and_broken_xml_are_422_too(
    client: FlaskClient, tokens: dict[str, dict[str, str]]
) -> None:
    unsafe = SIMPLE.replace(
        '<bpmn:userTask id="task_call" name="Call back">',
        '<bpmn:scriptTask id="script_x"><bpmn:script>__import__("os")</bpmn:script>'
        '</bpmn:scriptTask><bpmn:userTask id="task_call" name="Call back">',
    )
    answer = client.post(f"{API}/definitions", data=unsafe, headers={**tokens["dora"], **XML})
    assert answer.status_code == 422
    assert {e["element_id"] for e in answer.get_json()["errors"]} >= {"script_x"}
    broken = client.post(f"{API}/definitions", data="<oops", headers={**tokens["dora"], **XML})
    assert broken.status_code == 422
    [error] = broken.get_json()["errors"]
    assert error["file"] == "definition.bpmn" and "not well-formed" in error["message"]


def test_only_designers_and_admins_may_publish(
    client: FlaskClient, staff: Service, tokens: dict[str, dict[str, str]]
) -> None:
    for user in ("alice", "mia"):
        answer = client.post(f"{API}/definitions", data=SIMPLE, headers={**tokens[user], **XML})
        assert answer.status_code == 403
        conforms(answer.get_json(), "Error")
    assert client.post(f"{API}/definitions", data=SIMPLE, headers=XML).status_code == 401
    assert "api_simple" not in {d["process_id"] for d in staff.definitions()}


@pytest.mark.parametrize(
    ("data", "headers", "field"),
    [
        ("bpmn=1", {"Content-Type": "application/x-www-form-urlencoded"}, "Content-Type"),
        ('{"files": {}}', {"Content-Type": "application/json"}, "files"),
        ('{"files": {"a/../b.txt": "x"}}', {"Content-Type": "application/json"}, "filename"),
        ("", XML, "body"),
        ({"f": (io.BytesIO(b"{}"), "form.json")}, {}, "files"),
        ({"f": (io.BytesIO(SIMPLE.encode()), "notes.txt")}, {}, "filename"),
    ],
)
def test_a_body_that_is_no_definition_is_422(
    client: FlaskClient,
    tokens: dict[str, dict[str, str]],
    data: Any,
    headers: dict[str, str],
    field: str,
) -> None:
    answer = client.post(f"{API}/definitions", data=data, headers={**tokens["dora"], **headers})
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "ValidationError" and body["field"] == field
