# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese messages
"""Cross-field rules of a form (`x-rules`, engine.core.forms): enforced by the use case with
the schema, the error on the field in the reader's language."""

from __future__ import annotations

from typing import Any

import pytest

from engine.core.forms import form_validator, rule_errors, rule_problems
from engine.errors import ValidationError
from engine.usecases.demo import FORMS, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

RULED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "budget": {
            "type": "object",
            "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
        },
        "starts": {"type": "string", "format": "date"},
        "ends": {"type": "string", "format": "date"},
    },
    "x-rules": [
        {"field": "budget.max", "rule": ">=", "other": "budget.min"},
        {
            "field": "ends",
            "rule": ">=",
            "other": "starts",
            "message": {"en": "Ends before it starts.", "zh": "结束日期早于开始日期。"},
        },
    ],
}


def broken(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(".".join(map(str, e.absolute_path)), e.message) for e in rule_errors(RULED, data)]


def test_rules_compare_numbers_and_dates_and_hold_when_a_field_is_missing() -> None:
    assert broken({"budget": {"min": 5, "max": 5}, "starts": "2026-03-01"}) == []
    assert broken({"budget": {"min": 6, "max": 5}}) == [
        ("budget.max", "must be such that budget.max is at least budget.min")
    ]
    assert broken({"starts": "2026-03-02", "ends": "2026-03-01"}) == [
        ("ends", "Ends before it starts.")
    ]
    assert broken({"budget": {"min": "6", "max": 5}}) == []  # not comparable: the schema's
    errors = list(form_validator(RULED).iter_errors({"budget": {"min": 6, "max": 5}}))
    assert [e.validator for e in errors] == ["x-rules"]


def test_a_malformed_rule_list_is_named() -> None:
    assert rule_problems(RULED) == []
    bad = {**RULED, "x-rules": [{"field": "budget.top", "rule": "=>", "other": "starts"}, 3]}
    assert rule_problems(bad) == [
        "x-rules[0]: 'rule' is one of >= > <= < == !=",
        "x-rules[0]: 'field' names no field of the form ('budget.top')",
        "x-rules[1] is not an object",
    ]


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def test_the_needs_analysis_refuses_a_budget_maximum_below_the_minimum(pipeline: Service) -> None:
    iid = pipeline.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    drive(pipeline, iid, WON[:2])
    task = pipeline.tasks(instance=iid)[0]
    data = {**FORMS["task_needs_analysis"], "budget_range": {"min": 300_000, "max": 150_000}}
    with pytest.raises(ValidationError) as refused:
        pipeline.complete(task["task_id"], user="alice", data=data)
    assert refused.value.field == "budget_range.max"
    assert refused.value.errors == [
        {
            "field": "budget_range.max",
            "message": "The maximum budget is below the minimum: enter the highest figure here.",
        }
    ]
    with pytest.raises(ValidationError) as chinese:
        pipeline.complete(task["task_id"], user="alice", data=data, lang="zh")
    assert chinese.value.errors == [
        {"field": "budget_range.max", "message": "最高预算低于最低预算：此处请填写最高的金额。"}
    ]
    assert pipeline.tasks(instance=iid)[0]["task_id"] == task["task_id"]  # nothing changed
    fine = {**data, "budget_range": {"min": 150_000, "max": 150_000}}
    pipeline.complete(task["task_id"], user="alice", data=fine)
