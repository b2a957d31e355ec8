"""Customer pages and the customers API (webui.customers, webui.api.customers): the list with
its filters, a new customer with the warning of similar names, a customer's page with its
contacts and deals, the deal page's link to its customer, the new-deal form's customer
choice, and the API's answers against the document."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from engine.usecases.service import Service
from tests.webui.test_api import conforms, error_of

from .conftest import LEAD, login, post, text

API = "/api/v1"


def start(service: Service, owner: str, company: str) -> str:
    data = {**LEAD, "company": company}
    return service.start("sales_pipeline", owner=owner, actor=owner, data=data)["instance_id"]


def customer_id(service: Service, instance_id: str) -> int:
    found = service.show(instance_id)["customer_id"]
    assert found is not None
    return found


@pytest.fixture
def api(staff: Service) -> dict[str, dict[str, str]]:
    users = ("alice", "bob", "mia", "lena")
    return {u: {"Authorization": f"Bearer {staff.create_token(u)['token']}"} for u in users}


# --- pages ---------------------------------------------------------------------------------


def test_the_list_shows_the_users_customers_with_filters(
    client: FlaskClient, staff: Service
) -> None:
    login(client, "alice")
    empty = text(client.get("/customers"))
    assert 'id="no-customers"' in empty and "No customers yet" in empty
    start(staff, "alice", "ACME Ltd.")
    start(staff, "alice", "Acme")
    start(staff, "bob", "Bravo Foreign")
    staff.create_customer("Zeta Works", actor="alice", tier="A")
    page = text(client.get("/customers"))
    assert "ACME Ltd." in page and "Zeta Works" in page
    assert "Bravo Foreign" not in page  # bob's: alice may not see it
    row = re.search(r"ACME Ltd\.</strong>.*?</tr>", page, re.S)
    assert row is not None and '<td data-label="Deals" class="num">2</td>' in row.group(0)
    assert 'href="/customers?sort=won_value"' in page  # every column sorts
    turned = text(client.get("/customers?sort=-name"))
    assert turned.index("Zeta Works") < turned.index("ACME Ltd.")
    assert 'href="/customers?sort=name"' in turned  # a second click turns it round
    tiered = text(client.get("/customers?tier=A"))
    assert "Zeta Works" in tiered and "ACME Ltd." not in tiered
    none = text(client.get("/customers?q=nothing-like-it"))
    assert 'id="no-match"' in none
    # The header links to the list, on every page.
    assert 'href="/customers"' in text(client.get("/tasks"))


def test_a_new_customer_warns_of_similar_names(client: FlaskClient, staff: Service) -> None:
    staff.create_customer("ACME Ltd.", actor="alice")
    login(client, "alice")
    form = text(client.get("/customers/new"))
    assert 'name="name"' in form and 'name="tier"' in form
    same = post(client, "/customers/new", {"name": "acme", "tier": "A"})
    assert same.status_code == 422
    assert 'id="customer-exists"' in text(same)
    close = post(client, "/customers/new", {"name": "Acme Trading", "tier": "A"})
    assert close.status_code == 422
    page = text(close)
    assert 'id="similar-customers"' in page and "ACME Ltd." in page
    assert 'name="confirm"' in page  # "create anyway"
    made = post(client, "/customers/new", {"name": "Acme Trading", "tier": "A", "confirm": "1"})
    assert made.status_code == 302
    assert [c["name"] for c in staff.customers(None)] == ["ACME Ltd.", "Acme Trading"]
    assert post(client, "/customers/new", {"name": ""}).status_code == 422


def test_who_may_add_customers_on_the_page(client: FlaskClient) -> None:
    login(client, "lena")
    assert client.get("/customers/new").status_code == 403
    assert post(client, "/customers/new", {"name": "Initech"}).status_code == 403


def test_the_customer_page_with_contacts_and_deals(client: FlaskClient, staff: Service) -> None:
    iid = start(staff, "alice", "ACME Ltd.")
    cid = customer_id(staff, iid)
    login(client, "alice")
    page = text(client.get(f"/customers/{cid}"))
    assert "<h1>ACME Ltd.</h1>" in page
    assert f'href="/deals/{iid}"' in page
    assert 'id="no-contacts"' in page and 'id="add-contact"' in page
    added = post(
        client,
        f"/customers/{cid}/contacts",
        {"name": "Li Wei", "role": "decision maker", "phone": "+86 21 5555", "email": ""},
    )
    assert added.status_code == 302
    [contact] = staff.customer(cid, "alice")["contacts"]
    page = text(client.get(f"/customers/{cid}"))
    assert "Li Wei" in page and "decision maker" in page
    edited = post(
        client, f"/customers/{cid}/contacts/{contact['id']}", {"name": "Li Wei", "email": "li@x.cn"}
    )
    assert edited.status_code == 302
    assert staff.customer(cid, "alice")["contacts"][0]["email"] == "li@x.cn"
    post(client, f"/customers/{cid}", {"tier": "B", "industry": "Steel"})
    assert (staff.customer(cid, "alice")["tier"], staff.customer(cid, "alice")["industry"]) == (
        "B",
        "Steel",
    )
    post(client, f"/customers/{cid}/contacts/{contact['id']}/delete")
    assert staff.customer(cid, "alice")["contacts"] == []
    # The deal page links to its customer.
    deal_page = text(client.get(f"/deals/{iid}"))
    assert f'<a href="/customers/{cid}" id="deal-customer">ACME Ltd.</a>' in deal_page


def test_a_hidden_customer_is_not_found_and_a_foreign_change_refused(
    client: FlaskClient, staff: Service
) -> None:
    bobs = customer_id(staff, start(staff, "bob", "Bravo Foreign"))
    login(client, "alice")
    hidden = client.get(f"/customers/{bobs}")
    missing = client.get("/customers/999999")
    assert hidden.status_code == missing.status_code == 404
    assert "Bravo Foreign" not in text(hidden)
    assert post(client, f"/customers/{bobs}", {"tier": "A"}).status_code == 404
    assert post(client, f"/customers/{bobs}/contacts", {"name": "Spy"}).status_code == 404
    # Shared read only: she sees it, may not change it.
    staff.save_team_settings({"reps_see_team_deals": True}, user="root")
    assert client.get(f"/customers/{bobs}").status_code == 200
    assert post(client, f"/customers/{bobs}", {"tier": "A"}).status_code == 403
    assert staff.customer(bobs, None)["tier"] is None


def test_the_customer_page_in_chinese(client: FlaskClient, staff: Service) -> None:
    cid = customer_id(staff, start(staff, "alice", "ACME Ltd."))
    staff.add_contact(cid, {"name": "Li Wei"}, "alice")
    login(client, "alice")
    with client.session_transaction() as session:
        session["lang"] = "zh-Hans"
    for url in ("/customers", f"/customers/{cid}", "/customers/new"):
        page = text(client.get(url))
        for english in ("Contacts", "Next follow-up", "Customers", "Tier", "Owner"):
            assert f">{english}<" not in page, (url, english)
    assert "客户" in text(client.get("/customers"))


def test_the_new_deal_form_picks_a_customer_or_warns_of_similar_names(
    client: FlaskClient, staff: Service
) -> None:
    acme = staff.create_customer("ACME Ltd.", actor="alice")["id"]
    staff.create_customer("Bravo Foreign", actor="bob")
    login(client, "alice")
    form = text(client.get(f"/deals/new?customer_id={acme}"))
    assert f'<option value="{acme}" selected>ACME Ltd.</option>' in form
    assert "Bravo Foreign" not in form  # bob's
    lead = {k: str(v) for k, v in LEAD.items() if k != "company"}
    owner = {"deal_owner": "alice", "process": "sales_pipeline"}
    chosen = post(client, "/deals/new", {**lead, **owner, "customer_id": str(acme)})
    assert chosen.status_code == 302, text(chosen)
    iid = chosen.headers["Location"].rsplit("/", 1)[-1]
    assert staff.show(iid)["customer_id"] == acme
    # A new company close to one the team has: "Did you mean ...?" first.
    close = post(client, "/deals/new", {**lead, **owner, "company": "Acme Trading"})
    assert close.status_code == 422
    assert 'id="similar-customers"' in text(close) and "ACME Ltd." in text(close)
    confirmed = post(
        client,
        "/deals/new",
        {**lead, **owner, "company": "Acme Trading", "confirm_customer": "1"},
    )
    assert confirmed.status_code == 302
    # The very same name joins the customer without a question.
    same = post(client, "/deals/new", {**lead, **owner, "company": "acme ltd"})
    assert same.status_code == 302
    assert staff.customer(acme, "alice")["deals"] == 2


def test_the_hand_over_page_says_the_customers_move(client: FlaskClient, staff: Service) -> None:
    staff.create_customer("ACME", actor="alice")
    login(client, "mia")
    preview = text(client.get("/people?from=alice&to=bob"))
    assert 'id="preview-customers"' in preview and "Customers: 1" in preview
    done = post(client, "/people", {"from": "alice", "to": "bob"}, follow_redirects=True)
    assert "Customers handed over: 1." in text(done)
    assert staff.customers(None)[0]["owner"] == "bob"


# --- the API -------------------------------------------------------------------------------


def test_the_api_lists_shows_and_adds_customers(
    client: FlaskClient, staff: Service, api: dict[str, dict[str, str]]
) -> None:
    iid = start(staff, "alice", "ACME Ltd.")
    cid = customer_id(staff, iid)
    staff.add_contact(cid, {"name": "Li Wei", "wechat": "liwei"}, "alice")
    start(staff, "bob", "Bravo Foreign")
    listed = client.get(f"{API}/customers", headers=api["alice"])
    assert listed.status_code == 200
    conforms(listed.get_json(), "CustomerList")
    [item] = listed.get_json()["items"]
    assert (item["id"], item["name"], item["deals"], item["owner"]) == (
        cid,
        "ACME Ltd.",
        1,
        "alice",
    )
    assert len(client.get(f"{API}/customers", headers=api["mia"]).get_json()["items"]) == 2
    one = client.get(f"{API}/customers/{cid}", headers=api["alice"])
    assert one.status_code == 200
    body = one.get_json()
    conforms(body, "CustomerDetail")
    assert body["deal_ids"] == [iid] and body["contacts"][0]["wechat"] == "liwei"
    made = client.post(
        f"{API}/customers", json={"name": "Zeta Works", "tier": "A"}, headers=api["alice"]
    )
    assert made.status_code == 201
    conforms(made.get_json(), "Customer")
    assert made.headers["Location"].endswith(f"/customers/{made.get_json()['id']}")
    # The deal record carries its customer.
    deal = client.get(f"{API}/deals/{iid}", headers=api["alice"]).get_json()
    conforms(deal, "Deal")
    assert (deal["customer_id"], deal["customer"]) == (cid, "ACME Ltd.")


def test_the_api_starts_a_deal_for_a_customer(
    client: FlaskClient, staff: Service, api: dict[str, dict[str, str]]
) -> None:
    acme = staff.create_customer("ACME Ltd.", actor="alice")["id"]
    bravo = staff.create_customer("Bravo", actor="bob")["id"]
    lead = {k: v for k, v in LEAD.items() if k != "company"}
    sent = {"process_id": "sales_pipeline", "data": lead, "customer_id": acme}
    started = client.post(f"{API}/deals", json=sent, headers=api["alice"])
    assert started.status_code == 201, started.get_json()
    assert staff.show(started.get_json()["instance_id"])["customer_id"] == acme
    hidden = client.post(f"{API}/deals", json={**sent, "customer_id": bravo}, headers=api["alice"])
    assert error_of(hidden, 422)["field"] == "customer_id"
    # Without one, the company of the data finds its customer.
    by_name = {"process_id": "sales_pipeline", "data": {**lead, "company": "acme"}}
    again = client.post(f"{API}/deals", json=by_name, headers=api["alice"])
    assert staff.show(again.get_json()["instance_id"])["customer_id"] == acme


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "name"),
        ({"name": ""}, 422, "name"),
        ({"name": "X", "tier": "D"}, 422, "tier"),
        ({"name": "X", "owner": "nobody"}, 422, "owner"),
        ({"name": "X", "colour": "red"}, 422, "colour"),
        ({"name": "acme"}, 409, None),
        ({"name": "Acme Trading"}, 422, "name"),
    ],
)
def test_the_api_refuses_what_is_not_a_customer(
    client: FlaskClient,
    staff: Service,
    api: dict[str, dict[str, str]],
    body: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    staff.create_customer("ACME Ltd.", actor="alice")
    answer = client.post(f"{API}/customers", json=body, headers=api["alice"])
    assert error_of(answer, status).get("field") == field


def test_the_api_hides_and_refuses_like_the_pages(
    client: FlaskClient, staff: Service, api: dict[str, dict[str, str]]
) -> None:
    bravo = staff.create_customer("Bravo", actor="bob")["id"]
    hidden = error_of(client.get(f"{API}/customers/{bravo}", headers=api["alice"]), 404)
    missing = error_of(client.get(f"{API}/customers/999999", headers=api["alice"]), 404)
    assert hidden["message"] == missing["message"].replace("999999", str(bravo))
    error_of(client.get(f"{API}/customers/x%00", headers=api["alice"]), 404)
    error_of(client.get(f"{API}/customers?tier=Z", headers=api["alice"]), 422)
    error_of(client.get(f"{API}/customers?colour=red", headers=api["alice"]), 422)
    error_of(client.post(f"{API}/customers", json={"name": "X"}, headers=api["lena"]), 403)
    error_of(client.get(f"{API}/customers"), 401)
