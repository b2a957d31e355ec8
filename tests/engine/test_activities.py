"""Activities and the tier cadence (engine.usecases.activities): a logged visit moves the
customer's last activity and next follow-up, a deal's activity shows on its customer and in
the deal's timeline, who may log and read which, bad input named, and the one reminder per
silence of a customer past its tier's cadence, with the rhythm the team sets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from engine import clock
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.jobs.cadence import send_cadence_reminders
from engine.store import notifications, team_settings, users
from engine.store.db import Database
from engine.store.models import Customer, Instance
from engine.usecases.activities import cadence_due
from engine.usecases.digests import summary
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def sales(team: Service) -> Iterator[Service]:
    team.add_user("root", ["admin"])
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False):
        yield team


def deal(service: Service, owner: str = "alice", company: str = "ACME") -> str:
    data = {**LEAD, "company": company}
    return str(service.start("sales_pipeline", owner=owner, actor=owner, data=data)["instance_id"])


def customer_of(service: Service, deal_id: str, tier: str | None = "A") -> int:
    """The customer the deal was linked to when it started, with the tier given."""
    with service.db.write() as s:
        cid = s.scalar(select(Instance.customer_id).where(Instance.id == int(deal_id)))
        assert cid is not None
        s.execute(update(Customer).where(Customer.id == cid).values(tier=tier))
        return int(cid)


def row(service: Service, cid: int) -> Customer:
    with service.db.read() as s:
        found = s.get(Customer, cid)
        assert found is not None
        s.expunge(found)
        return found


def told(service: Service, user: str) -> list[str]:
    with service.db.read() as s:
        found = notifications.recent(s, user)
    return [n["text"] for n in found if n["kind"] == "cadence_reminder"]


# --- logging -------------------------------------------------------------------------------


def test_a_logged_visit_moves_the_customers_last_activity_and_next_follow_up(
    sales: Service,
) -> None:
    cid = customer_of(sales, deal(sales))
    visited = T0 - timedelta(hours=2)
    logged = sales.log_activity(
        actor="alice",
        customer_id=cid,
        kind="visit",
        at=visited,
        notes="  Met the plant manager; budget for Q2.  ",
        outcome="interested",
        next_step="send the proposal",
        next_step_at="2026-03-09",
    )
    assert logged == {
        "id": logged["id"],
        "customer_id": cid,
        "deal_id": None,
        "kind": "visit",
        "at": visited.isoformat(),
        "by": "alice",
        "notes": "Met the plant manager; budget for Q2.",
        "outcome": "interested",
        "next_step": "send the proposal",
        "next_step_at": "2026-03-09",
    }
    found = row(sales, cid)
    assert found.last_activity_at == visited
    assert found.next_follow_up == date(2026, 3, 9)
    # An older call logged late moves neither the last activity nor the follow-up back...
    sales.log_activity(
        actor="alice",
        customer_id=cid,
        kind="call",
        at=visited - 3 * DAY,
        next_step_at="2026-03-04",
    )
    found = row(sales, cid)
    assert (found.last_activity_at, found.next_follow_up) == (visited, date(2026, 3, 9))
    # ... a newer one without a next step moves the last activity only ...
    sales.log_activity(actor="alice", customer_id=cid, kind="message")
    found = row(sales, cid)
    assert (found.last_activity_at, found.next_follow_up) == (T0, date(2026, 3, 9))
    # ... and the newest that sets one says when to follow up.
    sales.log_activity(actor="alice", customer_id=cid, kind="email", next_step_at="2026-03-12")
    assert row(sales, cid).next_follow_up == date(2026, 3, 12)
    listed = sales.activities("alice", customer_id=cid)
    assert [a["kind"] for a in listed] == ["email", "message", "visit", "call"]  # newest first


def test_a_time_without_an_offset_is_the_teams_local_time(sales: Service) -> None:
    team_settings.save(sales.db, {"timezone": "Asia/Shanghai"}, actor="root")
    cid = customer_of(sales, deal(sales))
    logged = sales.log_activity(actor="alice", customer_id=cid, kind="call", at="2026-03-02T10:30")
    assert logged["at"] == datetime(2026, 3, 2, 2, 30, tzinfo=UTC).isoformat()


def test_a_deals_activity_shows_on_its_customer_and_in_the_deals_timeline(
    sales: Service,
) -> None:
    iid = deal(sales, company="陈氏机械")
    cid = customer_of(sales, iid)
    with time_machine.travel(T0 + 3 * DAY, tick=False):
        logged = sales.log_activity(
            actor="alice", deal_id=iid, kind="call", notes="Price is fine; needs a demo.",
            next_step="demo", next_step_at="2026-03-10",
        )  # fmt: skip
        assert (logged["deal_id"], logged["customer_id"]) == (iid, cid)
        assert [a["id"] for a in sales.activities("alice", customer_id=cid)] == [logged["id"]]
        assert [a["id"] for a in sales.activities("alice", deal_id=iid)] == [logged["id"]]
        assert row(sales, cid).last_activity_at == T0 + 3 * DAY
        # The deal was worked on: not stale.
        assert sales.show(iid)["activity_at"] == (T0 + 3 * DAY).isoformat()
        timeline = sales.deal_timeline(iid, "alice")
    entry = timeline[0]  # newest first: after the deal's start
    assert entry["kind"] == "activity"
    assert (entry["actor"], entry["name"], entry["comment"]) == (
        "alice",
        "陈氏机械",
        "Price is fine; needs a demo.",
    )
    assert entry["data"]["activity"] == "call"
    assert entry["data"]["next_step_at"] == "2026-03-10"
    assert timeline[-1]["kind"] == "started"


def test_an_activity_falls_among_the_steps_where_its_time_is(sales: Service) -> None:
    iid = deal(sales)
    sales.log_activity(actor="alice", deal_id=iid, kind="visit", at=T0 - DAY)
    kinds = [e["kind"] for e in sales.deal_timeline(iid, "alice")]
    assert kinds == ["started", "activity"]  # newest first: the visit came before the start


# --- who may log and read ------------------------------------------------------------------


def test_only_those_who_see_a_customer_or_deal_log_and_read_its_activities(
    sales: Service,
) -> None:
    iid = deal(sales)
    cid = customer_of(sales, iid)
    for target in ({"deal_id": iid}, {"customer_id": cid}):
        with pytest.raises(NotFoundError):
            sales.log_activity(actor="bob", kind="call", **target)
        with pytest.raises(NotFoundError):
            sales.activities("bob", **target)
        sales.log_activity(actor="mia", kind="call", **target)  # a manager sees every one
        assert sales.activities("mia", **target)
    for target in ({"deal_id": "999999"}, {"customer_id": 999999}, {"deal_id": "x"}):
        with pytest.raises(NotFoundError):
            sales.log_activity(actor="alice", kind="call", **target)
    # Where the team shares its deals, bob reads alice's but does not log on them.
    team_settings.save(sales.db, {"reps_see_team_deals": True}, actor="root")
    assert len(sales.activities("bob", deal_id=iid)) == 1
    assert len(sales.activities("bob", customer_id=cid)) == 2
    with pytest.raises(ForbiddenError):
        sales.log_activity(actor="bob", deal_id=iid, kind="call")
    with pytest.raises(ForbiddenError):
        sales.log_activity(actor="bob", customer_id=cid, kind="call")


def test_a_customers_activities_leave_out_the_deals_the_reader_may_not_see(
    sales: Service,
) -> None:
    mine = deal(sales, owner="alice", company="Shared Co")
    theirs = deal(sales, owner="bob", company="Shared Co")
    cid = customer_of(sales, mine)
    assert customer_of(sales, theirs) == cid  # one company, one customer
    sales.log_activity(actor="alice", deal_id=mine, kind="call", notes="mine")
    sales.log_activity(actor="bob", deal_id=theirs, kind="visit", notes="bob's secret")
    assert [a["notes"] for a in sales.activities("alice", customer_id=cid)] == ["mine"]
    assert len(sales.activities("mia", customer_id=cid)) == 2


def test_bad_input_is_named(sales: Service) -> None:
    cid = customer_of(sales, deal(sales))
    bad: list[tuple[dict[str, Any], str]] = [
        ({"kind": "fax"}, "kind"),
        ({"at": T0 + timedelta(minutes=10)}, "at"),
        ({"at": "yesterday"}, "at"),
        ({"at": "1999-12-31T23:00:00+00:00"}, "at"),
        ({"notes": "x" * 5001}, "notes"),
        ({"notes": "a\x00b"}, "notes"),
        ({"notes": 12}, "notes"),
        ({"outcome": "x" * 301}, "outcome"),
        ({"next_step": "x\x00"}, "next_step"),
        ({"next_step_at": "next week"}, "next_step_at"),
        ({"next_step_at": "2026-03-09T10:00"}, "next_step_at"),
    ]
    for values, field in bad:
        given: dict[str, Any] = {"kind": "call", **values}
        with pytest.raises(ValidationError) as refused:
            sales.log_activity(actor="alice", customer_id=cid, **given)
        assert refused.value.field == field, values
    targets: list[dict[str, Any]] = [{}, {"customer_id": cid, "deal_id": "1"}]
    for target in targets:
        with pytest.raises(ValidationError) as refused:
            sales.log_activity(actor="alice", kind="call", **target)
        assert refused.value.field in ("customer_id", "deal_id")
    # A clock a few minutes fast still logs now; nothing above was kept.
    sales.log_activity(actor="alice", customer_id=cid, kind="call", at=T0 + timedelta(minutes=3))
    assert len(sales.activities("alice", customer_id=cid)) == 1


# --- the cadence -----------------------------------------------------------------------------


def test_a_silent_a_customer_raises_one_reminder_until_an_activity_ends_the_silence(
    sales: Service,
) -> None:
    cid = customer_of(sales, deal(sales, company="Tier A Co"))
    customer_of(sales, deal(sales, company="Tier B Co"), tier="B")
    customer_of(sales, deal(sales, company="No Tier Co"), tier=None)
    with time_machine.travel(T0 + 7 * DAY - timedelta(minutes=1), tick=False):
        assert send_cadence_reminders(sales, clock.now()) == 0  # a week is not over yet
        assert sales.follow_ups("alice") == []
    with time_machine.travel(T0 + 8 * DAY, tick=False):
        passes = [send_cadence_reminders(sales, clock.now()) for _ in range(3)]
        assert passes == [1, 0, 0]  # one reminder, not one per worker pass
        [text] = told(sales, "alice")
        assert text == "No contact with Tier A Co (tier A) for 8 days: follow up."
        assert [f["name"] for f in sales.follow_ups("alice")] == ["Tier A Co"]
        assert sales.follow_ups("alice")[0]["silent_days"] == 8
        assert row(sales, cid).reminded_at == T0 + 8 * DAY
        sales.log_activity(actor="alice", customer_id=cid, kind="call")
        assert row(sales, cid).reminded_at is None  # the silence is over
        assert sales.follow_ups("alice") == []
        assert send_cadence_reminders(sales, clock.now()) == 0
    with time_machine.travel(T0 + 15 * DAY + timedelta(hours=1), tick=False):
        # Tier B's two weeks are over too; A's new silence has lasted a week.
        assert send_cadence_reminders(sales, clock.now()) == 2
        assert send_cadence_reminders(sales, clock.now()) == 0
        texts = told(sales, "alice")
        assert len(texts) == 3
        assert "No contact with Tier B Co (tier B) for 15 days: follow up." in texts
        assert "No contact with Tier A Co (tier A) for 7 days: follow up." in texts
    with time_machine.travel(T0 + 400 * DAY, tick=False):
        send_cadence_reminders(sales, clock.now())
        assert not any("No Tier Co" in t for t in told(sales, "alice"))  # no tier, no rhythm


def test_the_reminder_is_in_the_owners_language(sales: Service) -> None:
    with sales.db.write() as s:
        users.set_language(s, "alice", "zh")
    customer_of(sales, deal(sales, company="云帆科技"))
    with time_machine.travel(T0 + 8 * DAY, tick=False):
        assert send_cadence_reminders(sales, clock.now()) == 1
    [text] = told(sales, "alice")
    assert text == "已有 8 天未联系客户「云帆科技」（A 类）：请跟进。"  # noqa: RUF001


def test_the_team_setting_changes_the_rhythm(sales: Service) -> None:
    assert sales.cadence_days() == {"A": 7, "B": 14, "C": 30}
    cid = customer_of(sales, deal(sales))
    sales.save_team_settings({"cadence_days": {"A": "3", "B": "", "C": 60}}, user="root")
    assert sales.cadence_days() == {"A": 3, "B": None, "C": 60}
    with time_machine.travel(T0 + 4 * DAY, tick=False):
        assert send_cadence_reminders(sales, clock.now()) == 1
        assert sales.follow_ups("alice")[0]["cadence_days"] == 3
    with sales.db.write() as s:
        s.execute(update(Customer).where(Customer.id == cid).values(tier="B", reminded_at=None))
    with time_machine.travel(T0 + 100 * DAY, tick=False):
        assert send_cadence_reminders(sales, clock.now()) == 0  # B: no cadence now
    for values, field in (({"A": 0}, "cadence_days"), ({"D": 5}, "cadence_days")):
        with pytest.raises(ValidationError) as refused:
            sales.save_team_settings({"cadence_days": values}, user="root")
        assert refused.value.field == field
    with pytest.raises(ForbiddenError):
        sales.save_team_settings({"cadence_days": {"A": 5}}, user="mia")


def test_the_rule_in_python_agrees_with_the_sweep(sales: Service) -> None:
    cadence = {"A": 7, "B": 14, "C": None}
    created = T0 - 30 * DAY
    assert cadence_due(None, created, "A", cadence, T0)
    assert cadence_due(T0 - 8 * DAY, created, "A", cadence, T0)
    assert not cadence_due(T0 - 6 * DAY, created, "A", cadence, T0)
    assert not cadence_due(T0 - 8 * DAY, created, "B", cadence, T0)
    assert not cadence_due(None, created, "C", cadence, T0)
    assert not cadence_due(None, created, None, cadence, T0)


def test_today_and_the_board_show_a_customer_due(sales: Service) -> None:
    iid = deal(sales, company="Quiet Co")
    customer_of(sales, iid)
    fresh = deal(sales, company="Busy Co")
    customer_of(sales, fresh)
    with time_machine.travel(T0 + 10 * DAY, tick=False):
        sales.log_activity(actor="alice", deal_id=fresh, kind="visit")
        today = sales.digest("alice")
        assert [(f["name"], f["tier"], f["silent_days"]) for f in today["follow_ups"]] == [
            ("Quiet Co", "A", 10)
        ]
        assert sales.digest("bob")["follow_ups"] == []
        # The daily digest's notification counts them too, in the reader's language.
        assert "1 customer(s) due a follow-up." in summary(today)
        assert "1 个客户需要跟进" in summary(sales.digest("alice", lang="zh"))
        cards = {
            c["name"]: c["follow_up_due"]
            for st in sales.board("sales_pipeline", visible_to="alice")["stages"]
            for c in st["cards"]
        }
    assert cards == {"Quiet Co": True, "Busy Co": False}


def test_two_workers_at_once_remind_each_customer_once(sales: Service) -> None:
    for n in range(12):
        customer_of(sales, deal(sales, company=f"Silent {n}"))
    other = Service(Database(sales.db.url))  # a second worker: its own connections
    start = threading.Barrier(2)
    counts: list[int] = []

    def work(service: Service) -> None:
        start.wait()
        counts.append(send_cadence_reminders(service, T0 + 8 * DAY))

    try:
        threads = [threading.Thread(target=work, args=(s,)) for s in (sales, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.db.dispose()
    assert sum(counts) == 12
    assert len(told(sales, "alice")) == 12
