"""Activities on the pages and over the API (webui.activities, webui.api.activities): the
deal page's panel logs a call that the timeline then shows, a form with problems comes back
marked, the cadence on the settings page, the customers due a follow-up on the Today page
and the board, and POST/GET /api/v1/activities as the document describes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine.store.models import Customer, Instance
from engine.usecases.service import Service

from .conftest import deal_at_needs_analysis, login, post, text
from .test_api import API, conforms, error_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def now() -> object:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def customer_of(service: Service, deal_id: str, tier: str = "A") -> int:
    with service.db.write() as s:
        cid = s.scalar(select(Instance.customer_id).where(Instance.id == int(deal_id)))
        assert cid is not None
        s.execute(update(Customer).where(Customer.id == cid).values(tier=tier))
        return int(cid)


def last_activity(service: Service, cid: int) -> datetime | None:
    with service.db.read() as s:
        return s.scalar(select(Customer.last_activity_at).where(Customer.id == cid))


# --- the deal page -----------------------------------------------------------------------------


def test_the_deal_pages_panel_logs_a_call_that_the_timeline_shows(
    client: FlaskClient, staff: Service, now: object
) -> None:
    iid = deal_at_needs_analysis(staff)
    cid = customer_of(staff, iid)
    login(client, "alice")
    page = text(client.get(f"/deals/{iid}"))
    assert "Log a call, visit, meeting…" in page
    assert 'value="2026-03-02T09:00"' in page  # when: now, in the team's time zone
    assert "No activity logged yet." in page
    sent = post(
        client,
        "/activities",
        {
            "deal_id": iid,
            "kind": "call",
            "at": "2026-03-02T08:30",
            "notes": "Budget confirmed for Q2",
            "outcome": "interested",
            "next_step": "send the proposal",
            "next_step_at": "2026-03-09",
        },
    )
    assert sent.status_code == 302
    assert sent.headers["Location"] == f"/deals/{iid}#activities"
    page = text(client.get(f"/deals/{iid}"))
    assert "Call logged." in page
    timeline = page.split('id="timeline"', 1)[1]
    assert "Call with ACME Tools by Alice Rep" in timeline
    assert "<blockquote>Budget confirmed for Q2</blockquote>" in timeline
    assert "send the proposal" in timeline
    assert last_activity(staff, cid) == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    # In Chinese, the sentence puts the person first.
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(client.get(f"/deals/{iid}"))
    assert "Alice Rep 给 ACME Tools 打了电话" in page
    assert "记录电话、拜访、会议…" in page


def test_a_form_with_problems_comes_back_marked_and_as_typed(
    app: Flask, client: FlaskClient, staff: Service, now: object
) -> None:
    iid = deal_at_needs_analysis(staff)
    login(client, "alice")
    sent = post(
        client,
        "/activities",
        {"deal_id": iid, "kind": "call", "at": "2026-03-05T10:00", "notes": "Typed notes"},
    )
    assert sent.status_code == 422
    page = text(sent)
    assert "Enter when it happened: a date and time, not in the future." in page
    assert 'id="activity-at" name="at" type="datetime-local" required value="2026-03-05T10:00"' in (
        page
    )
    assert ">Typed notes</textarea>" in page
    assert "<h1>ACME Tools</h1>" in page  # the deal's page, shown again
    assert staff.activities("alice", deal_id=iid) == []
    sent = post(client, "/activities", {"deal_id": iid, "kind": "fax"})
    assert sent.status_code == 422
    assert "Choose what kind of contact it was." in text(sent)
    # A deal someone may not see: not found, as for one that does not exist.
    bob = app.test_client()
    login(bob, "bob")
    assert post(bob, "/activities", {"deal_id": iid, "kind": "call"}).status_code == 404
    assert post(bob, "/activities", {"deal_id": "999999", "kind": "call"}).status_code == 404
    assert post(bob, "/activities", {"kind": "call"}).status_code == 400


# --- the cadence on the pages ---------------------------------------------------------------


def test_the_cadence_on_the_settings_page(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    page = text(client.get("/settings"))
    assert 'name="cadence_A"' in page and 'value="7"' in page
    form = {
        "timezone": "Asia/Shanghai",
        "hours_mode": "always",
        "digest_time": "08:00",
        "cadence_A": "5",
        "cadence_B": "",
        "cadence_C": "45",
    }
    assert post(client, "/settings", form).status_code == 302
    assert staff.cadence_days() == {"A": 5, "B": None, "C": 45}
    page = text(client.get("/settings"))
    assert 'id="cadence_A" name="cadence_A" type="number" min="1" max="3650" value="5"' in page
    refused = post(client, "/settings", {**form, "cadence_A": "0"})
    assert refused.status_code == 422
    assert "Enter 1 to 3650 days, or nothing for no reminders." in text(refused)
    assert staff.cadence_days()["A"] == 5


def test_today_and_the_board_show_a_customer_due_a_follow_up(
    client: FlaskClient, staff: Service, now: object
) -> None:
    iid = deal_at_needs_analysis(staff, company="Quiet Co")
    customer_of(staff, iid)
    login(client, "alice")
    page = text(client.get("/digest"))
    assert "Every customer of yours has heard from you recently enough." in page
    with time_machine.travel(T0 + 8 * DAY, tick=False):
        login(client, "alice")  # a session of a week ago has ended
        page = text(client.get("/digest"))
        section = page.split('id="follow-ups"', 1)[1].split("</section>", 1)[0]
        assert "Quiet Co" in section
        assert "no contact for 8 days (every 7 days for this tier)" in section
        board = text(client.get("/deals/board"))
        assert "follow-up due" in board
        post(client, "/activities", {"deal_id": iid, "kind": "visit"})
        page = text(client.get("/digest"))
        assert "Every customer of yours has heard from you recently enough." in page
        assert "follow-up due" not in text(client.get("/deals/board"))


# --- the API -----------------------------------------------------------------------------------


def test_the_api_logs_and_lists_activities_as_documented(
    client: FlaskClient, staff: Service, now: object
) -> None:
    iid = deal_at_needs_analysis(staff)
    cid = customer_of(staff, iid)
    alice = {"Authorization": f"Bearer {staff.create_token('alice')['token']}"}
    bob = {"Authorization": f"Bearer {staff.create_token('bob')['token']}"}
    body = {
        "deal_id": iid,
        "kind": "visit",
        "at": "2026-03-02T10:30:00+08:00",
        "notes": "Met the plant manager",
        "outcome": None,
        "next_step": "proposal",
        "next_step_at": "2026-03-09",
    }
    answer = client.post(f"{API}/activities", json=body, headers=alice)
    assert answer.status_code == 201, text(answer)
    logged = answer.get_json()
    conforms(logged, "Activity")
    assert (logged["deal_id"], logged["customer_id"], logged["by"]) == (iid, cid, "alice")
    assert logged["at"] == "2026-03-02T02:30:00+00:00"
    assert last_activity(staff, cid) == datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    by_customer = client.post(
        f"{API}/activities", json={"customer_id": cid, "kind": "call"}, headers=alice
    )
    assert by_customer.status_code == 201
    for query in (f"deal_id={iid}", f"customer_id={cid}"):
        listed = client.get(f"{API}/activities?{query}", headers=alice)
        assert listed.status_code == 200
        conforms(listed.get_json(), "ActivityList")
    listed = client.get(f"{API}/activities?customer_id={cid}", headers=alice).get_json()
    ids = [a["id"] for a in listed["activities"]]
    assert ids == [by_customer.get_json()["id"], logged["id"]]  # newest first
    # Bad input names the field; a deal or customer bob may not see is not found.
    assert error_of(
        client.post(f"{API}/activities", json={**body, "kind": "fax"}, headers=alice), 422
    )["field"] == "kind"  # fmt: skip
    late = {**body, "at": "2030-01-01T00:00:00Z"}
    assert (
        error_of(client.post(f"{API}/activities", json=late, headers=alice), 422)["field"] == "at"
    )
    both = {**body, "customer_id": cid}
    assert error_of(client.post(f"{API}/activities", json=both, headers=alice), 422)["field"]
    assert error_of(client.get(f"{API}/activities", headers=alice), 422)["field"] == "customer_id"
    assert error_of(client.get(f"{API}/activities?deal=1", headers=alice), 422)["field"] == "deal"
    error_of(client.post(f"{API}/activities", json=body, headers=bob), 404, "NotFoundError")
    error_of(client.get(f"{API}/activities?customer_id={cid}", headers=bob), 404)
    missing = error_of(client.get(f"{API}/activities?deal_id=999999", headers=bob), 404)
    hidden = error_of(client.get(f"{API}/activities?deal_id={iid}", headers=bob), 404)
    assert hidden["message"].replace(iid, "<id>") == missing["message"].replace("999999", "<id>")


def test_the_customer_pages_panel_logs_a_visit_and_goes_back_to_it(
    client: FlaskClient, staff: Service, now: object
) -> None:
    iid = deal_at_needs_analysis(staff)
    cid = customer_of(staff, iid)
    staff.log_activity(actor="alice", deal_id=iid, kind="call", notes="On the deal")
    login(client, "alice")
    page = text(client.get(f"/customers/{cid}"))
    assert "Log a call, visit, meeting…" in page
    assert f'href="/deals/{iid}">about deal #{iid}</a>' in page  # the deal's call is here too
    sent = post(client, "/activities", {"customer_id": str(cid), "kind": "visit", "notes": "Lunch"})
    assert sent.status_code == 302
    assert sent.headers["Location"] == f"/customers/{cid}#activities"
    page = text(client.get(sent.headers["Location"]))
    assert "Visit logged." in page and "Lunch" in page
    again = post(client, "/activities", {"customer_id": str(cid), "kind": "visit", "at": "soon"})
    assert again.status_code == 422
    assert "Enter when it happened: a date and time, not in the future." in text(again)
    assert "<h1>ACME Tools</h1>" in text(again)  # the customer's page, shown again


def test_a_manager_sets_the_follow_up_rhythm_on_the_customer_list(
    client: FlaskClient, staff: Service
) -> None:
    login(client, "mia")
    page = client.get("/customers").get_data(as_text=True)
    assert 'id="cadence"' in page and 'name="cadence_A" min="1" max="365" value="7"' in page
    answer = post(
        client, "/customers/cadence", {"cadence_A": "3", "cadence_B": "", "cadence_C": "60"}
    )
    assert answer.status_code == 302
    assert staff.cadence() == {"A": 3, "B": None, "C": 60}
    refused = post(client, "/customers/cadence", {"cadence_A": "-2"})
    assert refused.status_code == 302 and staff.cadence()["A"] == 3  # nothing changed
    post(client, "/logout")
    login(client, "alice")  # a rep: sees no rhythm form, and may not set it
    assert 'id="cadence"' not in client.get("/customers").get_data(as_text=True)
    assert post(client, "/customers/cadence", {"cadence_A": "1"}).status_code == 403
    assert staff.cadence()["A"] == 3
