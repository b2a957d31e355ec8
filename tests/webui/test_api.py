"""The JSON API at /api/v1: the round trip, tokens, who may do what, errors, and the
OpenAPI document that describes it (valid, complete, and true to the real answers)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree, html
from openapi_spec_validator import validate

from engine.store.db import Database
from engine.usecases.demo import FORMS, WON, drive
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA, LEAD, PROCESSES
from webui import api, create_app
from webui.api.document import document

API = "/api/v1"
QUALIFIED = {
    "annual_revenue": 8000000,
    "intent": "high",
    "decision_chain": "known",
    "industry": "manufacturing",
    "region": "Shanghai",
}
SVG = "{http://www.w3.org/2000/svg}"
# No token asked: the documentation, unknown paths, and the signed message (its HMAC signature
# stands for the sender: tests/webui/test_integrations.py).
PUBLIC = {"api.openapi_json", "api.docs", "api.unknown_path", "api.signed_message"}


@pytest.fixture
def app(team: Service, db_url: str) -> Iterator[Flask]:
    team.deploy([PROCESSES])
    flask_app = create_app({"TESTING": True, "SALESFLOW_DATABASE_URL": db_url, "SECRET_KEY": "t"})
    yield flask_app
    flask_app.extensions["salesflow"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(team: Service) -> dict[str, dict[str, str]]:
    """user -> the headers that carry a fresh token of theirs."""
    users = ("alice", "bob", "mia", "pete", "lena", "fay")
    return {u: {"Authorization": f"Bearer {team.create_token(u)['token']}"} for u in users}


def start(client: FlaskClient, headers: dict[str, str], **body: Any) -> str:
    sent = {"process_id": "sales_pipeline", "data": LEAD, **body}
    answer = client.post(f"{API}/deals", json=sent, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    instance_id: str = answer.get_json()["instance_id"]
    return instance_id


def only_task(service: Service, instance_id: str, element_id: str) -> str:
    [task] = [t for t in service.tasks(instance=instance_id) if t["element_id"] == element_id]
    task_id: str = task["task_id"]
    return task_id


def error_of(answer: Any, status: int, kind: str | None = None) -> dict[str, Any]:
    """The JSON error of an answer, after checking its status and shape."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    body: dict[str, Any] = answer.get_json()
    assert isinstance(body["message"], str) and body["message"]
    if kind is not None:
        assert body["error"] == kind
    conforms(body, "Error")
    return body


def closed_components() -> dict[str, Any]:
    """The document's components with every response object closed: an answer carrying a key
    the document does not list fails validation, at any depth."""
    components = copy.deepcopy(document()["components"])
    for schema in components["schemas"].values():
        if schema.get("type") == "object" and set(schema.get("required", ())) == set(
            schema.get("properties", ())
        ):
            schema["additionalProperties"] = False
    return components


def conforms(body: Any, schema: str) -> None:
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": closed_components(),
        "$ref": f"#/components/schemas/{schema}",
    }
    jsonschema.Draft202012Validator(root).validate(body)


def svg_groups(data: bytes) -> dict[str, list[str]]:
    root = etree.fromstring(data)
    return {
        g.get("id"): (g.get("class") or "").split() for g in root.iter(f"{SVG}g") if g.get("id")
    }


# --- the round trip ----------------------------------------------------------------------


def test_round_trip_start_a_deal_work_a_task_and_fetch_its_chart(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service
) -> None:
    alice = auth["alice"]
    created = client.post(
        f"{API}/deals", json={"process_id": "sales_pipeline", "data": LEAD}, headers=alice
    )
    assert created.status_code == 201
    started = created.get_json()
    iid = started["instance_id"]
    assert started == {
        "instance_id": iid,
        "process_id": "sales_pipeline",
        "version": 1,
        "status": "running",
    }
    assert created.headers["Location"] == f"{API}/deals/{iid}"

    deal = client.get(created.headers["Location"], headers=alice).get_json()
    assert deal == team.show(iid)  # the keys and values of `salesflow show --json`
    assert (deal["name"], deal["owner"]) == ("ACME", "alice")
    assert deal["position"]["task_qualify_lead"] == "ready"
    assert deal["history"][0]["kind"] == "started" and deal["history"][0]["actor"] == "alice"

    mine = client.get(f"{API}/tasks", headers=alice).get_json()["items"]
    assert mine == team.tasks(user="alice")  # the keys of `salesflow tasks --json`
    [task] = mine
    assert (task["element_id"], task["assignee"]) == ("task_qualify_lead", "alice")

    done = client.post(
        f"{API}/tasks/{task['task_id']}/complete", json={"data": QUALIFIED}, headers=alice
    )
    assert done.status_code == 200
    assert done.get_json() == {
        "instance_id": iid,
        "status": "running",
        "ready": ["task_initial_contact"],
    }

    svg = client.get(f"{API}/deals/{iid}/diagram.svg", headers=alice)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    groups = svg_groups(svg.data)
    assert "state-ready" in groups["task_initial_contact"]
    assert "state-completed" in groups["task_qualify_lead"]
    png = client.get(f"{API}/deals/{iid}/diagram.png", headers=alice)
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    pdf = client.get(f"{API}/deals/{iid}/diagram.pdf", headers=alice)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"] == f'inline; filename="deal-{iid}.pdf"'

    listed = client.get(f"{API}/deals", headers=alice).get_json()
    assert listed == {"items": team.instances(visible_to="alice"), "limit": 50, "offset": 0}
    assert [d["stage"] for d in listed["items"]] == ["contact"]


def test_the_token_user_starts_the_deal_and_owns_it_unless_told(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service
) -> None:
    iid = start(client, auth["alice"], owner="bob", name="Referred by Alice")
    deal = team.show(iid)
    assert (deal["name"], deal["owner"]) == ("Referred by Alice", "bob")
    assert deal["history"][0]["actor"] == "alice"
    assert [t["assignee"] for t in team.tasks(instance=iid)] == ["bob"]
    # Whoever started a deal keeps seeing it; the new owner sees it too.
    assert client.get(f"{API}/deals/{iid}", headers=auth["alice"]).status_code == 200
    assert client.get(f"{API}/deals/{iid}", headers=auth["bob"]).status_code == 200


# --- tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer ", "Bearer not-a-token", "bearer x y"],
)
def test_requests_without_a_valid_token_are_refused(
    client: FlaskClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    answer = client.get(f"{API}/deals", headers=headers)
    body = error_of(answer, 401, "Unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="salesflow"')
    assert "token" in body["message"]


def test_a_revoked_token_stops_working(client: FlaskClient, team: Service) -> None:
    issued = team.create_token("alice", "lead form")
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get(f"{API}/tasks", headers=headers).status_code == 200
    team.revoke_token(issued["id"])
    answer = client.get(f"{API}/tasks", headers=headers)
    error_of(answer, 401, "Unauthorized")
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def sample_url(rule: Any, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


# A sample value for every path parameter of the API's routes (a new one needs its line).
SAMPLES = {
    "instance_id": "1",
    "task_id": "x",
    "process_id": "sales_pipeline",
    "format": "svg",
    "rest": "nowhere",
    "name": "contract_signed",
    "initiative_id": "1",
    "row_id": "1",
    "filter_id": "1",
    "customer_id": "1",
    "report": "funnel",
    "webhook_id": "1",
    "delivery_id": "1",
}


def test_every_endpoint_but_the_documentation_needs_a_token(
    app: Flask, client: FlaskClient
) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")]
    endpoints = {rule.endpoint for rule in rules}
    assert endpoints >= PUBLIC  # no stale exception
    guarded = endpoints - PUBLIC
    checked = set()
    for rule in rules:
        if rule.endpoint in PUBLIC:
            continue
        assert set(rule.arguments) <= set(SAMPLES), f"add a sample value for {rule.rule}"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = client.open(sample_url(rule, SAMPLES), method=method, json={})
            error_of(answer, 401, "Unauthorized")
            checked.add(rule.endpoint)
    assert checked == guarded
    assert {"api.list_deals", "api.complete_task", "api.post_message", "api.migrate_deals",
            "api.update_initiative_row"} <= checked  # fmt: skip
    assert client.get(f"{API}/openapi.json").status_code == 200
    assert client.get(f"{API}/docs").status_code == 200


# --- who may do what ---------------------------------------------------------------------

# Alice owns a deal whose "Qualify lead" task is hers.  Each user makes these requests in this
# order; the expected status codes, per user.  Bob and Lena may not see the deal: its task is
# a 404 to them as the deal is (a 403 or a 409 would tell it exists and who holds it).
#        request                                     alice  bob  mia  lena
MATRIX = [
    ("GET", "/deals/{deal}",                          200,   404, 200, 404),
    ("GET", "/deals/{deal}/diagram.svg",              200,   404, 200, 404),
    ("GET", "/deals/{deal}/diagram.pdf",              200,   404, 200, 404),
    ("GET", "/deals",                                 200,   200, 200, 200),
    ("GET", "/tasks",                                 200,   200, 200, 200),
    ("GET", "/definitions",                           200,   200, 200, 200),
    ("GET", "/definitions/sales_pipeline",            200,   200, 200, 200),
    ("GET", "/definitions/sales_pipeline/diagram.svg?heatmap=1", 200, 200, 200, 200),
    ("POST", "/tasks/{task}/claim",                   200,   404, 409, 404),
    ("POST", "/tasks/{task}/release",                 200,   404, 403, 404),
    ("POST", "/tasks/{task}/complete",                200,   404, 403, 404),
    ("POST", "/tasks/{task}/complete",                409,   404, 403, 404),
    ("POST", "/deals",                                201,   201, 201, 403),  # startRoles
]  # fmt: skip
USERS = ("alice", "bob", "mia", "lena")
# Whether the deal is in the user's deal list, and its task in the user's task list.
SEES_DEAL = {"alice": True, "bob": False, "mia": True, "lena": False}
SEES_TASK = {"alice": True, "bob": False, "mia": False, "lena": False}


@pytest.mark.parametrize("user", USERS)
def test_permission_matrix(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service, user: str
) -> None:
    deal = start(client, auth["alice"])
    task = only_task(team, deal, "task_qualify_lead")
    headers = auth[user]
    deals = client.get(f"{API}/deals", headers=headers).get_json()["items"]
    assert (deal in {d["instance_id"] for d in deals}) is SEES_DEAL[user]
    tasks = client.get(f"{API}/tasks", headers=headers).get_json()["items"]
    assert (task in {t["task_id"] for t in tasks}) is SEES_TASK[user]
    seen = []
    for method, path, *_ in MATRIX:
        url = API + path.format(deal=deal, task=task)
        body = {"process_id": "sales_pipeline", "data": LEAD} if path == "/deals" else None
        if path.endswith("/complete"):
            body = {"data": QUALIFIED}
        answer = client.open(url, method=method, json=body, headers=headers)
        seen.append(answer.status_code)
        if answer.status_code >= 400:
            message = error_of(answer, answer.status_code)["message"]
            if answer.status_code == 404:
                assert "ACME" not in message  # nothing about the deal leaks
    assert seen == [codes[USERS.index(user)] for _, _, *codes in MATRIX]


def test_a_foreign_deal_looks_exactly_like_a_missing_one(
    client: FlaskClient, auth: dict[str, dict[str, str]]
) -> None:
    deal = start(client, auth["alice"])
    bob = auth["bob"]
    for suffix in ("", "/diagram.svg", "/diagram.png"):
        foreign = error_of(client.get(f"{API}/deals/{deal}{suffix}", headers=bob), 404)
        missing = error_of(client.get(f"{API}/deals/999{suffix}", headers=bob), 404)
        assert foreign == {**missing, "message": missing["message"].replace("999", deal)}
        error_of(client.get(f"{API}/deals/not-a-number{suffix}", headers=bob), 404)


def test_lanes_decide_who_claims_and_completes(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service
) -> None:
    deal = start(client, auth["alice"])
    drive(team, deal, WON[:6])  # won: legal review and down payment wait in their queues
    legal = only_task(team, deal, "task_legal_review")
    url = f"{API}/tasks/{legal}"
    # Alice owns the deal but does not hold the Legal lane.
    refused = error_of(client.post(f"{url}/complete", json={"data": {}}, headers=auth["alice"]),
                       403, "ForbiddenError")  # fmt: skip
    assert "Legal" in refused["message"]
    error_of(client.post(f"{url}/claim", headers=auth["alice"]), 403, "ForbiddenError")
    # Lena sees the deal through her queue; claims, releases, claims, completes.
    lena = auth["lena"]
    assert client.get(f"{API}/deals/{deal}", headers=lena).status_code == 200
    queued = client.get(f"{API}/tasks", headers=lena).get_json()["items"]
    assert [(t["task_id"], t["assignee"]) for t in queued] == [(legal, None)]
    claimed = client.post(f"{url}/claim", headers=lena).get_json()
    assert claimed["assignee"] == "lena"
    conforms(claimed, "Task")
    assert client.post(f"{url}/release", headers=lena).get_json()["assignee"] is None
    assert client.post(f"{url}/claim", headers=lena).status_code == 200
    error_of(client.post(f"{url}/claim", headers=auth["fay"]), 409, "ConflictError")
    data = {"data": FORMS["task_legal_review"]}
    done = client.post(f"{url}/complete", json=data, headers=lena)
    assert done.status_code == 200
    assert done.get_json()["ready"] == ["task_confirm_down_payment"]
    again = error_of(client.post(f"{url}/complete", json=data, headers=lena), 409)
    assert "already completed by lena" in again["message"]
    assert client.get(f"{API}/deals/{deal}", headers=lena).status_code == 200  # worked on it


# --- invalid data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {**QUALIFIED, "decision_chain": None}}, "decision_chain"),
        ({"data": {k: v for k, v in QUALIFIED.items() if k != "region"}}, "region"),
        ({"data": {**QUALIFIED, "intent": "maybe"}}, "intent"),
        ({"data": {**QUALIFIED, "annual_revenue": "8M"}}, "annual_revenue"),
        ({"data": 5}, "data"),
        ({"form": QUALIFIED}, "form"),
        ([QUALIFIED], "body"),
        ("data", "body"),
    ],
)
def test_a_bad_form_is_refused_with_its_field(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service, body: Any, field: str
) -> None:
    deal = start(client, auth["alice"])
    task = only_task(team, deal, "task_qualify_lead")
    answer = client.post(f"{API}/tasks/{task}/complete", json=body, headers=auth["alice"])
    error = error_of(answer, 422, "ValidationError")
    assert error["field"] == field
    assert field in {e["field"] for e in error["errors"]}
    assert team.show(deal)["position"]["task_qualify_lead"] == "ready"  # nothing changed


def test_a_body_that_is_not_json_is_refused(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service
) -> None:
    for url in (f"{API}/deals", f"{API}/tasks/x/complete"):
        answer = client.post(url, data="{'data': {}", headers=auth["alice"])
        error = error_of(answer, 422, "ValidationError")
        assert error["field"] == "body" and "not valid JSON" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "process_id"),
        ({"process_id": "no_such_process", "data": LEAD}, "process_id"),
        ({"process_id": "sales_pipeline", "version": 7, "data": LEAD}, "process_id"),
        ({"process_id": "sales_pipeline", "version": 0, "data": LEAD}, "version"),
        ({"process_id": "sales_pipeline", "owner": "ghost", "data": LEAD}, "owner"),
        ({"process_id": "sales_pipeline", "name": "", "data": LEAD}, "name"),
        ({"process_id": "sales_pipeline", "name": 5, "data": LEAD}, "name"),
        ({"process_id": "sales_pipeline", "deal": "ACME", "data": LEAD}, "deal"),
        ({"process_id": "sales_pipeline", "data": {**LEAD, "intent": "maybe"}}, "intent"),
        ({"process_id": "sales_pipeline", "data": [LEAD]}, "data"),
        ({"process_id": ["sales_pipeline"]}, "process_id"),
        (["sales_pipeline"], "body"),
    ],
)
def test_starting_a_deal_with_bad_data_is_refused_with_its_field(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service, body: Any, field: str
) -> None:
    answer = client.post(f"{API}/deals", json=body, headers=auth["alice"])
    assert error_of(answer, 422, "ValidationError")["field"] == field
    assert team.instances() == []


def test_a_failing_process_expression_is_invalid_data(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service
) -> None:
    team.deploy([ENGINE_DATA / "expr_quote.bpmn"])
    body = {"process_id": "expr_quote", "data": {}}  # its script totals the missing `lines`
    error = error_of(client.post(f"{API}/deals", json=body, headers=auth["alice"]), 422)
    assert error["error"] == "ExpressionError"
    assert "task_total" in error["message"] and "lines" in error["message"]
    assert team.instances() == []


def test_unknown_ids_are_not_found(client: FlaskClient, auth: dict[str, dict[str, str]]) -> None:
    mia = auth["mia"]  # sees every deal: a 404 here is about existence only
    for method, path in [
        ("GET", "/deals/999"),
        ("GET", "/deals/999/diagram.svg"),
        ("POST", "/tasks/00000000-0000-4000-8000-000000000000/claim"),
        ("POST", "/tasks/nope/release"),
        ("POST", "/tasks/nope/complete"),
        ("GET", "/definitions/no_such_process"),
        ("GET", "/definitions/no_such_process/diagram.png"),
        ("GET", "/definitions/sales_pipeline/diagram.svg?version=9"),
    ]:
        error_of(client.open(API + path, method=method, json={}, headers=mia), 404, "NotFoundError")


def test_unknown_paths_and_methods_answer_in_json(
    client: FlaskClient, auth: dict[str, dict[str, str]]
) -> None:
    body = error_of(client.get(f"{API}/no-such-thing"), 404, "NotFound")
    assert f"{API}/docs" in body["message"]
    error_of(client.get(f"{API}/deals/1/diagram.gif", headers=auth["alice"]), 404, "NotFound")
    wrong = client.delete(f"{API}/deals/1", headers=auth["alice"])
    error_of(wrong, 405, "MethodNotAllowed")
    assert wrong.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert client.put(f"{API}/deals").headers["Allow"] == "GET, HEAD, OPTIONS, POST"


# --- lists and definitions ---------------------------------------------------------------


def test_the_deal_list_filters_and_pages(
    client: FlaskClient, auth: dict[str, dict[str, str]]
) -> None:
    for n in range(3):
        start(client, auth["alice"], name=f"Deal {n} 客户")
    start(client, auth["bob"], name="Bob's deal", data={**LEAD, "source_channel": "ads"})

    def names(user: str, query: str = "") -> list[str]:
        answer = client.get(f"{API}/deals{query}", headers=auth[user])
        assert answer.status_code == 200
        conforms(answer.get_json(), "DealList")
        return [d["name"] for d in answer.get_json()["items"]]

    assert names("alice") == ["Deal 0 客户", "Deal 1 客户", "Deal 2 客户"]
    assert names("mia") == [*names("alice"), "Bob's deal"]
    assert names("alice", "?q=deal%201") == ["Deal 1 客户"]
    assert names("alice", "?q=客户&limit=2&offset=1") == ["Deal 1 客户", "Deal 2 客户"]
    assert names("mia", "?source=ads") == ["Bob's deal"]
    assert names("mia", "?owner=bob&status=running&stage=qualification") == ["Bob's deal"]
    assert names("mia", "?process=sales_pipeline&status=completed") == []
    assert names("alice", "?owner=bob") == []  # a filter never widens what one sees
    paged = client.get(f"{API}/deals?limit=1&offset=2", headers=auth["mia"]).get_json()
    assert (paged["limit"], paged["offset"], len(paged["items"])) == (1, 2, 1)
    for query, field in [("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"),
                         ("offset=-1", "offset"), ("status=won", "status")]:  # fmt: skip
        answer = client.get(f"{API}/deals?{query}", headers=auth["mia"])
        assert error_of(answer, 422, "ValidationError")["field"] == field


def test_the_task_list_filters_by_deal_and_lane(
    client: FlaskClient, auth: dict[str, dict[str, str]]
) -> None:
    first, second = start(client, auth["alice"]), start(client, auth["alice"])
    alice = auth["alice"]

    def deals_of(query: str) -> list[str]:
        answer = client.get(f"{API}/tasks{query}", headers=alice)
        conforms(answer.get_json(), "TaskList")
        return [t["instance_id"] for t in answer.get_json()["items"]]

    assert sorted(deals_of("")) == [first, second]
    assert deals_of(f"?instance={second}") == [second]
    assert deals_of("?role=legal") == []
    answer = client.get(f"{API}/tasks?instance=abc", headers=alice)
    assert error_of(answer, 422, "ValidationError")["field"] == "instance"


def test_definitions_their_versions_and_charts(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service, tmp_path: Path
) -> None:
    source = (ENGINE_DATA / "review_loop.bpmn").read_text()
    schema = ENGINE_DATA / "review.schema.json"
    team.deploy([ENGINE_DATA / "review_loop.bpmn", schema])
    changed = tmp_path / "review_loop.bpmn"
    changed.write_text(re.sub(r'name="([^"]+)"', r'name="\1 (v2)"', source, count=1))
    assert team.deploy([changed, schema])[0]["version"] == 2
    pete = auth["pete"]

    listed = client.get(f"{API}/definitions", headers=pete).get_json()
    assert listed == {"items": team.definitions()}
    conforms(listed, "DefinitionList")
    detail = client.get(f"{API}/definitions/review_loop", headers=pete).get_json()
    assert (detail["version"], detail["version_numbers"]) == (2, [1, 2])
    conforms(detail, "DefinitionDetail")

    base = f"{API}/definitions/sales_pipeline/diagram"
    svg = client.get(f"{base}.svg", headers=pete)
    assert svg.mimetype == "image/svg+xml" and "task_qualify_lead" in svg_groups(svg.data)
    assert svg.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get(f"{base}.png", headers=pete).data.startswith(b"\x89PNG")
    assert client.get(f"{base}.pdf?heatmap=1", headers=pete).data.startswith(b"%PDF-")
    heat = client.get(f"{base}.svg?heatmap=1&version=1&layout=auto", headers=pete)
    assert heat.status_code == 200
    assert heat.headers["Content-Disposition"] == (
        'inline; filename="sales_pipeline-v1-heatmap.svg"'
    )
    old = client.get(f"{API}/definitions/review_loop/diagram.svg?version=1", headers=pete)
    assert old.status_code == 200
    for query, field in [("heatmap=true", "heatmap"), ("version=x", "version"),
                         ("version=0", "version"), ("layout=fancy", "layout")]:  # fmt: skip
        answer = client.get(f"{base}.svg?{query}", headers=pete)
        assert error_of(answer, 422, "ValidationError")["field"] == field


# --- the OpenAPI document and its page ---------------------------------------------------


def openapi_path(rule: Any) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(API))


def test_the_openapi_document_is_public_and_valid(client: FlaskClient) -> None:
    answer = client.get(f"{API}/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    doc = answer.get_json()
    assert doc["openapi"].startswith("3.")
    validate(doc)
    assert doc == document()
    schemas = doc["components"]["schemas"]
    for name in ("Deal", "DealSummary", "Task", "Error", "NewDeal", "TaskCompletion"):
        assert name in schemas
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `salesflow tokens create USER`.",
    }


def test_every_route_is_documented_and_every_operation_routed(app: Flask) -> None:
    doc = document()
    routed = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.unknown_path":
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routed[(openapi_path(rule), method.lower())] = rule
    documented = {(path, m) for path, item in doc["paths"].items() for m in item}
    assert set(routed) == documented
    operation_ids = []
    for (path, method), rule in routed.items():
        op = doc["paths"][path][method]
        operation_ids.append(op["operationId"])
        shared = doc["components"]["parameters"]
        params = [shared[p["$ref"].split("/")[-1]] if "$ref" in p else p
                  for p in op.get("parameters", [])]  # fmt: skip
        assert {p["name"] for p in params if p["in"] == "path"} == set(rule.arguments)
        assert (op.get("security") == []) is (rule.endpoint in PUBLIC)
        assert {"200", "201", "204"} & set(op["responses"])  # 204: a deletion (DELETE /filters)
        if op.get("security") != []:
            assert "401" in op["responses"]
    assert len(set(operation_ids)) == len(operation_ids) == len(routed)  # one each, unique
    assert {"listDeals", "startDeal", "completeTask", "postMessage", "migrateDeals",
            "updateInitiativeRow", "getOpenApi"} <= set(operation_ids)  # fmt: skip


def test_answers_match_the_documented_schemas(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service
) -> None:
    alice = auth["alice"]
    created = client.post(
        f"{API}/deals", json={"process_id": "sales_pipeline", "data": LEAD}, headers=alice
    )
    conforms(created.get_json(), "StartedDeal")
    deal = created.get_json()["instance_id"]
    drive(team, deal, WON[:2])  # some history, a finished branch, a timer
    conforms(client.get(f"{API}/deals/{deal}", headers=alice).get_json(), "Deal")
    conforms(client.get(f"{API}/deals", headers=alice).get_json(), "DealList")
    tasks = client.get(f"{API}/tasks", headers=alice).get_json()
    conforms(tasks, "TaskList")
    task = tasks["items"][0]["task_id"]
    conforms(client.post(f"{API}/tasks/{task}/claim", headers=alice).get_json(), "Task")
    completed = client.post(
        f"{API}/tasks/{task}/complete",
        json={"data": FORMS["task_needs_analysis"]},
        headers=alice,
    )
    conforms(completed.get_json(), "CompletedTask")
    conforms(client.get(f"{API}/definitions", headers=alice).get_json(), "DefinitionList")
    detail = client.get(f"{API}/definitions/sales_pipeline", headers=alice).get_json()
    conforms(detail, "DefinitionDetail")
    with pytest.raises(jsonschema.ValidationError):
        conforms({**detail, "extra": 1}, "DefinitionDetail")  # the check does bite


def test_the_docs_page_shows_every_operation_and_schema(client: FlaskClient) -> None:
    answer = client.get(f"{API}/docs")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    page = html.fromstring(answer.data)
    doc = document()
    ids = set(page.xpath("//@id"))
    headings = {" ".join(h.text_content().split()) for h in page.xpath("//section/h3")}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["operationId"] in ids
            assert f"{method.upper()} {API}{path}" in headings
    for name in doc["components"]["schemas"]:
        assert f"schema-{name}" in ids
    links = page.xpath("//a/@href")
    assert {href[1:] for href in links if href.startswith("#")} <= ids  # no dangling link
    assert f"{API}/openapi.json" in links
    assert not page.xpath("//script | //link | //img | //iframe")  # nothing loaded from afar
    assert not [href for href in links if "//" in href]


# --- CSRF --------------------------------------------------------------------------------


def test_the_api_is_exempt_from_csrf_when_the_factory_installs_it_first(
    db_url: str, team: Service
) -> None:
    csrf_module = pytest.importorskip("flask_wtf.csrf")
    team.deploy([PROCESSES])
    flask_app = Flask(__name__)  # a loaded module: no import-system search for its root
    flask_app.config.update(SECRET_KEY="t", SALESFLOW_DATABASE_URL=db_url)
    db = Database(db_url)
    flask_app.extensions["salesflow"] = Service(db)
    csrf_module.CSRFProtect(flask_app)

    @flask_app.post("/page-form")
    def page_form() -> str:
        return "saved"

    api.init_app(flask_app)
    client = flask_app.test_client()
    try:
        assert client.post("/page-form").status_code == 400  # pages stay protected
        token = team.create_token("alice")["token"]
        answer = client.post(
            f"{API}/deals",
            json={"process_id": "sales_pipeline", "data": LEAD},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201
    finally:
        db.dispose()


def test_one_task_with_its_form_in_the_readers_language(
    client: FlaskClient, auth: dict[str, dict[str, str]], team: Service
) -> None:
    deal = start(client, auth["alice"])
    task = only_task(team, deal, "task_qualify_lead")
    got = client.get(f"{API}/tasks/{task}", headers=auth["alice"])
    assert got.status_code == 200
    body = got.get_json()
    conforms(body, "TaskDetail")
    assert (body["task_id"], body["instance_id"], body["name"]) == (task, deal, "Qualify lead")
    assert body["form_schema"]["properties"]["annual_revenue"]["title"]
    assert body["instructions"] and body["sent_back"] is None
    chinese = client.get(
        f"{API}/tasks/{task}", headers={**auth["alice"], "Accept-Language": "zh-CN"}
    ).get_json()
    assert chinese["name"] == "线索资格审查" and chinese["form_schema"] != body["form_schema"]
    # Another rep's deal: as missing as a task that never was.
    missing = "00000000-0000-4000-8000-000000000000"
    hidden = error_of(client.get(f"{API}/tasks/{task}", headers=auth["bob"]), 404)
    never = error_of(client.get(f"{API}/tasks/{missing}", headers=auth["bob"]), 404)
    assert hidden["message"].replace(task, missing) == never["message"]
    # Done meanwhile: a 409 that says so.
    done = client.post(
        f"{API}/tasks/{task}/complete", json={"data": QUALIFIED}, headers=auth["alice"]
    )
    assert done.status_code == 200, done.get_json()
    error_of(client.get(f"{API}/tasks/{task}", headers=auth["alice"]), 409)
