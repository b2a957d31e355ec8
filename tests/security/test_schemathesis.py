"""Issue 13, item 10: schemathesis over the whole API, with a manager's token and a rep's.

Every operation of the OpenAPI document gets its explicit examples, the coverage phase's
boundary and negative cases, and a few fuzzed cases, positive and negative, sent to the real
app (Flask's WSGI client, a real database with the test team, the shipped processes and
deals in several states).  The checks:
- no 5xx;
- no status code, content type, header or body that the document does not describe;
- no request that the document forbids accepted (negative data must get a 4xx).

Not checked: that every request the document allows is accepted (schemathesis's
positive_data_acceptance).  The document cannot say which users, processes or versions
exist, so a well-formed body naming none of them is rightly invalid data (422, documented).

Bounded and reproducible: derandomized generation (the same cases every run), no example
database, MAX_EXAMPLES fuzzed cases per operation and mode, no deadline.  The findings of the
first runs are replayed by name at the end, so that each stays fixed whatever the generator
happens to try.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from engine.core.initiatives import LIMITS, MAX_ELEMENTS
from engine.usecases.demo import LOST, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD
from webui.api.document import document

API = "/api/v1"
MAX_EXAMPLES = 5  # fuzzed cases per operation and generation mode
USERS = {"manager": "mia", "rep": "alice"}

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "negative_data_rejection": {"enabled": True},
            "missing_required_header": {"enabled": True},
            "unsupported_method": {"enabled": True},
            "positive_data_acceptance": {"enabled": False},  # see the module's docstring
            # Stateful checks that need links between operations, which the document has not.
            "use_after_free": {"enabled": False},
            "ensure_resource_availability": {"enabled": False},
            "ignored_auth": {"enabled": False},  # tests/webui/test_api.py: 401 without a token
        },
    }
)
schema = schemathesis.openapi.from_dict(document(), config=CONFIG)


@schemathesis.hook
def filter_query(ctx: Any, query: dict[str, Any] | None) -> bool:
    """Leave out the generated queries whose wrong part is lost on the way: a parameter with
    an empty list (or object) as its value is sent as nothing at all, so the server gets a
    valid request, while the check expects it refused."""
    return not any(isinstance(v, list | dict) and not v for v in (query or {}).values())


def deals(staff: Service) -> list[str]:
    """Deals for the generated ids to meet: new, half-way, won and lost, so that there are
    open tasks, completed ones and finished deals."""
    ids = []
    for steps in ([], WON[:2], WON, LOST):
        deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
        drive(staff, deal["instance_id"], steps)
        ids.append(str(deal["instance_id"]))
    return ids


@pytest.fixture(params=sorted(USERS))
def token(request: pytest.FixtureRequest, app: Flask, staff: Service) -> dict[str, str]:
    deals(staff)
    return {"Authorization": f"Bearer {staff.create_token(USERS[request.param])['token']}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # One app and database per operation and user, shared by that operation's cases.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_the_api_does_what_its_document_says(case: Any, app: Flask, token: dict[str, str]) -> None:
    case.call_and_validate(app=app, headers=token, base_url=API)


# --- the findings, replayed ------------------------------------------------------------------


@pytest.fixture
def mia(staff: Service) -> dict[str, str]:
    return {"Authorization": f"Bearer {staff.create_token('mia')['token']}"}


@pytest.mark.parametrize(
    "query",
    [
        "/deals?status=",  # an empty value is no status (it was read as no filter)
        "/deals?limit=",
        "/deals?status=running&status=error",  # one value, not the first of several
        "/tasks?instance=",
        "/tasks?instance=%D9%A3",  # an Arabic-Indic three is no deal id
        "/incidents?offset=",
        "/reports/funnel?to=",  # not a date (it was read as no end of the period)
        "/reports/funnel?from=20260301",  # ISO, but not the document's YYYY-MM-DD
        "/reports/funnel?from=2026-03-01%20",
        "/reports/cycle?format=xml",  # it answered JSON
        "/reports/cycle?table=&format=csv",
        "/reports/reps?owner=" + "x" * 201,
        "/definitions/sales_pipeline/diagram.svg?heatmap=",
        "/definitions/sales_pipeline/diagram.svg?layout=",
    ],
)
def test_a_query_parameter_the_document_forbids_is_422(
    client: FlaskClient, mia: dict[str, str], query: str
) -> None:
    answer = client.get(API + query, headers=mia)
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    assert body["error"] == "ValidationError"
    assert body["field"] == query.split("?")[1].split("=")[0]


@pytest.mark.parametrize("query", ["/deals?q=", "/deals?owner=&stage=", "/tasks?role="])
def test_an_empty_free_text_filter_is_no_filter(
    client: FlaskClient, staff: Service, mia: dict[str, str], query: str
) -> None:
    deals(staff)
    answer = client.get(API + query, headers=mia)
    assert answer.status_code == 200
    assert answer.get_json() == client.get(API + query.split("?")[0], headers=mia).get_json()


def test_releasing_a_completed_task_is_a_documented_409(
    client: FlaskClient, staff: Service, mia: dict[str, str]
) -> None:
    won = deals(staff)[2]
    done = [h["task_id"] for h in staff.show(won)["history"] if h["kind"] == "completed"]
    answer = client.post(f"{API}/tasks/{done[0]}/release", headers=mia)
    # A conflict that says what became of the task (TaskGoneError is a ConflictError).
    assert answer.status_code == 409 and answer.get_json()["error"] == "TaskGoneError"
    assert answer.get_json()["gone"]["what"] == "completed"
    assert "409" in document()["paths"]["/tasks/{task_id}/release"]["post"]["responses"]


def test_the_tasks_of_a_deal_that_does_not_exist_are_a_documented_404(
    client: FlaskClient, mia: dict[str, str]
) -> None:
    answer = client.get(f"{API}/tasks?instance=0", headers=mia)
    assert answer.status_code == 404 and answer.get_json()["error"] == "NotFoundError"
    assert "404" in document()["paths"]["/tasks"]["get"]["responses"]


@pytest.mark.parametrize("instance_id", ["9999999999", "2147483648", 2147483647])
def test_a_message_for_a_deal_id_beyond_the_database_is_404(
    client: FlaskClient, mia: dict[str, str], instance_id: str | int
) -> None:
    """It was a 500 on PostgreSQL (its INTEGER cannot hold the id to compare)."""
    answer = client.post(
        f"{API}/messages/contract_signed", json={"instance_id": instance_id}, headers=mia
    )
    assert answer.status_code == 404 and answer.get_json()["error"] == "NotFoundError"


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("GET", "/deals?q=a%00", None, 422),
        ("GET", "/tasks?role=%00", None, 422),
        ("GET", "/reports/stale?channel=G%00X", None, 422),
        ("GET", "/definitions/a%00/versions", None, 404),
        ("POST", "/tasks/a%00/claim", None, 404),
        ("POST", "/messages/a%00", {"instance_id": "1"}, 404),
        ("POST", "/deals", {"process_id": "sales_pipeline", "name": "x\x00", "data": LEAD}, 422),
        ("POST", "/messages/contract_signed", {"correlate": {"no\x00": "1"}}, 422),
    ],
)
def test_a_nul_character_is_refused_before_the_database_sees_it(
    client: FlaskClient,
    mia: dict[str, str],
    method: str,
    url: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    """PostgreSQL cannot hold a NUL in text: each of these was a 500 there."""
    answer = client.open(API + url, method=method, json=body, headers=mia)
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert set(answer.get_json()) >= {"error", "message"}


def test_an_initiative_body_is_checked_against_its_schema(
    client: FlaskClient, mia: dict[str, str]
) -> None:
    started = client.post(
        f"{API}/initiatives",
        json={"name": "Faster needs analysis", "process_id": "sales_pipeline"},
        headers=mia,
    )
    assert started.status_code == 201, started.get_json()
    reviews = f"{API}/initiatives/{started.get_json()['id']}/reviews"
    answer = client.post(reviews, json={"notes": None}, headers=mia)  # it was accepted
    assert answer.status_code == 422 and answer.get_json()["field"] == "notes"
    assert client.post(reviews, headers=mia).status_code == 201  # no body: documented optional


def test_every_writing_operation_documents_503_and_starting_a_deal_403() -> None:
    paths = document()["paths"]
    for item in paths.values():
        for method, op in item.items():
            assert ("503" in op["responses"]) is (method != "get")
    assert "403" in paths["/deals"]["post"]["responses"]
    unavailable = document()["components"]["responses"]["Unavailable"]
    assert "Retry-After" in unavailable["headers"]


def test_the_initiative_limits_are_the_engines() -> None:
    fields = document()["components"]["schemas"]["InitiativeRowFields"]["properties"]
    for name in ("stage", "task", "notes", "contact"):
        assert fields[name]["maxLength"] == LIMITS[name]
    assert fields["elements"]["maxItems"] == MAX_ELEMENTS
    new = document()["components"]["schemas"]["NewInitiative"]["properties"]
    assert new["name"]["maxLength"] == LIMITS["name"]
