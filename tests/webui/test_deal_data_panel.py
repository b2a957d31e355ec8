"""The deal page's "Deal data" panel and `GET /api/v1/deals/{id}/data`: the data grouped by
the form that asked for it, in the order the deal went through the forms, with choices by
their labels and money, numbers and days formatted, in the reader's language."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.usecases.demo import BIG_DISCOUNT, WON, drive
from engine.usecases.service import Service

from .conftest import LEAD, login, post, text
from .test_api import conforms


def deal(service: Service, steps: list[tuple[str, dict[str, object]]]) -> str:
    started = service.start(
        "sales_pipeline",
        owner="alice",
        actor="alice",
        data={**LEAD, "source_channel": "trade_show"},
    )
    drive(service, started["instance_id"], steps)
    return str(started["instance_id"])


def panel(page: str) -> str:
    """The "Deal data" section of a deal page."""
    start = page.index('id="deal-data"')
    return page[start : page.index("</section>", start)]


def headings(html: str) -> list[str]:
    return re.findall(r"<h3>([^<]*)</h3>", html)


def test_the_panel_shows_the_forms_in_order_with_labels(
    client: FlaskClient, staff: Service
) -> None:
    iid = deal(staff, BIG_DISCOUNT)
    login(client, "alice")
    shown = panel(text(client.get(f"/deals/{iid}")))
    assert headings(shown) == [
        "Lead received",
        "Qualify lead",
        "Initial contact",
        "Needs analysis",
        "Design proposal",
        "Prepare quote",
        "Approve discount",
        "Negotiate",
        "Other",
    ]
    assert '<dt>Source channel</dt><dd data-kind="choice">Trade show</dd>' in shown
    assert "trade_show" not in shown and "efficiency" not in shown  # no raw codes
    assert '<dd data-kind="bool">Approve</dd>' in shown  # the decision's own words
    assert '<dd data-kind="money">¥240,000</dd>' in shown  # the quote's price
    assert '<dd data-kind="money">¥12,000,000</dd>' in shown  # the revenue
    assert (
        '<dt>Minimum</dt><dd data-kind="money">¥150,000</dd>' in shown
    )  # the budget range's parts
    assert (
        '<dt>Name</dt><dd data-kind="text">Wang Lei</dd>' in shown
    )  # a person of the decision chain
    assert '<dd data-kind="number">8</dd>' in shown  # the discount in per cent
    # The order of a form: company before contact before source.
    assert shown.index("Company") < shown.index("Contact person") < shown.index("Source channel")


def test_the_panel_in_chinese_with_days(client: FlaskClient, staff: Service) -> None:
    iid = deal(staff, WON)
    login(client, "alice")
    post(client, "/language", {"lang": "zh-Hans", "next": "/tasks"})
    shown = panel(text(client.get(f"/deals/{iid}")))
    assert headings(shown)[:2] == ["收到线索", "线索资格审查"]
    assert headings(shown)[-1] == "其他"
    assert '<dt>线索来源</dt><dd data-kind="choice">展会</dd>' in shown
    assert '<dd data-kind="bool">是</dd>' in shown  # the contract template approved
    assert '<dd data-kind="date">2026年3月10日</dd>' in shown  # the down payment's day
    assert "trade_show" not in shown


def test_a_new_deal_shows_its_lead_form(client: FlaskClient, staff: Service) -> None:
    iid = deal(staff, [])
    login(client, "alice")
    shown = panel(text(client.get(f"/deals/{iid}")))
    assert headings(shown) == ["Lead received", "Other"]
    assert "Annual revenue (CNY)" in shown and "¥8,000,000" in shown


def test_the_api_gives_the_sections_in_the_language_asked(
    client: FlaskClient, staff: Service
) -> None:
    iid = deal(staff, WON[:3])
    alice = {"Authorization": f"Bearer {staff.create_token('alice')['token']}"}
    answer = client.get(f"/api/v1/deals/{iid}/data", headers={**alice, "Accept-Language": "zh"})
    assert answer.status_code == 200
    conforms(answer.get_json(), "DealData")  # as documented, closed (no other keys)
    sections = answer.get_json()["sections"]
    assert [s["form"] for s in sections] == [
        "lead_received.schema.json",
        "qualify_lead.schema.json",
        "initial_contact.schema.json",
        "needs_analysis.schema.json",
        None,
    ]
    source = sections[0]["fields"][2]
    assert source == {
        "key": "source_channel",
        "title": "线索来源",
        "value": "trade_show",
        "display": "展会",
        "kind": "choice",
        "parts": [],
    }
    english = client.get(f"/api/v1/deals/{iid}/data", headers=alice).get_json()["sections"]
    assert english[0]["title"] == "Lead received"
    assert english[0]["fields"][2]["display"] == "Trade show"
    # The deal record keeps its data as stored.
    record = client.get(f"/api/v1/deals/{iid}", headers=alice).get_json()
    assert record["data"]["source_channel"] == "trade_show"

    # Another rep's deal and a deal that does not exist read alike.
    bob = {"Authorization": f"Bearer {staff.create_token('bob')['token']}"}
    hidden = client.get(f"/api/v1/deals/{iid}/data", headers=bob)
    missing = client.get("/api/v1/deals/4242/data", headers=bob)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"] == missing.get_json()["error"]
    assert client.get("/api/v1/deals/not-a-deal/data", headers=alice).status_code == 404
