"""Log-in, log-out, the guard in front of every page, CSRF on every form."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.store.models import History
from engine.usecases.service import Service

from .conftest import PASSWORD, csrf_token, deal_at_needs_analysis, login, open_task, post, text

# Every page route with sample arguments (the API has its own tokens and its own tests).
PAGES = [
    "/",
    "/tasks",
    "/tasks/00000000-0000-0000-0000-000000000000",
    "/deals",
    "/deals/board",
    "/deals/new",
    "/deals/1",
    "/deals/1/chart.svg",
    "/processes",
    "/processes/sales_pipeline",
    "/processes/sales_pipeline/heatmap",
    "/processes/sales_pipeline/chart.png",
    "/admin/users",
]
POSTS = [
    "/logout",
    "/tasks/00000000-0000-0000-0000-000000000000",
    "/tasks/00000000-0000-0000-0000-000000000000/claim",
    "/tasks/00000000-0000-0000-0000-000000000000/release",
    "/deals/new",
    "/deals/1/comments",
    "/admin/users",
]


def test_right_password_logs_in_with_a_safe_session_cookie(client: FlaskClient) -> None:
    response = login(client, "alice")
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = client.get("/tasks")
    assert page.status_code == 200
    assert "Alice Rep" in text(page) and "Welcome, Alice Rep." in text(page)


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), ("nobody", PASSWORD)])
def test_wrong_credentials_show_the_form_again_without_a_hint(
    client: FlaskClient, username: str, password: str
) -> None:
    response = login(client, username, password)
    assert response.status_code == 401
    page = text(response)
    assert "The user name or the password is not right." in page
    assert 'name="password"' in page and f'value="{username}"' in page
    assert client.get("/tasks").status_code == 302  # still logged out


def test_login_goes_to_next_only_on_this_site(client: FlaskClient) -> None:
    assert (
        client.get("/deals?stage=needs").headers["Location"] == "/login?next=/deals?stage%3Dneeds"
    )
    token = csrf_token(client)
    form = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login?next=/deals?stage%3Dneeds", data=form)
    assert response.headers["Location"] == "/deals?stage=needs"
    post(client, "/logout")
    token = csrf_token(client)
    form["csrf_token"] = token
    response = client.post("/login", data={**form, "next": "https://evil.example/"})
    assert response.headers["Location"] == "/tasks"


def test_logout_ends_the_session(client: FlaskClient) -> None:
    login(client, "alice")
    assert client.get("/tasks").status_code == 200
    response = post(client, "/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/tasks").status_code == 302
    assert "You are logged out." in text(client.get("/login"))


def test_logout_needs_post_and_a_token(client: FlaskClient) -> None:
    login(client, "alice")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/tasks").status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_every_page_sends_a_browser_without_session_to_login(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", PAGES)
def test_every_page_answers_401_to_json_clients(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "Unauthorized"


@pytest.mark.parametrize("url", POSTS)
def test_every_form_post_without_session_is_refused(client: FlaskClient, url: str) -> None:
    response = client.post(url, data={"text": "hi"})
    # No session: no token either.  Either way nothing is done.
    assert response.status_code in (302, 400)


def test_login_page_health_and_static_files_are_open(client: FlaskClient) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    for name in ("app.css", "forms.js", "chart.js"):
        with client.get(f"/static/{name}") as response:
            assert response.status_code == 200


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, staff: Service, app: Flask
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    login(client, "alice")

    def history() -> int:
        with staff.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(History)) or 0)

    before = history()
    for url, data in [
        (f"/deals/{deal}/comments", {"text": "sneaky"}),
        (f"/tasks/{task['task_id']}/release", {}),
        (f"/tasks/{task['task_id']}", {"action": "complete"}),
        ("/deals/new", {"company": "X"}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert "The CSRF token is missing." in text(response)
        bad = client.post(url, data={**data, "csrf_token": "forged"})
        assert bad.status_code == 400, url
    assert history() == before
    assert open_task(staff, deal, "task_needs_analysis")["assignee"] == "alice"
    assert len(staff.instances()) == 1


def test_a_user_who_left_is_logged_out(client: FlaskClient, staff: Service) -> None:
    login(client, "alice")
    assert client.get("/tasks").status_code == 200
    from engine.store.models import User

    with staff.db.write() as s:
        user = s.scalars(select(User).where(User.username == "alice")).one()
        user.active = False
    assert client.get("/tasks").status_code == 302
    assert login(client, "alice").status_code == 401
