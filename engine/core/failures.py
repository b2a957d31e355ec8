"""Failures in the engine's own steps, described as incidents (no database).

A failure while a task is run leaves it in ERROR; the description names the element, the
task, the message, the data the element saw and when.  The message is kept twice: as the
library or the engine made it (English, `message`) and as a key with its arguments
(`said`, engine.core.failure_words), which the pages word in their reader's language.
Whether a person's completion is refused instead, or the deal goes into error, is decided
here too (`engine_steps`); what an operator then does about it is
engine.usecases.incidents's.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins import (
    EventBasedGatewayMixin,
    ExclusiveGatewayMixin,
    InclusiveGatewayMixin,
    ParallelGatewayMixin,
    ReceiveTaskMixin,
    SendTaskMixin,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.clock import iso
from engine.core import runtime
from engine.core.failure_words import framed, python_said, said_record
from engine.core.lint.wording import Said, recognised, say

__all__ = [
    "describe_failure",
    "engine_steps",
    "failed_task",
    "failure_said",
    "is_gateway",
    "task_failure",
]

_EXPRESSION = re.compile(r"Error evaluating expression '(?P<expression>.*)'", re.DOTALL)
_DECISION_ROW = re.compile(r"(?:Rule failed|Failed to execute DMN Rule) on row (?P<row>\d+)")
_NO_WAY_ON = ("No conditions satisfied",)

_GATEWAYS = (
    ExclusiveGatewayMixin,
    InclusiveGatewayMixin,
    ParallelGatewayMixin,
    EventBasedGatewayMixin,
)


def is_gateway(task: Task) -> bool:
    return isinstance(task.task_spec, _GATEWAYS)


def _is_routing(task: Task) -> bool:
    """Gateways, events and the library's internal specs: no work of their own."""
    spec = task.task_spec
    if getattr(spec, "bpmn_id", None) is None:
        return True
    if isinstance(spec, SendTaskMixin | ReceiveTaskMixin):
        return False  # events by class, activities by meaning
    return isinstance(spec, (*_GATEWAYS, CatchingEvent, ThrowingEvent))


def _decided_by(failed: Task, done: Task) -> bool:
    """Whether `failed` is a routing decision (a gateway, an event) on the way on from
    `done`, the task a person has just completed."""
    if not _is_routing(failed):
        return False
    current = failed.parent
    while current is not None and current.id != done.id:
        current = current.parent
    return current is not None


def failed_task(exc: WorkflowException, wf: runtime.SalesWorkflow | None = None) -> Task | None:
    """The task a failure belongs to, left in ERROR.

    A failure while a task is run leaves it in ERROR; one while a task is entered (a timer's
    expression, a pre-script) leaves it where it was, so it is put in ERROR here: otherwise
    its branch would silently never go on.  Some failures name no task (an exclusive gateway
    none of whose conditions holds): then the newest task in ERROR of `wf` is the one.
    """
    task = getattr(exc, "task", None)
    if isinstance(task, Task):
        if not task.has_state(TaskState.FINISHED_MASK):
            task.error()
        if task.state == TaskState.ERROR:
            return task
    if wf is None:
        return None
    errored = [t for t in runtime.all_tasks(wf) if t.state == TaskState.ERROR]
    return max(errored, key=lambda t: t.last_state_change) if errored else None


def failure_said(exc: Exception) -> Said:
    """What failed, worded (see engine.core.failure_words): our own English as its entry, a
    script's or an expression's Python error inside its frame, a library's text framed."""
    if not isinstance(exc, SpiffWorkflowException):
        text = str(exc)
        return recognised(text) or say("incident.failed", library=framed(text))
    first = str(exc.args[0]) if exc.args else ""
    texts = [first, *getattr(exc, "notes", [])]  # SpiffWorkflow adds notes as it goes up
    cause = _cause(exc)
    reason = python_said(cause) if cause is not None else None
    row = next(filter(None, map(_DECISION_ROW.fullmatch, texts)), None)
    if row is not None and reason is not None:
        return say("incident.decision", row=row.group("row"), reason=reason)
    expression = next(filter(None, map(_EXPRESSION.fullmatch, texts)), None)
    if expression is not None:
        shown = expression.group("expression")[:200]
        if reason is None:
            return say("incident.expression_bare", expression=shown)
        return say("incident.expression", expression=shown, reason=reason)
    if reason is not None and isinstance(exc, WorkflowTaskException):
        return say("incident.script", reason=reason)
    if first.startswith(_NO_WAY_ON):
        return say("incident.no_way_on")
    return say("incident.failed", library=framed(str(exc)))


def _cause(exc: BaseException) -> BaseException | None:
    """The Python error a SpiffWorkflow exception wraps (it raises its own inside the
    `except` that caught it), None when it wraps none."""
    current = exc.__cause__ or exc.__context__
    while isinstance(current, SpiffWorkflowException):
        current = current.__cause__ or current.__context__
    return current


def task_failure(task: Task, exc: Exception, now: datetime) -> dict[str, Any]:
    spec = task.task_spec
    return {
        "element_id": getattr(spec, "bpmn_id", None) or spec.name,
        "element_name": getattr(spec, "bpmn_name", None),
        "task_id": str(task.id),
        "message": str(exc),
        "said": said_record(failure_said(exc)),
        "data": runtime.json_safe(task.data),
        "at": iso(now),
        "skippable": not is_gateway(task),
    }


def describe_failure(
    exc: WorkflowException, wf: runtime.SalesWorkflow | None = None
) -> dict[str, Any]:
    """The incident of a failure: element, task, message, the data the element saw, when.
    The failed task is left in ERROR (see `_failed_task`)."""
    failed = failed_task(exc, wf)
    if failed is not None:
        return task_failure(failed, exc, clock.now())
    spec = getattr(exc, "task_spec", None)
    return {
        "element_id": getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
        "element_name": getattr(spec, "bpmn_name", None),
        "task_id": None,
        "message": str(exc),
        "said": said_record(failure_said(exc)),
        "data": None,
        "at": iso(clock.now()),
        "skippable": not isinstance(spec, _GATEWAYS),
    }


def engine_steps(change: runtime.Change, *, after: Task | None = None) -> dict[str, Any] | None:
    """Run the engine's steps; on a failure, the incident (see `describe_failure`).

    `after` is the task a person has just completed: a routing decision its completion leads
    into failing is re-raised, so that the completion is refused instead.  So is a failure no
    task can be found for.
    """
    try:
        change.engine_steps()
    except WorkflowException as exc:
        failed = failed_task(exc, change.workflow)
        if failed is None or (after is not None and _decided_by(failed, after)):
            raise
        return task_failure(failed, exc, clock.now())
    return None
