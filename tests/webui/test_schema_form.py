"""Forms from JSON schemas: which widget each kind of field gets, the browser-side limits,
form text back to JSON, and each engine error on its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.core.forms import check_data, make_validator
from engine.errors import ValidationError
from tests.conftest import PROCESSES
from webui.schema_form import Widget, build, flatten, html_pattern, parse


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PROCESSES / f"{name}.schema.json").read_text())
    return loaded


def widgets(form: dict[str, Any]) -> dict[str, Widget]:
    return {w.name: w for top in build(form, {}).widgets for w in top.walk()}


def test_widgets_of_the_needs_analysis() -> None:
    found = widgets(schema("needs_analysis"))
    pain = found["pain_points"]
    assert pain.kind == "list" and pain.min_items == 3 and pain.required
    assert len(pain.children) == 3
    assert all(c.attrs["required"] == "required" for c in pain.children)
    assert pain.blank[0].attrs.get("required") is None  # an extra one is optional
    assert found["main_pain_area"].kind == "radio"
    assert [o.label for o in found["main_pain_area"].options] == [
        "Efficiency",
        "Cost",
        "Compliance",
    ]
    assert found["cost_if_persists"].kind == "text"
    assert found["cost_if_persists"].attrs == {
        "required": "required",
        "minlength": "1",
        "maxlength": "10000",  # the engine's default maximum length
        "pattern": ".*(?:\\S).*",
    }
    rows = found["decision_makers"]
    assert rows.kind == "rows" and rows.min_items == 1 and len(rows.rows) == 1
    assert [w.name for w in rows.rows[0]] == ["decision_makers.0.name", "decision_makers.0.role"]
    assert [w.name for w in rows.blank] == [
        "decision_makers.__INDEX__.name",
        "decision_makers.__INDEX__.role",
    ]
    group = found["budget_range"]
    assert group.kind == "group" and [c.name for c in group.children] == [
        "budget_range.min",
        "budget_range.max",
    ]
    assert found["budget_range.min"].kind == "money"  # the group's title says CNY
    assert found["budget_range.min"].attrs == {
        "required": "required",
        "min": "0",
        "step": "0.01",
        "inputmode": "decimal",
    }


@pytest.mark.parametrize(
    ("form", "field", "kind", "attrs"),
    [
        ("confirm_down_payment", "received_on", "date", {"required": "required"}),
        (
            "confirm_down_payment",
            "amount_received",
            "money",
            {"required": "required", "step": "0.01", "inputmode": "decimal"},
        ),
        (
            "prepare_quote",
            "price",
            "money",
            {"required": "required", "step": "0.01", "inputmode": "decimal"},
        ),
        (
            "prepare_quote",
            "discount_percent",
            "number",
            {
                "required": "required",
                "min": "0",
                "max": "100",
                "step": "any",
                "inputmode": "decimal",
            },
        ),
        (
            "satisfaction_revisit",
            "satisfaction",
            "integer",
            {"required": "required", "min": "1", "max": "5", "step": "1", "inputmode": "numeric"},
        ),
        ("satisfaction_revisit", "upsell_opportunity", "checkbox", {}),
        ("legal_review", "template_approved", "checkbox", {"required": "required"}),
        ("legal_review", "legal_notes", "textarea", {"maxlength": "10000"}),
        (
            "design_proposal",
            "proposal_document_url",
            "url",
            {
                "required": "required",
                "minlength": "1",
                "maxlength": "10000",
                "pattern": "https?://\\S+",
            },
        ),
        ("nurture_follow_up", "nurture_response", "radio", {"required": "required"}),
        ("lead_received", "source_channel", "select", {"required": "required"}),
        (
            "lead_received",
            "annual_revenue",
            "money",
            {"required": "required", "min": "0", "step": "0.01", "inputmode": "decimal"},
        ),
        (
            "break_goal_into_tasks",
            "execution_tasks.0.responsible_role",
            "select",
            {"required": "required"},
        ),
    ],
)
def test_widget_kinds_and_browser_limits(
    form: str, field: str, kind: str, attrs: dict[str, str]
) -> None:
    found = widgets(schema(form))[field]
    assert (found.kind, found.attrs) == (kind, attrs)


def test_long_text_and_arrays_of_choices() -> None:
    form = {
        "type": "object",
        "required": ["channels"],
        "properties": {
            "story": {"type": "string", "maxLength": 2000},
            "memo": {"type": "string", "x-widget": "textarea"},
            "channels": {
                "type": "array",
                "minItems": 2,
                "items": {"type": "string", "enum": ["phone", "email", "visit"]},
            },
        },
    }
    found = widgets(form)
    assert found["story"].kind == "textarea" and found["story"].attrs == {"maxlength": "2000"}
    assert found["memo"].kind == "textarea" and found["memo"].attrs == {"maxlength": "50000"}
    assert found["channels"].kind == "checkboxes" and found["channels"].min_items == 2
    parsed = parse(form, {"channels": ["phone", "visit"]})
    assert parsed.data == {"channels": ["phone", "visit"]}


def test_html_pattern_matches_the_whole_value() -> None:
    assert html_pattern("\\S") == ".*(?:\\S).*"
    assert html_pattern("^https?://\\S+$") == "https?://\\S+"
    assert html_pattern("^a\\$") == ".*(?:^a\\$).*"


def test_parse_reads_the_needs_analysis_form() -> None:
    raw = {
        "pain_points": ["  slow quotes ", "", "lost leads", "no overview"],
        "main_pain_area": ["cost"],
        "cost_if_persists": ["a lot"],
        "tried_before": ["nothing"],
        "decision_makers.0.name": [""],
        "decision_makers.0.role": [""],
        "decision_makers.3.name": ["Wang Lei"],
        "decision_makers.3.role": ["COO"],
        "budget_range.min": ["150,000"],
        "budget_range.max": ["300000.50"],
        "csrf_token": ["ignored: not in the schema"],
    }
    parsed = parse(schema("needs_analysis"), raw)
    assert parsed.errors == []
    assert parsed.data == {
        "pain_points": ["slow quotes", "lost leads", "no overview"],
        "main_pain_area": "cost",
        "cost_if_persists": "a lot",
        "tried_before": "nothing",
        "decision_makers": [{"name": "Wang Lei", "role": "COO"}],
        "budget_range": {"min": 150000, "max": 300000.5},
    }
    check_data(make_validator(schema("needs_analysis")), parsed.data)  # the engine accepts it
    assert parsed.html_name("decision_makers.0.role") == "decision_makers.3.role"


def test_parse_booleans_integers_and_bad_numbers() -> None:
    parsed = parse(
        schema("satisfaction_revisit"), {"satisfaction": ["4.5"], "upsell_opportunity": ["on"]}
    )
    assert parsed.data == {
        "satisfaction": "4.5",
        "upsell_opportunity": True,
        "renewal_opportunity": False,
        "referral_opportunity": False,
    }
    assert parsed.errors == [{"field": "satisfaction", "message": "Enter a whole number."}]
    parsed = parse(schema("prepare_quote"), {"price": ["inf"], "discount_percent": ["3"]})
    assert parsed.data["discount_percent"] == 3
    # The unreadable number, and then every other error at once (not "is not of type" again).
    assert parsed.errors == [
        {"field": "price", "message": "Enter a number."},
        {"field": "after_sales_terms", "message": "'after_sales_terms' is a required property"},
        {"field": "delivery_terms", "message": "'delivery_terms' is a required property"},
    ]


def test_flatten_and_parse_round_trip() -> None:
    from engine.usecases.demo import FORMS

    for form, element in (
        ("needs_analysis", "task_needs_analysis"),
        ("prepare_quote", "task_prepare_quote"),
        ("satisfaction_revisit", "task_satisfaction_revisit"),
        ("confirm_down_payment", "task_confirm_down_payment"),
        ("qualify_lead", "task_qualify_lead"),
    ):
        data = FORMS[element]
        assert parse(schema(form), flatten(schema(form), data)).data == data, form


def test_engine_errors_land_on_their_fields() -> None:
    form = schema("needs_analysis")
    raw = {
        "pain_points": ["one", "two"],
        "decision_makers.0.name": [""],
        "decision_makers.0.role": [""],
        "decision_makers.2.name": ["Wang Lei"],
        "budget_range.min": ["5"],
    }
    parsed = parse(form, raw)
    with pytest.raises(ValidationError) as caught:
        check_data(make_validator(form), parsed.data)
    view = build(form, raw, caught.value.errors, parsed)
    found = {w.name: w for top in view.widgets for w in top.walk()}
    assert found["pain_points"].errors == ["Enter at least 3."]
    assert found["decision_makers.2.role"].errors == ["This field is required."]
    assert found["decision_makers.2.name"].errors == []
    assert found["budget_range.max"].errors == ["This field is required."]
    assert found["main_pain_area"].errors == ["This field is required."]
    assert found["budget_range.min"].errors == []
    # What was typed is shown again, the filled row where it was.
    assert found["decision_makers.2.name"].value == "Wang Lei"
    assert [c.value for c in found["pain_points"].children] == ["one", "two", ""]
    assert view.has_errors and view.errors == []


def test_an_error_of_no_field_is_shown_on_the_form() -> None:
    view = build(schema("initial_contact"), {}, [{"field": "(form)", "message": "Deal is closed"}])
    assert view.errors == ["Deal is closed"]


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("-1 is less than the minimum of 0", "Enter 0 or more."),
        ("0 is less than or equal to the minimum of 0", "Enter more than 0."),
        ("101 is greater than the maximum of 100", "Enter 100 or less."),
        ("'x' is not one of ['a', 'b']", "Choose one of the options."),
        ("True was expected", "This must be ticked."),
        ("'' does not match '\\\\S'", "This value does not have the expected form."),
        ("'2026-13-01' is not a 'date'", "Enter a date (YYYY-MM-DD)."),
        ("something the UI does not know", "something the UI does not know"),
    ],
)
def test_messages_say_what_to_do(message: str, shown: str) -> None:
    view = build(schema("prepare_quote"), {}, [{"field": "price", "message": message}])
    assert view.widgets[0].errors == [shown]
