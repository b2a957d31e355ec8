"""A deal's timeline in business words (engine.core.timeline, Service.deal_timeline): the
shipped sales pipeline run through the use cases, its history folded the way people selling
read it, for those who may see the deal, in their language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.core.timeline import TimelineEntry
from engine.errors import NotFoundError
from engine.jobs.timers import tick
from engine.usecases.demo import BIG_DISCOUNT, LOST, WON, complete_step, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Every gateway of the sales pipeline, as the designer named it.
GATEWAYS = (
    "Qualify (again)",
    "Qualified?",
    "Rounds left?",
    "Quote (again)",
    "Discount above 5%?",
    "Approved?",
    "Quote ready",
    "Outcome?",
    "Start contract checks",
    "Both checks done",
)


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def sent_back_and_won(service: Service) -> str:
    """A deal whose 8% discount the manager sends back, re-quoted at 5% and won."""
    iid = str(
        service.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    )
    drive(service, iid, BIG_DISCOUNT[:5])
    complete_step(
        service,
        iid,
        "task_approve_discount",
        discount_approved=False,
        approval_comment="price too low",
    )
    complete_step(service, iid, "task_prepare_quote", discount_percent=5)
    service.comment(iid, user="alice", text="Customer agrees to 5%")
    drive(service, iid, [*WON[5:], ("task_satisfaction_revisit", {})])
    return iid


def kinds(timeline: list[TimelineEntry]) -> list[tuple[str, str | None]]:
    return [(e["kind"], e["name"]) for e in timeline]


def test_a_won_deal_reads_as_steps_decisions_and_a_send_back(pipeline: Service) -> None:
    iid = sent_back_and_won(pipeline)
    timeline = pipeline.deal_timeline(iid, "alice", "en")
    # Newest first, one line per thing a person did, and the end.
    assert list(reversed(kinds(timeline))) == [
        ("started", None),
        ("decision", "Qualify lead"),
        ("step", "Initial contact"),
        ("step", "Needs analysis"),
        ("step", "Design proposal"),
        ("decision", "Prepare quote"),
        ("sent_back", "Approve discount"),
        ("decision", "Prepare quote"),
        ("comment", None),
        ("decision", "Negotiate"),
        ("step", "Legal review of contract"),
        ("step", "Confirm down payment"),
        ("step", "Satisfaction revisit"),
        ("won", "Deal won and serviced"),
    ]
    # No gateway shows on its own or by name; their decisions are the steps' outcomes.
    shown = [e["name"] for e in timeline]
    assert not any(g in shown for g in GATEWAYS)
    assert not any(e["element_id"] and e["element_id"].startswith("gw_") for e in timeline)
    by_step = {(e["name"], tuple(e["outcomes"])) for e in timeline if e["kind"] == "decision"}
    assert ("Qualify lead", ("tier A or B",)) in by_step
    assert ("Prepare quote", ("discount > 5%",)) in by_step
    assert ("Prepare quote", ("discount ≤ 5%",)) in by_step
    assert ("Negotiate", ("won",)) in by_step
    qualify = next(e for e in timeline if e["name"] == "Qualify lead")
    assert qualify["outputs"]["tier"] == "A"  # the decision table folded into the step
    assert [r["element_id"] for r in qualify["folded"]] == [
        "task_qualify_lead",
        "task_grade_lead",
        "gw_qualified",
    ]
    # The send-back: who, why, and the step the work went back to.
    back = next(e for e in timeline if e["kind"] == "sent_back")
    assert back["actor"] == "mia" and back["comment"] == "price too low"
    assert back["target"] == "Prepare quote" and back["outcomes"] == ["sent back"]
    assert back["data"] == {"discount_approved": False, "approval_comment": "price too low"}
    comment = next(e for e in timeline if e["kind"] == "comment")
    assert (comment["actor"], comment["comment"]) == ("alice", "Customer agrees to 5%")


def test_timers_cancelled_because_the_task_was_done_are_hidden(pipeline: Service) -> None:
    iid = sent_back_and_won(pipeline)
    raw = pipeline.show(iid)["history"]
    cancelled = {h["element_id"] for h in raw if h["kind"] == "cancelled"}
    assert {"timer_needs_idle", "timer_revisit_due"} <= cancelled  # the engine's log has them
    timeline = pipeline.deal_timeline(iid, "alice")
    assert not any(e["element_id"] in cancelled for e in timeline)
    assert not any(e["kind"] in ("cancelled", "task_cancelled", "reminder") for e in timeline)
    # They are still there, under the step that made them pointless.
    needs = next(e for e in timeline if e["name"] == "Needs analysis")
    assert [(r["kind"], r["element_id"]) for r in needs["folded"]] == [
        ("completed", "task_needs_analysis"),
        ("cancelled", "timer_needs_idle"),
    ]
    # Nothing of the raw history is lost: every row is in exactly one entry.
    assert sum(len(e["folded"]) for e in timeline) == len(raw)


def test_the_timeline_is_in_the_readers_language(pipeline: Service) -> None:
    iid = sent_back_and_won(pipeline)
    timeline = pipeline.deal_timeline(iid, "mia", "zh")
    back = next(e for e in timeline if e["kind"] == "sent_back")
    assert (back["name"], back["target"], back["outcomes"]) == ("折扣审批", "报价", ["退回"])
    assert back["comment"] == "price too low"  # what the manager wrote stays as written
    qualify = next(e for e in timeline if e["element_id"] == "task_qualify_lead")
    assert qualify["name"] == "线索资格审查" and qualify["outcomes"] == ["A 类或 B 类"]


def test_an_approval_keeps_its_comment_and_goes_on(pipeline: Service) -> None:
    iid = str(
        pipeline.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    )
    drive(pipeline, iid, BIG_DISCOUNT[:6])  # approved: "Strategic account"
    approval = next(
        e
        for e in pipeline.deal_timeline(iid, "alice")
        if e["element_id"] == "task_approve_discount"
    )
    assert approval["kind"] == "decision" and approval["outcomes"] == ["approved"]
    assert approval["comment"] == "Strategic account" and approval["target"] is None


def test_a_deal_lost_in_negotiation_is_closed(pipeline: Service) -> None:
    iid = str(
        pipeline.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    )
    drive(pipeline, iid, LOST)
    timeline = pipeline.deal_timeline(iid, "alice")
    assert timeline[0]["kind"] == "closed"
    assert (timeline[1]["name"], timeline[1]["outcomes"]) == ("Negotiate", ["lost"])


def test_marked_lost_folds_the_cancelled_task_into_it(pipeline: Service) -> None:
    iid = str(
        pipeline.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
    )
    drive(pipeline, iid, WON[:2])
    reason = pipeline.lost_reasons("sales_pipeline")[0]["value"]
    pipeline.mark_lost(iid, user="mia", reason=reason)
    timeline = pipeline.deal_timeline(iid, "alice")
    lost = timeline[0]
    assert (lost["kind"], lost["actor"], lost["data"]["reason"]) == ("lost", "mia", reason)
    folded = {(r["kind"], r["element_id"]) for r in lost["folded"]}
    assert ("cancelled", "task_needs_analysis") in folded
    assert not any(e["kind"] == "task_cancelled" for e in timeline)


def test_a_timer_that_fires_is_a_reminder_and_its_branch_ends_quietly(pipeline: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = str(
            pipeline.start("sales_pipeline", owner="alice", actor="alice", data=LEAD)["instance_id"]
        )
        drive(pipeline, iid, WON[:2])
        clock.shift(timedelta(days=10))
        assert tick(pipeline) == {"fired": 1}
        complete_step(pipeline, iid, "task_escalate_needs_idle")
        timeline = pipeline.deal_timeline(iid, "mia")
    assert kinds(timeline)[:2] == [
        ("step", "Escalation: needs analysis idle"),
        ("reminder", "Idle 3 days"),
    ]
    # The escalation's own end event is no end of the deal.
    assert not any(e["kind"] in ("won", "closed", "finished") for e in timeline)
    assert "end_escalation_handled" in {r["element_id"] for r in timeline[0]["folded"]}


def test_only_those_who_may_see_the_deal_read_its_timeline(pipeline: Service) -> None:
    iid = sent_back_and_won(pipeline)
    assert pipeline.deal_timeline(iid, "mia")  # a manager sees every deal
    with pytest.raises(NotFoundError) as hidden:
        pipeline.deal_timeline(iid, "bob")  # another rep's deal
    with pytest.raises(NotFoundError) as missing:
        pipeline.deal_timeline("99999", "bob")
    assert str(hidden.value) == f"no deal with id '{iid}'"
    assert str(missing.value) == "no deal with id '99999'"
    with pytest.raises(NotFoundError):
        pipeline.deal_timeline("abc", "mia")
    with pytest.raises(NotFoundError):
        pipeline.deal_timeline(iid, "nobody")
