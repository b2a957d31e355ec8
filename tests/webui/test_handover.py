"""Reassigning and handing over from the deal page, the managers' hand-over page (/people)
and a rep's holiday (/holiday): who sees which control, what a submit changes, and refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.store.models import History
from engine.usecases.service import Service

from .conftest import LEAD, csrf_token, login, open_task, post, text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


def start(service: Service, owner: str = "alice", company: str = "ACME Tools") -> str:
    deal = service.start(
        "sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": company}
    )
    return str(deal["instance_id"])


def controls(page: str) -> str:
    """The deal page's hand-over card ('' when it is not there)."""
    if 'id="handover"' not in page:
        return ""
    start_at = page.index('id="handover"')
    return page[start_at : page.index("</section>", start_at)]


def plain(answer: Any, path: str) -> str:
    """An answer's text without its CSRF tokens and with `path` (the URL asked for) taken out."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text(answer)).replace(path, "<path>")


# --- the deal page -------------------------------------------------------------------------


def test_the_holder_reassigns_her_task_from_the_deal_page(
    client: FlaskClient, staff: Service
) -> None:
    deal = start(staff)
    task = open_task(staff, deal, "task_qualify_lead")
    login(client, "alice")
    card = controls(text(client.get(f"/deals/{deal}")))
    assert "Hand over / reassign" in card
    assert 'value="bob"' in card and 'value="alice"' not in card  # reps, not herself
    assert 'value="pete"' not in card  # not in the lane
    assert f"/deals/{deal}/handover" not in card  # no deal hand-over for a rep
    answer = post(client, f"/deals/{deal}/reassign", {"task_id": task["task_id"], "to": "bob"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/deals/{deal}#handover"
    page = text(client.get(f"/deals/{deal}"))
    assert "Qualify lead is now with bob." in page
    assert open_task(staff, deal, "task_qualify_lead")["assignee"] == "bob"
    assert controls(page) == ""  # nothing left she may hand on
    post(client, "/logout")
    login(client, "bob")
    assert '<span class="count" title="unread">1</span>' in text(client.get("/tasks"))


def test_a_task_goes_only_to_someone_in_its_lane(client: FlaskClient, staff: Service) -> None:
    deal = start(staff)
    task = open_task(staff, deal, "task_qualify_lead")["task_id"]
    login(client, "alice")
    post(client, f"/deals/{deal}/reassign", {"task_id": task, "to": "pete"})
    page = text(client.get(f"/deals/{deal}"))
    assert "Not reassigned: to: pete does not hold the role &#39;Sales Rep&#39;" in page
    assert open_task(staff, deal, "task_qualify_lead")["assignee"] == "alice"


def test_others_may_not_reassign(client: FlaskClient, staff: Service) -> None:
    deal = start(staff)
    task = open_task(staff, deal, "task_qualify_lead")["task_id"]
    login(client, "bob")  # may not see alice's deal
    assert (
        post(client, f"/deals/{deal}/reassign", {"task_id": task, "to": "bob"}).status_code == 404
    )
    staff.reassign(task, "bob", actor="alice")
    post(client, "/logout")
    login(client, "alice")  # sees her deal, but bob holds the task now
    assert controls(text(client.get(f"/deals/{deal}"))) == ""
    refused = post(client, f"/deals/{deal}/reassign", {"task_id": task, "to": "alice"})
    assert refused.status_code == 403
    other = start(staff, company="Other Co")
    wrong_deal = post(client, f"/deals/{other}/reassign", {"task_id": task, "to": "alice"})
    assert wrong_deal.status_code == 404  # the task is not on that deal
    no_token = client.post(f"/deals/{deal}/reassign", data={"task_id": task, "to": "alice"})
    assert no_token.status_code == 400
    assert open_task(staff, deal, "task_qualify_lead")["assignee"] == "bob"


def test_a_manager_hands_one_deal_over_from_its_page(client: FlaskClient, staff: Service) -> None:
    deal, kept = start(staff), start(staff, company="Kept Co")
    login(client, "mia")
    card = controls(text(client.get(f"/deals/{deal}")))
    assert f"/deals/{deal}/handover" in card and 'value="bob"' in card
    answer = post(client, f"/deals/{deal}/handover", {"to": "bob"})
    assert answer.status_code == 302
    assert "The deal is bob&#39;s now, with 1 open tasks." in text(client.get(f"/deals/{deal}"))
    owners = {d["instance_id"]: d["owner"] for d in staff.instances()}
    assert owners == {deal: "bob", kept: "alice"}
    with staff.db.read() as s:
        rows = s.scalars(select(History).where(History.kind == "handover")).all()
        assert [(h.instance_id, h.actor) for h in rows] == [(int(deal), "mia")]
    post(client, "/logout")
    login(client, "alice")
    # Her own deal: she may see it, and lacks the role (403).  A deal she may not see is a
    # 404, word for word like one that does not exist: the deal is looked at first.
    assert post(client, f"/deals/{kept}/handover", {"to": "bob"}).status_code == 403
    foreign = start(staff, owner="bob", company="Bob Co")
    hidden = post(client, f"/deals/{foreign}/handover", {"to": "alice"})
    missing = post(client, "/deals/999/handover", {"to": "alice"})
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert plain(hidden, f"/deals/{foreign}/") == plain(missing, "/deals/999/")
    assert staff.show(kept)["owner"] == "alice" and staff.show(foreign)["owner"] == "bob"


# --- everything a rep has ------------------------------------------------------------------


def test_a_manager_previews_and_confirms_a_hand_over(client: FlaskClient, staff: Service) -> None:
    start(staff, company="ACME Tools")
    start(staff, company="Blue Harbor")
    login(client, "mia")
    assert "Hand over a rep&#39;s work" in text(client.get("/people"))
    preview = text(client.get("/people?from=alice&to=bob"))
    assert "Deals: 2" in preview and "Open tasks: 2" in preview
    assert staff.instances(owner="alice") != []  # a preview moves nothing
    done = post(client, "/people", {"from": "alice", "to": "bob"})
    assert done.status_code == 302 and done.headers["Location"] == "/people"
    assert "bob has Alice Rep&#39;s work: 2 deals, 2 open tasks." in text(client.get("/people"))
    assert [d["owner"] for d in staff.instances()] == ["bob", "bob"]
    assert {t["assignee"] for t in staff.tasks()} == {"bob"}
    refused = post(client, "/people", {"from": "bob", "to": "ghost"})
    assert refused.status_code == 422
    assert "no active user &#39;ghost&#39;" in text(refused)


def test_reps_do_not_get_the_hand_over_page(client: FlaskClient, staff: Service) -> None:
    start(staff)
    login(client, "alice")
    assert 'href="/people"' not in text(client.get("/tasks"))
    assert client.get("/people").status_code == 403
    assert post(client, "/people", {"from": "alice", "to": "bob"}).status_code == 403
    assert staff.instances()[0]["owner"] == "alice"


# --- holidays ------------------------------------------------------------------------------


def test_a_rep_plans_her_holiday_and_ends_it_early(client: FlaskClient, staff: Service) -> None:
    deal = start(staff)
    login(client, "alice")
    page = text(client.get("/holiday"))
    assert "Who covers for you" in page and 'name="who"' not in page  # only her own
    made = post(client, "/holiday", {"to": "bob", "until": "2026-03-06"})
    assert made.status_code == 302
    page = text(client.get("/holiday"))
    assert "bob covers until 2026-03-07 00:00 UTC." in page
    assert "End now" in page
    assert open_task(staff, deal, "task_qualify_lead")["assignee"] == "bob"
    [delegation] = staff.delegations("alice")
    ended = post(client, f"/delegations/{delegation['id']}/cancel", {"next": "/holiday"})
    assert ended.status_code == 302 and ended.headers["Location"] == "/holiday"
    assert "1 open tasks went back" in text(client.get("/holiday"))
    assert open_task(staff, deal, "task_qualify_lead")["assignee"] == "alice"


def test_a_holiday_form_with_mistakes_is_shown_back(client: FlaskClient, staff: Service) -> None:
    login(client, "alice")
    missing = post(client, "/holiday", {"to": "bob", "until": ""})
    assert missing.status_code == 422 and "Choose the last day away." in text(missing)
    itself = post(client, "/holiday", {"to": "alice", "until": "2026-03-06"})
    assert itself.status_code == 422 and "choose someone else" in text(itself)
    past = post(client, "/holiday", {"to": "bob", "until": "2026-02-20"})
    assert past.status_code == 422 and "the end must be after the start" in text(past)
    post(client, "/holiday", {"to": "bob", "until": "2026-03-06"})
    twice = post(client, "/holiday", {"to": "mia", "until": "2026-03-04"})
    assert twice.status_code == 409 and "already away" in text(twice)
    assert len(staff.delegations()) == 1


def test_only_the_rep_or_a_manager_ends_a_holiday(client: FlaskClient, staff: Service) -> None:
    made = staff.delegate("alice", "bob", until="2026-03-06", actor="alice")
    login(client, "bob")  # the delegate: sees it on his holiday page, may not end it
    theirs = post(client, f"/delegations/{made['id']}/cancel")
    missing = post(client, "/delegations/999/cancel")
    # Someone else's delegation reads word for word like one that does not exist.
    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert plain(theirs, f"/delegations/{made['id']}/") == plain(missing, "/delegations/999/")
    assert len(staff.delegations()) == 1
    post(client, "/logout")
    login(client, "mia")
    people = text(client.get("/people"))
    assert "End now" in people  # managers see every holiday
    assert post(client, f"/delegations/{made['id']}/cancel").status_code == 302
    assert staff.delegations() == []


def test_a_manager_plans_someone_elses_holiday(client: FlaskClient, staff: Service) -> None:
    login(client, "mia")
    assert 'name="who"' in text(client.get("/holiday"))
    post(
        client,
        "/holiday",
        {"who": "alice", "to": "bob", "starts": "2026-03-09", "until": "2026-03-13"},
    )
    [made] = staff.delegations()
    assert (made["from_user"], made["to_user"], made["created_by"]) == ("alice", "bob", "mia")
    assert made["starts_at"] == "2026-03-09T00:00:00+00:00"
    assert made["ends_at"] == "2026-03-14T00:00:00+00:00"


def test_the_navigation_links_to_the_holiday_page(client: FlaskClient) -> None:
    login(client, "alice")
    page = text(client.get("/tasks"))
    assert 'href="/holiday"' in page and 'href="/notifications"' in page
    assert csrf_token(client, "/holiday")
