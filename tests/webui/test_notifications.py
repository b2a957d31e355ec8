"""The bell: its unread count on every page (one COUNT), the notifications page with links,
marking one or all read (CSRF, own only), and the same over the JSON API."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from flask.testing import FlaskClient
from sqlalchemy import event

from engine.usecases.service import Service
from webui.api.document import document

from .conftest import LEAD, login, open_task, post, text

API = "/api/v1"
BELL = re.compile(r'<a class="bell"[^>]*>.*?</a>', re.S)


def bell(page: str) -> str:
    found = BELL.search(page)
    assert found is not None, "no bell on the page"
    return found.group(0)


def give_alice_two(staff: Service) -> tuple[str, str]:
    """Two tasks bob hands to alice: two notifications for her.  (deal, first task id)"""
    deal = staff.start(
        "sales_pipeline", owner="bob", actor="bob", data={**LEAD, "company": "Kite Robotics"}
    )
    other = staff.start(
        "sales_pipeline", owner="bob", actor="bob", data={**LEAD, "company": "Nova Solar"}
    )
    first = open_task(staff, str(deal["instance_id"]), "task_qualify_lead")["task_id"]
    second = open_task(staff, str(other["instance_id"]), "task_qualify_lead")["task_id"]
    staff.reassign(first, "alice", actor="bob")
    staff.reassign(second, "alice", actor="bob")
    return str(deal["instance_id"]), first


def test_the_bell_counts_what_is_unread(client: FlaskClient, staff: Service) -> None:
    login(client, "alice")
    assert 'class="count"' not in bell(text(client.get("/tasks")))
    give_alice_two(staff)
    ring = bell(text(client.get("/deals")))
    assert 'href="/notifications"' in ring and '<span class="count" title="unread">2</span>' in ring


def test_the_bell_costs_one_count_query(app: Any, client: FlaskClient, staff: Service) -> None:
    give_alice_two(staff)
    login(client, "alice")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = app.extensions["salesflow"].db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert client.get("/tasks").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    about_notifications = [s for s in statements if "notification" in s]
    assert len(about_notifications) == 1
    assert about_notifications[0].startswith("SELECT count(*)")


def test_the_page_lists_them_with_links_and_marks_them_read(
    client: FlaskClient, staff: Service
) -> None:
    deal, task = give_alice_two(staff)
    login(client, "alice")
    page = text(client.get("/notifications"))
    assert "bob gave you the task &#39;Qualify lead&#39; of deal &#39;Kite Robotics&#39;." in page
    assert "bob gave you the task &#39;Qualify lead&#39; of deal &#39;Nova Solar&#39;." in page
    assert f'href="/deals/{deal}"' in page and f'href="/tasks/{task}"' in page
    assert page.count('class="notification unread"') == 2
    [first] = [n for n in staff.notifications("alice") if n["task_id"] == task]

    answer = post(client, "/notifications/read", {"id": str(first["id"])})
    assert answer.status_code == 302 and answer.headers["Location"] == "/notifications"
    page = text(client.get("/notifications"))
    assert page.count('class="notification unread"') == 1
    assert '<span class="count" title="unread">1</span>' in bell(page)

    post(client, "/notifications/read")
    page = text(client.get("/notifications"))
    assert "All notifications are marked read." in page
    assert 'class="notification unread"' not in page and "Mark all read" not in page
    assert 'class="count"' not in bell(page)


def test_marking_needs_the_form_token_and_touches_only_ones_own(
    client: FlaskClient, staff: Service
) -> None:
    _deal, task = give_alice_two(staff)
    staff.reassign(task, "bob", actor="mia")  # tells bob, and alice (three for her now)
    [bobs] = staff.notifications("bob")
    login(client, "alice")
    assert client.post("/notifications/read").status_code == 400  # no CSRF token
    assert staff.unread_notifications("alice") == 3
    post(client, "/notifications/read", {"id": str(bobs["id"])})
    post(client, "/notifications/read", {"id": "not-a-number"})
    assert staff.unread_notifications("bob") == 1
    assert staff.unread_notifications("alice") == 3


def test_the_page_needs_a_log_in(client: FlaskClient) -> None:
    answer = client.get("/notifications")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    login(client, "alice")
    assert "Nothing yet: when someone gives you work" in text(client.get("/notifications"))


# --- the API -------------------------------------------------------------------------------


def conforms(body: Any, schema: str) -> None:
    components = document()["components"]
    for item in components["schemas"].values():  # answers carry no undocumented key
        if item.get("type") == "object" and set(item.get("required", ())) == set(
            item.get("properties", ())
        ):
            item["additionalProperties"] = False
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "$ref": f"#/components/schemas/{schema}",
    }
    jsonschema.Draft202012Validator(root).validate(body)


def test_the_api_lists_and_marks_the_callers_notifications(
    client: FlaskClient, staff: Service
) -> None:
    give_alice_two(staff)
    alice = {"Authorization": f"Bearer {staff.create_token('alice')['token']}"}
    bob = {"Authorization": f"Bearer {staff.create_token('bob')['token']}"}
    listed = client.get(f"{API}/notifications", headers=alice)
    assert listed.status_code == 200
    body = listed.get_json()
    conforms(body, "NotificationList")
    assert body["unread"] == 2 and len(body["items"]) == 2
    newest = body["items"][0]
    assert newest["kind"] == "reassigned" and newest["read"] is False
    assert client.get(f"{API}/notifications?limit=1", headers=alice).get_json()["unread"] == 2
    assert len(client.get(f"{API}/notifications?limit=1", headers=alice).get_json()["items"]) == 1

    theirs = client.post(f"{API}/notifications/read", json={"ids": [newest["id"]]}, headers=bob)
    assert theirs.get_json() == {"marked": 0, "unread": 0}
    one = client.post(f"{API}/notifications/read", json={"ids": [newest["id"]]}, headers=alice)
    conforms(one.get_json(), "NotificationsMarked")
    assert one.get_json() == {"marked": 1, "unread": 1}
    every = client.post(f"{API}/notifications/read", headers=alice)
    assert every.get_json() == {"marked": 1, "unread": 0}
    assert client.get(f"{API}/notifications", headers=alice).get_json()["items"][0]["read"] is True


def test_the_api_refuses_bad_bodies_and_missing_tokens(client: FlaskClient, staff: Service) -> None:
    alice = {"Authorization": f"Bearer {staff.create_token('alice')['token']}"}
    for body in ({"ids": "all"}, {"ids": [0]}, {"everything": True}):
        answer = client.post(f"{API}/notifications/read", json=body, headers=alice)
        assert answer.status_code == 422, body
        assert answer.get_json()["error"] == "ValidationError"
    assert client.get(f"{API}/notifications?limit=0", headers=alice).status_code == 422
    assert client.get(f"{API}/notifications").status_code == 401
    assert client.post(f"{API}/notifications/read").status_code == 401


def test_the_document_describes_the_notification_operations() -> None:
    paths = document()["paths"]
    assert paths["/notifications"]["get"]["operationId"] == "listNotifications"
    assert paths["/notifications/read"]["post"]["operationId"] == "readNotifications"
