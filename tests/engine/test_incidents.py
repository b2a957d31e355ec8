"""Incidents: a failing engine step puts that deal into error with the element, the message
and the data; a sales manager retries (on corrected data), skips or cancels; nothing completed
before is lost.  Every step here goes through the database, mostly with a fresh Service (no
cached workflow), so the errored state also survives a save and a reload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from engine.core import runtime
from engine.core.definitions import parse_sources, read_paths
from engine.errors import (
    ConflictError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.jobs.timers import tick
from engine.store import notifications
from engine.store.db import Database
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORDER = {"price": 100, "quantity": 2, "discount": 5}


@pytest.fixture
def ops(team: Service) -> Service:
    """The test team plus a designer and an admin, with the incident processes deployed."""
    team.add_user("dora", ["designer"])
    team.add_user("root", ["admin"])
    team.deploy([ENGINE_DATA / "incident_order.bpmn", ENGINE_DATA / "incident_wait.bpmn"])
    return team


@pytest.fixture
def fresh(ops: Service) -> Iterator[Callable[[], Service]]:
    """Makes another Service on the same database: no cached workflow, state from rows."""
    made: list[Service] = []

    def make() -> Service:
        made.append(Service(Database(ops.db.url)))
        return made[-1]

    yield make
    for service in made:
        service.db.dispose()


def open_task(service: Service, iid: str, element_id: str) -> dict[str, Any]:
    found = [t for t in service.tasks(instance=iid) if t["element_id"] == element_id]
    assert len(found) == 1, service.tasks(instance=iid)
    return found[0]


def complete(service: Service, iid: str, element_id: str, **data: Any) -> dict[str, Any]:
    task = open_task(service, iid, element_id)
    return service.complete(task["task_id"], user=task["assignee"] or "mia", data=data)


def kinds(shown: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(h["kind"], h["element_id"]) for h in shown["history"]]


def notes(service: Service, user: str) -> list[dict[str, Any]]:
    with service.db.read() as s:
        return notifications.recent(s, user)


def order_in_error(service: Service, **data: Any) -> str:
    """A deal of alice's whose order was entered without a quantity: the total fails."""
    iid = service.start("incident_order", owner="alice")["instance_id"]
    assert complete(service, iid, "task_enter_order", **data)["status"] == "error"
    return iid


# --- what fails where --------------------------------------------------------------------


def test_a_failing_condition_right_after_a_task_refuses_the_completion(ops: Service) -> None:
    iid = ops.start("incident_order", owner="alice")["instance_id"]
    before = ops.show(iid)
    with pytest.raises(ExpressionError, match="gw_discount_ok") as err:
        complete(ops, iid, "task_enter_order", price=100, quantity=2)  # no discount
    assert "discount" in str(err.value)
    assert ops.show(iid) == before  # the deal stays where it was: the form shows the error
    assert ops.incidents(user="mia") == []
    assert complete(ops, iid, "task_enter_order", **ORDER)["ready"] == ["task_confirm"]


def test_a_failing_script_after_a_task_is_an_incident(
    ops: Service, fresh: Callable[[], Service]
) -> None:
    iid = order_in_error(ops, price=100, discount=5)

    shown = fresh().show(iid)
    assert shown["status"] == "error"
    error = shown["error"]
    assert error["element_id"] == "script_total"
    assert error["element_name"] == "Total the order"
    assert "quantity" in error["message"]
    assert error["data"] == {"price": 100, "discount": 5}
    assert datetime.fromisoformat(error["at"]) <= datetime.now(UTC)
    # The rep's task is done and kept, with what she entered.
    assert shown["position"]["task_enter_order"] == "completed"
    assert shown["position"]["script_total"] == "error"
    assert kinds(shown)[-3:] == [
        ("completed", "task_enter_order"),
        ("completed", "gw_discount_ok"),
        ("error", "script_total"),
    ]
    entered = next(h for h in shown["history"] if h["element_id"] == "task_enter_order")
    assert (entered["actor"], entered["data"]) == ("alice", {"price": 100, "discount": 5})
    assert shown["tasks"] == [] and shown["next_due_at"] is None
    [told] = notes(ops, "alice")
    assert told["kind"] == "incident" and "Total the order" in told["text"]
    assert told["instance_id"] == iid


def test_a_failure_while_entering_a_wait_is_an_incident_at_the_wait(
    ops: Service, fresh: Callable[[], Service]
) -> None:
    # The wait's length is missing: without an incident the branch would stall unseen.
    with time_machine.travel(T0, tick=False) as clock:
        iid = ops.start("incident_wait", owner="alice")["instance_id"]
        assert complete(ops, iid, "task_call")["status"] == "running"
        clock.shift(timedelta(days=1, seconds=1))
        assert tick(fresh()) == {"fired": 1}
        shown = fresh().show(iid)
        assert shown["status"] == "error"
        assert shown["error"]["element_id"] == "timer_follow_up"
        assert "wait_for" in shown["error"]["message"]
        assert shown["error"]["data"]["calls"] == 1  # the script before it ran and is kept
        assert shown["position"]["timer_cool_off"] == "completed"
        assert shown["position"]["timer_follow_up"] == "error"

        clock.move_to(T0 + timedelta(days=2))
        result = fresh().retry(iid, user="mia", data={"wait_for": "PT1H"})
        assert result["status"] == "running" and result["error"] is None
        shown = ops.show(iid)
        assert shown["next_due_at"] == (T0 + timedelta(days=2, hours=1)).isoformat()
        clock.shift(timedelta(hours=1, seconds=1))
        assert tick(fresh()) == {"fired": 1}
    assert [t["element_id"] for t in ops.tasks(instance=iid)] == ["task_follow_up"]


def test_the_errored_state_round_trips() -> None:
    [bundle] = parse_sources(read_paths([ENGINE_DATA / "incident_order.bpmn"]))
    wf = runtime.new_workflow(bundle.spec, bundle.subprocess_specs, {})
    runtime.Change(wf).engine_steps()
    [task] = runtime.open_human_tasks(wf)
    task.data.update(price=100, discount=5)
    task.run()
    with pytest.raises(Exception, match="quantity"):
        wf.do_engine_steps()
    assert runtime.has_error(wf)
    runtime.prune(wf)
    again = runtime.load_state(runtime.dump_state(wf), bundle.spec, bundle.subprocess_specs)
    states = {t.id: (t.state, t.data) for t in runtime.all_tasks(wf)}
    assert {t.id: (t.state, t.data) for t in runtime.all_tasks(again)} == states
    assert runtime.position(again, {}) == runtime.position(wf, {})


# --- retry -------------------------------------------------------------------------------


def test_fix_the_data_and_retry_goes_on(ops: Service, fresh: Callable[[], Service]) -> None:
    iid = order_in_error(ops, price=100, discount=5)
    before = ops.show(iid)["history"]

    result = fresh().retry(iid, user="mia", data={"quantity": 2})
    assert result == {"instance_id": iid, "status": "running", "error": None}

    shown = ops.show(iid)
    assert shown["status"] == "running" and shown["error"] is None
    assert shown["data"]["total"] == 190
    assert [t["element_id"] for t in shown["tasks"]] == ["task_confirm"]
    assert shown["history"][: len(before)] == before  # nothing done before is lost
    added = shown["history"][len(before) :]
    assert (added[0]["kind"], added[0]["actor"]) == ("incident_retry", "mia")
    assert added[0]["element_id"] == "script_total"
    assert added[0]["data"] == {"quantity": 2}
    assert ("completed", "script_total") in [(h["kind"], h["element_id"]) for h in added]
    assert shown["position"]["script_total"] == "completed"
    assert ops.incidents(user="mia") == []
    assert [n["kind"] for n in notes(ops, "alice")] == ["incident_retry", "incident"]
    assert notes(ops, "mia") == []  # the one who acted is not told

    # The deal goes on as any other.
    assert complete(fresh(), iid, "task_confirm")["status"] == "running"


def test_a_retry_that_fails_again_changes_nothing(
    ops: Service, fresh: Callable[[], Service]
) -> None:
    iid = order_in_error(ops, price=100, discount=5)
    before = ops.show(iid)
    with pytest.raises(ExpressionError, match="failed again") as err:
        fresh().retry(iid, user="mia")
    assert "quantity" in str(err.value)
    with pytest.raises(ExpressionError, match="failed again"):
        ops.retry(iid, user="mia", data={"quantity": "two"})  # str * str
    assert ops.show(iid) == before
    assert ops.retry(iid, user="mia", data={"quantity": 1})["status"] == "running"


def test_a_retry_runs_on_the_elements_input_data(ops: Service) -> None:
    iid = order_in_error(ops, price=100, discount=5)
    ops.retry(iid, user="mia", data={"quantity": 20, "note": None})
    shown = ops.show(iid)
    assert shown["data"]["total"] == 1900
    assert shown["data"]["note"] is None  # set as given: JSON null
    # A big order: the manager approves it, on the way to the confirmation.
    assert [t["element_id"] for t in shown["tasks"]] == ["task_approve"]


@pytest.mark.parametrize(
    "data",
    [["quantity", 2], {"_secret": 1}, {"": 1}, {"x" * 201: 1}, {"q": float("nan")}],
)
def test_retry_data_is_checked(ops: Service, data: Any) -> None:
    iid = order_in_error(ops, price=100, discount=5)
    with pytest.raises(ValidationError) as err:
        ops.retry(iid, user="mia", data=data)
    assert err.value.field == "data"
    assert ops.show(iid)["status"] == "error"


# --- skip --------------------------------------------------------------------------------


def test_skip_goes_on_and_a_later_failure_is_the_next_incident(
    ops: Service, fresh: Callable[[], Service]
) -> None:
    iid = order_in_error(ops, price=100, discount=5)
    before = ops.show(iid)["history"]

    # Skipping the total leaves `total` unset: the size gateway after it fails next.
    result = fresh().skip(iid, user="mia")
    assert result["status"] == "error"
    assert result["error"]["element_id"] == "gw_big"
    shown = ops.show(iid)
    assert shown["history"][: len(before)] == before
    added = [(h["kind"], h["element_id"], h["actor"]) for h in shown["history"][len(before) :]]
    assert added == [
        ("incident_skip", "script_total", "mia"),
        ("completed", "script_total", None),
        ("error", "gw_big", None),
    ]
    assert shown["position"]["script_total"] == "completed"
    assert [i["instance_id"] for i in ops.incidents(user="mia")] == [iid]

    # A gateway decides the way: it cannot be skipped, only retried on corrected data.
    with pytest.raises(ConflictError, match="gateway"):
        fresh().skip(iid, user="mia")
    assert ops.show(iid)["history"] == shown["history"]
    fresh().retry(iid, user="mia", data={"total": 500})
    assert [t["element_id"] for t in ops.tasks(instance=iid)] == ["task_confirm"]
    assert [n["kind"] for n in notes(ops, "alice")] == [
        "incident_retry",
        "incident_skip",
        "incident",
    ]


def test_a_failure_after_a_timer_is_an_incident_retry_and_skip_go_on(
    ops: Service, fresh: Callable[[], Service]
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        deals = []
        for _ in range(2):
            iid = ops.start("incident_order", owner="alice")["instance_id"]
            complete(ops, iid, "task_enter_order", **ORDER)
            complete(ops, iid, "task_confirm")
            deals.append(iid)
        fixed, skipped = deals
        clock.shift(timedelta(days=1, seconds=1))
        assert tick(fresh()) == {"fired": 2}

        for iid in deals:
            shown = ops.show(iid)
            assert shown["status"] == "error"
            assert shown["error"]["element_id"] == "script_invoice"
            assert "order_no" in shown["error"]["message"]
            assert shown["position"]["timer_wait"] == "completed"
        assert tick(fresh()) == {"fired": 0}  # a deal in error waits for a person

        fresh().retry(fixed, user="root", data={"order_no": 42})
        assert ops.show(fixed)["data"]["invoice"] == "INV-42"
        fresh().skip(skipped, user="mia")
        assert "invoice" not in ops.show(skipped)["data"]
        for iid in deals:
            assert [t["element_id"] for t in ops.tasks(instance=iid)] == ["task_ship"]
            assert complete(ops, iid, "task_ship")["status"] == "completed"


# --- cancel ------------------------------------------------------------------------------


def test_cancel_stops_the_deal_with_a_reason(ops: Service, fresh: Callable[[], Service]) -> None:
    iid = order_in_error(ops, price=100, discount=5)
    before = ops.show(iid)["history"]
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(ValidationError) as err:
            ops.cancel(iid, user="mia", reason=reason)
        assert err.value.field == "reason"

    result = fresh().cancel(iid, user="mia", reason="  Customer withdrew the order. ")
    assert result == {"instance_id": iid, "status": "cancelled", "error": None}
    shown = ops.show(iid)
    assert shown["status"] == "cancelled"
    assert shown["tasks"] == [] and shown["next_due_at"] is None
    assert shown["history"][: len(before)] == before
    entry = shown["history"][len(before)]
    assert (entry["kind"], entry["actor"]) == ("cancelled", "mia")
    assert entry["data"] == {"reason": "Customer withdrew the order."}
    assert ops.incidents(user="mia") == []
    assert ops.instances(status="cancelled") == [ops.instances(ids=[iid])[0]]
    [told, _] = notes(ops, "alice")
    assert told["kind"] == "cancelled" and "Customer withdrew the order." in told["text"]

    for action in (ops.retry, ops.skip):
        with pytest.raises(ConflictError, match="cancelled"):
            action(iid, user="mia")


# --- who ---------------------------------------------------------------------------------


def test_only_sales_managers_and_admins_handle_incidents(ops: Service) -> None:
    iid = order_in_error(ops, price=100, discount=5)
    before = ops.show(iid)
    for user in ("alice", "bob", "dora"):  # the owner, another rep, a process designer
        with pytest.raises(ForbiddenError, match="Sales Manager or admin"):
            ops.incidents(user=user)
        with pytest.raises(ForbiddenError):
            ops.retry(iid, user=user, data={"quantity": 2})
        with pytest.raises(ForbiddenError):
            ops.skip(iid, user=user)
        with pytest.raises(ForbiddenError):
            ops.cancel(iid, user=user, reason="no")
    assert ops.show(iid) == before
    assert [i["instance_id"] for i in ops.incidents(user="root")] == [iid]
    with pytest.raises(NotFoundError):
        ops.retry("999", user="mia")
    with pytest.raises(NotFoundError):
        ops.skip("abc", user="mia")


def test_the_incident_list_shows_deals_in_error_newest_first(ops: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        running = ops.start("incident_order", owner="alice")["instance_id"]
        first = order_in_error(ops, price=100, discount=5)
        clock.shift(timedelta(minutes=5))
        second = order_in_error(ops, price=7, discount=0)
    listed = ops.incidents(user="mia")
    assert [i["instance_id"] for i in listed] == [second, first]
    assert running not in {i["instance_id"] for i in listed}
    assert listed[0]["error"]["element_id"] == "script_total"
    assert listed[0]["error"]["data"] == {"price": 7, "discount": 0}
    assert listed[0]["status"] == "error" and listed[0]["owner"] == "alice"
    assert ops.incident_count() == 2
    assert [i["instance_id"] for i in ops.incidents(user="mia", limit=1, offset=1)] == [first]
