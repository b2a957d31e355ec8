"""The designer and the Chinese texts of a process (<bpmn>.zh-Hans.json beside the BPMN,
engine.core.translations): the page opens them with the version's files, check, draft and
publish send them back, so a designer's publish keeps them, and a Chinese name given in the
designer is what a rep reading Chinese sees; the Check's translation warnings sit on the
element they are about."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD

from .conftest import login
from .test_designer import dora, page_data, renamed, send  # noqa: F401 - dora is a fixture

ZH = "sales_pipeline.zh-Hans.json"
TASK = "task_needs_analysis"


def with_chinese_name(files: dict[str, str], element_id: str, name: str) -> dict[str, str]:
    """What designer.js writes when a Chinese name is typed in the side panel."""
    doc = json.loads(files[ZH])
    doc.setdefault("elements", {}).setdefault(element_id, {})["name"] = name
    return {**files, ZH: json.dumps(doc, ensure_ascii=False, indent=2) + "\n"}


def test_a_designers_publish_keeps_the_translations_and_a_new_chinese_name(
    dora: FlaskClient,  # noqa: F811
    staff: Service,
    app: Flask,
) -> None:
    files = page_data(dora.get("/designer/sales_pipeline"))["files"]
    assert ZH in files and files[ZH] == staff.definition_files("sales_pipeline")[ZH]
    # An English edit alone: the new version still holds every translation.
    answer = send(
        dora,
        "/designer/publish",
        {"files": renamed(files, "Qualify the lead"), "opened": "sales_pipeline"},
    )
    assert answer.status_code == 200 and answer.get_json()["version"] == 2
    assert staff.definition_files("sales_pipeline")[ZH] == files[ZH]

    files = page_data(dora.get("/designer/sales_pipeline"))["files"]
    changed = with_chinese_name(files, TASK, "需求调研")
    answer = send(dora, "/designer/publish", {"files": changed, "opened": "sales_pipeline"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["version"] == 3
    stored = json.loads(staff.definition_files("sales_pipeline")[ZH])
    assert stored["elements"][TASK]["name"] == "需求调研"
    assert staff.definition_files("sales_pipeline", 2)[ZH] == files[ZH]  # versions keep theirs

    deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=dict(LEAD))
    drive(staff, deal["instance_id"], WON[:2])
    assert [t["name"] for t in staff.tasks(user="alice", lang="zh")] == ["需求调研"]
    assert [t["name"] for t in staff.tasks(user="alice", lang="en")] == ["Needs analysis"]
    staff.set_language("alice", "zh")
    rep = app.test_client()
    login(rep, "alice")
    assert "需求调研" in rep.get("/tasks").get_data(as_text=True)


def test_a_draft_keeps_the_translations(
    dora: FlaskClient,  # noqa: F811
    staff: Service,
) -> None:
    files = page_data(dora.get("/designer/sales_pipeline"))["files"]
    changed = with_chinese_name(files, TASK, "需求调研")
    answer = send(
        dora,
        "/designer/draft",
        {"files": changed, "opened": "sales_pipeline", "base_version": 1},
    )
    assert answer.status_code == 200
    reopened = page_data(dora.get("/designer/sales_pipeline"))["files"]
    assert json.loads(reopened[ZH])["elements"][TASK]["name"] == "需求调研"


def test_check_puts_a_missing_chinese_name_on_its_element(
    dora: FlaskClient,  # noqa: F811
) -> None:
    files = page_data(dora.get("/designer/sales_pipeline"))["files"]
    doc = json.loads(files[ZH])
    del doc["elements"][TASK]["name"]
    answer = send(
        dora,
        "/designer/check",
        {"files": {**files, ZH: json.dumps(doc)}, "opened": "sales_pipeline"},
    )
    problems = answer.get_json()["problems"]
    missing = [p for p in problems if p["file"] == ZH]
    assert [(p["element_id"], p["severity"]) for p in missing] == [(TASK, "warning")]
    assert missing[0]["message"] == (
        f"Needs analysis ({TASK}): elements.{TASK}.name: no translation of the userTask "
        "'Needs analysis'"
    )
    # The complete file: no translation warning at all.
    answer = send(dora, "/designer/check", {"files": files, "opened": "sales_pipeline"})
    assert [p for p in answer.get_json()["problems"] if p["file"] == ZH] == []
