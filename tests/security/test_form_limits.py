"""Issue 13, item 4 (its last part): a form's text fields have a default maximum length.  A
field without `maxLength` takes at most 10,000 characters (50,000 when the form marks it
`"x-widget": "textarea"`), checked by the engine for the lead form and every task form (a 422
naming the field, quoting none of the text) and told to the browser as the input's maxlength.
Replayed on the API, on the pages and on the rule itself (engine.core.forms)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.core.forms import (
    DEFAULT_MAX_LENGTH,
    TEXTAREA_MAX_LENGTH,
    check_data,
    form_validator,
    make_validator,
    max_length,
)
from engine.errors import ValidationError
from engine.usecases.service import Service
from tests.webui.conftest import LEAD, login, post, text
from tests.webui.test_api import QUALIFIED, error_of, only_task, start

API = "/api/v1"
LONG = "x" * (DEFAULT_MAX_LENGTH + 1)
FORM = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "memo": {"type": "string", "x-widget": "textarea"},
        "code": {"type": "string", "maxLength": 20_000},  # its own limit, above the default
        "either": {"anyOf": [{"type": "string", "maxLength": 30_000}, {"type": "number"}]},
        "untyped": {"title": "Shown as text"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "people": {
            "type": "array",
            "items": {"type": "object", "properties": {"note": {"type": "string"}}},
        },
        "kind": {"type": "string", "enum": ["a", "b"]},
        "count": {"type": "integer"},
    },
}


def refused(data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check_data(form_validator(FORM), data)
    return caught.value


@pytest.fixture
def alice(staff: Service) -> dict[str, str]:
    return {"Authorization": f"Bearer {staff.create_token('alice')['token']}"}


# --- the rule ------------------------------------------------------------------------------


def test_the_maximum_of_a_field() -> None:
    props = FORM["properties"]
    assert isinstance(props, dict)
    assert max_length(props["name"]) == DEFAULT_MAX_LENGTH == 10_000
    assert max_length(props["memo"]) == TEXTAREA_MAX_LENGTH == 50_000
    assert max_length(props["code"]) == 20_000
    assert max_length(props["untyped"]) == DEFAULT_MAX_LENGTH
    assert max_length({"type": ["string", "null"]}) == DEFAULT_MAX_LENGTH
    # No text, or a choice of values: nothing to limit.
    for schema in (props["kind"], props["count"], props["tags"], props["either"]):
        assert max_length(schema) is None


def test_every_text_of_a_form_is_limited_where_it_stands() -> None:
    at_most = "y" * DEFAULT_MAX_LENGTH
    check_data(
        form_validator(FORM),
        {
            "name": at_most,
            "memo": "m" * TEXTAREA_MAX_LENGTH,
            "code": "c" * 20_000,
            "either": "e" * 30_000,
            "untyped": at_most,
            "tags": [at_most, at_most],
            "people": [{"note": at_most}],
            "not_in_the_form": at_most,
        },
    )
    memo = "m" * (TEXTAREA_MAX_LENGTH + 1)
    for data, field, limit, given in (
        ({"name": LONG}, "name", DEFAULT_MAX_LENGTH, len(LONG)),
        ({"memo": memo}, "memo", TEXTAREA_MAX_LENGTH, len(memo)),
        ({"untyped": LONG}, "untyped", DEFAULT_MAX_LENGTH, len(LONG)),
        ({"tags": ["ok", LONG]}, "tags.1", DEFAULT_MAX_LENGTH, len(LONG)),
        (
            {"people": [{"note": "ok"}, {"note": LONG}]},
            "people.1.note",
            DEFAULT_MAX_LENGTH,
            len(LONG),
        ),
        ({"not_in_the_form": LONG}, "not_in_the_form", DEFAULT_MAX_LENGTH, len(LONG)),
    ):
        error = refused(data)
        assert error.field == field
        assert str(error) == f"{field}: is too long: at most {limit} characters ({given} given)"
    # A field's own maxLength is the schema's to check, with the same words.
    error = refused({"code": "c" * 20_001})
    assert (error.field, str(error)) == (
        "code",
        "code: is too long: at most 20000 characters (20001 given)",
    )
    # The plain validator (the API's own bodies: definition files of megabytes) has no default.
    check_data(make_validator(FORM), {"name": LONG * 100})


def test_no_message_quotes_a_long_text() -> None:
    error = refused({"count": "z" * 1_000_000, "name": LONG})
    assert {e["field"] for e in error.errors} == {"count", "name"}
    assert all(len(e["message"]) < 200 for e in error.errors)
    assert "is not of type 'integer'" in error.errors[0]["message"]


# --- the finding, replayed -----------------------------------------------------------------


def test_the_api_refuses_a_lead_longer_than_the_default(
    client: FlaskClient, staff: Service, alice: dict[str, str]
) -> None:
    body = {"process_id": "sales_pipeline", "data": {**LEAD, "company": LONG}}
    answer = client.post(f"{API}/deals", json=body, headers=alice)
    error = error_of(answer, 422, "ValidationError")
    assert error["field"] == "company"
    assert error["message"] == "company: is too long: at most 10000 characters (10001 given)"
    assert len(answer.data) < 1_000  # the text does not come back
    assert staff.instances() == []
    # A number field sent a megabyte of text: refused, and not quoted either.
    body = {"process_id": "sales_pipeline", "data": {**LEAD, "annual_revenue": "9" * 1_000_000}}
    answer = client.post(f"{API}/deals", json=body, headers=alice)
    assert answer.status_code == 422 and len(answer.data) < 1_000
    # At the limit it starts.
    start(client, alice, data={**LEAD, "company": LONG[:-1]})


def test_the_api_refuses_a_task_form_longer_than_the_default(
    client: FlaskClient, staff: Service, alice: dict[str, str]
) -> None:
    iid = start(client, alice)
    task = only_task(staff, iid, "task_qualify_lead")
    url = f"{API}/tasks/{task}/complete"
    answer = client.post(url, json={"data": {**QUALIFIED, "region": LONG}}, headers=alice)
    error = error_of(answer, 422, "ValidationError")
    assert (error["field"], error["message"]) == (
        "region",
        "region: is too long: at most 10000 characters (10001 given)",
    )
    assert [t["task_id"] for t in staff.tasks(instance=iid)] == [task]  # still open
    done = client.post(url, json={"data": {**QUALIFIED, "region": LONG[:-1]}}, headers=alice)
    assert done.status_code == 200, done.get_json()


def test_the_lead_form_tells_the_browser_and_the_engine_refuses(
    client: FlaskClient, staff: Service
) -> None:
    login(client, "alice")
    form = text(client.get("/deals/new"))
    assert 'name="company" type="text"' in form
    company = form[form.index('name="company"') :].split(">", 1)[0]
    assert 'maxlength="10000"' in company
    data = {"deal_owner": "alice", **{k: str(v) for k, v in LEAD.items()}, "company": LONG}
    answer = post(client, "/deals/new", data)
    assert answer.status_code == 422
    assert "Enter at most 10000 characters." in text(answer)
    assert staff.instances() == []
