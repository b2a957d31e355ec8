"""The pages of the deal basics (issue 14): value and close date on the new-deal form and the
deal page, "Mark lost" with the process's reasons, won and lost deals in green and red, and
the board's value totals, weighted pipeline, rotting cards and stage probabilities."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.usecases.demo import LOST, WON, drive
from engine.usecases.service import Service

from .conftest import LEAD, csrf_token, login, post, text

AT_PROPOSAL = WON[:3]


def new_deal(client: FlaskClient, **fields: str) -> tuple[int, str, str]:
    form = {
        "csrf_token": csrf_token(client, "/deals/new"),
        "process": "sales_pipeline",
        "deal_owner": "alice",
        "company": "Lotus Trading",
        "contact": "Wu Fei",
        "source_channel": "referral",
        "annual_revenue": "9000000",
        "intent": "high",
        **fields,
    }
    answer = client.post("/deals/new", data=form)
    return answer.status_code, answer.headers.get("Location", ""), text(answer)


def deal_at_proposal(service: Service, owner: str = "alice", company: str = "ACME Tools") -> str:
    deal = service.start(
        "sales_pipeline",
        owner=owner,
        actor=owner,
        data={**LEAD, "company": company},
        amount=300000,
        expected_close="2026-07-31",
    )
    drive(service, deal["instance_id"], AT_PROPOSAL)
    return str(deal["instance_id"])


def test_the_new_deal_form_takes_a_value_and_a_close_date(
    client: FlaskClient, staff: Service
) -> None:
    login(client, "alice")
    form = text(client.get("/deals/new"))
    assert 'name="deal_amount"' in form and 'name="deal_expected_close" type="date"' in form
    status, _, page = new_deal(client, deal_amount="-5", deal_expected_close="2026-02-30")
    assert status == 422 and staff.instances() == []
    assert "Enter the deal&#39;s value as a number of 0 or more" in page
    assert "Enter a date such as 2026-06-30." in page
    assert 'value="-5"' in page  # what was typed stays
    status, where, _ = new_deal(client, deal_amount="180000", deal_expected_close="2026-08-15")
    assert status == 302
    [deal] = staff.instances()
    assert (deal["amount"], deal["expected_close"]) == (180000.0, "2026-08-15")
    page = text(client.get(where))
    assert '<span id="deal-value">¥180,000</span>' in page
    assert '<span id="deal-expected-close">Aug 15, 2026</span>' in page


def test_the_owner_marks_a_deal_lost_and_it_shows_red(client: FlaskClient, staff: Service) -> None:
    iid = deal_at_proposal(staff)
    login(client, "pete")  # designs its proposal: sees it, may not lose it
    page = text(client.get(f"/deals/{iid}"))
    assert "Mark lost" not in page
    assert post(client, f"/deals/{iid}/lost", {"reason": "no budget"}).status_code == 403
    post(client, "/logout")
    login(client, "alice")
    page = text(client.get(f"/deals/{iid}"))
    choices = re.findall(
        r'<option value="([^"]+)">([^<]+)</option>', page.split('id="lost-reason"')[1]
    )
    assert choices[:2] == [
        ("price too high", "Price too high"),
        ("chose a competitor", "Chose a competitor"),
    ]
    refused = post(client, f"/deals/{iid}/lost", {"reason": ""})
    assert refused.status_code == 422 and "Choose the reason the deal was lost." in text(refused)
    done = post(client, f"/deals/{iid}/lost", {"reason": "chose a competitor"})
    assert done.status_code == 302
    page = text(client.get(f"/deals/{iid}"))
    assert '<span class="badge outcome-lost" title="Chose a competitor">Lost</span>' in page
    assert "Marked lost by Alice Rep: Chose a competitor" in page
    assert "status-completed" not in page and 'id="lost-reason"' not in page
    rows = text(client.get("/deals"))
    assert '<tr class="outcome-lost">' in rows and "Chose a competitor" in rows
    won = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    drive(staff, won["instance_id"], WON)
    rows = text(client.get("/deals"))
    assert '<tr class="outcome-won">' in rows and "outcome-won" in rows
    assert '<span class="badge outcome-won">Won</span>' in text(
        client.get(f"/deals/{won['instance_id']}")
    )


def test_a_deal_lost_in_negotiation_is_lost_not_completed(
    client: FlaskClient, staff: Service
) -> None:
    deal = staff.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)
    drive(staff, deal["instance_id"], LOST)
    login(client, "alice")
    page = text(client.get(f"/deals/{deal['instance_id']}"))
    assert "outcome-lost" in page and "Lost: No budget" in page
    assert "badge status-completed" not in page


def test_the_owner_changes_the_value_and_close_date(client: FlaskClient, staff: Service) -> None:
    iid = deal_at_proposal(staff)
    login(client, "bob")
    assert post(client, f"/deals/{iid}/basics", {"amount": "1"}).status_code == 404
    post(client, "/logout")
    login(client, "alice")
    page = text(client.get(f"/deals/{iid}"))
    assert 'name="amount" type="number"' in page and 'value="300000"' in page
    refused = post(client, f"/deals/{iid}/basics", {"amount": "x", "expected_close": "soon"})
    assert refused.status_code == 422
    assert "Enter a date such as 2026-06-30." in text(refused)
    saved = post(client, f"/deals/{iid}/basics", {"amount": "320000.5", "expected_close": ""})
    assert saved.status_code == 302
    shown = staff.show(iid)
    assert (shown["amount"], shown["expected_close"]) == (320000.5, None)
    assert "Value or close date changed" in text(client.get(f"/deals/{iid}"))


def test_the_board_shows_values_the_weighted_pipeline_and_the_probabilities(
    client: FlaskClient, staff: Service
) -> None:
    deal_at_proposal(staff, company="One")
    deal_at_proposal(staff, company="Two")
    login(client, "alice")
    page = text(client.get("/deals/board"))
    proposal = page[page.index('data-stage="proposal"') : page.index('data-stage="negotiation"')]
    assert '<span class="value"' in proposal and "¥600,000" in proposal
    assert "weighted ¥360,000" in proposal and "(60%)" in proposal
    assert 'id="pipeline-totals"' in page and "¥600,000" in page
    assert 'id="probabilities"' not in page  # a rep does not set them
    assert post(client, "/deals/board/probabilities", {"p_proposal": "50"}).status_code == 403
    post(client, "/logout")
    login(client, "mia")
    assert 'id="probabilities"' in text(client.get("/deals/board"))
    saved = post(
        client, "/deals/board/probabilities", {"process": "sales_pipeline", "p_proposal": "50"}
    )
    assert saved.status_code == 302
    page = text(client.get("/deals/board"))
    assert "weighted ¥300,000" in page and "(50%)" in page
    post(client, "/deals/board/probabilities", {"p_proposal": "150"})
    assert "Enter a whole percentage from 0 to 100" in text(client.get("/deals/board"))
    # The initiative process shows its own stages.
    staff.start("optimization_initiative", owner="mia", actor="mia")
    page = text(client.get("/deals/board?process=optimization_initiative"))
    stages = re.findall(r'<section class="column" data-stage="([a-z_]+)">', page)
    assert stages == ["preparation", "execution", "review"]
    assert client.get("/deals/board?process=nope").status_code == 404


def test_the_board_and_list_in_chinese(client: FlaskClient, staff: Service) -> None:
    iid = deal_at_proposal(staff)
    staff.mark_lost(deal_at_proposal(staff, company="Gone"), user="alice", reason="no budget")
    login(client, "alice")
    post(client, "/language", {"lang": "zh-Hans", "next": "/deals"})
    rows = text(client.get("/deals"))
    assert "预算不足" in rows and "丢单" in rows
    board = text(client.get("/deals/board"))
    assert "加权在途金额" in board and "方案制定" in board
    page = text(client.get(f"/deals/{iid}"))
    assert "标记为丢单" in page and "价格过高" in page
