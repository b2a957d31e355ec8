"""Sales-pipeline deals at several positions: the SVG marks exactly the right elements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

import diagrams
from engine.core.graph import STATES
from engine.usecases.demo import WON, complete_step, drive
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES
from tests.diagrams.svg import classes, groups, parse

START = {"start_lead_received", "task_prepare_deal", "gw_requalify_merge", "task_qualify_lead",
         "task_grade_lead", "gw_qualified"}  # fmt: skip
TO_PROPOSAL = START | {"task_initial_contact", "task_needs_analysis", "task_design_proposal"}


@pytest.fixture
def pipeline(team: Service) -> Service:
    team.deploy([PROCESSES])
    return team


def states(service: Service, iid: str) -> dict[str, set[str]]:
    """state -> the BPMN elements whose SVG group carries it (flows left out)."""
    graph, view, key = service.instance_chart(iid)
    svg = groups(parse(diagrams.render_instance(graph, view, "svg", cache_key=key)))
    nodes = {n.id for n in graph.nodes}
    found: dict[str, set[str]] = {state: set() for state in STATES}
    for element_id in nodes:
        marks = [
            c.removeprefix("state-") for c in classes(svg[element_id]) if c.startswith("state-")
        ]
        assert len(marks) == 1, (element_id, marks)
        found[marks[0]].add(element_id)
    return found


def test_parallel_contract_branch(pipeline: Service) -> None:
    iid = pipeline.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    drive(pipeline, iid, WON[:7])  # legal done, payment open
    found = states(pipeline, iid)
    assert found["ready"] == {"task_confirm_down_payment"}
    assert found["waiting"] == {"gw_contract_join"}  # the legal branch's token waits here
    assert found["completed"] == TO_PROPOSAL | {
        "gw_quote_merge", "task_prepare_quote", "gw_discount_ok", "gw_negotiate_merge",
        "task_negotiate", "gw_outcome", "gw_contract_split", "task_legal_review",
    }  # fmt: skip
    assert found["cancelled"] == {"timer_needs_idle"}
    assert found["error"] == set()
    assert "task_satisfaction_revisit" in found["not-reached"]


def test_won_deal_waits_on_the_revisit_timer(pipeline: Service) -> None:
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        iid = pipeline.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
        drive(pipeline, iid, WON)
        found = states(pipeline, iid)
    assert found["ready"] == {"task_satisfaction_revisit"}
    assert found["waiting"] == {"timer_revisit_due"}
    assert {"gw_contract_join", "task_record_win", "task_confirm_down_payment"} <= found[
        "completed"
    ]
    assert {"task_revisit_overdue", "end_deal_won", "task_record_loss"} <= found["not-reached"]


def test_after_a_loop_back_the_quote_is_open_again(pipeline: Service) -> None:
    iid = pipeline.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    drive(pipeline, iid, WON[:4])
    complete_step(pipeline, iid, "task_prepare_quote", discount_percent=9)
    complete_step(
        pipeline, iid, "task_approve_discount", discount_approved=False, approval_comment="no"
    )
    found = states(pipeline, iid)
    assert found["ready"] == {"task_prepare_quote"}
    assert found["waiting"] == set()
    assert found["completed"] == TO_PROPOSAL | {
        "gw_quote_merge", "gw_discount_ok", "task_approve_discount", "gw_discount_approved",
    }  # fmt: skip
    assert found["cancelled"] == {"timer_needs_idle"}
    assert {"task_negotiate", "gw_negotiate_merge"} <= found["not-reached"]
