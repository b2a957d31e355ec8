"""Failures in the engine's own steps, described as incidents (no database).

A failure while a task is run leaves it in ERROR; the description names the element, the
task, the message, the data the element saw and when.  Whether a person's completion is
refused instead, or the deal goes into error, is decided here too (`engine_steps`); what an
operator then does about it is engine.usecases.incidents's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins import (
    EventBasedGatewayMixin,
    ExclusiveGatewayMixin,
    InclusiveGatewayMixin,
    ParallelGatewayMixin,
    ReceiveTaskMixin,
    SendTaskMixin,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.clock import iso
from engine.core import runtime

__all__ = ["describe_failure", "engine_steps", "failed_task", "is_gateway", "task_failure"]

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


def task_failure(task: Task, exc: Exception, now: datetime) -> dict[str, Any]:
    spec = task.task_spec
    return {
        "element_id": getattr(spec, "bpmn_id", None) or spec.name,
        "element_name": getattr(spec, "bpmn_name", None),
        "task_id": str(task.id),
        "message": str(exc),
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
