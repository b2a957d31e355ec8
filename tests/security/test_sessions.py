"""Issue 13, item 3: a cookie saved before log-out or a password change still worked for
8 h.  Log-out, a new password and an admin's "log out everywhere" end every earlier session."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.webui.conftest import csrf_token, login, post


def _saved_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(client: FlaskClient, cookie: str) -> FlaskClient:
    thief = client.application.test_client()
    thief.set_cookie("session", cookie)
    return thief


def _assert_ended(client: FlaskClient, cookie: str) -> None:
    page = _replay(client, cookie).get("/tasks")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = _replay(client, cookie).get("/tasks", headers={"Accept": "application/json"})
    assert api.status_code == 401


def test_a_cookie_saved_before_log_out_no_longer_works(client: FlaskClient) -> None:
    assert login(client, "alice").status_code == 302
    saved = _saved_cookie(client)
    assert _replay(client, saved).get("/tasks").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tasks")})
    _assert_ended(client, saved)


def test_a_new_password_ends_earlier_sessions(client: FlaskClient, staff: Service) -> None:
    login(client, "alice")
    saved = _saved_cookie(client)
    staff.set_user("alice", password="a-new-password")
    _assert_ended(client, saved)
    assert client.get("/tasks").status_code == 302  # the browser's own session too
    assert login(client, "alice", "a-new-password").status_code == 302
    assert client.get("/tasks").status_code == 200


def test_an_admin_ends_every_session_of_a_user(client: FlaskClient) -> None:
    alice = client.application.test_client()
    login(alice, "alice")
    saved = _saved_cookie(alice)
    login(client, "root")
    page = client.get("/admin/users/alice")
    assert "Log out everywhere" in page.get_data(as_text=True)
    done = post(client, "/admin/users/alice", {"action": "logout_everywhere"})
    assert done.status_code == 302
    _assert_ended(client, saved)
    assert alice.get("/tasks").status_code == 302
    assert client.get("/admin/users/alice").status_code == 200  # the admin's goes on


def test_an_admin_who_changes_their_own_password_stays_logged_in(client: FlaskClient) -> None:
    other = client.application.test_client()
    login(other, "root")
    login(client, "root")
    done = post(
        client,
        "/admin/users/root",
        {"action": "save", "display_name": "Root", "roles": ["admin"], "password": "n3w-pass-x"},
    )
    assert done.status_code == 302
    assert client.get("/admin/users").status_code == 200
    assert other.get("/tasks").status_code == 302
