"""Deals: list with filters, search and pages; the board; lead capture; the deal page with
its chart, timeline and comments; chart downloads; never a deal one may not see."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from diagrams import RenderError
from engine.usecases.service import Service
from webui import create_app
from webui import deals as deals_view

from .conftest import LEAD, deal_at_needs_analysis, login, post, text


def start(service: Service, owner: str, company: str, **lead: Any) -> str:
    deal = service.start(
        "sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": company, **lead}
    )
    return str(deal["instance_id"])


def table(page: str) -> str:
    return page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""


def test_list_shows_only_the_deals_one_may_see(client: FlaskClient, staff: Service) -> None:
    start(staff, "alice", "Alice Co")
    start(staff, "bob", "Bob Co")
    login(client, "alice")
    rows = table(text(client.get("/deals")))
    assert "Alice Co" in rows and "Bob Co" not in rows
    post(client, "/logout")
    login(client, "mia")  # the manager sees the team's deals
    rows = table(text(client.get("/deals")))
    assert "Alice Co" in rows and "Bob Co" in rows


def test_list_filters_and_search(client: FlaskClient, staff: Service) -> None:
    start(staff, "alice", "Harbor Freight", source_channel="ads")
    start(staff, "bob", "Summit Foods", source_channel="referral")
    needs = deal_at_needs_analysis(staff, "alice", "Needs Corp")
    login(client, "mia")

    def rows(query: str) -> str:
        return table(text(client.get(f"/deals?{query}")))

    assert "Harbor" in rows("q=harb") and "Summit" not in rows("q=harb")
    assert "Summit" in rows("owner=bob") and "Harbor" not in rows("owner=bob")
    assert "Summit" in rows("source=referral") and "Harbor" not in rows("source=referral")
    assert "Needs Corp" in rows("stage=needs") and "Harbor" not in rows("stage=needs")
    assert "Needs Corp" in rows("tier=A") and "Harbor" not in rows("tier=A")
    assert "Harbor" in rows("status=running") and "Harbor" not in rows("status=completed")
    assert "Harbor" in rows("process=sales_pipeline")
    assert "No deal matches these filters." in text(
        client.get("/deals?process=optimization_initiative")
    )
    # A search is text, not SQL or a pattern.
    assert "No deal matches" in text(client.get("/deals?q=%25"))
    page = text(client.get("/deals?stage=needs"))
    assert re.search(r'<option value="needs"\s+selected>', page)
    assert needs


def test_list_pages_by_fifty_by_default(app: Flask) -> None:
    assert app.config["SALESFLOW_PAGE_SIZE"] == 50


def test_list_is_paged(db_url: str, staff: Service) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SALESFLOW_DATABASE_URL": db_url,
            "SECRET_KEY": "t",
            "SALESFLOW_PAGE_SIZE": 3,
        }
    )
    client = app.test_client()
    for n in range(7):
        start(staff, "alice", f"Deal {n:02d}")
    login(client, "alice")
    first = text(client.get("/deals"))
    assert [f"Deal {n:02d}" in table(first) for n in range(7)] == [True] * 3 + [False] * 4
    assert 'href="/deals?page=2" rel="next"' in first and 'rel="prev"' not in first
    third = text(client.get("/deals?page=3"))
    assert "Deal 06" in table(third) and "Deal 05" not in table(third)
    assert 'rel="next"' not in third and 'href="/deals?page=2" rel="prev"' in third
    # Filters are kept from page to page.
    assert 'href="/deals?page=2&amp;q=Deal"' in text(client.get("/deals?q=Deal"))
    app.extensions["salesflow"].db.dispose()


def test_empty_list_says_what_to_do(client: FlaskClient) -> None:
    login(client, "alice")
    page = text(client.get("/deals"))
    assert "No deals yet" in page and 'href="/deals/new"' in page


def test_board_has_a_column_per_stage_in_order(client: FlaskClient, staff: Service) -> None:
    start(staff, "alice", "Fresh Lead")
    deal_at_needs_analysis(staff, "alice", "Needs Corp")
    deal_at_needs_analysis(staff, "bob", "Bobs Corp")
    login(client, "alice")
    page = text(client.get("/deals/board"))
    stages = re.findall(r'<section class="column" data-stage="([a-z_]+)">', page)
    assert stages == [
        "lead",
        "qualification",
        "contact",
        "needs",
        "proposal",
        "negotiation",
        "contract",
        "after_sales",
    ]
    needs = page[page.index('data-stage="needs"') : page.index('data-stage="proposal"')]
    assert "Needs Corp" in needs and "Alice Rep" in needs and "Bobs Corp" not in page
    qualification = page[
        page.index('data-stage="qualification"') : page.index('data-stage="contact"')
    ]
    assert "Fresh Lead" in qualification
    assert "No deal here" in page


def test_new_deal_starts_the_sales_pipeline(client: FlaskClient, staff: Service) -> None:
    login(client, "alice")
    form = text(client.get("/deals/new"))
    for name in ("company", "contact", "source_channel", "annual_revenue", "intent", "deal_owner"):
        assert f'name="{name}"' in form
    assert re.search(r'<option value="alice"\s+selected>', form)
    assert 'step="0.01"' in form  # annual revenue is money
    data = {
        "deal_name": "",
        "deal_owner": "alice",
        "company": "Kite Robotics",
        "contact": "Mei Lin",
        "source_channel": "referral",
        "annual_revenue": "15000000",
        "intent": "high",
    }
    response = post(client, "/deals/new", data)
    assert response.status_code == 302
    deal_id = response.headers["Location"].rsplit("/", 1)[1]
    deal = staff.show(deal_id)
    assert deal["name"] == "Kite Robotics" and deal["owner"] == "alice"
    assert deal["data"]["annual_revenue"] == 15000000
    assert deal["history"][0]["actor"] == "alice"
    assert "Deal started: Kite Robotics." in text(client.get(f"/deals/{deal_id}"))


def test_new_deal_for_another_owner(client: FlaskClient, staff: Service) -> None:
    login(client, "mia")
    data = {
        "deal_name": "Big one",
        "deal_owner": "bob",
        **{k: str(v) for k, v in LEAD.items()},
    }
    response = post(client, "/deals/new", data)
    assert response.status_code == 302
    deal = staff.instances()[0]
    assert deal["name"] == "Big one" and deal["owner"] == "bob"
    response = post(client, "/deals/new", {**data, "deal_owner": "pete"})
    assert response.status_code == 422  # pete is no sales rep
    assert "Choose one of the people in the list." in text(response)


def test_new_deal_with_missing_data_is_refused_and_kept(
    client: FlaskClient, staff: Service
) -> None:
    login(client, "alice")
    data = {"deal_owner": "alice", "company": "Half Co", "annual_revenue": "-5", "intent": "high"}
    response = post(client, "/deals/new", data)
    assert response.status_code == 422
    page = text(response)
    assert 'value="Half Co"' in page and 'value="-5"' in page
    assert "This field is required." in page  # contact, source channel
    assert "Enter 0 or more." in page  # annual revenue
    assert staff.instances() == []


def test_deal_page_shows_data_tasks_chart_and_timeline(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    login(client, "alice")
    page = text(client.get(f"/deals/{deal}"))
    assert "<h1>ACME Tools</h1>" in page
    assert "Needs analysis" in page and "held by Alice Rep" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'class="chart-svg"' in page
    assert 'id="task_needs_analysis" class="node userTask state-ready"' in page
    assert "<!DOCTYPE" not in page.split("<body>")[1]  # the SVG's own prolog is gone
    assert "Deal started" in page and "Annual revenue" in page
    for fmt in ("svg", "png", "pdf"):
        assert f'href="/deals/{deal}/chart.{fmt}"' in page


def test_a_chart_that_cannot_be_drawn_leaves_the_rest_of_the_page(
    client: FlaskClient, staff: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart is drawn while the page renders and put in its slot afterwards; when
    graphviz fails, the slot says why and nothing else of the page is missing."""
    deal = deal_at_needs_analysis(staff)

    def broken(service: Service, deal: dict[str, Any], lang: str) -> bytes:
        raise RenderError("graphviz `neato` failed (1): out of paper")

    monkeypatch.setattr(deals_view, "_svg", broken)
    login(client, "alice")
    page = text(client.get(f"/deals/{deal}"))
    assert "The chart cannot be drawn here: graphviz `neato` failed (1): out of paper" in page
    assert "<h1>ACME Tools</h1>" in page and "Deal started" in page
    assert "<!--chart-" not in page  # the slot was filled


def test_chart_downloads(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    login(client, "alice")
    expected = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF"}
    for fmt, magic in expected.items():
        response = client.get(f"/deals/{deal}/chart.{fmt}")
        assert response.status_code == 200
        assert magic in response.data[:400]
        assert (
            response.headers["Content-Disposition"] == f'attachment; filename="deal-{deal}.{fmt}"'
        )
    svg = client.get(f"/deals/{deal}/chart.svg")
    assert svg.mimetype == "image/svg+xml"
    assert svg.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get(f"/deals/{deal}/chart.gif").status_code == 404


def test_a_deal_of_another_rep_is_not_found_anywhere(client: FlaskClient, staff: Service) -> None:
    bobs = deal_at_needs_analysis(staff, "bob", "Bob Co")
    login(client, "alice")
    for url in (f"/deals/{bobs}", f"/deals/{bobs}/chart.svg", f"/deals/{bobs}/chart.pdf"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Bob Co" not in text(response)
    response = post(client, f"/deals/{bobs}/comments", {"text": "peek"})
    assert response.status_code == 404
    assert [h for h in staff.show(bobs)["history"] if h["kind"] == "comment"] == []
    # Unknown ids look exactly the same.
    assert client.get("/deals/99999").status_code == 404
    assert client.get("/deals/abc").status_code == 404


def test_comments_on_the_timeline(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff)
    login(client, "alice")
    response = post(client, f"/deals/{deal}/comments", {"text": "Customer asked for <b>a demo</b>"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/deals/{deal}#timeline"
    page = text(client.get(f"/deals/{deal}"))
    assert "Comment added." in page
    assert "Customer asked for &lt;b&gt;a demo&lt;/b&gt;" in page
    comments = [h for h in staff.show(deal)["history"] if h["kind"] == "comment"]
    assert comments[0]["actor"] == "alice"

    response = post(client, f"/deals/{deal}/comments", {"text": "   "})
    assert response.status_code == 422
    assert "A comment is 1 to 5000 characters." in text(response)
    response = post(client, f"/deals/{deal}/comments", {"text": "x" * 5001})
    assert response.status_code == 422
    assert "x" * 5001 in text(response)  # what was typed is kept


def test_user_text_is_never_markup(client: FlaskClient, staff: Service) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    deal = start(staff, "alice", evil)
    login(client, "alice")
    for url in (f"/deals/{deal}", "/deals", "/deals/board", "/tasks"):
        page = text(client.get(url))
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;" in page or "&#34;" in page or "&lt;img" in page, url


def test_board_counts_every_deal_of_a_column_and_shows_the_latest(
    client: FlaskClient, staff: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deals_view, "BOARD_CARDS", 2)
    for company in ("First Co", "Second Co", "Third Co"):
        start(staff, "alice", company)
    login(client, "alice")
    page = text(client.get("/deals/board"))
    column = page[page.index('data-stage="qualification"') : page.index('data-stage="contact"')]
    assert '<span class="count">3</span>' in column
    # The two most recently changed deals, and a link to all of them in the list.
    assert "Third Co" in column and "Second Co" in column and "First Co" not in column
    assert "All deals in this stage" in column


def test_the_status_filter_offers_the_statuses_a_deal_can_have(client: FlaskClient) -> None:
    login(client, "mia")
    page = text(client.get("/deals"))
    found = re.search(r'<select name="status">(.*?)</select>', page, re.S)
    assert found is not None
    offered = re.findall(r'<option value="([^"]*)"', found.group(1))
    assert offered == ["", "running", "completed", "cancelled", "error"]
