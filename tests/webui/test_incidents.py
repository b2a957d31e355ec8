"""Incidents on the web: the deal page shows one, /incidents lists them, and a sales manager
retries, skips or cancels with forms that carry the CSRF token; the JSON API does the same.
A deal one may not see is a 404 everywhere, a rep who sees it gets a 403."""

from __future__ import annotations

import html
import json
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA
from webui.api.document import document

from .conftest import login, post, text

API = "/api/v1"


@pytest.fixture
def ops(staff: Service) -> Service:
    staff.deploy([ENGINE_DATA / "incident_order.bpmn"])
    return staff


def in_error(service: Service, owner: str = "alice") -> str:
    """A deal of `owner` stopped at its total: the order was entered without a quantity."""
    iid = str(service.start("incident_order", owner=owner, deal=f"Order of {owner}")["instance_id"])
    [task] = service.tasks(instance=iid)
    service.complete(task["task_id"], user=owner, data={"price": 100, "discount": 5})
    assert service.show(iid)["status"] == "error"
    return iid


def page_text(response: Any) -> str:
    return html.unescape(text(response))


# --- pages -------------------------------------------------------------------------------


def test_the_deal_page_shows_the_incident(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    login(client, "alice")  # the owner, a rep: sees it, may not handle it
    page = page_text(client.get(f"/deals/{iid}"))
    assert 'id="incident"' in page
    assert "Total the order" in page and "(script_total)" in page
    assert "name 'quantity' is not defined" in page
    assert "<dt>Price (CNY)</dt><dd>100</dd>" in page  # the data the step saw, form-titled
    assert "A sales manager can correct the data" in page
    assert "the deal waits until its incident is handled" in page
    assert f'href="/incidents/{iid}"' not in page
    assert 'href="/incidents"' not in page  # no navigation link for a rep

    post(client, "/logout")
    login(client, "mia")
    page = page_text(client.get(f"/deals/{iid}"))
    assert f'href="/incidents/{iid}"' in page
    assert 'href="/incidents" >Incidents<span class="count">1</span>' in page


def test_the_incident_list_is_for_managers_and_admins(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    running = ops.start("incident_order", owner="bob", deal="Still running")["instance_id"]
    for user in ("alice", "dora"):  # a rep, a process designer
        login(client, user)
        assert client.get("/incidents").status_code == 403
        post(client, "/logout")
    for user in ("mia", "root"):
        login(client, user)
        answer = client.get("/incidents")
        assert answer.status_code == 200
        page = page_text(answer)
        rows = page[page.index("<tbody>") : page.index("</tbody>")]
        assert "Order of alice" in rows and "Total the order" in rows
        assert "Still running" not in rows
        assert f'href="/incidents/{iid}"' in rows
        post(client, "/logout")
    assert running


def test_fix_the_data_and_retry(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    login(client, "mia")
    page = page_text(client.get(f"/incidents/{iid}"))
    assert '"price": 100' in page and "Retry the step" in page and "Skip the step" in page

    for bad in ("[1, 2]", "{not json", '{"_x": 1}'):
        answer = post(client, f"/incidents/{iid}/retry", {"data": bad})
        assert answer.status_code == 422
        page = page_text(answer)
        assert 'aria-invalid="true" aria-describedby="data-error"' in page
        assert bad in page  # what was typed stays in the form
    answer = post(client, f"/incidents/{iid}/retry", {"data": "{}"})
    assert answer.status_code == 422
    assert "The step failed again; nothing was changed" in page_text(answer)
    assert ops.show(iid)["status"] == "error"

    answer = post(client, f"/incidents/{iid}/retry", {"data": '{"price": 100, "quantity": 2}'})
    assert answer.status_code == 302 and answer.headers["Location"] == f"/deals/{iid}"
    shown = ops.show(iid)
    assert shown["status"] == "running" and shown["data"]["total"] == 190
    retried = [h for h in shown["history"] if h["kind"] == "incident_retry"]
    assert [(h["actor"], h["data"]) for h in retried] == [("mia", {"quantity": 2})]
    page = page_text(client.get(f"/deals/{iid}"))
    assert "The step ran again and the deal went on." in page
    assert 'id="incident"' not in page
    assert 'href="/incidents" >Incidents<' in page  # no count: nothing is in error
    # The incident is over: its page sends back to the deal.
    answer = client.get(f"/incidents/{iid}")
    assert answer.status_code == 302 and answer.headers["Location"] == f"/deals/{iid}"


def test_skip_then_a_gateway_cannot_be_skipped(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    login(client, "root")
    answer = post(client, f"/incidents/{iid}/skip")
    # Without a total the size gateway fails next: back to the incident, now at the gateway.
    assert answer.status_code == 302 and answer.headers["Location"] == f"/incidents/{iid}"
    page = page_text(client.get(f"/incidents/{iid}"))
    assert "The deal went on and stopped again, at Big order?." in page
    assert "it cannot be skipped" in page
    assert f'action="/incidents/{iid}/skip"' not in page
    answer = post(client, f"/incidents/{iid}/skip")
    assert answer.status_code == 409 and "is a gateway" in page_text(answer)
    post(client, f"/incidents/{iid}/retry", {"data": '{"total": 10}'})
    assert [t["element_id"] for t in ops.tasks(instance=iid)] == ["task_confirm"]


def test_cancel_with_a_reason(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    login(client, "mia")
    answer = post(client, f"/incidents/{iid}/cancel", {"reason": "  "})
    assert answer.status_code == 422
    assert "Give a reason of 1 to 2000 characters." in page_text(answer)
    answer = post(client, f"/incidents/{iid}/cancel", {"reason": "Order <withdrawn>"})
    assert answer.status_code == 302
    shown = ops.show(iid)
    assert shown["status"] == "cancelled"
    page = text(client.get(f"/deals/{iid}"))
    assert "The deal was cancelled." in page
    assert "Order &lt;withdrawn&gt;" in page  # in the timeline, escaped


def test_actions_need_the_csrf_token(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    login(client, "mia")
    before = ops.show(iid)
    for action, data in (("retry", {"data": '{"quantity": 2}'}), ("skip", {}),
                         ("cancel", {"reason": "gone"})):  # fmt: skip
        assert client.post(f"/incidents/{iid}/{action}", data=data).status_code == 400
    assert ops.show(iid) == before


def test_a_deal_one_may_not_see_is_not_found(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    before = ops.show(iid)
    login(client, "bob")  # another rep: the deal is not his
    assert client.get(f"/incidents/{iid}").status_code == 404
    for action, data in (("retry", {"data": "{}"}), ("skip", {}), ("cancel", {"reason": "x"})):
        assert post(client, f"/incidents/{iid}/{action}", data).status_code == 404
    post(client, "/logout")
    login(client, "alice")  # the owner sees the deal, but is no sales manager
    assert client.get(f"/incidents/{iid}").status_code == 403
    for action, data in (("retry", {"data": "{}"}), ("skip", {}), ("cancel", {"reason": "x"})):
        assert post(client, f"/incidents/{iid}/{action}", data).status_code == 403
    post(client, "/logout")
    login(client, "mia")
    assert client.get("/incidents/999").status_code == 404
    assert ops.show(iid) == before


def test_the_incident_pages_speak_chinese(client: FlaskClient, ops: Service) -> None:
    iid = in_error(ops)
    login(client, "mia")
    post(client, "/language", {"lang": "zh-Hans"})
    page = text(client.get(f"/incidents/{iid}"))
    for words in ("流程异常", "出错步骤", "重试该步骤", "跳过该步骤", "取消商机"):
        assert words in page
    assert "Retry the step" not in page


# --- the JSON API ------------------------------------------------------------------------


def conforms(body: Any, schema: str) -> None:
    components = document()["components"]
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "$ref": f"#/components/schemas/{schema}",
    }
    jsonschema.Draft202012Validator(root).validate(body)


def bearer(service: Service, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.create_token(user)['token']}"}


def test_the_api_lists_and_handles_incidents(client: FlaskClient, ops: Service) -> None:
    fixed, skipped, cancelled = (in_error(ops) for _ in range(3))
    mia, alice, bob = (bearer(ops, u) for u in ("mia", "alice", "bob"))

    listed = client.get(f"{API}/incidents", headers=mia)
    assert listed.status_code == 200
    conforms(listed.get_json(), "IncidentList")
    assert {i["instance_id"] for i in listed.get_json()["items"]} == {fixed, skipped, cancelled}
    assert listed.get_json()["items"][0]["error"]["element_id"] == "script_total"
    assert client.get(f"{API}/incidents?limit=0", headers=mia).status_code == 422
    assert client.get(f"{API}/incidents", headers=alice).status_code == 403

    for headers, status in ((bob, 404), (alice, 403)):
        url = f"{API}/deals/{fixed}"
        assert client.post(f"{url}/retry", json={}, headers=headers).status_code == status
        assert client.post(f"{url}/skip", headers=headers).status_code == status
        answer = client.post(f"{url}/cancel", json={"reason": "x"}, headers=headers)
        assert answer.status_code == status
        assert "Order of alice" not in answer.get_data(as_text=True)

    answer = client.post(f"{API}/deals/{fixed}/retry", json={"data": [1]}, headers=mia)
    assert answer.status_code == 422 and answer.get_json()["error"] == "ValidationError"
    answer = client.post(f"{API}/deals/{fixed}/retry", json={"other": 1}, headers=mia)
    assert answer.status_code == 422
    answer = client.post(f"{API}/deals/{fixed}/retry", headers=mia)  # no body: no values
    assert answer.status_code == 422 and answer.get_json()["error"] == "ExpressionError"
    answer = client.post(f"{API}/deals/{fixed}/retry", json={"data": {"quantity": 2}}, headers=mia)
    assert answer.status_code == 200
    assert answer.get_json() == {"instance_id": fixed, "status": "running", "error": None}
    conforms(answer.get_json(), "IncidentResult")
    assert client.post(f"{API}/deals/{fixed}/skip", headers=mia).status_code == 409

    answer = client.post(f"{API}/deals/{skipped}/skip", headers=mia)
    assert answer.status_code == 200 and answer.get_json()["status"] == "error"
    assert answer.get_json()["error"]["element_id"] == "gw_big"
    assert answer.get_json()["error"]["skippable"] is False
    conforms(answer.get_json()["error"], "IncidentError")

    answer = client.post(f"{API}/deals/{cancelled}/cancel", json={}, headers=mia)
    assert answer.status_code == 422
    answer = client.post(f"{API}/deals/{cancelled}/cancel", json={"reason": "gone"}, headers=mia)
    assert answer.status_code == 200 and answer.get_json()["status"] == "cancelled"
    assert ops.show(cancelled)["status"] == "cancelled"
    assert [i["instance_id"] for i in ops.incidents(user="mia")] == [skipped]


def test_the_openapi_document_describes_the_incident_operations() -> None:
    doc = document()
    validate(doc)
    assert set(doc["paths"]["/incidents"]) == {"get"}
    for action in ("retry", "skip", "cancel"):
        op = doc["paths"][f"/deals/{{instance_id}}/{action}"]["post"]
        assert op["tags"] == ["incidents"]
        assert {"200", "401", "403", "404", "409", "422"} <= set(op["responses"])
    assert doc["paths"]["/deals/{instance_id}/cancel"]["post"]["requestBody"]["required"]
    assert not doc["paths"]["/deals/{instance_id}/retry"]["post"]["requestBody"]["required"]
    assert json.dumps(doc).count('"operationId": "retryDeal"') == 1
