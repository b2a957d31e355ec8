"""One user's admin page: name, e-mail, roles and password changed; deactivated (sessions and
tokens stop, open tasks listed) and reactivated; an admin cannot lock themselves out."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from engine.usecases.service import Service

from .conftest import PASSWORD, csrf_token, deal_at_needs_analysis, login, open_task, post, text


def ticked(page: str) -> set[str]:
    return set(re.findall(r'name="roles" value="([^"]+)" checked', page))


def test_admin_changes_a_user(client: FlaskClient, staff: Service) -> None:
    staff.set_user("bob", roles=["sales_rep", "Key Accounts"])
    login(client, "root")
    assert 'href="/admin/users/bob"' in text(client.get("/admin/users"))
    page = text(client.get("/admin/users/bob"))
    assert ticked(page) == {"Sales Rep"} and 'value="Key Accounts"' in page
    assert "No open task is assigned to this user." in page

    data = {
        "action": "save",
        "display_name": "Bob Li",
        "email": "bob@example.com",
        "roles": ["Finance", "Legal"],
        "extra_roles": "Key Accounts, Channel Sales",
        "password": "bobs-new-pass",
    }
    response = post(client, "/admin/users/bob", data)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users/bob"
    page = text(client.get("/admin/users/bob"))
    assert "User bob updated." in page
    assert ticked(page) == {"Finance", "Legal"}
    assert 'value="bob@example.com"' in page and 'value="Bob Li"' in page
    assert staff.roles("bob") == {"finance", "legal", "key accounts", "channel sales"}
    assert "bob@example.com" in text(client.get("/admin/users"))

    # An empty password leaves it as it is; the new one works, the old one no longer.
    post(client, "/admin/users/bob", {**data, "password": ""})
    assert staff.authenticate("bob", "bobs-new-pass") is not None
    assert staff.authenticate("bob", PASSWORD) is None
    bob = FlaskClient(client.application)
    assert login(bob, "bob", "bobs-new-pass").status_code == 302


def test_edit_form_errors_change_nothing(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    before = staff.user("bob")
    response = post(client, "/admin/users/bob", {"roles": ["Finance"], "password": "short"})
    assert response.status_code == 422 and "at least 8 characters" in text(response)
    response = post(client, "/admin/users/bob", {"roles": ["Finance"], "email": "bob at home"})
    assert response.status_code == 422
    page = text(response)
    assert "name@example.com" in page
    assert ticked(page) == {"Finance"}  # what was typed is still there
    assert staff.user("bob") == before
    assert client.get("/admin/users/ghost").status_code == 404
    assert post(client, "/admin/users/bob", {"action": "explode"}).status_code == 400


def test_an_admin_cannot_lock_themselves_out(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    page = text(client.get("/admin/users/root"))
    assert "You cannot deactivate yourself" in page and 'value="deactivate"' not in page
    response = post(client, "/admin/users/root", {"roles": ["Sales Manager"]})
    assert response.status_code == 422
    assert "You cannot take away your own admin role" in text(response)
    assert staff.roles("root") == {"admin"}
    response = post(client, "/admin/users/root", {"action": "deactivate"})
    assert response.status_code == 302
    assert "You cannot deactivate yourself" in text(client.get(response.headers["Location"]))
    assert staff.user("root")["active"] is True
    # Another admin may do both.
    staff.add_user("ada", ["admin"], password=PASSWORD)
    ada = FlaskClient(client.application)
    login(ada, "ada")
    assert post(ada, "/admin/users/root", {"roles": ["Sales Manager"]}).status_code == 302
    assert staff.roles("root") == {"sales manager"}
    assert client.get("/admin/users").status_code == 403  # root's session: no admin any more


def test_deactivating_ends_sessions_and_tokens_and_lists_open_tasks(
    app: Flask, client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff)
    task = open_task(staff, deal, "task_needs_analysis")
    token = staff.create_token("alice", "lead form")["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    alice = app.test_client()
    login(alice, "alice")
    assert alice.get("/tasks").status_code == 200
    assert alice.get("/api/v1/tasks", headers=bearer).status_code == 200

    login(client, "root")
    response = post(client, "/admin/users/alice", {"action": "deactivate"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users/alice"
    page = text(client.get("/admin/users/alice"))
    assert "alice is deactivated" in page
    assert "One open task stays assigned to alice; it is listed below." in page
    listed = page[page.index("Open tasks held by") :]
    assert "Needs analysis" in listed and f'href="/deals/{deal}"' in listed
    assert 'value="activate"' in page

    # Her session ends at her next request, her token is refused, she cannot log in.
    assert alice.get("/tasks").headers["Location"].startswith("/login")
    assert alice.get("/api/v1/tasks", headers=bearer).status_code == 401
    assert login(alice, "alice").status_code == 401
    # The task stays hers.
    assert open_task(staff, deal, "task_needs_analysis")["assignee"] == "alice"
    assert task["task_id"] == open_task(staff, deal, "task_needs_analysis")["task_id"]
    assert "Deactivated" in text(client.get("/admin/users"))

    response = post(client, "/admin/users/alice", {"action": "activate"})
    assert response.status_code == 302
    assert "alice is active again" in text(client.get("/admin/users/alice"))
    assert login(alice, "alice").status_code == 302
    assert alice.get("/api/v1/tasks", headers=bearer).status_code == 401  # stays revoked


def test_only_admins_open_a_users_page(client: FlaskClient, staff: Service) -> None:
    login(client, "mia")
    assert client.get("/admin/users/bob").status_code == 403
    response = post(client, "/admin/users/bob", {"action": "deactivate"})
    assert response.status_code == 403
    assert post(client, "/admin/users/bob", {"roles": ["admin"]}).status_code == 403
    assert staff.user("bob")["active"] is True and staff.roles("bob") == {"sales rep"}
    # Without the form's token nothing happens either, even for an admin.
    admin = FlaskClient(client.application)
    login(admin, "root")
    csrf_token(admin, "/admin/users")
    assert admin.post("/admin/users/bob", data={"action": "deactivate"}).status_code == 400
    assert staff.user("bob")["active"] is True
