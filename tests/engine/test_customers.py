"""Customers (engine.usecases.customers): one company is one customer whatever its deals
call it, who sees and changes which customer, the tier that follows the lead grading, the
hand-over that moves a rep's customers, and the migration that linked the deals before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from alembic import command
from sqlalchemy import func, select

from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import team_settings
from engine.store.models import Customer, Instance
from engine.usecases.demo import NURTURE, drive
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA, LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sales(team: Service) -> Iterator[Service]:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False):
        yield team


def deal(
    service: Service, owner: str = "alice", company: str = "ACME", customer_id: int | None = None
) -> str:
    started = service.start(
        "sales_pipeline",
        owner=owner,
        actor=owner,
        data={**LEAD, "company": company},
        customer_id=customer_id,
    )
    return started["instance_id"]


def customer_of(service: Service, instance_id: str) -> int:
    found = service.show(instance_id)["customer_id"]
    assert found is not None
    return found


def names(service: Service, viewer: str | None) -> list[str]:
    return [c["name"] for c in service.customers(viewer)]


def test_two_deals_of_one_company_make_one_customer_with_two_deals(sales: Service) -> None:
    first = deal(sales, company="ACME Ltd.")
    second = deal(sales, company="Acme")
    [customer] = sales.customers(None)
    assert customer["name"] == "ACME Ltd."  # the name it was first given
    assert customer["owner"] == "alice"
    assert customer["deals"] == 2
    record = sales.customer(customer["id"], "alice")
    assert sorted(record["deal_ids"]) == sorted([first, second])
    assert {d["name"] for d in record["deal_list"]} == {"ACME Ltd.", "Acme"}
    shown = sales.show(second)
    assert (shown["customer_id"], shown["customer"]) == (customer["id"], "ACME Ltd.")
    # Another company is another customer.
    deal(sales, company="Globex")
    assert sorted(names(sales, None)) == ["ACME Ltd.", "Globex"]


def test_a_deal_for_a_customer_given_by_id(sales: Service) -> None:
    made = sales.create_customer("杭州云帆科技有限公司", actor="alice", tier="B")
    started = sales.start(
        "sales_pipeline",
        owner="alice",
        actor="alice",
        data={k: v for k, v in LEAD.items() if k != "company"},
        customer_id=made["id"],
    )
    shown = sales.show(started["instance_id"])
    assert shown["customer_id"] == made["id"]
    assert shown["data"]["company"] == "杭州云帆科技有限公司"  # the customer's name
    assert shown["name"] == "杭州云帆科技有限公司"
    # A later deal typed without the company form finds it by name.
    later = deal(sales, company="杭州云帆科技")
    assert sales.show(later)["customer_id"] == made["id"]
    # bob may not see alice's customer: for him the id names nothing (invalid data).
    with pytest.raises(ValidationError) as refused:
        deal(sales, owner="bob", customer_id=made["id"])
    assert refused.value.field == "customer_id"
    assert "no customer with id" in str(refused.value)
    with pytest.raises(ValidationError):
        deal(sales, customer_id=999_999)


def test_a_deal_without_a_company_has_no_customer(sales: Service) -> None:
    sales.deploy([ENGINE_DATA / "incident_order.bpmn"])
    iid = sales.start("incident_order", owner="alice")["instance_id"]
    assert sales.show(iid)["customer_id"] is None
    assert sales.customers(None) == []


def test_adding_a_customer_refuses_duplicates_and_warns_of_similar_names(sales: Service) -> None:
    acme = sales.create_customer("ACME Ltd.", actor="alice", industry="Steel", region="Shanghai")
    assert (acme["owner"], acme["tier"], acme["industry"]) == ("alice", None, "Steel")
    with pytest.raises(ConflictError) as same:
        sales.create_customer("acme", actor="bob")
    assert f"'ACME Ltd.' (id {acme['id']})" in str(same.value)
    with pytest.raises(ValidationError) as close:
        sales.create_customer("Acme Trading", actor="alice")
    assert close.value.field == "name"
    assert f"ACME Ltd. (id {acme['id']})" in str(close.value)
    again = sales.create_customer("Acme Trading", actor="alice", confirm=True)
    assert again["name"] == "Acme Trading"
    assert [c["name"] for c in sales.similar_customers("Acme", "alice")] == [
        "ACME Ltd.",
        "Acme Trading",
    ]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 301}, "name"),
        ({"name": "A\x00B"}, "name"),
        ({"name": "Initech", "tier": "D"}, "tier"),
        ({"name": "Initech", "owner": "nobody"}, "owner"),
        ({"name": "Initech", "owner": "pete"}, "owner"),  # no owner role
        ({"name": "Initech", "region": "r" * 121}, "region"),
    ],
)
def test_what_a_new_customer_must_be(sales: Service, given: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        sales.create_customer(given.pop("name"), actor="alice", **given)
    assert refused.value.field == field
    assert sales.customers(None) == []


def test_who_adds_customers(sales: Service) -> None:
    with pytest.raises(ForbiddenError):
        sales.create_customer("Initech", actor="lena")
    assert not sales.may_add_customers("lena")
    assert sales.may_add_customers("alice") and sales.may_add_customers("mia")
    made = sales.create_customer("Initech", actor="mia", owner="bob")
    assert made["owner"] == "bob"


def test_visibility_follows_the_deals_rule(sales: Service) -> None:
    deal(sales, owner="alice", company="Alpha")
    bobs = deal(sales, owner="bob", company="Bravo")
    sales.create_customer("Charlie", actor="bob")  # no deal yet
    assert names(sales, "alice") == ["Alpha"]
    assert names(sales, "bob") == ["Bravo", "Charlie"]
    assert names(sales, "mia") == ["Alpha", "Bravo", "Charlie"]
    bravo = customer_of(sales, bobs)
    with pytest.raises(NotFoundError) as hidden:
        sales.customer(bravo, "alice")
    with pytest.raises(NotFoundError) as missing:
        sales.customer(999_999, "alice")
    assert str(hidden.value) == str(missing.value).replace("999999", str(bravo))
    # Where the team shares its deals, a rep sees the customers of colleagues' deals.
    with sales.db.write() as s:
        team_settings.put(s, "reps_see_team_deals", True, actor="mia")
    assert names(sales, "alice") == ["Alpha", "Bravo"]
    assert sales.customer(bravo, "alice")["deal_ids"] == [bobs]
    # ...read only: changing it is its owner's or a manager's.
    with pytest.raises(ForbiddenError):
        sales.update_customer(bravo, {"tier": "A"}, "alice")
    assert sales.update_customer(bravo, {"tier": "A"}, "mia")["tier"] == "A"


def test_filters_and_sorts(sales: Service) -> None:
    sales.create_customer("Alpha", actor="alice", tier="A")
    sales.create_customer("Bravo", actor="alice", tier="C")
    sales.create_customer("Zulu", actor="bob", tier="A")
    assert names(sales, "mia") == ["Alpha", "Bravo", "Zulu"]
    assert [c["name"] for c in sales.customers("mia", tier="A")] == ["Alpha", "Zulu"]
    assert [c["name"] for c in sales.customers("mia", owner="bob")] == ["Zulu"]
    assert [c["name"] for c in sales.customers("mia", q="rav")] == ["Bravo"]
    assert [c["name"] for c in sales.customers("mia", sort="-name")] == ["Zulu", "Bravo", "Alpha"]
    with pytest.raises(ValidationError):
        sales.customers("mia", sort="nothing")


def test_cadence_due_after_the_tiers_days_of_silence(sales: Service) -> None:
    sales.create_customer("Alpha", actor="alice", tier="A")  # weekly
    sales.create_customer("Bravo", actor="alice", tier="B")  # fortnightly
    sales.create_customer("Nobody", actor="alice")  # no tier, no cadence
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        due = {c["name"]: c["cadence_due"] for c in sales.customers("alice")}
        assert due == {"Alpha": True, "Bravo": False, "Nobody": False}
        assert [c["name"] for c in sales.customers("alice", due=True)] == ["Alpha"]


def test_contacts_by_the_owner_or_a_manager(sales: Service) -> None:
    acme = sales.create_customer("ACME", actor="alice")["id"]
    li = sales.add_contact(
        acme,
        {"name": "Li Wei", "role": "decision maker", "phone": "+86 21 5555", "wechat": "liwei"},
        "alice",
    )
    assert li["role"] == "decision maker"
    with pytest.raises(ValidationError) as bad:
        sales.add_contact(acme, {"name": "X", "email": "not an address"}, "alice")
    assert bad.value.field == "email"
    changed = sales.update_contact(acme, li["id"], {"email": "li@acme.example"}, "mia")
    assert (changed["email"], changed["name"]) == ("li@acme.example", "Li Wei")
    with pytest.raises(NotFoundError):  # bob may not see alice's customer
        sales.add_contact(acme, {"name": "Spy"}, "bob")
    sales.delete_contact(acme, li["id"], "alice")
    assert sales.customer(acme, "alice")["contacts"] == []
    with pytest.raises(NotFoundError):
        sales.delete_contact(acme, li["id"], "alice")


def test_the_tier_follows_the_latest_grading(sales: Service) -> None:
    first = deal(sales, company="ACME")
    cid = customer_of(sales, first)
    assert sales.customer(cid, "alice")["tier"] is None  # not graded yet
    drive(sales, first, [("task_qualify_lead", {})])  # a big, keen lead: A
    assert sales.show(first)["tier"] == "A"
    assert sales.customer(cid, "alice")["tier"] == "A"
    sales.update_customer(cid, {"tier": "B"}, "mia")  # the manager knows better
    assert sales.customer(cid, "alice")["tier"] == "B"
    drive(sales, first, [("task_initial_contact", {})])  # no new grading: it stands
    assert sales.customer(cid, "alice")["tier"] == "B"
    second = deal(sales, company="Acme Co., Ltd.")
    drive(sales, second, NURTURE)  # a small, cool lead: C
    assert sales.show(second)["tier"] == "C"
    assert sales.customer(cid, "alice")["tier"] == "C"


def test_the_hand_over_moves_the_reps_customers(sales: Service) -> None:
    deal(sales, owner="alice", company="Alpha")
    sales.create_customer("Bravo", actor="alice")
    sales.create_customer("Zulu", actor="bob")
    preview = sales.handover_preview("alice", "bob", actor="mia")
    assert preview["customers"] == 2
    done = sales.hand_over("alice", "bob", actor="mia")
    assert done["customers"] == 2
    assert {c["name"]: c["owner"] for c in sales.customers(None)} == {
        "Alpha": "bob",
        "Bravo": "bob",
        "Zulu": "bob",
    }
    # alice still sees the customer of the deal she worked on (the deals rule), no other.
    assert names(sales, "alice") == ["Alpha"]


def test_one_deal_handed_over_leaves_its_customer(sales: Service) -> None:
    iid = deal(sales, owner="alice", company="Alpha")
    done = sales.hand_over("alice", "bob", actor="mia", instance_id=iid)
    assert done["customers"] == 0
    assert sales.customers(None)[0]["owner"] == "alice"


def test_the_0014_migration_links_the_deals_before_it(sales: Service) -> None:
    deal(sales, owner="alice", company="ACME Ltd.")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        latest = deal(sales, owner="bob", company="acme")
    drive(sales, latest, NURTURE)
    deal(sales, owner="alice", company="Globex")
    # Back to before customers existed (the column and the tables go), then up again.
    cfg = sales.db.alembic_config()
    try:
        with sales.db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0013")
    finally:
        sales.db.migrate()
    with sales.db.read() as s:
        found = {c.name_key: (c.name, c.owner, c.tier) for c in s.scalars(select(Customer))}
        linked = s.scalar(
            select(func.count()).select_from(Instance).where(Instance.customer_id.is_not(None))
        )
    # One customer per company, named and owned after its latest deal, with its tier.
    assert found == {"acme": ("acme", "bob", "C"), "globex": ("Globex", "alice", None)}
    assert linked == 3
    assert sorted(c["deals"] for c in sales.customers(None)) == [1, 2]
