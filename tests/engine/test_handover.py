"""Reassigning a task, handing over a rep's work, delegating it for a holiday (usecases.handover):
who may, where tasks go now and later, what the history and the notifications say, and the
worker's job that ends delegations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import event, func, select, update

from engine.errors import ConflictError, ForbiddenError, ValidationError
from engine.jobs.delegations import end_expired_delegations
from engine.store.db import Database
from engine.store.models import Delegation, History, OpenTask, User
from engine.usecases.delegations import parse_day
from engine.usecases.demo import complete_step
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def sales(team: Service) -> Iterator[Service]:
    team.deploy([PROCESSES])
    with time_machine.travel(T0, tick=False):
        yield team


def deal(service: Service, owner: str = "alice", company: str = "ACME") -> str:
    started = service.start("sales_pipeline", owner=owner, data={**LEAD, "company": company})
    return str(started["instance_id"])


def task_of(service: Service, instance_id: str) -> dict[str, Any]:
    [task] = service.tasks(instance=instance_id)
    return task


def open_rows(db: Database, **where: Any) -> list[tuple[str, str | None, str | None]]:
    """(element, assignee, delegated_from) of the open tasks matching `where`."""
    with db.read() as s:
        query = select(OpenTask).filter_by(**where).order_by(OpenTask.instance_id)
        return [(t.element_id, t.assignee, t.delegated_from) for t in s.scalars(query)]


def history(db: Database, kind: str) -> list[tuple[int, str | None, dict[str, Any] | None]]:
    with db.read() as s:
        rows = s.scalars(select(History).where(History.kind == kind).order_by(History.id))
        return [(h.instance_id, h.actor, h.data) for h in rows]


def texts(service: Service, user: str) -> list[str]:
    return [n["text"] for n in reversed(service.notifications(user))]


# --- one task ------------------------------------------------------------------------------


def test_a_rep_reassigns_a_task_she_holds_to_a_colleague(sales: Service) -> None:
    d = deal(sales)
    task = task_of(sales, d)
    moved = sales.reassign(task["task_id"], "bob", actor="alice")
    assert moved["assignee"] == "bob"
    assert task_of(sales, d)["assignee"] == "bob"
    assert history(sales.db, "reassigned") == [(int(d), "alice", {"from": "alice", "to": "bob"})]
    assert texts(sales, "bob") == ["alice gave you the task 'Qualify lead' of deal 'ACME'."]
    assert texts(sales, "alice") == []  # she did it herself
    [note] = sales.notifications("bob")
    assert (note["instance_id"], note["task_id"]) == (d, task["task_id"])
    # Bob now completes it; alice no longer may.
    with pytest.raises(ForbiddenError):
        sales.complete(task["task_id"], user="alice", data={})


def test_reassigning_needs_the_lane_and_the_right_to_do_it(sales: Service) -> None:
    d = deal(sales)
    task = task_of(sales, d)["task_id"]
    with pytest.raises(ValidationError, match="pete does not hold the role 'Sales Rep'") as bad:
        sales.reassign(task, "pete", actor="alice")
    assert bad.value.field == "to"
    with pytest.raises(ValidationError, match="no active user 'nobody'"):
        sales.reassign(task, "nobody", actor="alice")
    with pytest.raises(ForbiddenError, match="only its holder or a sales manager"):
        sales.reassign(task, "bob", actor="bob")  # bob does not hold it
    assert task_of(sales, d)["assignee"] == "alice"  # nothing changed
    assert history(sales.db, "reassigned") == []
    # The manager may move anyone's task; the one who held it is told.
    sales.reassign(task, "bob", actor="mia")
    assert texts(sales, "alice") == [
        "mia reassigned your task 'Qualify lead' of deal 'ACME' to bob."
    ]
    assert texts(sales, "bob") == ["mia gave you the task 'Qualify lead' of deal 'ACME'."]
    assert texts(sales, "mia") == []


# --- everything a rep has ------------------------------------------------------------------


def test_a_manager_hands_over_everything_a_rep_has_in_one_audited_action(sales: Service) -> None:
    first, second = deal(sales, company="ACME"), deal(sales, company="Blue Harbor")
    bobs = deal(sales, owner="bob", company="Kite")
    sales.reassign(task_of(sales, bobs)["task_id"], "alice", actor="mia")  # bob's deal, her task
    # Her customers (those of her two deals; Kite is bob's) go too.
    mine = {"from": "alice", "to": "carl", "deals": 2, "tasks": 3, "queued": 0, "customers": 2}
    sales.add_user("carl", ["Sales Rep"], display_name="Carl New")
    assert sales.handover_preview("alice", "carl", actor="mia") == mine
    assert sales.hand_over("alice", "carl", actor="mia") == mine

    assert [d["owner"] for d in sales.instances()] == ["carl", "carl", "bob"]
    assert open_rows(sales.db) == [("task_qualify_lead", "carl", None)] * 3
    assert history(sales.db, "handover") == [
        (int(first), "mia", {"from": "alice", "to": "carl", "owner": True, "tasks": 1}),
        (int(second), "mia", {"from": "alice", "to": "carl", "owner": True, "tasks": 1}),
        (int(bobs), "mia", {"from": "alice", "to": "carl", "owner": False, "tasks": 1}),
    ]
    assert texts(sales, "carl") == [
        "mia handed over to you the work of alice: 2 deals and 3 open tasks."
    ]
    assert (
        texts(sales, "alice")[-1]
        == "mia handed over your work to Carl New: 2 deals and 3 open tasks."
    )
    assert sales.handover_preview("alice", "carl", actor="mia")["deals"] == 0  # nothing left


def test_tasks_that_become_ready_later_go_to_the_new_owner(sales: Service, db_url: str) -> None:
    d = deal(sales)
    sales.hand_over("alice", "bob", actor="mia")
    # A fresh engine on the same database: nothing is remembered but what was saved.
    again = Service(Database(db_url))
    try:
        complete_step(again, d, "task_qualify_lead")
        assert open_rows(again.db) == [("task_initial_contact", "bob", None)]
    finally:
        again.db.dispose()


def test_handing_over_one_deal_leaves_the_others(sales: Service) -> None:
    kept, given = deal(sales, company="ACME"), deal(sales, company="Blue Harbor")
    done = sales.hand_over("alice", "bob", actor="mia", instance_id=given)
    assert (done["deals"], done["tasks"]) == (1, 1)
    owners = {d["instance_id"]: d["owner"] for d in sales.instances()}
    assert owners == {kept: "alice", given: "bob"}
    assert [h[0] for h in history(sales.db, "handover")] == [int(given)]
    assert sales.notifications("bob")[0]["instance_id"] == given  # one deal: linked


def test_tasks_of_a_lane_the_new_person_lacks_wait_in_its_queue(sales: Service) -> None:
    d = deal(sales)
    sales.hand_over("alice", "mia", actor="mia")  # a manager, not a rep
    assert sales.show(d)["owner"] == "mia"
    assert open_rows(sales.db) == [("task_qualify_lead", None, None)]
    assert "1 of them to their role's queue" in texts(sales, "mia")[0]
    assert [t["instance_id"] for t in sales.tasks(user="bob")] == [d]  # bob may claim it


def test_only_a_manager_hands_over_and_a_refused_one_changes_nothing(sales: Service) -> None:
    deal(sales)
    with pytest.raises(ForbiddenError):
        sales.hand_over("alice", "bob", actor="alice")
    with pytest.raises(ValidationError, match="no active user 'ghost'"):
        sales.hand_over("alice", "ghost", actor="mia")
    with pytest.raises(ValidationError, match="someone else"):
        sales.hand_over("alice", "alice", actor="mia")
    assert sales.instances()[0]["owner"] == "alice"
    assert open_rows(sales.db) == [("task_qualify_lead", "alice", None)]
    assert history(sales.db, "handover") == []


def test_the_work_of_a_rep_who_left_is_handed_over(sales: Service) -> None:
    d = deal(sales)
    with sales.db.write() as s:
        s.execute(update(User).where(User.username == "alice").values(active=False))
    sales.hand_over("alice", "bob", actor="mia")
    assert sales.show(d)["owner"] == "bob"
    assert open_rows(sales.db) == [("task_qualify_lead", "bob", None)]
    assert texts(sales, "alice") == []  # nobody reads it any more


# --- holidays ------------------------------------------------------------------------------


def test_a_holiday_moves_the_work_to_the_delegate_and_back_when_it_ends(sales: Service) -> None:
    old = deal(sales, company="ACME")
    made = sales.delegate("alice", "bob", until="2026-03-06", actor="alice")
    assert made["moved"] == 1
    assert made["ends_at"] == "2026-03-07T00:00:00+00:00"  # the whole of the 6th
    assert open_rows(sales.db) == [("task_qualify_lead", "bob", "alice")]
    assert history(sales.db, "delegated") == [
        (
            int(old),
            "alice",
            {"from": "alice", "to": "bob", "until": made["ends_at"], "tasks": 1},
        )
    ]
    assert texts(sales, "bob") == [
        "You cover for alice from 2026-03-02 09:00 UTC until 2026-03-07 00:00 UTC: their tasks "
        "and new assignments come to you (1 open now)."
    ]
    # New work for alice while she is away goes to bob, remembering it is hers.
    new = deal(sales, company="Blue Harbor")
    complete_step(sales, old, "task_qualify_lead")
    assert open_rows(sales.db) == [
        ("task_initial_contact", "bob", "alice"),
        ("task_qualify_lead", "bob", "alice"),
    ]
    assert sorted(t["instance_id"] for t in sales.tasks(user="bob")) == [old, new]

    with time_machine.travel(datetime(2026, 3, 6, 23, 59, tzinfo=UTC), tick=False):
        assert end_expired_delegations(sales.db, datetime.now(UTC)) == {"ended": 0, "started": 0}
    with time_machine.travel(datetime(2026, 3, 7, 0, 0, 30, tzinfo=UTC), tick=False):
        now = datetime.now(UTC)
        assert end_expired_delegations(sales.db, now) == {"ended": 1, "started": 0}
        assert end_expired_delegations(sales.db, now) == {"ended": 0, "started": 0}
        assert open_rows(sales.db) == [
            ("task_initial_contact", "alice", None),
            ("task_qualify_lead", "alice", None),
        ]
        assert texts(sales, "alice")[-1] == (
            "Welcome back: your delegation to bob ended and 2 open tasks came back to you."
        )
        assert (
            texts(sales, "bob")[-1]
            == "You no longer cover for alice; 2 open tasks went back to them."
        )
        assert sales.delegations() == []
        assert {h[0] for h in history(sales.db, "delegation_ended")} == {int(old), int(new)}
        complete_step(sales, new, "task_qualify_lead")
        assert ("task_initial_contact", "alice", None) in open_rows(sales.db, instance_id=int(new))


def test_a_holiday_that_starts_later_moves_the_work_when_it_starts(sales: Service) -> None:
    d = deal(sales)
    made = sales.delegate("alice", "bob", starts="2026-03-09", until="2026-03-13", actor="mia")
    assert made["moved"] == 0
    assert open_rows(sales.db) == [("task_qualify_lead", "alice", None)]
    assert texts(sales, "alice") == [
        "mia handed your work to bob from 2026-03-09 00:00 UTC until 2026-03-14 00:00 UTC."
    ]
    with time_machine.travel(datetime(2026, 3, 9, 0, 0, 20, tzinfo=UTC), tick=False):
        now = datetime.now(UTC)
        assert end_expired_delegations(sales.db, now) == {"ended": 0, "started": 1}
        assert end_expired_delegations(sales.db, now) == {"ended": 0, "started": 0}
        assert open_rows(sales.db) == [("task_qualify_lead", "bob", "alice")]
        assert history(sales.db, "delegated")[0][0] == int(d)
    with time_machine.travel(datetime(2026, 3, 14, 0, 1, tzinfo=UTC), tick=False):
        assert end_expired_delegations(sales.db, datetime.now(UTC))["ended"] == 1
        assert open_rows(sales.db) == [("task_qualify_lead", "alice", None)]


def test_a_delegate_without_the_lane_leaves_the_tasks_to_its_queue(sales: Service) -> None:
    deal(sales, company="ACME")
    second = deal(sales, company="Blue Harbor")
    sales.delegate("alice", "mia", until="2026-03-04", actor="alice")
    assert open_rows(sales.db) == [("task_qualify_lead", None, "alice")] * 2
    sales.claim(task_of(sales, second)["task_id"], user="bob")  # a colleague takes one
    with time_machine.travel(datetime(2026, 3, 5, tzinfo=UTC), tick=False):
        end_expired_delegations(sales.db, datetime.now(UTC))
    assert open_rows(sales.db) == [
        ("task_qualify_lead", "alice", None),
        ("task_qualify_lead", "bob", None),  # stays with whoever took it
    ]


def test_a_holiday_is_cancelled_early_by_the_rep_or_a_manager(sales: Service) -> None:
    deal(sales)
    made = sales.delegate("alice", "bob", until="2026-03-20", actor="alice")
    with pytest.raises(ForbiddenError):
        sales.cancel_delegation(made["id"], actor="bob")
    ended = sales.cancel_delegation(made["id"], actor="alice")
    assert (ended["moved"], ended["ended_at"]) == (1, T0.isoformat())
    assert open_rows(sales.db) == [("task_qualify_lead", "alice", None)]
    assert sales.cancel_delegation(made["id"], actor="mia")["moved"] == 0  # ended already
    again = sales.delegate("alice", "bob", until="2026-03-20", actor="alice")
    sales.cancel_delegation(again["id"], actor="mia")
    assert sales.delegations("alice") == []


def test_who_may_delegate_and_what_cannot_overlap(sales: Service) -> None:
    with pytest.raises(ForbiddenError, match="only their own work"):
        sales.delegate("alice", "bob", until="2026-03-06", actor="bob")
    with pytest.raises(ValidationError, match="the end must be after the start") as past:
        sales.delegate("alice", "bob", until="2026-03-01", actor="alice")
    assert past.value.field == "until"
    with pytest.raises(ValidationError, match="not a date"):
        sales.delegate("alice", "bob", until="next friday", actor="alice")
    sales.delegate("alice", "bob", until="2026-03-06", actor="alice")
    with pytest.raises(ConflictError, match="alice is already away until 2026-03-07 00:00 UTC"):
        sales.delegate("alice", "mia", until="2026-03-10", actor="mia")
    with pytest.raises(ValidationError, match="alice is away then") as away:
        sales.delegate("bob", "alice", until="2026-03-03", actor="bob")
    assert away.value.field == "to"
    with pytest.raises(ValidationError, match="bob covers for alice"):
        sales.delegate("bob", "mia", until="2026-03-03", actor="bob")
    # After alice's holiday bob may take his own.
    sales.delegate("bob", "alice", starts="2026-03-09", until="2026-03-10", actor="bob")
    assert [(d["from_user"], d["to_user"]) for d in sales.delegations()] == [
        ("alice", "bob"),
        ("bob", "alice"),
    ]


def test_a_hand_over_ends_the_reps_holiday_and_takes_over_whom_she_covers(
    sales: Service,
) -> None:
    deal(sales)
    sales.add_user("carl", ["Sales Rep", "Product Expert"])
    sales.delegate("alice", "bob", until="2026-03-06", actor="alice")
    assert sales.hand_over("alice", "carl", actor="mia")["tasks"] == 1  # held by bob for her
    assert open_rows(sales.db) == [("task_qualify_lead", "carl", None)]
    assert sales.delegations() == []
    sales.delegate("pete", "bob", until="2026-03-06", actor="pete")  # bob covers for pete
    sales.hand_over("bob", "carl", actor="mia")
    assert [(d["from_user"], d["to_user"]) for d in sales.delegations()] == [("pete", "carl")]


def test_the_minute_job_costs_two_reads_when_nothing_is_due(sales: Service) -> None:
    deal(sales)
    sales.delegate("alice", "bob", until="2026-03-06", actor="alice")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(sales.db.engine, "before_cursor_execute", seen)
    try:
        assert end_expired_delegations(sales.db, T0 + timedelta(hours=1)) == {
            "ended": 0,
            "started": 0,
        }
    finally:
        event.remove(sales.db.engine, "before_cursor_execute", seen)
    # No write transaction (SQLite's BEGIN IMMEDIATE), just the two look-ups.
    assert [s.split()[0] for s in statements if s != "BEGIN"] == ["SELECT", "SELECT"]
    with sales.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Delegation)) == 1


def test_a_bare_date_is_the_start_of_its_day_or_with_end_of_the_next() -> None:
    assert parse_day("2026-03-10") == datetime(2026, 3, 10, tzinfo=UTC)
    assert parse_day("2026-03-10", end=True) == datetime(2026, 3, 11, tzinfo=UTC)
    assert parse_day("2026-03-10T18:30") == datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
