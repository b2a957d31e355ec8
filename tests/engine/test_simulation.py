"""What-if simulation (engine.core.simulation, engine.usecases.simulation) on generated
histories whose truth is known: a process whose needs analysis takes 5 days, won 70% of the
time, and a draft that adds a 2-day approval.  The history is made the way a team makes it:
deals started and their tasks completed through the engine, in moved time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.core import simulation as sim
from engine.core.calendar import BusinessHours, Calendar
from engine.core.graph import graph_from_xml
from engine.errors import DefinitionError, ForbiddenError, NotFoundError, ValidationError
from engine.usecases.service import Service
from tests.conftest import PROCESSES

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(weeks=40)
NEEDS_DAYS = 5.0
APPROVAL_DAYS = 2.0
WIN_SHARE = 0.7
# Tolerances, stated: a cycle time within half a day of the truth, a change of the median
# cycle within 0.3 days of the change made, won counts within 15%.
CYCLE_TOLERANCE = 0.5
SHIFT_TOLERANCE = 0.3
WON_TOLERANCE = 0.15


def trial_bpmn(*, approval: str | None = None, extra: str = "") -> str:
    """The trial process: needs analysis (Sales Rep), then won or lost; with `approval`
    (an ISO duration) a manager's approval step, as the designer would add it."""
    approve_ref = "<bpmn:flowNodeRef>task_approve</bpmn:flowNodeRef>" if approval else ""
    after_needs = "task_approve" if approval else "gw_outcome"
    approve = (
        f"""
    <bpmn:userTask id="task_approve" name="Approve">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="duration" value="{approval}"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_approved" sourceRef="task_approve" targetRef="gw_outcome"/>"""
        if approval
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_trial" targetNamespace="http://salesflow.example/test">
  <bpmn:process id="trial" name="Trial" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_rep" name="Sales Rep">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>task_needs</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>gw_outcome</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>task_record_win</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_won</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_lost</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_manager" name="Sales Manager">{approve_ref}</bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="task_needs" name="Needs analysis">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="stage" value="needs"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw_outcome" name="Won?" default="flow_lost"/>
    <bpmn:scriptTask id="task_record_win" name="Record win">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="stage" value="won"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:script>recorded = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end_won"/>
    <bpmn:endEvent id="end_lost"/>{approve}
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="task_needs"/>
    <bpmn:sequenceFlow id="flow_needs" sourceRef="task_needs" targetRef="{after_needs}"/>
    <bpmn:sequenceFlow id="flow_won" sourceRef="gw_outcome" targetRef="task_record_win">
      <bpmn:conditionExpression>won == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_lost" sourceRef="gw_outcome" targetRef="end_lost"/>
    <bpmn:sequenceFlow id="flow_win_end" sourceRef="task_record_win" targetRef="end_won"/>{extra}
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture(scope="module")
def history_plan() -> list[tuple[datetime, bool, str]]:
    """~3 deals a week for 36 weeks: when each starts, whether it is won, whose it is."""
    rng = random.Random(17)
    plan, at = [], T0
    while at < T0 + timedelta(weeks=36):
        at += timedelta(days=rng.expovariate(3 / 7))
        plan.append((at, rng.random() < WIN_SHARE, rng.choice(("alice", "bob"))))
    return plan


@pytest.fixture
def trial(team: Service, history_plan: list[tuple[datetime, bool, str]]) -> Service:
    """The team with the trial process and its history: every needs analysis took 5 days."""
    team.add_user("dee", ["designer"])
    with time_machine.travel(T0 - timedelta(days=1), tick=False) as traveller:
        team.deploy_sources({"trial.bpmn": trial_bpmn()})
        events = [(start, 0, n) for n, (start, _won, _o) in enumerate(history_plan)]
        events += [(start + timedelta(days=NEEDS_DAYS), 1, n)
                   for n, (start, _w, _o) in enumerate(history_plan)]  # fmt: skip
        deals: dict[int, str] = {}
        for at, kind, n in sorted(events):
            if at > NOW:
                continue
            traveller.move_to(at)
            _start, won, owner = history_plan[n]
            if kind == 0:
                deals[n] = team.start("trial", owner=owner, actor=owner)["instance_id"]
            else:
                (task,) = team.tasks(instance=deals[n])
                team.complete(task["task_id"], user=owner, data={"won": won})
    return team


def run(service: Service, **kw: object) -> dict:
    with time_machine.travel(NOW, tick=False):
        return service.simulate("trial", actor="mia", **kw)  # type: ignore[arg-type]


def test_the_current_version_reproduces_the_known_truth(trial: Service) -> None:
    result = run(trial, weeks=52, seed=3)
    current = result["current"]
    assert current["cycle_days"]["p50"] == pytest.approx(NEEDS_DAYS, abs=CYCLE_TOLERANCE)
    # ~3 deals a week, 70% won: ~9.1 a month.
    expected_per_month = 3 * 365.25 / 12 / 7 * WIN_SHARE
    assert current["won_per_month"] == pytest.approx(expected_per_month, rel=WON_TOLERANCE)
    needs = next(t for t in current["tasks"] if t["element_id"] == "task_needs")
    assert needs["work_days_p50"] == pytest.approx(NEEDS_DAYS, abs=0.01)
    assert needs["source"] == "history"
    assert needs["role"] == "Sales Rep"
    rep = next(r for r in current["roles"] if r["role"] == "Sales Rep")
    assert rep["people"] == 2 and 0 < rep["utilisation"] < 1
    assert result["draft"] is None
    assert result["history"]["arrivals_per_week"] == pytest.approx(3, rel=0.2)


def test_a_draft_adding_a_two_day_approval_moves_the_cycle_by_two_days(trial: Service) -> None:
    with time_machine.travel(NOW, tick=False):
        trial.save_draft_definition(
            "trial", {"trial.bpmn": trial_bpmn(approval="P2D")}, actor="dee", base_version=1
        )
    result = run(trial, draft=True, weeks=52, seed=3)
    before, after = result["current"], result["draft"]
    shift = after["cycle_days"]["p50"] - before["cycle_days"]["p50"]
    assert shift == pytest.approx(APPROVAL_DAYS, abs=SHIFT_TOLERANCE)
    approve = next(t for t in after["tasks"] if t["element_id"] == "task_approve")
    assert approve["source"] == "designer"
    assert approve["work_days_p50"] == pytest.approx(APPROVAL_DAYS)
    assert approve["role"] == "Sales Manager"
    assert result["change"]["kind"] == "draft" and result["change"]["saved_by"] == "dee"
    # The draft's chart gets a heat: deals at the approval on an average day (~3 a week for
    # two days: under one, rounded) and its median stay.
    assert after["heat"]["median_seconds"]["task_approve"] == pytest.approx(2 * 86400, rel=0.05)
    assert "task_approve" not in before["heat"]["median_seconds"]


def test_the_same_seed_gives_the_same_answer(trial: Service) -> None:
    first = run(trial, weeks=26, seed=11)
    again = run(trial, weeks=26, seed=11)
    other = run(trial, weeks=26, seed=12)
    assert first == again
    assert first != other  # another seed, other deals


def test_validation_states_how_far_to_trust_it(trial: Service) -> None:
    validation = run(trial, weeks=52)["current"]["validation"]
    assert validation["comparable"] is True
    assert validation["actual"]["cycle_days_p50"] == pytest.approx(NEEDS_DAYS, abs=0.01)
    assert validation["simulated"]["cycle_days_p50"] == pytest.approx(NEEDS_DAYS, abs=0.5)
    # The period's deals replayed as they arrived: the win count follows the real one.
    actual_won = validation["actual"]["won"]
    assert abs(validation["simulated"]["won"] - actual_won) <= max(3, 0.25 * actual_won)
    assert validation["within"] is True
    assert validation["tolerance"]["relative"] == 0.25
    assert validation["period"]["deals"] > 90


def test_an_initiative_simulates_its_tasks_faster(trial: Service) -> None:
    with time_machine.travel(NOW, tick=False):
        trial.deploy([PROCESSES])  # the initiative process
        ini = trial.create_initiative(
            name="Faster needs analysis", actor="mia", lead="mia", process_id="trial"
        )
        trial.add_initiative_row(
            ini["id"], {"task": "cut needs analysis by 20%", "owner": "alice",
                        "elements": ["task_needs"]}, actor="mia",
        )  # fmt: skip
    result = run(trial, initiative=ini["id"], faster=20, weeks=52, seed=3)
    assert result["change"]["kind"] == "initiative"
    assert result["change"]["initiative"]["elements"] == ["task_needs"]
    shift = result["current"]["cycle_days"]["p50"] - result["draft"]["cycle_days"]["p50"]
    assert shift == pytest.approx(0.2 * NEEDS_DAYS, abs=SHIFT_TOLERANCE)


def test_who_may_simulate(trial: Service) -> None:
    with pytest.raises(ForbiddenError):
        trial.simulate("trial", actor="alice")
    assert run(trial, weeks=4)["current"] is not None  # mia, a manager
    with time_machine.travel(NOW, tick=False):
        assert trial.simulate("trial", actor="dee", weeks=4)["draft"] is None  # a designer
        assert trial.simulate("trial", actor=None, weeks=4)["current"]  # the command line


def test_bad_requests_are_refused_with_the_field_named(trial: Service) -> None:
    for kw, field in (({"weeks": 0}, "weeks"), ({"weeks": 10_000}, "weeks"),
                      ({"seed": -1}, "seed"), ({"faster": 95}, "faster")):  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            run(trial, **kw)
        assert caught.value.to_dict()["field"] == field
    with pytest.raises(NotFoundError, match="no draft"):
        run(trial, draft=True)
    with pytest.raises(NotFoundError):
        trial.simulate("no_such_process", actor="mia")


def test_a_draft_with_a_bad_duration_is_refused_with_its_element(trial: Service) -> None:
    with time_machine.travel(NOW, tick=False):
        trial.save_draft_definition(
            "trial", {"trial.bpmn": trial_bpmn(approval="soon")}, actor="dee", base_version=1
        )
    with pytest.raises(ValidationError) as caught:
        run(trial, draft=True)
    assert caught.value.to_dict()["field"] == "draft"
    assert "task_approve" in str(caught.value) and "trial.bpmn" in str(caught.value)


# --- the pure model ------------------------------------------------------------------------


def test_a_designer_duration_that_is_not_iso_names_the_element() -> None:
    with pytest.raises(DefinitionError) as caught:
        sim.hints_from_xml(trial_bpmn(approval="two days"), Calendar(), file="trial.bpmn")
    assert caught.value.element_id == "task_approve"
    assert caught.value.file == "trial.bpmn" and caught.value.line


def test_working_days_count_on_the_team_calendar() -> None:
    weekdays = Calendar(hours=BusinessHours.parse(range(5), "09:00", "18:00"))
    hints = sim.hints_from_xml(trial_bpmn(approval="P2D"), weekdays)
    assert hints.durations["task_approve"] == pytest.approx(2 * 7 / 5)
    assert sim.hints_from_xml(trial_bpmn(approval="PT9H"), weekdays).durations[
        "task_approve"
    ] == pytest.approx(7 / 5)


def fitted(**kw: object) -> sim.Fitted:
    base: dict[str, object] = {
        "arrivals_per_week": 10.0,
        "durations": {"task_needs": (4.0, 5.0, 6.0)},
        "branches": {"flow_won": 7, "flow_lost": 3},
        "people": {"sales rep": 2, "sales manager": 1},
        "slots": {"sales rep": 50},
        "won": frozenset({"task_record_win"}),
    }
    return sim.Fitted(**{**base, **kw})  # type: ignore[arg-type]


def test_branch_frequencies_and_a_designer_probability() -> None:
    graph = graph_from_xml(trial_bpmn())
    out = sim.summarise(sim.simulate(graph, "trial", fitted(), days=364, seed=5))
    assert out["won"] / out["deals"] == pytest.approx(0.7, abs=0.05)
    # The designer says the new way is taken 10% of the time: it overrides history.
    hints = sim.Hints(probabilities={"flow_won": 10.0, "flow_lost": 90.0})
    few = sim.summarise(sim.simulate(graph, "trial", fitted(), days=364, seed=5, hints=hints))
    assert few["won"] / few["deals"] == pytest.approx(0.1, abs=0.04)


def test_too_few_people_make_a_queue_and_name_the_bottleneck() -> None:
    graph = graph_from_xml(trial_bpmn())
    # 10 deals a week, 5 days each: ~7 in hand at once; two reps with 2 slots each cannot.
    tight = sim.summarise(
        sim.simulate(graph, "trial", fitted(slots={"sales rep": 2}), days=182, seed=5)
    )
    assert tight["bottleneck"]["element_id"] == "task_needs"
    assert tight["bottleneck"]["reason"] == "queue"
    rep = tight["roles"][0]
    assert rep["utilisation"] > 0.95 and rep["wait_days_p50"] > 5
    roomy = sim.summarise(sim.simulate(graph, "trial", fitted(), days=182, seed=5))
    assert roomy["roles"][0]["wait_days_p50"] == 0
    assert roomy["bottleneck"]["reason"] == "time"


def test_a_loop_that_never_ends_is_cut() -> None:
    loop = '<bpmn:sequenceFlow id="flow_again" sourceRef="gw_outcome" targetRef="task_needs"/>'
    graph = graph_from_xml(trial_bpmn(extra=loop))
    figures = fitted(branches={"flow_again": 1}, durations={"task_needs": (0.0,)})
    outcome = sim.simulate(graph, "trial", figures, days=7, seed=1)
    assert outcome.records.cut == len(outcome.records.deals) > 0


def test_too_many_deals_are_refused() -> None:
    graph = graph_from_xml(trial_bpmn())
    with pytest.raises(ValidationError, match="fewer weeks"):
        sim.simulate(graph, "trial", fitted(arrivals_per_week=5_000), days=364)
