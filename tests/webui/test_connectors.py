"""The connectors page: admins allow hosts and store secrets (whose values never come back,
not even in the page's HTML), designers read hosts and secret names, everyone else is refused;
a bad host is named on its field with nothing saved; the page speaks Chinese."""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient

from engine.errors import ForbiddenError
from engine.usecases.service import Service

from .conftest import login, post, text


@pytest.mark.parametrize("user", ["alice", "mia", "pete"])
def test_only_designers_and_admins_open_the_page(client: FlaskClient, user: str) -> None:
    login(client, user)
    assert client.get("/connectors").status_code == 403
    assert (
        post(client, "/connectors", {"action": "allow_host", "host": "x.example"}).status_code
        == 403
    )


def test_an_admin_allows_a_host_and_stores_a_secret(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    empty = text(client.get("/connectors"))
    assert "No host is allowed yet" in empty and "No secret is stored" in empty
    done = post(
        client,
        "/connectors",
        {"action": "allow_host", "host": "CRM.Example.com", "note": "our CRM"},
    )
    assert done.status_code == 302
    stored = post(
        client, "/connectors", {"action": "set_secret", "name": "crm_token", "value": "tok-123456"}
    )
    assert stored.status_code == 302
    page = text(client.get("/connectors"))
    assert "crm.example.com" in page and "our CRM" in page
    assert "{{secret:crm_token}}" in page
    assert "tok-123456" not in page  # never shown back
    assert staff.connector_hosts(user="root")[0]["host"] == "crm.example.com"
    # what a worker's request would carry, though no page shows it
    assert "tok-123456" not in str(staff.connector_secrets(user="root"))

    [host] = staff.connector_hosts(user="root")
    assert (
        post(client, "/connectors", {"action": "remove_host", "host_id": host["id"]}).status_code
        == 302
    )
    assert staff.connector_hosts(user="root") == []


def test_a_bad_host_is_named_and_nothing_is_saved(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    refused = post(client, "/connectors", {"action": "allow_host", "host": "http://x/ y"})
    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="host-error"' in text(refused)
    assert staff.connector_hosts(user="root") == []


def test_a_designer_reads_names_but_changes_nothing(client: FlaskClient, staff: Service) -> None:
    staff.allow_host("api.example.com", user="root")
    staff.set_connector_secret("crm_token", "tok-123456", user="root")
    login(client, "dora")
    page = text(client.get("/connectors"))
    assert "api.example.com" in page and "crm_token" in page
    assert "tok-123456" not in page
    assert "Store secret" not in page and "Recent calls" not in page
    assert (
        post(client, "/connectors", {"action": "remove_secret", "name": "crm_token"}).status_code
        == 403
    )
    assert [s["name"] for s in staff.connector_secrets(user="root")] == ["crm_token"]


def test_the_page_in_chinese(client: FlaskClient) -> None:
    login(client, "root")
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(client.get("/connectors"))
    assert "允许的主机" in page and "还没有允许任何主机" in page


def test_an_admin_maps_a_spiff_arena_operator(client: FlaskClient, staff: Service) -> None:
    login(client, "root")
    form = {
        "action": "set_operator",
        "operator": "slack/PostMessage",
        "method": "POST",
        "url": "https://slack.com/api/chat.postMessage",
        "headers": "Authorization: Bearer {{token}}",
        "fields": "channel = channel\ntext = message",
        "results": "slack_ts = body.ts",
    }
    broken = post(client, "/connectors", {**form, "fields": "channel = __import__('os')"})
    assert broken.status_code == 422
    assert "This request cannot run:" in text(broken)
    shown = html.unescape(text(broken))
    assert "This request cannot run: the expression of the connector's field channel" in shown
    assert "name '__import__' is not allowed" in shown and "operator_definition:" not in shown
    post(client, "/language", {"lang": "zh-Hans"})
    broken = post(client, "/connectors", {**form, "fields": "channel = __import__('os')"})
    assert "中的表达式无法使用：不允许使用名称「__import__」" in text(broken)  # noqa: RUF001
    post(client, "/language", {"lang": "en"})
    assert staff.connector_operators(user="root") == []
    assert post(client, "/connectors", form).status_code == 302
    page = text(client.get("/connectors"))
    assert "slack/PostMessage" in page and "https://slack.com/api/chat.postMessage" in page
    [mapped] = staff.connector_operators(user="dora")
    assert mapped["fields"] == "channel = channel\ntext = message"
    with pytest.raises(ForbiddenError):
        staff.remove_connector_operator("slack/PostMessage", user="dora")
