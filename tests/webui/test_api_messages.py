"""POST /api/v1/messages/{name}: tokens, who may send, the answers and their documentation.

Who may send (webui/api/messages.py): a token reaches the deals its user may see; a user who
sees every deal (manager, admin) or holds the `integration` role reaches any deal and may
have messages kept for deals to come.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA
from tests.webui.test_api import conforms, error_of
from webui.api.document import document

API = "/api/v1"


@pytest.fixture
def senders(staff: Service) -> dict[str, dict[str, str]]:
    """user -> headers with a token of theirs; `esign` is an e-signature service's user."""
    staff.add_user("esign", ["Integration"])
    staff.deploy([ENGINE_DATA / "messages.bpmn"])
    users = ("alice", "bob", "mia", "root", "esign")
    return {u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"} for u in users}


def waiting_deal(service: Service, company: str = "ACME", **data: Any) -> str:
    """alice's deal, waiting for contract_signed."""
    deal = service.start("messages", owner="alice", data={"company": company, **data})
    iid = str(deal["instance_id"])
    [task] = service.tasks(instance=iid)
    service.complete(task["task_id"], user="alice")
    return iid


def ready(service: Service, iid: str) -> list[str]:
    return sorted(t["element_id"] for t in service.tasks(instance=iid))


def test_a_message_reaches_the_waiting_deal(
    client: FlaskClient, senders: dict[str, dict[str, str]], staff: Service
) -> None:
    iid = waiting_deal(staff, contract_no="C-17")
    answer = client.post(
        f"{API}/messages/contract_signed",
        json={
            "correlate": {"contract_no": "C-17"},
            "data": {"signed_by": "Li Wei"},
            "message_id": "esign-8812",
        },
        headers=senders["esign"],
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    conforms(body, "MessageResult")
    assert (body["status"], body["instance_id"], body["duplicate"]) == ("delivered", iid, False)
    assert ready(staff, iid) == ["task_kickoff"]
    assert staff.show(iid)["data"]["signed_by"] == "Li Wei"

    again = client.post(
        f"{API}/messages/contract_signed",
        json={"instance_id": int(iid), "message_id": "esign-8812", "data": {"signed_by": "X"}},
        headers=senders["esign"],
    )
    assert again.status_code == 200
    assert again.get_json() == {**body, "duplicate": True}
    assert staff.show(iid)["data"]["signed_by"] == "Li Wei"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic YTpi"])
def test_without_a_valid_token_nothing_is_delivered(
    client: FlaskClient, senders: dict[str, dict[str, str]], staff: Service, header: str | None
) -> None:
    iid = waiting_deal(staff)
    headers = {"Authorization": header} if header is not None else {}
    answer = client.post(
        f"{API}/messages/contract_signed", json={"instance_id": iid}, headers=headers
    )
    error_of(answer, 401, "Unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="salesflow"')
    assert ready(staff, iid) == []


# Alice's deal waits for contract_signed.  Who reaches it, by id and by one of its fields:
#        sender   by id  by field
REACH = [
    ("alice", 200, 200),  # owns it
    ("bob", 404, 404),  # another rep: may not see it
    ("mia", 200, 200),  # the sales manager sees every deal
    ("root", 200, 200),  # an admin too
    ("esign", 200, 200),  # the integration role may send to any deal
]  # fmt: skip


@pytest.mark.parametrize(("user", "by_id", "by_field"), REACH)
def test_who_may_send_a_message_to_a_deal(
    client: FlaskClient,
    senders: dict[str, dict[str, str]],
    staff: Service,
    user: str,
    by_id: int,
    by_field: int,
) -> None:
    one = waiting_deal(staff, contract_no="C-1")
    two = waiting_deal(staff, "Bolt", contract_no="C-2")
    url = f"{API}/messages/contract_signed"
    answer = client.post(url, json={"instance_id": one}, headers=senders[user])
    assert answer.status_code == by_id
    if by_id == 404:
        missing = client.post(url, json={"instance_id": "999"}, headers=senders[user])
        foreign = error_of(answer, 404, "NotFoundError")
        # Word for word like a deal that does not exist.
        assert foreign == {
            **error_of(missing, 404),
            "message": error_of(missing, 404)["message"].replace("999", one),
        }
    answer = client.post(url, json={"correlate": {"contract_no": "C-2"}}, headers=senders[user])
    assert answer.status_code == by_field
    if by_field == 404:
        assert "Bolt" not in error_of(answer, 404)["message"]
    expected = ["task_kickoff"] if by_id == 200 else []
    assert ready(staff, one) == expected
    assert ready(staff, two) == (["task_kickoff"] if by_field == 200 else [])


def test_nothing_waiting_is_not_found_unless_kept(
    client: FlaskClient, senders: dict[str, dict[str, str]], staff: Service
) -> None:
    iid = waiting_deal(staff)
    unknown = client.post(
        f"{API}/messages/no_such_message", json={"instance_id": iid}, headers=senders["alice"]
    )
    assert "never waits for a message named 'no_such_message'" in error_of(unknown, 404)["message"]
    not_waiting = client.post(
        f"{API}/messages/deal_cancelled", json={"instance_id": iid}, headers=senders["alice"]
    )
    assert error_of(not_waiting, 404)["message"] == (
        f"deal {iid} is not waiting for message 'deal_cancelled'"
    )
    # contract_signed is kept for 2 days (keepMessagesFor): for a deal that will wait for it.
    early = {"correlate": {"contract_no": "C-9"}, "message_id": "early"}
    refused = client.post(f"{API}/messages/contract_signed", json=early, headers=senders["alice"])
    error_of(refused, 404)  # a rep may not plant messages for deals they cannot see
    kept = client.post(f"{API}/messages/contract_signed", json=early, headers=senders["esign"])
    assert kept.status_code == 202
    conforms(kept.get_json(), "MessageResult")
    assert kept.get_json()["status"] == "kept" and kept.get_json()["expires_at"]
    later = waiting_deal(staff, "Delta", contract_no="C-9")
    assert ready(staff, later) == ["task_kickoff"]  # received on its first wait
    again = client.post(f"{API}/messages/contract_signed", json=early, headers=senders["esign"])
    assert again.status_code == 200
    assert (again.get_json()["status"], again.get_json()["instance_id"]) == ("delivered", later)


def test_several_matching_deals_are_a_conflict_with_their_ids(
    client: FlaskClient, senders: dict[str, dict[str, str]], staff: Service
) -> None:
    one = waiting_deal(staff, region="East")
    two = waiting_deal(staff, "Bolt", region="East")
    answer = client.post(
        f"{API}/messages/contract_signed",
        json={"correlate": {"region": "East"}},
        headers=senders["mia"],
    )
    body = error_of(answer, 409, "AmbiguousMessageError")
    assert body["instance_ids"] == [one, two]
    assert ready(staff, one) == ready(staff, two) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ([1, 2], "body"),
        ({"instance_id": "abc"}, "instance_id"),
        ({"instance_id": 0}, "instance_id"),
        ({"correlate": {}}, "correlate"),
        ({"correlate": "contract_no=C-1"}, "correlate"),
        ({"correlate": {"contract_no": None}}, "correlate.contract_no"),
        ({"instance_id": "1", "data": [1]}, "data"),
        ({"instance_id": "1", "message_id": ""}, "message_id"),
        ({"instance_id": "1", "message_id": "x" * 201}, "message_id"),
        ({"instance_id": "1", "deal": "1"}, "deal"),
        ({"data": {"a": 1}}, "correlate"),  # which deal?
    ],
)
def test_a_bad_body_is_refused_with_its_field(
    client: FlaskClient, senders: dict[str, dict[str, str]], staff: Service, body: Any, field: str
) -> None:
    iid = waiting_deal(staff)
    sent = {"data": body} if isinstance(body, str) else {"json": body}
    answer = client.post(f"{API}/messages/contract_signed", headers=senders["root"], **sent)
    assert error_of(answer, 422, "ValidationError")["field"] == field
    assert ready(staff, iid) == []


def test_the_endpoint_is_documented(client: FlaskClient) -> None:
    doc = client.get(f"{API}/openapi.json").get_json()
    validate(doc)
    op = doc["paths"]["/messages/{name}"]["post"]
    assert op["operationId"] == "postMessage"
    assert set(op["responses"]) == {"200", "202", "401", "404", "409", "413", "422", "503"}
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessageDelivery"
    }
    assert [p["name"] for p in op["parameters"]] == ["name"]
    assert doc == document()
    page = client.get(f"{API}/docs").get_data(as_text=True)
    assert 'id="postMessage"' in page and 'id="schema-MessageResult"' in page
