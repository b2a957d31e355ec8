"""The process pages (managers, designers, admins) and the user administration (admins)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.usecases.service import Service

from .conftest import deal_at_needs_analysis, login, post, text

PROCESS_PAGES = (
    "/processes",
    "/processes/sales_pipeline",
    "/processes/sales_pipeline/heatmap",
    "/processes/sales_pipeline/chart.svg",
    "/processes/sales_pipeline/chart.png?heat=1",
)


@pytest.mark.parametrize("user", ["mia", "dora", "root"])
def test_managers_designers_and_admins_see_the_processes(client: FlaskClient, user: str) -> None:
    login(client, user)
    for url in PROCESS_PAGES:
        assert client.get(url).status_code == 200, url
    page = text(client.get("/processes"))
    assert "Sales pipeline" in page and "Process optimisation initiative" in page
    assert "version 1" in page and 'href="/processes/sales_pipeline/heatmap"' in page
    assert page.count('class="chart-svg"') == 2
    assert 'href="/processes"' in text(client.get("/tasks"))  # in the navigation


@pytest.mark.parametrize("user", ["alice", "pete", "fay"])
def test_everyone_else_is_forbidden(client: FlaskClient, user: str) -> None:
    login(client, user)
    for url in PROCESS_PAGES:
        assert client.get(url).status_code == 403, url
    assert "Not allowed" in text(client.get("/processes"))
    assert 'href="/processes"' not in text(client.get("/tasks"))


def test_heatmap_counts_the_deals_where_they_are(client: FlaskClient, staff: Service) -> None:
    deal_at_needs_analysis(staff)
    deal_at_needs_analysis(staff, "bob", "Bob Co")
    login(client, "mia")
    page = text(client.get("/processes/sales_pipeline/heatmap"))
    assert "2 deals counted." in page
    assert 'id="task_needs_analysis"' in page
    plain = text(client.get("/processes/sales_pipeline"))
    assert (
        "deals counted" not in plain
        and 'href="/processes/sales_pipeline/heatmap?version=1"' in plain
    )
    assert client.get("/processes/no_such_process").status_code == 404
    assert client.get("/processes/sales_pipeline?version=7").status_code == 404
    assert client.get("/processes/sales_pipeline?version=x").status_code == 404


def test_process_chart_download(client: FlaskClient) -> None:
    login(client, "dora")
    response = client.get("/processes/sales_pipeline/chart.pdf?heat=1")
    assert response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="sales_pipeline-heatmap.pdf"'


def test_only_admins_manage_users(client: FlaskClient) -> None:
    login(client, "mia")
    assert client.get("/admin/users").status_code == 403
    assert (
        post(client, "/admin/users", {"username": "eve", "password": "12345678"}).status_code == 403
    )
    assert 'href="/admin/users"' not in text(client.get("/tasks"))


def test_admin_adds_a_user_who_can_log_in(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    page = text(client.get("/admin/users"))
    assert "alice" in page and "Alice Rep" in page and "Sales rep" in page
    data = {
        "username": "nina",
        "display_name": "Nina Wang",
        "roles": ["Sales Rep", "Marketing"],
        "extra_roles": "Key Accounts",
        "password": "nina-pass-1",
    }
    response = post(client, "/admin/users", data)
    assert response.status_code == 302
    assert "User nina added." in text(client.get("/admin/users"))
    assert staff.roles("nina") == {"sales rep", "marketing", "key accounts"}
    post(client, "/logout")
    assert login(client, "nina", "nina-pass-1").headers["Location"] == "/tasks"


def test_admin_form_errors(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    response = post(client, "/admin/users", {"username": "newbie", "display_name": "New"})
    assert response.status_code == 422
    page = text(response)
    assert "A new user needs a password." in page and 'value="newbie"' in page
    response = post(client, "/admin/users", {"username": "newbie", "password": "short"})
    assert "at least 8 characters" in text(response)
    response = post(client, "/admin/users", {"username": "two words", "password": "longenough"})
    assert response.status_code == 422 and "without spaces" in text(response)
    response = post(
        client, "/admin/users", {"username": "newbie", "password": "longenough", "email": "x@y"}
    )
    assert response.status_code == 422 and "name@example.com" in text(response)
    assert "newbie" not in {u["username"] for u in staff.users()}
    # An existing user is changed on their own page, never over by the add form.
    response = post(
        client, "/admin/users", {"username": "bob", "roles": ["Finance"], "password": "longenough"}
    )
    assert response.status_code == 422 and "bob exists already" in text(response)
    assert staff.roles("bob") == {"sales rep"}
