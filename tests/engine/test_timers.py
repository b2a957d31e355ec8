"""Timers: `tick` fires what is due, exactly once, and the deal moves on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from engine.errors import ExpressionError
from engine.jobs.timers import tick
from engine.store.db import Database
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_timers_fire_when_due_and_not_before(team: Service, db_url: str) -> None:
    team.deploy([ENGINE_DATA / "timers.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:
        iid = team.start("timers", owner="alice")["instance_id"]
        shown = team.show(iid)
        assert shown["next_due_at"] == (T0 + timedelta(days=3)).isoformat()
        assert shown["position"]["timer_idle"] == "waiting"
        assert shown["timers"] == [
            {
                "element_id": "timer_idle",
                "name": "Idle 3 days",
                "due_at": (T0 + timedelta(days=3)).isoformat(),
            }
        ]

        clock.shift(timedelta(days=2, hours=23))
        assert tick(team) == {"fired": 0}

        # SpiffWorkflow fires a timer once the time is past its due moment.
        clock.shift(timedelta(hours=1, seconds=1))
        # A second service (another process) sees the same due deal: one fires it.
        other = Service(Database(db_url))
        assert tick(team) == {"fired": 1}
        assert tick(other) == {"fired": 0}
        other.db.dispose()

        tasks = {t["element_id"]: t for t in team.tasks(instance=iid)}
        assert set(tasks) == {"task_call", "task_escalation"}  # the call was not interrupted
        assert tasks["task_escalation"]["assignee"] is None
        assert tasks["task_escalation"]["lane"] == "Sales Manager"
        shown = team.show(iid)
        assert shown["next_due_at"] is None
        fired = [h for h in shown["history"] if h["kind"] == "timer"]
        assert [h["element_id"] for h in fired] == ["timer_idle"]
        assert fired[0]["entered_at"] == T0.isoformat()

        team.complete(tasks["task_call"]["task_id"], user="alice")
        shown = team.show(iid)
        due = T0 + timedelta(days=3, seconds=1) + timedelta(days=7)
        assert shown["position"]["timer_wait"] == "waiting"
        assert shown["next_due_at"] == due.isoformat()
        assert [t["element_id"] for t in shown["tasks"]] == ["task_escalation"]

        clock.move_to(due + timedelta(seconds=1))
        assert tick(team) == {"fired": 1}
        assert tick(team) == {"fired": 0}
        shown = team.show(iid)
        assert {t["element_id"] for t in shown["tasks"]} == {"task_escalation", "task_revisit"}
        assert shown["position"]["timer_wait"] == "completed"


def test_a_failing_timer_expression_is_refused(team: Service, tmp_path: Path) -> None:
    bad = (ENGINE_DATA / "timers.bpmn").read_text().replace('"P7D"', "wait_for")
    (tmp_path / "timers.bpmn").write_text(bad)
    team.deploy([tmp_path / "timers.bpmn"])
    with time_machine.travel(T0, tick=False):
        iid = team.start("timers", owner="alice")["instance_id"]
        call = next(t for t in team.tasks(instance=iid) if t["element_id"] == "task_call")
        # Entering the wait evaluates `wait_for`, which the data lacks: refused, nothing kept.
        with pytest.raises(ExpressionError) as err:
            team.complete(call["task_id"], user="alice")
        assert "timer_wait" in str(err.value) and "wait_for" in str(err.value)
        assert team.show(iid)["position"]["task_call"] == "ready"


def test_a_failure_after_a_timer_puts_that_deal_in_error_and_no_other(
    team: Service, tmp_path: Path
) -> None:
    # After the 7-day wait the revisit's lane is fine, but a script reads a missing value.
    text = (ENGINE_DATA / "timers.bpmn").read_text()
    text = text.replace(
        '<bpmn:userTask id="task_revisit" name="Revisit">',
        '<bpmn:scriptTask id="script_score" name="Score">\n'
        "      <bpmn:incoming>flow_waited</bpmn:incoming>\n"
        "      <bpmn:outgoing>flow_scored</bpmn:outgoing>\n"
        "      <bpmn:script>score = visits * 2</bpmn:script>\n"
        "    </bpmn:scriptTask>\n"
        '    <bpmn:userTask id="task_revisit" name="Revisit">',
    )
    text = text.replace(
        "<bpmn:incoming>flow_waited</bpmn:incoming>\n      <bpmn:outgoing>flow_end",
        "<bpmn:incoming>flow_scored</bpmn:incoming>\n      <bpmn:outgoing>flow_end",
    )
    text = text.replace(
        '<bpmn:sequenceFlow id="flow_waited" sourceRef="timer_wait" targetRef="task_revisit"/>',
        '<bpmn:sequenceFlow id="flow_waited" sourceRef="timer_wait" targetRef="script_score"/>\n'
        '    <bpmn:sequenceFlow id="flow_scored" sourceRef="script_score"'
        ' targetRef="task_revisit"/>',
    )
    (tmp_path / "timers.bpmn").write_text(text)
    team.deploy([tmp_path / "timers.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:
        broken = team.start("timers", owner="alice", data={})["instance_id"]
        fine = team.start("timers", owner="alice", data={"visits": 3})["instance_id"]
        for iid in (broken, fine):
            call = next(t for t in team.tasks(instance=iid) if t["element_id"] == "task_call")
            team.complete(call["task_id"], user="alice")
        clock.shift(timedelta(days=7, seconds=1))
        assert tick(team) == {"fired": 2}

        shown = team.show(broken)
        assert shown["status"] == "error"
        assert shown["error"]["element_id"] == "script_score"
        assert "visits" in shown["error"]["message"]
        assert shown["position"]["script_score"] == "error"
        assert shown["position"]["timer_wait"] == "completed"  # nothing done before is lost
        errors = [h for h in shown["history"] if h["kind"] == "error"]
        assert [h["element_id"] for h in errors] == ["script_score"]
        assert shown["next_due_at"] is None
        assert tick(team) == {"fired": 0}  # an errored deal is not picked up again

        assert team.show(fine)["status"] == "running"
        assert team.show(fine)["data"]["score"] == 6


def test_the_timer_branch_of_an_event_based_gateway_is_due_and_fires(team: Service) -> None:
    team.deploy([ENGINE_DATA / "messages.bpmn"])
    with time_machine.travel(T0, tick=False) as clock:
        iid = team.start("messages", owner="alice", data={"company": "ACME"})["instance_id"]
        for element_id in ("task_prepare",):
            [task] = [t for t in team.tasks(instance=iid) if t["element_id"] == element_id]
            team.complete(task["task_id"], user="alice")
        team.deliver_message("contract_signed", instance_id=iid)
        [task] = team.tasks(instance=iid)
        team.complete(task["task_id"], user="alice")
        shown = team.show(iid)
        assert shown["position"]["gw_payment"] == "waiting"
        # The gateway waits for a payment or 30 days, whichever comes first.
        due = T0 + timedelta(days=30)
        assert shown["next_due_at"] == due.isoformat()
        assert [t["due_at"] for t in shown["timers"]] == [due.isoformat()]

        clock.move_to(due + timedelta(seconds=1))
        assert tick(team) == {"fired": 1}
        assert [t["element_id"] for t in team.tasks(instance=iid)] == ["task_chase"]
        assert team.show(iid)["next_due_at"] is None
