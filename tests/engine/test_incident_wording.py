# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese the pages show
"""An incident keeps what is needed to word it again in any language: the key and arguments
of its message beside the English, through a save and a reload from a real SQLite database.
Rows written before the key was kept are worded from their English, and a text no entry
words is framed with the original kept as the technical detail, never dropped.  (The pages
in both languages, for every kind of failure: tests/webui/test_incident_pages_zh.py.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.core.connectors import address_refusal
from engine.core.failure_words import said_from_record, said_record, worded
from engine.core.failures import failure_said
from engine.core.lint.wording import recognised, say
from engine.store.db import Database
from engine.usecases.incidents import failure_text, incident_record
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA


def test_a_script_failure_keeps_its_key_and_arguments_through_a_reload(team: Service) -> None:
    team.deploy([ENGINE_DATA / "incident_order.bpmn"])
    iid = team.start("incident_order", owner="alice")["instance_id"]
    [task] = team.tasks(instance=iid)
    team.complete(task["task_id"], user="alice", data={"price": 100, "discount": 5})

    fresh = Service(Database(team.db.url))  # no cached workflow: the row as stored
    try:
        error = fresh.show(iid)["error"]
    finally:
        fresh.db.dispose()
    assert error is not None
    assert error["message"].startswith("NameError:name 'quantity' is not defined")
    assert error["said"] == {
        "key": "incident.script",
        "args": [["reason", {"key": "incident.name_missing", "args": [["name", "quantity"]]}]],
    }
    zh = incident_record(error, "zh-Hans")
    assert zh is not None
    assert zh["text"] == "脚本出错：商机数据中没有名为「quantity」的值"
    assert zh["detail"] == error["message"]  # the library's words, for the technical detail
    en = incident_record(error, "en")
    assert en is not None
    assert en["text"] == "the script failed: the deal's data has no value named 'quantity'"
    assert en["message"] == error["message"]  # the API's English stays as it was


def test_the_owner_is_told_in_her_language(team: Service, tmp_path: Path) -> None:
    # The step is named as the version's Chinese translation names it.
    shutil.copy(ENGINE_DATA / "incident_order.bpmn", tmp_path)
    names = {"elements": {"script_total": {"name": "计算订单总额"}}}
    (tmp_path / "incident_order.zh-Hans.json").write_text(json.dumps(names), encoding="utf-8")
    team.deploy([tmp_path])
    team.set_language("alice", "zh")
    iid = team.start("incident_order", owner="alice")["instance_id"]
    [task] = team.tasks(instance=iid)
    team.complete(task["task_id"], user="alice", data={"price": 100, "discount": 5})
    [told] = team.notifications("alice")
    assert told["kind"] == "incident"
    name = team.show(iid)["name"]
    assert told["text"] == (
        f"商机「{name}」已停止：「计算订单总额」出错。脚本出错：商机数据中没有名为「quantity」的值"
    )


def test_a_row_from_before_is_worded_from_its_english() -> None:
    old = {
        "message": "the call to crm.example.com failed after 3 attempts: "
        "no answer within 10 s (the connector's timeout)",
        "element_id": "task_crm",
    }
    record = incident_record(old, "zh")
    assert record is not None
    assert record["text"] == (
        "调用 crm.example.com 失败（已尝试 3 次，重试次数已用完）："
        "10 秒内没有应答（已到连接器的超时时间）"
    )
    assert record["detail"] == old["message"]
    english = incident_record(old, None)
    assert english is not None
    assert (english["text"], english["detail"]) == (old["message"], None)


def test_a_text_no_entry_words_is_framed_and_kept() -> None:
    library = "KeyError: 'region' (while merging the branches)"
    text, detail = worded(library, None, "zh")
    assert text == f"该步骤出错：{library}"
    assert detail == library
    assert worded(library, None, "en") == (f"the step failed: {library}", library)
    assert failure_text(None, "zh") is None


@pytest.mark.parametrize(
    "kept",
    [
        {"key": "no.such_key", "args": []},
        {"key": "incident.script", "args": [["reason"]]},
        {"key": "incident.name_missing", "args": "name"},
        "incident.script",
    ],
)
def test_a_kept_record_that_is_not_one_falls_back_to_the_english(kept: object) -> None:
    message = "the service failed with HTTP 502"
    assert said_from_record(kept) is None
    assert worded(message, kept, "zh") == ("对方服务出错（HTTP 502）", message)


def test_a_said_survives_its_record() -> None:
    said = say(
        "call.failed_after",
        host="crm.example.com",
        attempts=3,
        reason=say("call.server_error", status=500, library="<h1>Oops</h1>"),
    )
    assert said_from_record(said_record(said)) == said


def test_the_call_refusals_are_found_again_from_their_english() -> None:
    allowed = {"crm.example.com": False}
    refusals = {
        "call.host_not_allowed": address_refusal("erp.example.com", ["8.8.8.8"], allowed),
        "call.host_no_address": address_refusal("crm.example.com", [], allowed),
        "call.not_an_address": address_refusal("crm.example.com", ["nowhere"], allowed),
        "call.internal_address": address_refusal("crm.example.com", ["10.0.0.7"], allowed),
    }
    for key, text in refusals.items():
        assert text is not None
        found, refused = recognised(text), recognised(f"refused: {text}")
        assert found is not None and found.key == key, text
        assert refused is not None and refused.key == "call.refused", text


def test_an_error_of_our_own_is_its_entry() -> None:
    said = failure_said(ValueError("the answer is larger than 1,000,000 bytes"))
    assert said.key == "call.too_large"
    framed = failure_said(RuntimeError("something else entirely"))
    assert framed.key == "incident.failed"
    assert framed.text == "the step failed: something else entirely"
