"""Saved views of the deal list (issue 14): saving the list's filter and sort under a name, the
one-click links, the default view /deals opens with (and ?all=1 past it), deleting; and the
same over the JSON API.  Someone else's saved view reads like a missing one everywhere."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.usecases.saved_filters import MAX_FILTERS
from engine.usecases.service import Service

from .conftest import LEAD, csrf_token, login, post, text
from .test_api import API, conforms, error_of

EMPTY = "No saved views yet: filter the list, then save it here."
ALICES = {"owner": "alice", "q": "Ltd", "sort": "-deal"}


@pytest.fixture
def deals(staff: Service) -> Service:
    """Two deals of alice and one of mia."""
    for company, owner in (("Alpha Ltd", "alice"), ("Beta Ltd", "alice"), ("Gamma Ltd", "mia")):
        staff.start("sales_pipeline", owner=owner, actor=owner, data={**LEAD, "company": company})
    return staff


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(unescape(url)).query))


def views_on(page: str) -> dict[str, str]:
    """The saved views' links on the list: name -> URL (the default one's name marked *)."""
    bar = page.split('id="saved-views"', 1)[1].split("</section>", 1)[0]
    found = {}
    for item in bar.split('<span class="filters inline saved-view">')[1:]:
        link = re.search(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', item)
        assert link is not None
        default = "*" if 'class="badge"' in item else ""
        found[unescape(link.group(2)) + default] = unescape(link.group(1))
    return found


def names_in_list(page: str) -> list[str]:
    return re.findall(r"<strong>([^<]*Ltd)</strong>", page)


def save(client: FlaskClient, name: str, query: str, default: bool = False) -> TestResponse:
    data = {"name": name, "query": query, **({"default": "1"} if default else {})}
    return post(client, "/deals/filters", data)


# --- the page ------------------------------------------------------------------------------


def test_saving_the_view_shown_and_opening_it_with_one_click(
    client: FlaskClient, deals: Service
) -> None:
    login(client, "mia")
    page = text(client.get("/deals"))
    assert EMPTY in page and views_on(page) == {}
    assert names_in_list(page) == ["Alpha Ltd", "Beta Ltd", "Gamma Ltd"]
    # The save form carries the filter and sort shown.
    shown = text(client.get("/deals?q=Ltd&owner=alice&sort=-deal&stage="))
    query = re.search(r'name="query" value="([^"]*)"', shown)
    assert query is not None and query_of("?" + query.group(1)) == ALICES

    saved = save(client, "Alice's deals", unescape(query.group(1)))
    assert saved.status_code == 302 and query_of(saved.headers["Location"]) == ALICES
    page = text(client.get(saved.headers["Location"]))
    assert "Saved the view “Alice&#39;s deals”." in page
    assert EMPTY not in page
    assert re.search(r'aria-current="page">Alice&#39;s deals</a>', page)  # the view shown
    # One click opens the list so filtered and sorted: alice's deals, Z to A.
    link = views_on(text(client.get("/deals?all=1")))["Alice's deals"]
    assert query_of(link) == ALICES
    assert names_in_list(text(client.get(link))) == ["Beta Ltd", "Alpha Ltd"]
    # The views are mia's own.
    assert [v["name"] for v in deals.saved_filters("mia", "deals")] == ["Alice's deals"]
    assert deals.saved_filters("alice", "deals") == []
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tasks")})
    login(client, "alice")
    assert EMPTY in text(client.get("/deals"))


def test_the_default_view_opens_with_deals_and_all_shows_everything(
    client: FlaskClient, deals: Service
) -> None:
    login(client, "mia")
    assert save(client, "Mine", "owner=mia", default=True).status_code == 302
    page = text(client.get("/deals"))
    assert "Showing your default view “Mine”." in page
    assert names_in_list(page) == ["Gamma Ltd"]
    assert views_on(page) == {"Mine*": "/deals?owner=mia"}
    # Past the default: ?all=1, and every "Show all" link says it.
    everything = text(client.get("/deals?all=1"))
    assert "Showing your default view" not in everything
    assert names_in_list(everything) == ["Alpha Ltd", "Beta Ltd", "Gamma Ltd"]
    show_all = re.findall(r'<a href="([^"]*)">Show all</a>', page)
    assert show_all and {unescape(u) for u in show_all} == {"/deals?all=1"}
    # Any parameter is a list of its own: no default then (a page of all deals too).
    assert "Showing your default view" not in text(client.get("/deals?stage=lead"))
    assert "Showing your default view" not in text(client.get("/deals?page=1"))
    # Another default replaces it: one at a time.
    save(client, "Alice's", "owner=alice&sort=-deal", default=True)
    page = text(client.get("/deals"))
    assert "Showing your default view “Alice&#39;s”." in page
    assert names_in_list(page) == ["Beta Ltd", "Alpha Ltd"]
    assert set(views_on(page)) == {"Alice's*", "Mine"}
    # Saved again without the box ticked, it is no default: /deals shows every deal.
    save(client, "Alice's", "owner=alice&sort=-deal")
    page = text(client.get("/deals"))
    assert "Showing your default view" not in page and len(names_in_list(page)) == 3


def test_deleting_a_saved_view(client: FlaskClient, deals: Service) -> None:
    login(client, "mia")
    save(client, "Mine", "owner=mia", default=True)
    save(client, "Stale", "stale=1")
    [mine, _stale] = sorted(deals.saved_filters("mia", "deals"), key=lambda v: v["name"])
    # Without the form's token, nothing is deleted.
    refused = client.post(f"/deals/filters/{mine['id']}/delete")
    assert refused.status_code == 400 and len(deals.saved_filters("mia", "deals")) == 2
    page = text(client.get("/deals?all=1"))
    assert f'action="/deals/filters/{mine["id"]}/delete"' in page
    assert "Delete the saved view “Mine”" in page
    gone = post(client, f"/deals/filters/{mine['id']}/delete")
    assert gone.status_code == 302 and gone.headers["Location"] == "/deals"
    page = text(client.get("/deals"))
    assert "The saved view is deleted." in page
    assert "Showing your default view" not in page  # the default went with it
    assert views_on(page) == {"Stale": "/deals?stale=1"}
    assert post(client, f"/deals/filters/{mine['id']}/delete").status_code == 404


def test_someone_elses_saved_view_is_not_found(client: FlaskClient, deals: Service) -> None:
    alices = deals.save_filter("alice", "deals", "Alice's", {"owner": "alice"}, default=True)
    login(client, "mia")
    page = text(client.get("/deals"))
    assert "Alice&#39;s" not in page and EMPTY in page  # neither listed nor applied
    foreign = post(client, f"/deals/filters/{alices['id']}/delete")
    missing = post(client, "/deals/filters/999999/delete")
    assert foreign.status_code == missing.status_code == 404
    assert deals.saved_filters("alice", "deals") == [alices]


@pytest.mark.parametrize(
    ("name", "query", "message"),
    [
        ("", "owner=mia", "Give the view a name of 1 to 80 characters."),
        ("   ", "owner=mia", "Give the view a name of 1 to 80 characters."),
        ("x" * 81, "owner=mia", "Give the view a name of 1 to 80 characters."),
        ("Tampered", "password=x", "This view cannot be saved: filter the list again"),
        ("Tampered", "q=" + "x" * 201, "This view cannot be saved: filter the list again"),
        ("Tampered", "sort=password", "This view cannot be saved: filter the list again"),
    ],
)
def test_a_view_that_cannot_be_saved_says_why(
    client: FlaskClient, deals: Service, name: str, query: str, message: str
) -> None:
    login(client, "mia")
    answer = save(client, name, query, default=True)
    assert answer.status_code == 422
    page = text(answer)
    assert message in page and 'role="alert"' in page
    # What was typed stays in the form, and the list shows the view it was about.
    assert f'name="name" value="{name}"' in page
    assert re.search(r'name="default" value="1" checked', page)
    if query == "owner=mia":
        assert names_in_list(page) == ["Gamma Ltd"]
    assert deals.saved_filters("mia", "deals") == []


def test_at_most_so_many_saved_views(client: FlaskClient, deals: Service) -> None:
    for n in range(MAX_FILTERS):
        deals.save_filter("mia", "deals", f"View {n:02}", {"q": str(n)})
    login(client, "mia")
    answer = save(client, "One more", "owner=mia")
    assert answer.status_code == 422
    assert "You have 50 saved views, the most there can be: delete one first." in text(answer)
    assert save(client, "View 07", "owner=mia").status_code == 302  # replacing is fine


def test_the_saved_views_in_chinese(client: FlaskClient, deals: Service) -> None:
    login(client, "mia")
    zh = {"Accept-Language": "zh-CN"}
    page = text(client.get("/deals", headers=zh))
    assert "已保存的视图" in page and "还没有保存的视图" in page
    save(client, "我的", "owner=mia", default=True)
    page = text(client.get("/deals", headers=zh))
    assert "正在显示你的默认视图“我的”。" in page and "默认" in page


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def auth(staff: Service) -> dict[str, dict[str, str]]:
    return {
        u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"} for u in ("alice", "mia")
    }


def test_saving_listing_replacing_and_deleting_over_the_api(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service
) -> None:
    mia = auth["mia"]
    empty = client.get(f"{API}/filters?page=deals", headers=mia)
    assert empty.status_code == 200 and empty.get_json() == {"filters": []}
    body = {"name": "Big ones", "page": "deals", "query": {"sort": "-amount", "q": ""}}
    made = client.post(f"{API}/filters", json={**body, "default": True}, headers=mia)
    assert made.status_code == 201
    record = made.get_json()
    conforms(record, "SavedFilter")
    assert record == {
        "id": record["id"],
        "name": "Big ones",
        "page": "deals",
        "query": {"sort": "-amount"},  # an empty value is no filter
        "default": True,
    }
    # The page sees what the API saved, and the other way round.
    assert staff.default_filter("mia", "deals") == record
    other = client.post(
        f"{API}/filters", json={"name": "Leads", "query": {"stage": "lead"}}, headers=mia
    )
    assert other.status_code == 201 and other.get_json()["default"] is False
    listed = client.get(f"{API}/filters", headers=mia).get_json()
    conforms(listed, "SavedFilterList")
    assert [f["name"] for f in listed["filters"]] == ["Big ones", "Leads"]
    # The same name again replaces it (same id); a new default ends the old one.
    again = client.post(
        f"{API}/filters",
        json={"name": "Leads", "query": {"stage": "lead"}, "default": True},
        headers=mia,
    )
    assert again.status_code == 201 and again.get_json()["id"] == other.get_json()["id"]
    listed = client.get(f"{API}/filters", headers=mia).get_json()["filters"]
    assert {f["name"]: f["default"] for f in listed} == {"Big ones": False, "Leads": True}
    # alice sees none of them.
    assert client.get(f"{API}/filters", headers=auth["alice"]).get_json() == {"filters": []}

    gone = client.delete(f"{API}/filters/{record['id']}", headers=mia)
    assert gone.status_code == 204 and gone.get_data() == b""
    assert [f["name"] for f in client.get(f"{API}/filters", headers=mia).get_json()["filters"]] == [
        "Leads"
    ]
    error_of(client.delete(f"{API}/filters/{record['id']}", headers=mia), 404, "NotFoundError")


def test_someone_elses_filter_is_not_found_over_the_api(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service
) -> None:
    bobs = staff.save_filter("bob", "deals", "Bob's", {"owner": "bob"})
    foreign = error_of(client.delete(f"{API}/filters/{bobs['id']}", headers=auth["mia"]), 404)
    missing = error_of(client.delete(f"{API}/filters/999999", headers=auth["mia"]), 404)
    assert foreign["message"].replace(str(bobs["id"]), "N") == missing["message"].replace(
        "999999", "N"
    )
    assert staff.saved_filters("bob", "deals") == [bobs]
    for junk in ("abc", "0", "-3", "9" * 30):
        error_of(client.delete(f"{API}/filters/{junk}", headers=auth["mia"]), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "x", "page": "tasks"}, "page"),
        ({"name": "x", "query": {"password": "x"}}, "query"),
        ({"name": "x", "query": {"q": "x" * 201}}, "query"),
        ({"name": "x", "query": {"q": 1}}, "query"),
        ({"name": "x", "query": {"sort": "password"}}, "query"),
        ({"name": "x", "query": ["stage"]}, "query"),
        ({"name": "x", "default": "yes"}, "default"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_filter_the_api_refuses_names_the_field(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service, body: Any, field: str
) -> None:
    answer = error_of(client.post(f"{API}/filters", json=body, headers=auth["mia"]), 422)
    assert answer["field"] == field or answer["field"].startswith(field + "."), answer
    assert staff.saved_filters("mia", "deals") == []


def test_the_limit_and_the_list_asked_for_over_the_api(
    client: FlaskClient, auth: dict[str, dict[str, str]], staff: Service
) -> None:
    mia = auth["mia"]
    for n in range(MAX_FILTERS):
        staff.save_filter("mia", "deals", f"View {n:02}", {})
    refused = error_of(client.post(f"{API}/filters", json={"name": "More"}, headers=mia), 422)
    assert refused["field"] == "name"
    assert error_of(client.get(f"{API}/filters?pag=deals", headers=mia), 422)["field"] == "pag"
    for query in ("?page=tasks", "?page=", "?page=deals&page=deals"):
        assert error_of(client.get(f"{API}/filters{query}", headers=mia), 422)["field"] == "page"
