# ruff: noqa: RUF001 - full-width Chinese punctuation in the expected texts
"""Process content in the reader's language (engine.core.translations, engine.usecases.texts):
the translations file beside a BPMN, its checks at publish, and the use cases answering a
Chinese reader in Chinese and everyone else as the designer wrote it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from sqlalchemy import select

from engine.core.definitions import read_paths
from engine.core.forms import form_validator
from engine.core.lint import check
from engine.core.translations import (
    Translations,
    file_locale,
    locale_of,
    localized_check,
    parse_catalog,
    translate_form,
)
from engine.errors import DefinitionError, DefinitionProblemsError, ValidationError
from engine.jobs.digest import send_digests
from engine.jobs.mail import _message
from engine.store.models import Notification
from engine.usecases.demo import WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

ZH = "sales_pipeline.zh-Hans.json"
NEEDS = "needs_analysis.schema.json"


def shipped() -> dict[str, str]:
    return read_paths([PROCESSES])


def at_needs_analysis(service: Service) -> tuple[str, str]:
    """(deal id, task id) of alice's deal waiting at the needs analysis."""
    deal = service.start("sales_pipeline", owner="alice", actor="alice", data=dict(LEAD))
    drive(service, deal["instance_id"], WON[:2])
    task = service.tasks(instance=deal["instance_id"])[0]
    assert task["element_id"] == "task_needs_analysis"
    return str(deal["instance_id"]), task["task_id"]


# --- the core ------------------------------------------------------------------------------


def test_language_tags_and_file_names() -> None:
    assert [locale_of(t) for t in ("zh-Hans", "zh-CN,zh;q=0.9", "zh", "en-GB", None, "fr")] == [
        "zh",
        "zh",
        "zh",
        "en",
        "en",
        "en",
    ]
    assert file_locale(ZH) == ("sales_pipeline.bpmn", "zh")
    assert file_locale(NEEDS) is None  # a form schema is no translations file


def test_texts_fall_back_to_the_designers() -> None:
    files = shipped()
    zh = Translations.load(files).texts("zh")
    assert zh.name("task_needs_analysis", "Needs analysis") == "需求分析"
    assert zh.name("task_that_is_new", "Something new") == "Something new"
    assert zh.lane("Sales Rep") == "销售代表" and zh.lane("Unknown lane") == "Unknown lane"
    assert zh.stage("needs") == "需求分析" and zh.stage("no_such_stage") == "no_such_stage"
    assert zh.value("follow_up_plan", "weekly follow-up and a customised plan") == (
        "每周跟进，制定定制方案"
    )
    en = Translations.load(files).texts("en")
    assert en.name("task_needs_analysis", "Needs analysis") == "Needs analysis"
    assert en.stage("needs") == "needs"


def test_a_form_gets_translated_titles_help_and_choice_labels_and_validates_the_same() -> None:
    files = shipped()
    schema = json.loads(files[NEEDS])
    texts = parse_catalog(ZH, files[ZH]).forms[NEEDS]
    shown = translate_form(schema, texts)
    assert shown["title"] == "需求分析"
    assert shown["properties"]["pain_points"]["title"] == "核心痛点"
    assert shown["properties"]["pain_points"]["items"]["title"] == "痛点"
    area = shown["properties"]["main_pain_area"]
    assert [o["title"] for o in area["oneOf"]] == ["效率", "成本", "合规"]
    assert area["enumNames"] == ["效率", "成本", "合规"]
    assert shown["properties"]["decision_makers"]["items"]["properties"]["name"]["title"] == "姓名"
    assert schema["properties"]["pain_points"]["title"] == "Core pain points"  # not changed
    # A bare enum gets its labels as enumNames.
    plain = {"type": "object", "properties": {"role": {"type": "string", "enum": ["Legal"]}}}
    labelled = translate_form(plain, {"fields": {"role": {"choices": {"Legal": "法务"}}}})
    assert labelled["properties"]["role"]["enumNames"] == ["法务"]
    # Only annotations changed: both refuse and accept the same data.
    data = {"pain_points": ["a"], "main_pain_area": "speed"}
    original = sorted(e.message for e in form_validator(schema).iter_errors(data))
    assert sorted(e.message for e in form_validator(shown).iter_errors(data)) == original


def test_errors_in_chinese_name_the_field_by_its_translated_title() -> None:
    files = shipped()
    schema = json.loads(files[NEEDS])
    shown = translate_form(schema, parse_catalog(ZH, files[ZH]).forms[NEEDS])
    data = {
        "pain_points": ["a"],
        "main_pain_area": "speed",
        "cost_if_persists": "x",
        "tried_before": "y",
        "decision_makers": [{"name": "Wang"}],
    }
    with pytest.raises(ValidationError) as zh:
        localized_check(form_validator(schema), data, shown, "zh")
    messages = {e["field"]: e["message"] for e in zh.value.errors}
    assert messages["pain_points"] == "「核心痛点」至少需要 3 项。"
    assert messages["main_pain_area"] == "「最突出的痛点」请从选项中选择。"
    assert messages["budget_range"] == "请填写「预算范围（元）」。"
    assert messages["decision_makers.0.role"] == "请填写「角色」。"
    with pytest.raises(ValidationError) as en:
        localized_check(form_validator(schema), data, schema, "en")
    english = {e["field"]: e["message"] for e in en.value.errors}
    assert english["pain_points"] == "['a'] is too short"  # jsonschema's words, as before


def test_a_malformed_translations_file_is_refused_naming_the_key() -> None:
    with pytest.raises(DefinitionError) as wrong:
        parse_catalog(ZH, json.dumps({"elements": {"task_x": {"nmae": "x"}}}))
    assert wrong.value.file == ZH and "elements.task_x.nmae" in wrong.value.detail
    with pytest.raises(DefinitionError) as not_json:
        parse_catalog(ZH, "{")
    assert "not valid JSON" in not_json.value.detail


def test_check_warns_of_unknown_ids_and_missing_texts_naming_file_and_key() -> None:
    files = shipped()
    assert [p for p in check(files) if p.file == ZH] == []  # shipped: complete
    catalog = json.loads(files[ZH])
    catalog["elements"]["task_gone"] = {"name": "已删除"}
    del catalog["elements"]["task_negotiate"]
    catalog["forms"][NEEDS]["fields"]["main_pain_area"]["choices"]["speed"] = "速度"
    catalog["forms"][NEEDS]["fields"]["no_field"] = {"title": "无"}
    found = {
        p.message: p.severity for p in check({**files, ZH: json.dumps(catalog)}) if p.file == ZH
    }
    assert found == {
        "elements.task_gone: no element 'task_gone' in the BPMN file": "warning",
        # An element of the BPMN file: named first, as every problem of the Check is.
        "Negotiate (task_negotiate): elements.task_negotiate.name: "
        "no translation of the userTask 'Negotiate'": "warning",
        "Negotiate (task_negotiate): elements.task_negotiate.instructions: "
        "no translation of the instructions": "warning",
        f"forms.{NEEDS}.fields.main_pain_area.choices.speed: no choice 'speed'": "warning",
        f"forms.{NEEDS}.fields.no_field: the form has no field 'no_field'": "warning",
    }


# --- publish ---------------------------------------------------------------------------------


def test_publish_refuses_a_bad_translations_file_and_warns_of_an_incomplete_one(
    team: Service,
) -> None:
    team.add_user("dora", ["designer"])
    files = shipped()
    with pytest.raises(DefinitionProblemsError) as refused:
        team.publish({**files, ZH: '{"elements": []}'}, actor="dora")
    assert {(p["file"], p["message"], p["severity"]) for p in refused.value.problems} >= {
        (ZH, "elements must be a JSON object", "error")
    }
    assert team.definitions() == []  # nothing stored
    catalog = json.loads(files[ZH])
    del catalog["stages"]["needs"]
    done = team.publish({**files, ZH: json.dumps(catalog)}, actor="dora")
    assert (ZH, "stages.needs: no translation of the stage 'needs'") in {
        (w["file"], w["message"]) for w in done["warnings"]
    }
    # The translations are part of the version: they come back with its files.
    assert ZH in team.definition_files("sales_pipeline")


# --- use cases ---------------------------------------------------------------------------------


def test_tasks_forms_timeline_and_charts_in_the_readers_language(team: Service) -> None:
    team.deploy([PROCESSES])
    deal, task_id = at_needs_analysis(team)

    assert team.task(task_id)["name"] == "Needs analysis"  # type: ignore[index]
    assert team.task(task_id, lang="zh")["name"] == "需求分析"  # type: ignore[index]
    assert [t["name"] for t in team.tasks(user="alice", lang="zh-Hans")] == ["需求分析"]
    assert [t["name"] for t in team.inbox("alice", lang="zh")["rows"]] == ["需求分析"]
    assert [t["name"] for t in team.inbox("alice", lang="en")["rows"]] == ["Needs analysis"]

    form = team.task_form(task_id, lang="zh")
    assert form["schema"]["properties"]["pain_points"]["title"] == "核心痛点"
    assert form["instructions"].startswith("按标准痛点调研进行")
    assert team.task_form(task_id)["schema"]["properties"]["pain_points"]["title"] == (
        "Core pain points"
    )
    start = team.localized_start_form("sales_pipeline", "zh")
    assert start is not None
    assert start["properties"]["source_channel"]["enumNames"][0] == "展会"

    shown = team.localize_deal(team.show(deal), "zh")
    assert {h["element_name"] for h in shown["history"]} >= {"线索资格审查", "初步接触"}
    assert [t["name"] for t in shown["tasks"]] == ["需求分析"]
    assert team.localize_deal(team.show(deal), "en") == team.show(deal)

    graph, _view, key = team.instance_chart(deal, lang="zh")
    names = {n.id: n.name for n in graph.nodes}
    assert names["task_needs_analysis"] == "需求分析"
    assert {ln.name for ln in graph.lanes} >= {"销售代表", "销售经理"}
    assert key.endswith(":zh")  # laid out apart from the English chart
    english, _view, en_key = team.instance_chart(deal)
    assert {n.id: n.name for n in english.nodes}["task_needs_analysis"] == "Needs analysis"
    assert en_key != key
    chart, _key = team.definition_chart("sales_pipeline", lang="zh")
    assert chart.name == "销售流程"


def test_a_refused_completion_names_the_field_in_the_readers_language(team: Service) -> None:
    team.deploy([PROCESSES])
    _deal, task_id = at_needs_analysis(team)
    with pytest.raises(ValidationError) as zh:
        team.complete(task_id, user="alice", data={"pain_points": ["a"]}, lang="zh")
    assert str(zh.value) == "budget_range: 请填写「预算范围（元）」。"  # the first, at the top
    fields = {e["field"]: e["message"] for e in zh.value.errors}
    assert fields["pain_points"] == "「核心痛点」至少需要 3 项。"
    with pytest.raises(ValidationError) as en:
        team.complete(task_id, user="alice", data={"pain_points": ["a"]})
    assert {e["field"]: e["message"] for e in en.value.errors}["pain_points"] == (
        "['a'] is too short"
    )


def test_digest_and_mail_in_the_recipients_language(team: Service) -> None:
    team.deploy([PROCESSES])
    team.set_language("alice", "zh")
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
    with time_machine.travel(t0, tick=False) as clock:
        at_needs_analysis(team)
        at_bob = team.start("sales_pipeline", owner="bob", actor="bob", data=dict(LEAD))
        drive(team, at_bob["instance_id"], WON[:2])
        clock.move_to(t0 + timedelta(days=4))  # the needs analyses are overdue
        assert [t["name"] for t in team.digest("alice")["tasks"]] == ["需求分析"]
        assert [t["name"] for t in team.digest("alice", lang="en")["tasks"]] == ["Needs analysis"]
        assert send_digests(team.db) >= 2
    with team.db.read() as s:
        rows = s.execute(
            select(Notification.username, Notification.text).where(Notification.kind == "digest")
        )
        texts = {username: text for username, text in rows}
    assert texts["alice"].startswith("今日：1 项任务到期（1 项已逾期）")
    assert texts["bob"].startswith("Today: 1 task(s) due (1 overdue)")
    with team.db.read() as s:
        note = s.scalars(select(Notification).where(Notification.username == "alice")).first()
    assert note is not None
    mail: EmailMessage = _message("sf@example.com", "a@example.com", "Alice", [note], "zh")
    assert "Alice，您好" in mail.get_content() and mail["Subject"].startswith("salesflow：今日")
    english = _message("sf@example.com", "a@example.com", "Alice", [note])
    assert english.get_content().startswith("Hello Alice,")
