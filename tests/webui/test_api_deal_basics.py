"""The API's deal basics (issue 14, "Contract"): a deal's value and expected close date from
the start, its outcome and lost reason in every record, POST /deals/{id}/lost and
GET /board, each answer valid against the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.usecases.demo import LOST, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD

from .test_api import API, conforms, error_of, start

AT_PROPOSAL = WON[:3]


@pytest.fixture
def auth(staff: Service) -> dict[str, dict[str, str]]:
    """user -> the headers that carry a fresh token of theirs."""
    return {
        u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"}
        for u in ("alice", "bob", "mia", "pete")
    }


def deal_at_proposal(
    client: FlaskClient, headers: dict[str, str], team: Service, **body: Any
) -> str:
    iid = start(client, headers, **body)
    drive(team, iid, AT_PROPOSAL)
    return iid


def test_a_deal_starts_with_its_value_and_close_date(
    client: FlaskClient, auth: dict[str, dict[str, str]]
) -> None:
    iid = start(client, auth["alice"], amount=240000, expected_close="2026-06-30")
    deal = client.get(f"{API}/deals/{iid}", headers=auth["alice"]).get_json()
    conforms(deal, "Deal")
    assert (deal["amount"], deal["expected_close"]) == (240000.0, "2026-06-30")
    assert (deal["outcome"], deal["lost_reason"]) == (None, None)
    listed = client.get(f"{API}/deals", headers=auth["alice"]).get_json()
    conforms(listed, "DealList")
    assert listed["items"][0]["expected_close"] == "2026-06-30"


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": "240000"}, "amount"),
        ({"amount": 1e14}, "amount"),
        ({"expected_close": "2026-13-01"}, "expected_close"),
        ({"expected_close": "next week"}, "expected_close"),
        ({"expected_close": None}, "expected_close"),
    ],
)
def test_a_bad_value_or_close_date_is_422_naming_the_field(
    client: FlaskClient, auth: dict[str, dict[str, str]], more: dict[str, Any], field: str
) -> None:
    answer = client.post(
        f"{API}/deals",
        json={"process_id": "sales_pipeline", "data": LEAD, **more},
        headers=auth["alice"],
    )
    assert error_of(answer, 422, "ValidationError")["field"] == field
    assert client.get(f"{API}/deals", headers=auth["alice"]).get_json()["items"] == []


def test_the_owner_or_a_manager_marks_a_deal_lost(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service
) -> None:
    mine = deal_at_proposal(client, auth["alice"], staff)
    other = deal_at_proposal(client, auth["alice"], staff)
    answer = client.post(f"{API}/deals/{mine}/lost", json={"reason": "no budget"},
                         headers=auth["alice"])  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    conforms(answer.get_json(), "DealSummary")
    assert answer.get_json()["outcome"] == "lost"
    answer = client.post(f"{API}/deals/{other}/lost", json={"reason": "price too high"},
                         headers=auth["mia"])  # fmt: skip
    assert answer.status_code == 200
    deal = client.get(f"{API}/deals/{other}", headers=auth["alice"]).get_json()
    conforms(deal, "Deal")
    assert (deal["outcome"], deal["lost_reason"], deal["status"]) == (
        "lost",
        "price too high",
        "cancelled",
    )
    assert deal["tasks"] == [] and deal["history"][-1]["kind"] == "lost"
    # Finished: 409.
    again = client.post(f"{API}/deals/{other}/lost", json={"reason": "other"}, headers=auth["mia"])
    assert error_of(again, 409, "ConflictError")


def test_anyone_else_gets_403_or_404_and_no_reason_422(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service
) -> None:
    iid = deal_at_proposal(client, auth["alice"], staff)
    url = f"{API}/deals/{iid}/lost"
    reason = {"reason": "price too high"}
    # pete designs its proposal: he sees the deal, it is not his to lose.
    assert error_of(client.post(url, json=reason, headers=auth["pete"]), 403, "ForbiddenError")
    # bob may not even see it: word for word a deal that does not exist.
    hidden = error_of(client.post(url, json=reason, headers=auth["bob"]), 404, "NotFoundError")
    missing = client.post(f"{API}/deals/999999/lost", json=reason, headers=auth["bob"])
    assert hidden["message"] == error_of(missing, 404)["message"].replace("999999", iid)
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 3}, {"why": "x"}):
        assert error_of(client.post(url, json=body, headers=auth["alice"]), 422)
    not_listed = client.post(url, json={"reason": "rain"}, headers=auth["alice"])
    assert error_of(not_listed, 422)["field"] == "reason"
    assert client.get(f"{API}/deals/{iid}", headers=auth["alice"]).get_json()["outcome"] is None


def test_the_board_gives_count_value_and_weighted_value_per_stage(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service
) -> None:
    deal_at_proposal(client, auth["alice"], staff, amount=100000)
    deal_at_proposal(client, auth["alice"], staff, amount=20000)
    lost = start(client, auth["alice"])
    drive(staff, lost, LOST)
    answer = client.get(f"{API}/board?process=sales_pipeline", headers=auth["mia"])
    assert answer.status_code == 200
    board = answer.get_json()
    conforms(board, "Board")
    assert set(board) == {"stages"}
    by = {s["stage"]: s for s in board["stages"]}
    assert by["proposal"] == {
        "stage": "proposal",
        "label": "Proposal",
        "count": 2,
        "value": 120000.0,
        "weighted": 72000.0,
    }
    assert "lost" not in by and "won" not in by
    assert client.get(f"{API}/board", headers=auth["mia"]).get_json() == board  # the default
    # In Chinese, the process's own stage names.
    zh = client.get(f"{API}/board", headers={**auth["mia"], "Accept-Language": "zh-CN"})
    assert {s["stage"]: s["label"] for s in zh.get_json()["stages"]}["proposal"] == "方案制定"
    # bob sees none of alice's deals.
    bobs = client.get(f"{API}/board", headers=auth["bob"]).get_json()
    assert all(s["count"] == 0 and s["value"] == 0 for s in bobs["stages"])


def test_the_board_of_the_initiative_process_and_of_none(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service
) -> None:
    staff.start("optimization_initiative", owner="mia", actor="mia")
    board = client.get(f"{API}/board?process=optimization_initiative", headers=auth["mia"])
    stages = [(s["stage"], s["label"], s["count"]) for s in board.get_json()["stages"]]
    assert stages == [("preparation", "Preparation", 1), ("execution", "Execution", 0),
                      ("review", "Review", 0)]  # fmt: skip
    assert error_of(client.get(f"{API}/board?process=nope", headers=auth["mia"]), 404)
    assert error_of(client.get(f"{API}/board?process=", headers=auth["mia"]), 422)["field"] == (
        "process"
    )
