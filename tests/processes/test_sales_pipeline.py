"""The shipped processes: every file deploys, and the sales pipeline reaches every branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from engine.core.definitions import parse_sources, read_paths
from engine.errors import ValidationError
from engine.jobs import timers
from engine.usecases.demo import FORMS, NURTURE, WON, complete_step, drive
from engine.usecases.service import Service
from tests.cli_driver import CliDriver
from tests.conftest import LEAD as BASE_LEAD
from tests.conftest import PROCESSES


def tick(team: Service | CliDriver) -> Any:
    """`salesflow tick` for the CLI variant, the worker's timer job for the engine's."""
    return team.tick() if isinstance(team, CliDriver) else timers.tick(team)


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEAD = {**BASE_LEAD, "company": "ACME 上海 <Tools & Co>"}


@pytest.fixture(params=["service", "cli"])
def pipeline(
    request: pytest.FixtureRequest,
    team: Service,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The deployed pipeline, driven through the use cases or through `salesflow --json`."""
    team.deploy([PROCESSES])
    if request.param == "service":
        return team
    monkeypatch.setenv("SALESFLOW_DATABASE_URL", db_url)
    return CliDriver()


def new_deal(service: Any, **data: object) -> str:
    return service.start("sales_pipeline", owner="alice", data={**LEAD, **data})["instance_id"]


def open_ids(service: Any, iid: str) -> set[str]:
    return {t["element_id"] for t in service.tasks(instance=iid)}


def test_every_shipped_file_deploys(team: Service) -> None:
    bundles = {b.process_id: b for b in parse_sources(read_paths([PROCESSES]))}
    assert set(bundles) == {"sales_pipeline", "optimization_initiative"}
    files = set(bundles["sales_pipeline"].files)
    assert {"sales_pipeline.bpmn", "lead_grading.dmn", "needs_analysis.schema.json"} <= files
    # Every file in processes/ belongs to some process version.
    shipped = {p.name for p in PROCESSES.iterdir()}
    assert shipped == set().union(*(b.files for b in bundles.values()))
    deployed = team.deploy([PROCESSES])
    assert {d["process_id"] for d in deployed} == set(bundles)
    assert all(d["changed"] for d in deployed)


def test_lanes_are_the_roles_of_the_domain(pipeline: Any) -> None:
    lanes = {
        ts.lane
        for b in parse_sources(read_paths([PROCESSES]))
        if b.process_id == "sales_pipeline"
        for ts in b.spec.task_specs.values()
        if getattr(ts, "bpmn_id", None)
    }
    assert lanes == {
        "Sales Rep",
        "Sales Manager",
        "Product Expert",
        "Legal",
        "Finance",
        "After-Sales",
        "Marketing",
    }


def test_start_data_is_checked_by_the_lead_form(pipeline: Any) -> None:
    with pytest.raises(ValidationError) as err:
        pipeline.start("sales_pipeline", owner="alice", data={**LEAD, "source_channel": "fax"})
    assert err.value.field == "source_channel"
    assert pipeline.instances() == []


def test_a_grade_lead_goes_to_initial_contact(pipeline: Any) -> None:
    iid = new_deal(pipeline)
    assert open_ids(pipeline, iid) == {"task_qualify_lead"}
    complete_step(pipeline, iid, "task_qualify_lead")
    shown = pipeline.show(iid)
    assert shown["tier"] == "A" and shown["data"]["tier"] == "A"
    assert shown["lead_source"] == "referral"
    assert shown["stage"] == "contact"
    assert open_ids(pipeline, iid) == {"task_initial_contact"}


def test_unqualified_lead_is_nurtured_then_requalified(pipeline: Any) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = new_deal(pipeline)
        drive(pipeline, iid, NURTURE)
        shown = pipeline.show(iid)
        assert shown["tier"] == "C"
        assert shown["tasks"] == []
        assert shown["position"]["timer_wait_30_days"] == "waiting"
        assert shown["next_due_at"] == (T0 + timedelta(days=30)).isoformat()

        clock.shift(timedelta(days=30, seconds=1))
        assert tick(pipeline) == {"fired": 1}
        follow_up = pipeline.tasks(instance=iid)
        assert [t["element_id"] for t in follow_up] == ["task_nurture_follow_up"]
        assert follow_up[0]["lane"] == "Marketing" and follow_up[0]["assignee"] is None
        assert pipeline.tasks(user="mark") == follow_up

        complete_step(pipeline, iid, "task_nurture_follow_up")
        assert open_ids(pipeline, iid) == {"task_qualify_lead"}
        complete_step(pipeline, iid, "task_qualify_lead")  # matured: grade A now
        assert open_ids(pipeline, iid) == {"task_initial_contact"}


def test_three_nurture_rounds_close_the_lead_as_lost(pipeline: Any) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = new_deal(pipeline)
        rounds = 0
        while pipeline.show(iid)["status"] == "running":
            assert rounds < 10, "the nurture loop never ends"
            drive(pipeline, iid, NURTURE)
            if pipeline.show(iid)["status"] != "running":
                break
            clock.shift(timedelta(days=30, seconds=1))
            assert tick(pipeline) == {"fired": 1}
            complete_step(pipeline, iid, "task_nurture_follow_up")
            rounds += 1
        shown = pipeline.show(iid)
        assert rounds == 3
        assert shown["status"] == "completed" and shown["stage"] == "lost"
        assert shown["data"]["lost_reason"] == "not qualified after nurturing"
        assert shown["position"]["end_lead_lost"] == "completed"


def to_quote(service: Any) -> str:
    iid = new_deal(service)
    drive(service, iid, WON[:4])
    assert open_ids(service, iid) == {"task_prepare_quote"}
    return iid


def test_discount_within_five_percent_goes_straight_to_negotiation(pipeline: Any) -> None:
    iid = to_quote(pipeline)
    complete_step(pipeline, iid, "task_prepare_quote", discount_percent=5)
    assert open_ids(pipeline, iid) == {"task_negotiate"}
    assert "task_approve_discount" not in pipeline.show(iid)["position"]


def test_discount_above_five_percent_needs_the_manager(pipeline: Any) -> None:
    iid = to_quote(pipeline)
    complete_step(pipeline, iid, "task_prepare_quote", discount_percent=8)
    approval = pipeline.tasks(instance=iid)
    assert [t["element_id"] for t in approval] == ["task_approve_discount"]
    assert approval[0]["lane"] == "Sales Manager" and approval[0]["assignee"] is None
    complete_step(pipeline, iid, "task_approve_discount", discount_approved=True)
    assert open_ids(pipeline, iid) == {"task_negotiate"}


def test_manager_sends_a_big_discount_back(pipeline: Any) -> None:
    iid = to_quote(pipeline)
    complete_step(pipeline, iid, "task_prepare_quote", discount_percent=12)
    complete_step(
        pipeline,
        iid,
        "task_approve_discount",
        discount_approved=False,
        approval_comment="Keep it within 5%",
    )
    assert open_ids(pipeline, iid) == {"task_prepare_quote"}
    complete_step(pipeline, iid, "task_prepare_quote", discount_percent=4)
    assert open_ids(pipeline, iid) == {"task_negotiate"}
    approvals = [
        h for h in pipeline.show(iid)["history"] if h["element_id"] == "task_approve_discount"
    ]
    assert approvals[0]["actor"] == "mia"
    assert approvals[0]["data"]["discount_approved"] is False


def test_lost_deal_needs_a_reason(pipeline: Any) -> None:
    iid = to_quote(pipeline)
    complete_step(pipeline, iid, "task_prepare_quote")
    with pytest.raises(ValidationError) as err:
        complete_step(pipeline, iid, "task_negotiate", outcome="lost")
    assert err.value.field == "lost_reason"
    assert open_ids(pipeline, iid) == {"task_negotiate"}
    complete_step(pipeline, iid, "task_negotiate", outcome="lost", lost_reason="chose a competitor")
    shown = pipeline.show(iid)
    assert shown["status"] == "completed" and shown["stage"] == "lost"
    assert shown["data"]["lost_reason"] == "chose a competitor"
    assert shown["position"]["end_deal_lost"] == "completed"


def test_contract_needs_legal_and_finance_then_revisit_waits_on_its_timer(
    pipeline: Any,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = new_deal(pipeline)
        drive(pipeline, iid, WON[:6])
        tasks = {t["element_id"]: t for t in pipeline.tasks(instance=iid)}
        assert set(tasks) == {"task_legal_review", "task_confirm_down_payment"}
        assert tasks["task_legal_review"]["lane"] == "Legal"
        assert tasks["task_confirm_down_payment"]["lane"] == "Finance"
        assert pipeline.show(iid)["stage"] == "contract"

        with pytest.raises(ValidationError):
            complete_step(pipeline, iid, "task_legal_review", template_approved=False)
        complete_step(pipeline, iid, "task_legal_review")
        shown = pipeline.show(iid)
        assert open_ids(pipeline, iid) == {"task_confirm_down_payment"}
        assert shown["position"]["gw_contract_join"] != "completed"
        assert shown["stage"] == "contract"

        complete_step(pipeline, iid, "task_confirm_down_payment")
        shown = pipeline.show(iid)
        assert shown["data"]["outcome"] == "won"
        assert shown["position"]["task_record_win"] == "completed"
        assert shown["stage"] == "after_sales"
        revisit = pipeline.tasks(instance=iid)
        assert [t["element_id"] for t in revisit] == ["task_satisfaction_revisit"]
        assert revisit[0]["lane"] == "After-Sales"
        assert shown["position"]["timer_revisit_due"] == "waiting"
        assert shown["timers"][0]["element_id"] == "timer_revisit_due"
        due = datetime.fromisoformat(shown["timers"][0]["due_at"])
        assert due == datetime.now(UTC) + timedelta(days=7)

        clock.move_to(due + timedelta(seconds=1))
        assert tick(pipeline) == {"fired": 1}
        assert open_ids(pipeline, iid) == {"task_satisfaction_revisit", "task_revisit_overdue"}
        complete_step(pipeline, iid, "task_satisfaction_revisit")
        complete_step(pipeline, iid, "task_revisit_overdue")
        shown = pipeline.show(iid)
        assert shown["status"] == "completed"
        assert shown["position"]["end_deal_won"] == "completed"


def test_idle_needs_analysis_escalates_without_interrupting(pipeline: Any) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        iid = new_deal(pipeline)
        drive(pipeline, iid, WON[:2])
        assert open_ids(pipeline, iid) == {"task_needs_analysis"}
        clock.shift(timedelta(days=3, seconds=1))
        assert tick(pipeline) == {"fired": 1}
        tasks = {t["element_id"]: t for t in pipeline.tasks(instance=iid)}
        assert set(tasks) == {"task_needs_analysis", "task_escalate_needs_idle"}
        assert tasks["task_escalate_needs_idle"]["lane"] == "Sales Manager"
        assert pipeline.tasks(user="mia") == [tasks["task_escalate_needs_idle"]]
        # The needs analysis still demands three pain points.
        with pytest.raises(ValidationError) as err:
            complete_step(
                pipeline,
                iid,
                "task_needs_analysis",
                pain_points=FORMS["task_needs_analysis"]["pain_points"][:2],
            )
        assert err.value.field == "pain_points"
        complete_step(pipeline, iid, "task_escalate_needs_idle")
        complete_step(pipeline, iid, "task_needs_analysis")
        assert open_ids(pipeline, iid) == {"task_design_proposal"}


def test_initiative_reevaluates_after_three_blocked_cycles(team: Service) -> None:
    team.deploy([PROCESSES])
    week = timedelta(days=7, seconds=1)
    with time_machine.travel(T0, tick=False) as clock:
        iid = team.start("optimization_initiative", owner="mia")["instance_id"]
        drive(
            team,
            iid,
            [
                (
                    "task_locate_core_problem",
                    {
                        "problem_source": "data",
                        "core_problem": "Needs analysis takes too long",
                        "baseline_metrics": [{"metric": "needs analysis days", "value": 10}],
                        "improvement_goal": "Cut needs-analysis time by 20%",
                    },
                ),
                (
                    "task_map_current_process",
                    {
                        "process_steps": [
                            {
                                "step": "Needs analysis",
                                "owner_role": "Sales Rep",
                                "duration_days": 10,
                            }
                        ]
                    },
                ),
                (
                    "task_form_team",
                    {
                        "initiative_lead": "mia",
                        "team_members": [{"name": "alice", "role": "Sales Rep"}],
                    },
                ),
                (
                    "task_break_goal_into_tasks",
                    {
                        "execution_tasks": [
                            {
                                "stage": "needs",
                                "task": "Pain-point survey",
                                "responsible_role": "Sales Rep",
                                "responsible_person": "alice",
                                "planned_date": "2026-03-05",
                            }
                        ]
                    },
                ),
            ],
        )
        for blocked in (1, 2):
            clock.shift(week)
            assert tick(team) == {"fired": 1}
            complete_step(
                team, iid, "task_weekly_review", blocked_cycles_max=blocked, execution_done=False
            )
            assert team.tasks(instance=iid) == []
        clock.shift(week)
        tick(team)
        complete_step(team, iid, "task_weekly_review", blocked_cycles_max=3, execution_done=False)
        reeval = team.tasks(instance=iid)
        assert [t["element_id"] for t in reeval] == ["task_re_evaluate_direction"]
        assert reeval[0]["assignee"] == "mia"
        complete_step(
            team,
            iid,
            "task_re_evaluate_direction",
            re_evaluation_decision="change_owner",
            re_evaluation_notes="Bob takes it",
        )
        clock.shift(week)
        tick(team)
        complete_step(team, iid, "task_weekly_review", blocked_cycles_max=0, execution_done=True)
        drive(
            team,
            iid,
            [
                (
                    "task_compare_before_after",
                    {
                        "metrics_comparison": [
                            {"metric": "needs analysis days", "before": 10, "after": 7}
                        ],
                        "goal_met": True,
                    },
                ),
                (
                    "task_standardise_and_train",
                    {
                        "new_standard_summary": "Survey template v2",
                        "training_done": True,
                        "people_trained": 12,
                    },
                ),
            ],
        )
        shown = team.show(iid)
        assert shown["status"] == "completed"
        assert shown["data"]["review_cycles"] == 4
