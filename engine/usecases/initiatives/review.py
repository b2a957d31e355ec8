"""The weekly review's two halves: counting the blocked rows (and flagging those blocked at
three consecutive reviews), and driving the initiative's process with what was found, through
the unit of work like any other change of a deal (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from engine.core import runtime
from engine.core.definitions import form_name
from engine.core.failures import engine_steps
from engine.core.forms import check_data
from engine.core.initiatives import BLOCKED_LIMIT, REEVALUATE_TASK, REVIEW_TASK, WEEK_TIMER
from engine.store import drafts
from engine.store.models import Initiative, InitiativeRow, Instance
from engine.usecases.unit import UnitOfWork


def count_blocked(rows: Sequence[InitiativeRow]) -> tuple[list[int], list[InitiativeRow]]:
    """Every blocked row counts one more consecutive blocked review, every other row starts
    again from none.  The ids of the blocked rows, and the rows flagged by this review."""
    blocked, newly_flagged = [], []
    for row in rows:
        if row.status == "blocked":
            row.blocked_reviews += 1
            blocked.append(row.id)
            if row.blocked_reviews >= BLOCKED_LIMIT and not row.flagged:
                row.flagged = True
                newly_flagged.append(row)
        else:
            row.blocked_reviews = 0
            row.flagged = False
    return blocked, newly_flagged


def drive(
    unit: UnitOfWork,
    ini: Initiative,
    actor: str,
    roles: set[str],
    longest: int,
    done: bool,
    notes: str,
) -> dict[str, Any]:
    """Complete the process's weekly review with what the review found, ending the week's
    wait first if it still runs.  Returns what the process did."""
    s = unit.s
    if ini.instance_id is None:
        return {"advanced": False, "status": None, "open": []}
    status = s.scalar(select(Instance.status).where(Instance.id == ini.instance_id))
    if status != "running":
        return {"advanced": False, "status": status, "open": []}
    deal = unit.deal(ini.instance_id)
    inst, vr, wf, change = deal.deal, deal.version, deal.workflow, deal.change
    task = _ready(wf, REVIEW_TASK)
    if task is None:
        timer = next(
            (t for t in wf.event_manager.tasks.values() if t.task_spec.bpmn_id == WEEK_TIMER),
            None,
        )
        if timer is None:
            open_now = sorted(t.task_spec.bpmn_id for t in runtime.open_human_tasks(wf))
            deal.keep()  # nothing changed: the workflow goes back into the cache as it was
            return {"advanced": False, "status": inst.status, "open": open_now}
        timer.task_spec.event_definition.catch(timer)  # the review is this week's: no wait
        wf.refresh_timers()
        deal.run(change.engine_steps)
        task = _ready(wf, REVIEW_TASK)
        if task is None:  # a changed process: keep what happened and stop there
            deal.save(actor=actor, roles={})
            return {"advanced": True, "status": inst.status, "open": []}
    data = {"blocked_cycles_max": longest, "execution_done": done, "review_notes": notes}
    form = form_name(task.task_spec)
    if form is not None and form in vr.validators:
        check_data(vr.validators[form], data)
    task.data.update(data)
    deal.run(task.run)
    error = deal.run(lambda: engine_steps(change, after=task))
    deal.save(actor=actor, roles={actor: roles}, submitted=(str(task.id), data), error=error)
    drafts.discard_task_drafts(s, str(task.id))
    opened = runtime.open_human_tasks(wf)
    answer = {
        "advanced": True,
        "status": inst.status,
        "open": sorted(t.task_spec.bpmn_id for t in opened),
    }
    reeval = next((t for t in opened if t.task_spec.bpmn_id == REEVALUATE_TASK), None)
    if reeval is not None:
        answer["re_evaluation_task"] = str(reeval.id)
    return answer


def _ready(wf: runtime.SalesWorkflow, element_id: str) -> Any:
    return next(
        (t for t in runtime.open_human_tasks(wf) if t.task_spec.bpmn_id == element_id), None
    )
