"""What charts are drawn from: a version's graph, a deal's view, a heatmap over deals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.errors import NotFoundError
from engine.usecases.demo import WON, complete_step, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def deal(service: Service, **data: object) -> str:
    return service.start("sales_pipeline", owner="alice", data={**LEAD, **data})["instance_id"]


def test_definition_chart_is_the_versions_bpmn(pipeline: Service) -> None:
    graph, key = pipeline.definition_chart("sales_pipeline")
    assert graph.has_di
    assert graph.file == "sales_pipeline.bpmn"
    ids = {n.id for n in graph.nodes}
    assert {"task_needs_analysis", "gw_discount_ok", "timer_revisit_due"} <= ids
    assert key.endswith(":sales_pipeline")
    assert pipeline.definition_chart("sales_pipeline", 1)[1] == key
    with pytest.raises(NotFoundError):
        pipeline.definition_chart("sales_pipeline", 7)


def test_instance_view_in_the_parallel_contract_branch(pipeline: Service) -> None:
    iid = deal(pipeline)
    drive(pipeline, iid, WON[:7])  # legal review done, down payment still open
    graph, view, _ = pipeline.instance_chart(iid)
    assert view.deal == "ACME" and view.owner == "alice" and view.stage == "contract"
    assert view.states["task_legal_review"] == "completed"
    assert view.states["task_confirm_down_payment"] == "ready"
    assert view.states.get("gw_contract_join") != "completed"
    # alice owns the deal but is no finance person: the task waits in Finance's queue.
    assert view.assignees == {"task_confirm_down_payment": "queue: Finance"}
    assert {n.id for n in graph.nodes} >= set(view.states)


def test_instance_view_shows_queues_timers_and_loop_backs(pipeline: Service) -> None:
    with time_machine.travel(T0, tick=False):
        iid = deal(pipeline)
        drive(pipeline, iid, WON[:4])
        complete_step(pipeline, iid, "task_prepare_quote", discount_percent=9)
        _, view, _ = pipeline.instance_chart(iid)
        assert view.assignees == {"task_approve_discount": "queue: Sales Manager"}
        complete_step(
            pipeline, iid, "task_approve_discount", discount_approved=False, approval_comment="no"
        )
        _, view, _ = pipeline.instance_chart(iid)
        # Back in the quote after the loop: the approval is done, the quote is open again.
        assert view.states["task_approve_discount"] == "completed"
        assert view.states["task_prepare_quote"] == "ready"
        assert view.states["task_needs_analysis"] == "completed"
        assert view.states["timer_needs_idle"] == "cancelled"
        assert "task_negotiate" not in view.states

        won = deal(pipeline)
        drive(pipeline, won, WON)
        _, view, _ = pipeline.instance_chart(won)
        assert view.states["timer_revisit_due"] == "waiting"
        assert view.due["timer_revisit_due"] == "2026-03-09 09:00 UTC"
        assert view.assignees == {"task_satisfaction_revisit": "queue: After-Sales"}


def test_heat_counts_deals_here_and_median_stay(pipeline: Service) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        a, b, _ = deal(pipeline), deal(pipeline), deal(pipeline)
        clock.shift(timedelta(hours=2))
        complete_step(pipeline, a, "task_qualify_lead")
        clock.shift(timedelta(hours=2))
        complete_step(pipeline, b, "task_qualify_lead")
        heat = pipeline.heat("sales_pipeline")
    assert heat.deals == 3
    assert heat.here_now == {"task_qualify_lead": 1, "task_initial_contact": 2}
    # a waited 2 h at "Qualify lead", b 4 h: the median is 3 h.
    assert heat.median_seconds["task_qualify_lead"] == 3 * 3600
    assert "task_initial_contact" not in heat.median_seconds  # nobody has left it yet
    assert pipeline.heat("sales_pipeline", 1).deals == 3
    with pytest.raises(NotFoundError):
        pipeline.heat("no_such_process")


def test_a_deal_read_for_its_page_gives_the_same_chart(pipeline: Service) -> None:
    """The deal page draws from `show`'s record (deal_chart), the API and the CLI from the
    rows (instance_chart): the same graph, view and layout key at every step."""
    with time_machine.travel(T0, tick=False):
        iid = deal(pipeline)
        for step in range(len(WON) + 1):
            if step:
                drive(pipeline, iid, WON[step - 1 : step])
            by_rows = pipeline.instance_chart(iid)
            by_record = pipeline.deal_chart(pipeline.show(iid))
            assert by_record[0] is by_rows[0], step  # one parsed graph per version
            assert by_record[1:] == by_rows[1:], step
        assert by_rows[1].due  # the revisit timer's due time came along
