"""Optimisation initiatives: the execution table's rules (one owner, statuses, elements of the
sales process), who may change what, daily reminders, the weekly review that flags rows blocked
three times in a row and raises the re-evaluation task, and the before/after effect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import insert, select

from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.jobs import reminders
from engine.jobs.timers import tick
from engine.store import notifications
from engine.store.db import Database
from engine.store.models import DefinitionVersion, History, Initiative, Instance
from engine.usecases import initiatives
from engine.usecases.demo import WON, drive, load_demo, who_completes
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ROW = {"stage": "Needs analysis", "task": "Pain-point survey", "owner": "alice"}


@pytest.fixture
def shop(team: Service) -> Service:
    """The test team (mia manages), an admin and the shipped processes."""
    team.add_user("root", ["admin"])
    team.deploy([PROCESSES])
    return team


@pytest.fixture
def fresh(shop: Service) -> Iterator[Callable[[], Service]]:
    """Another Service on the same database: no cached workflow, everything from rows."""
    made: list[Service] = []

    def make() -> Service:
        made.append(Service(Database(shop.db.url)))
        return made[-1]

    yield make
    for service in made:
        service.db.dispose()


def new(service: Service, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "name": "Faster needs analysis",
        "process_id": "sales_pipeline",
        "lead": "mia",
        "actor": "mia",
        **kw,
    }
    return service.create_initiative(**args)


def open_ids(service: Service, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in service.tasks(instance=instance_id))


def to_execution(service: Service, ini: dict[str, Any]) -> None:
    """Complete the preparation tasks: the process waits for its first weekly review."""
    for element_id, data in initiatives.PREPARATION:
        [task] = service.tasks(instance=ini["instance_id"])
        assert task["element_id"] == element_id
        service.complete(task["task_id"], user=who_completes(service, task), data=data)
    assert open_ids(service, ini["instance_id"]) == []
    assert [t["element_id"] for t in service.show(ini["instance_id"])["timers"]] == [
        initiatives.WEEK_TIMER
    ]


def field_of(call: Callable[[], Any]) -> str | None:
    with pytest.raises(ValidationError) as err:
        call()
    return err.value.field


# --- the initiative ------------------------------------------------------------------------


def test_an_initiative_is_a_run_of_the_initiative_process_led_by_its_lead(shop: Service) -> None:
    ini = new(shop, effective_at="2026-03-02")
    deal = shop.show(ini["instance_id"])
    assert (deal["process_id"], deal["owner"], deal["name"]) == (
        "optimization_initiative",
        "mia",
        "Faster needs analysis",
    )
    [task] = shop.tasks(instance=ini["instance_id"])
    assert (task["element_id"], task["assignee"]) == ("task_locate_core_problem", "mia")
    found = shop.initiative(ini["id"])
    assert {"id", "name", "process_id", "lead", "rows", "effect"} <= set(found)
    assert (found["name"], found["process_id"], found["lead"]) == (
        "Faster needs analysis",
        "sales_pipeline",
        "mia",
    )
    # A date is the start of that day in the team's time zone (UTC unless set otherwise).
    assert found["effective_at"] == "2026-03-02T00:00:00+00:00"
    assert found["rows"] == [] and found["effect"]["elements"] == []
    assert [i["id"] for i in shop.initiatives()] == [ini["id"]]


def test_only_managers_start_initiatives_for_a_lead_who_manages(shop: Service) -> None:
    with pytest.raises(ForbiddenError):
        new(shop, actor="alice")
    assert field_of(lambda: new(shop, process_id="no_such_process")) == "process_id"
    assert field_of(lambda: new(shop, lead="alice")) == "lead"  # a rep: not the lane's role
    assert field_of(lambda: new(shop, lead="nobody")) == "lead"
    assert field_of(lambda: new(shop, name="  ")) == "name"
    assert field_of(lambda: new(shop, effective_at="next week")) == "effective_at"
    assert shop.initiatives() == []
    assert shop.instances(process="optimization_initiative") == []
    assert new(shop, actor="root")["lead"] == "mia"  # an admin starts one for a manager


def test_an_unknown_initiative_is_not_found(shop: Service) -> None:
    for bad in ("999", "x"):
        with pytest.raises(NotFoundError):
            shop.initiative(bad)
        with pytest.raises(NotFoundError):
            shop.add_initiative_row(bad, ROW, actor="mia")


# --- rows ----------------------------------------------------------------------------------


def test_a_row_has_exactly_one_owner_an_active_user(shop: Service) -> None:
    ini = new(shop)
    shop.add_user("gone", ["Sales Rep"])
    shop.deactivate_user("gone")

    def add(owner: Any) -> Any:
        return shop.add_initiative_row(ini["id"], {**ROW, "owner": owner}, actor="mia")

    for owner in (
        ["alice", "bob"],
        ["alice"],
        "Sales Rep",
        "sales_rep",
        "Sales team",
        "Legal",
        "alice, bob",
        "alice and bob",
        "王芳、李娜",
        "nobody",
        "gone",
        "",
        None,
        42,
    ):
        with pytest.raises(ValidationError) as err:
            add(owner)
        assert err.value.field == "owner", owner
    with pytest.raises(ValidationError) as err:
        add("Sales Rep")
    assert "not a person" in str(err.value)
    with pytest.raises(ValidationError) as err:
        add(["alice", "bob"])
    assert "not a list" in str(err.value)
    assert shop.initiative(ini["id"])["rows"] == []
    row = add(" alice ")
    assert row["owner"] == "alice"
    finance = {"owner": "Finance"}
    assert field_of(lambda: shop.update_initiative_row(ini["id"], row["id"], finance,
                                                       actor="mia")) == "owner"  # fmt: skip
    assert shop.initiative(ini["id"])["rows"][0]["owner"] == "alice"


def test_statuses_dates_and_the_patch_semantics(shop: Service) -> None:
    ini = new(shop)
    row = shop.add_initiative_row(
        ini["id"], {**ROW, "planned_date": "2026-03-05", "notes": "n"}, actor="mia"
    )
    assert set(row) >= {"id", "stage", "task", "owner", "planned_date", "actual_date", "status",
                        "notes", "contact", "elements", "flagged"}  # fmt: skip
    assert (row["status"], row["planned_date"], row["actual_date"]) == (
        "not started",
        "2026-03-05",
        None,
    )

    def patch(**changes: Any) -> dict[str, Any]:
        return shop.update_initiative_row(ini["id"], row["id"], changes, actor="mia")

    for status in ("in progress", "blocked", "done", "not started"):
        assert patch(status=status)["status"] == status
    for bad in ("finished", "in_progress", "", None):
        assert field_of(lambda bad=bad: patch(status=bad)) == "status"
    assert field_of(lambda: patch(planned_date="05/03/2026")) == "planned_date"
    assert field_of(lambda: patch(planned_date="2026-02-30")) == "planned_date"
    with time_machine.travel(T0, tick=False):
        assert field_of(lambda: patch(actual_date="2026-03-03")) == "actual_date"  # no back-fill
        done = patch(actual_date="2026-03-02", status="done", contact="Liu Yang (Legal)")
    # Only what was sent changed.
    assert (done["planned_date"], done["notes"], done["task"]) == ("2026-03-05", "n", ROW["task"])
    assert (done["actual_date"], done["contact"], done["status"]) == (
        "2026-03-02",
        "Liu Yang (Legal)",
        "done",
    )
    assert patch(planned_date=None)["planned_date"] is None
    assert field_of(lambda: patch(colour="red")) == "colour"
    assert field_of(lambda: patch(task="")) == "task"
    assert field_of(lambda: shop.add_initiative_row(ini["id"], {"task": "x"}, actor="mia")) == (
        "owner"
    )
    with pytest.raises(NotFoundError):
        shop.update_initiative_row(ini["id"], 999, {"notes": "x"}, actor="mia")
    other = new(shop, name="Another one")
    with pytest.raises(NotFoundError):  # a row of another initiative
        shop.update_initiative_row(other["id"], row["id"], {"notes": "x"}, actor="mia")


def test_elements_are_checked_against_the_sales_process(shop: Service) -> None:
    ini = new(shop)

    def add(elements: Any) -> dict[str, Any]:
        return shop.add_initiative_row(ini["id"], {**ROW, "elements": elements}, actor="mia")

    row = add(["task_needs_analysis", "gw_discount_ok", "task_needs_analysis"])
    assert row["elements"] == ["task_needs_analysis", "gw_discount_ok"]
    for bad in (["task_nope"], ["task_weekly_review"], ["lane_sales_rep"], "x,y", [1], {"a": 1}):
        with pytest.raises(ValidationError) as err:
            add(bad)
        assert err.value.field == "elements", bad
    with pytest.raises(ValidationError) as err:
        add(["task_needs_analysis", "task_nope"])
    assert "task_nope" in str(err.value) and "sales_pipeline" in str(err.value)
    names = {e["id"]: e["name"] for e in shop.initiative_elements("sales_pipeline")}
    assert names["task_needs_analysis"] == "Needs analysis"
    assert "task_weekly_review" not in names


def test_the_lead_and_managers_plan_owners_update_their_progress_others_read(
    shop: Service,
) -> None:
    shop.add_user("nina", ["Sales Manager"])
    ini = new(shop, lead="nina", actor="mia")
    row = shop.add_initiative_row(ini["id"], ROW, actor="nina")  # the lead
    bobs = shop.add_initiative_row(ini["id"], {**ROW, "owner": "bob"}, actor="mia")  # manager
    shop.add_initiative_row(ini["id"], {**ROW, "owner": "pete"}, actor="root")  # admin
    with pytest.raises(ForbiddenError):
        shop.add_initiative_row(ini["id"], ROW, actor="alice")
    # The owner updates the progress of her own row ...
    mine = shop.update_initiative_row(
        ini["id"],
        row["id"],
        {"status": "blocked", "notes": "Customers resist", "contact": "Lena (Legal)"},
        actor="alice",
    )
    assert (mine["status"], mine["notes"]) == ("blocked", "Customers resist")
    # ... not its plan, and not somebody else's row.
    for plan in ({"owner": "bob"}, {"task": "Other"}, {"planned_date": "2026-04-01"},
                 {"elements": []}, {"stage": "x"}):  # fmt: skip
        with pytest.raises(ForbiddenError):
            shop.update_initiative_row(ini["id"], row["id"], plan, actor="alice")
    with pytest.raises(ForbiddenError):
        shop.update_initiative_row(ini["id"], bobs["id"], {"notes": "x"}, actor="alice")
    with pytest.raises(ForbiddenError):
        shop.record_review(ini["id"], actor="alice")
    assert (
        shop.update_initiative_row(ini["id"], row["id"], {"owner": "bob"}, actor="nina")["owner"]
        == "bob"
    )
    assert shop.initiative_rights(ini["id"], "alice") == {"plan": False, "rows": []}
    assert shop.initiative_rights(ini["id"], "bob") == {
        "plan": False,
        "rows": [row["id"], bobs["id"]],
    }
    assert shop.initiative_rights(ini["id"], "nina")["plan"] is True
    # Reading is open to everyone.
    assert len(shop.initiative(ini["id"])["rows"]) == 3


# --- reminders -----------------------------------------------------------------------------


def test_a_row_in_progress_left_alone_for_a_day_reminds_its_owner_once_a_day(
    shop: Service,
) -> None:
    def told(user: str) -> list[str]:
        with shop.db.read() as s:
            found = notifications.recent(s, user)
        return [n["text"] for n in found if n["kind"] == "initiative_reminder"]

    with time_machine.travel(T0, tick=False) as clock:
        ini = new(shop)
        row = shop.add_initiative_row(ini["id"], {**ROW, "status": "in progress"}, actor="mia")
        shop.add_initiative_row(ini["id"], {**ROW, "owner": "bob"}, actor="mia")  # not started
        shop.add_initiative_row(ini["id"], {**ROW, "owner": "pete", "status": "done"}, actor="mia")
        clock.shift(DAY - timedelta(minutes=1))
        assert reminders.send_reminders(shop) == 0
        clock.shift(timedelta(minutes=2))
        assert reminders.send_reminders(shop) == 1
        assert reminders.send_reminders(shop.db) == 0  # once a day
        assert len(told("alice")) == 1 and "Pain-point survey" in told("alice")[0]
        assert told("bob") == told("pete") == told("mia") == []
        clock.shift(timedelta(hours=12))
        assert reminders.send_reminders(shop, clock_now()) == 0
        clock.shift(timedelta(hours=12))
        assert reminders.send_reminders(shop) == 1  # the next day, still untouched
        shop.update_initiative_row(ini["id"], row["id"], {"notes": "Survey sent"}, actor="alice")
        clock.shift(DAY - timedelta(minutes=1))
        assert reminders.send_reminders(shop) == 0  # updated less than a day ago
        clock.shift(timedelta(minutes=2))
        assert reminders.send_reminders(shop) == 1
        shop.update_initiative_row(ini["id"], row["id"], {"status": "done"}, actor="alice")
        clock.shift(3 * DAY)
        assert reminders.send_reminders(shop) == 0  # done: nothing to remind
        assert len(told("alice")) == 3


def clock_now() -> datetime:
    return datetime.now(UTC)


# --- the weekly review ---------------------------------------------------------------------


def test_a_row_blocked_at_three_reviews_is_flagged_and_raises_the_re_evaluation(
    shop: Service, fresh: Callable[[], Service]
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ini = new(shop)
        iid = ini["instance_id"]
        to_execution(shop, ini)
        stuck = shop.add_initiative_row(ini["id"], {**ROW, "status": "blocked"}, actor="mia")
        later = shop.add_initiative_row(
            ini["id"], {**ROW, "owner": "bob", "status": "in progress"}, actor="mia"
        )

        def review(service: Service) -> dict[str, Any]:
            clock.shift(DAY)
            return service.record_review(ini["id"], actor="mia", notes="Friday")

        first = review(shop)
        assert first["blocked_rows"] == [stuck["id"]] and first["flagged_rows"] == []
        # The review is the week's: the wait ends, the weekly review is done, the next wait runs.
        assert first["process"] == {"advanced": True, "status": "running", "open": []}
        history = shop.show(iid)["history"]
        loop = ("timer_wait_7_days", "task_weekly_review", "task_count_review_cycle")
        assert [(h["kind"], h["element_id"]) for h in history if h["element_id"] in loop] == [
            ("timer", "timer_wait_7_days"),
            ("completed", "task_weekly_review"),
            ("completed", "task_count_review_cycle"),
        ]
        done_review = [h for h in history if h["element_id"] == "task_weekly_review"][-1]
        assert done_review["data"] == {
            "blocked_cycles_max": 1,
            "execution_done": False,
            "review_notes": "Friday",
        }
        assert done_review["actor"] == "mia"
        timer = shop.show(iid)["timers"][0]
        assert timer["due_at"] == (T0 + DAY + timedelta(days=7)).isoformat()
        shop.update_initiative_row(ini["id"], later["id"], {"status": "blocked"}, actor="bob")
        second = review(fresh())  # from the stored state, no cached workflow
        assert second["blocked_rows"] == [stuck["id"], later["id"]]
        assert second["flagged_rows"] == [] and open_ids(shop, iid) == []
        third = review(fresh())
        assert third["flagged_rows"] == [stuck["id"]]
        rows = {r["id"]: r for r in shop.initiative(ini["id"])["rows"]}
        assert (rows[stuck["id"]]["flagged"], rows[stuck["id"]]["blocked_reviews"]) == (True, 3)
        assert (rows[later["id"]]["flagged"], rows[later["id"]]["blocked_reviews"]) == (False, 2)
        [task] = shop.tasks(instance=iid)
        assert (task["element_id"], task["assignee"]) == ("task_re_evaluate_direction", "mia")
        assert third["process"]["re_evaluation_task"] == task["task_id"]
        with shop.db.read() as s:
            [flag] = [
                n for n in notifications.recent(s, "mia") if n["kind"] == "initiative_flagged"
            ]
        assert flag["task_id"] == task["task_id"] and "Pain-point survey" in flag["text"]
        # While the re-evaluation is open, reviews are recorded and the process waits for it.
        fourth = review(shop)
        assert fourth["process"] == {
            "advanced": False,
            "status": "running",
            "open": ["task_re_evaluate_direction"],
        }
        assert fourth["flagged_rows"] == [stuck["id"], later["id"]]
        # Unblocking clears the flag at once; the next review starts the count again.
        unblocked = shop.update_initiative_row(
            ini["id"], stuck["id"], {"status": "in progress"}, actor="alice"
        )
        assert unblocked["flagged"] is False
        review(shop)
        rows = {r["id"]: r for r in shop.initiative(ini["id"])["rows"]}
        assert rows[stuck["id"]]["blocked_reviews"] == 0
        assert len(shop.initiative(ini["id"])["reviews"]) == 5


def test_a_review_completes_the_weekly_review_task_once_the_week_is_over(shop: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ini = new(shop)
        iid = ini["instance_id"]
        to_execution(shop, ini)
        shop.add_initiative_row(ini["id"], {**ROW, "status": "done"}, actor="mia")
        clock.shift(timedelta(days=7, seconds=1))
        assert tick(shop) == {"fired": 1}
        assert open_ids(shop, iid) == ["task_weekly_review"]
        # Every row done: the execution is over and the process moves to the review phase.
        result = shop.record_review(ini["id"], actor="mia")
        assert result["blocked_rows"] == []
        assert result["process"]["open"] == ["task_compare_before_after"]
        assert open_ids(shop, iid) == ["task_compare_before_after"]
        # A process in another phase is left alone; the review is still recorded.
        again = shop.record_review(ini["id"], actor="mia")
        assert again["process"]["advanced"] is False
        assert len(shop.initiative(ini["id"])["reviews"]) == 2


def test_a_review_in_preparation_is_recorded_and_leaves_the_process_alone(
    shop: Service,
) -> None:
    ini = new(shop)
    shop.add_initiative_row(ini["id"], {**ROW, "status": "blocked"}, actor="mia")
    result = shop.record_review(ini["id"], actor="mia")
    assert result["process"]["advanced"] is False
    assert result["process"]["open"] == ["task_locate_core_problem"]
    assert open_ids(shop, ini["instance_id"]) == ["task_locate_core_problem"]


# --- the effect ----------------------------------------------------------------------------


def _history(shop: Service, passes: list[tuple[str, str, str, datetime, datetime]]) -> None:
    """Deals with known passes: (deal, process, element, entered, left) plus the won/lost
    elements they completed, written straight into the tables."""
    with shop.db.write() as s:
        vid = s.scalar(select(DefinitionVersion.id).limit(1))  # any will do: only rows count
        ids: dict[str, int] = {}
        for deal, process, *_rest in passes:
            if deal not in ids:
                inst = Instance(
                    version_id=vid,
                    process_id=process,
                    version_number=1,
                    name=deal,
                    state="{}",
                    data={},
                    visited={},
                    position={},
                    timers=[],
                    created_at=T0,
                )
                s.add(inst)
                s.flush()
                ids[deal] = inst.id
        s.execute(
            insert(History),
            [
                {
                    "instance_id": ids[deal],
                    "at": left,
                    "kind": "cancelled" if element.startswith("~") else "completed",
                    "element_id": element.lstrip("~"),
                    "entered_at": entered,
                }
                for deal, _process, element, entered, left in passes
            ],
        )


def test_the_effect_compares_time_and_conversion_before_and_after(shop: Service) -> None:
    effective = T0 + timedelta(days=30)
    na = "task_needs_analysis"
    d = DAY
    _history(
        shop,
        [
            # Before: 4, 5 and 6 days in needs analysis; one won, one lost, one still open.
            ("b1", "sales_pipeline", na, T0, T0 + 4 * d),
            ("b1", "sales_pipeline", "task_record_win", T0 + 9 * d, T0 + 9 * d),
            ("b2", "sales_pipeline", na, T0, T0 + 5 * d),
            ("b2", "sales_pipeline", "task_record_loss", T0 + 8 * d, T0 + 8 * d),
            ("b3", "sales_pipeline", na, T0 + 23 * d, T0 + 29 * d),
            # Entered before, left after: counts before (it ran the old way).
            ("b4", "sales_pipeline", na, effective - d, effective + 4 * d),
            # After: 2 and 4 days; both won.
            ("a1", "sales_pipeline", na, effective + d, effective + 3 * d),
            ("a1", "sales_pipeline", "task_record_win", effective + 5 * d, effective + 5 * d),
            ("a2", "sales_pipeline", na, effective + 2 * d, effective + 6 * d),
            ("a2", "sales_pipeline", "task_record_win", effective + 7 * d, effective + 7 * d),
            # Not counted: a cancelled stay, another process's element of the same id.
            ("a3", "sales_pipeline", "~" + na, effective + d, effective + 20 * d),
            ("x1", "other_process", na, effective + d, effective + 30 * d),
        ],
    )
    ini = new(shop, effective_at=effective)
    shop.add_initiative_row(ini["id"], {**ROW, "elements": [na, "task_negotiate"]}, actor="mia")
    effect = shop.initiative(ini["id"])["effect"]
    assert effect["effective_at"] == effective.isoformat()
    [needs, negotiate] = effect["elements"]
    assert (needs["element_id"], needs["name"]) == (na, "Needs analysis")
    assert needs["before"] == {
        "passes": 4,
        "deals": 4,
        "mean_seconds": 5.0 * 86400,  # (4 + 5 + 6 + 5) / 4 days
        "min_seconds": 4.0 * 86400,
        "max_seconds": 6.0 * 86400,
        "won": 1,
        "lost": 1,
        "conversion": 0.5,
    }
    assert needs["after"] == {
        "passes": 2,
        "deals": 2,
        "mean_seconds": 3.0 * 86400,
        "min_seconds": 2.0 * 86400,
        "max_seconds": 4.0 * 86400,
        "won": 2,
        "lost": 0,
        "conversion": 1.0,
    }
    assert needs["time_change"] == -0.4 and needs["conversion_change"] == 0.5
    assert negotiate["before"]["passes"] == negotiate["after"]["passes"] == 0
    assert negotiate["time_change"] is None and negotiate["before"]["conversion"] is None


def test_the_effect_reads_the_history_the_engine_writes(shop: Service) -> None:
    na = "task_needs_analysis"
    with time_machine.travel(T0, tick=False) as clock:
        old = shop.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
        drive(shop, old, WON[:2])  # needs analysis is open from T0
        clock.shift(4 * DAY)
        drive(shop, old, WON[2:3])
        clock.shift(DAY)
        ini = new(shop)  # takes effect now: T0 + 5 days
        shop.add_initiative_row(ini["id"], {**ROW, "elements": [na]}, actor="mia")
        clock.shift(DAY)
        fresh_deal = shop.start("sales_pipeline", owner="bob", data=LEAD)["instance_id"]
        drive(shop, fresh_deal, WON[:2])
        clock.shift(timedelta(hours=30))
        drive(shop, fresh_deal, WON[2:3])
    [needs] = shop.initiative(ini["id"])["effect"]["elements"]
    assert (needs["before"]["deals"], needs["before"]["mean_seconds"]) == (1, 4 * 86400.0)
    assert (needs["after"]["deals"], needs["after"]["mean_seconds"]) == (1, 30 * 3600.0)
    assert needs["time_change"] == round(30 / 96 - 1, 4)


# --- the demo ------------------------------------------------------------------------------


def test_the_demo_has_an_initiative_with_a_measurable_effect(service: Service) -> None:
    load_demo(service)
    [summary] = service.initiatives()
    ini = service.initiative(summary["id"])
    assert ini["lead"] == "zhang.wei" and ini["process_id"] == "sales_pipeline"
    assert {r["status"] for r in ini["rows"]} == set(initiatives.ROW_STATUSES)
    assert len(ini["reviews"]) == 1 and ini["reviews"][0]["blocked_rows"]
    # The initiative's process is in its execution loop, waiting for the next review.
    assert [t["element_id"] for t in service.show(ini["instance_id"])["timers"]] == [
        initiatives.WEEK_TIMER
    ]
    needs = next(e for e in ini["effect"]["elements"] if e["element_id"] == "task_needs_analysis")
    before, after = needs["before"], needs["after"]
    assert before["deals"] >= 5 and after["deals"] >= 5
    assert before["mean_seconds"] > 1.5 * after["mean_seconds"] > 86400
    assert before["won"] + before["lost"] > 0 and after["won"] + after["lost"] > 0
    assert needs["time_change"] < -0.3
    with service.db.read() as s:
        assert s.scalar(select(Initiative.created_by)) == "zhang.wei"


def test_a_missing_initiative_process_is_a_conflict(team: Service) -> None:
    team.deploy([PROCESSES / "sales_pipeline.bpmn", *PROCESSES.glob("*.dmn"),
                 *PROCESSES.glob("*.json")])  # fmt: skip
    with pytest.raises(ConflictError):
        new(team)
