"""Running instances over SpiffWorkflow: the pure layer (no database, no clock reads).

What this module adds to the library, and why:
- `SalesWorkflow` always uses the safe script engine; there is no way to attach another, so no
  code path can reach the library's default `eval`.
- State is stored without the spec (one copy per definition version lives elsewhere).
- `prune()` drops finished history from the task tree after every change.  SpiffWorkflow walks
  the whole tree at every step, so without it a completion costs O(history); and its iterator
  stops at depth 1000, so a long loop would stall silently.  Our own history table keeps what
  happened, so the tree only needs what is still open and what joins look back at.
- The iterator's depth limit is lifted as well, for trees that pruning cannot shorten (a long
  loop inside one branch of a parallel split).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util import task as bpmn_task_util
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util import task as task_util
from SpiffWorkflow.util.task import TaskState

from engine.clock import parse_iso
from engine.core import json_text
from engine.core.connectors import ConnectorTask
from engine.core.expressions import MAX_STEP_SECONDS, SafeScriptEngine, time_is_up, time_limit
from engine.errors import ExpressionError

STATE_FORMAT = 1
UNLIMITED_DEPTH = 10**9


def _lift_depth_limit() -> None:
    """Raise the default `max_depth` of the library's task iterators.

    `get_tasks`, `is_completed`, the end join and the join specs all build iterators with the
    default of 1000; past it a READY task becomes invisible.  Checked against the signature so
    a library upgrade that moves the parameter fails loudly here instead of stalling deals.
    """
    for cls in (task_util.TaskIterator, bpmn_task_util.BpmnTaskIterator):
        code = cls.__init__.__code__
        defaults = cls.__init__.__defaults__ or ()
        names = code.co_varnames[: code.co_argcount]
        index = names.index("max_depth") - (len(names) - len(defaults))
        if not 0 <= index < len(defaults):
            raise RuntimeError(f"{cls.__qualname__} no longer takes max_depth as expected")
        if defaults[index] != UNLIMITED_DEPTH:
            cls.__init__.__defaults__ = (*defaults[:index], UNLIMITED_DEPTH, *defaults[index + 1 :])


_lift_depth_limit()

SCRIPT_ENGINE = SafeScriptEngine()


class SalesWorkflow(BpmnWorkflow):
    """A BPMN workflow whose script engine is fixed to the restricted one."""

    @property
    def script_engine(self) -> SafeScriptEngine:
        return SCRIPT_ENGINE

    @script_engine.setter
    def script_engine(self, engine: object) -> None:
        raise TypeError("salesflow instances always run with the restricted script engine")


class _NoSpecWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec; restores it onto live spec objects."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        # `spec` and `subprocess_specs` hold the cached spec objects of the version.
        workflow = self.target_class(
            dct.pop("spec"), dct.pop("subprocess_specs"), deserializing=True
        )
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


# Service tasks with a connector wait for the worker (engine.core.connectors); they are
# stored as the library stores its service tasks.
REGISTRY = BpmnWorkflowSerializer.configure(
    {**SPIFF_CONFIG, ConnectorTask: SPIFF_CONFIG[ServiceTask]}
)
_CONVERTER = _NoSpecWorkflowConverter(SalesWorkflow, REGISTRY)


# --- specs -------------------------------------------------------------------------------


def dump_spec(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "serializer_version": SERIALIZER_VERSION,
            "spec": REGISTRY.convert(spec),
            "subprocess_specs": {k: REGISTRY.convert(v) for k, v in subprocess_specs.items()},
        }
    )


def load_spec(text: str) -> tuple[Any, dict[str, Any]]:
    dct = json.loads(text)
    spec = REGISTRY.restore(dct["spec"])
    subs = {k: REGISTRY.restore(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subs


# --- instance state ----------------------------------------------------------------------


def new_workflow(
    spec: Any, subprocess_specs: dict[str, Any], data: dict[str, Any]
) -> SalesWorkflow:
    """A new instance with `data` on its start task (engine steps not run yet)."""
    workflow = SalesWorkflow(spec, subprocess_specs)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return workflow


# The largest state a deal may have, written out (the task data of each evaluation is bounded
# by engine.core.expressions.MAX_DATA_SIZE; many tasks holding much data still add up).
MAX_STATE_CHARS = 16 * 1024 * 1024


def dump_state(workflow: SalesWorkflow) -> str:
    """The workflow's state as stored; ExpressionError (nothing is saved) beyond
    MAX_STATE_CHARS."""
    text = _dump_state(workflow)
    if len(text) > MAX_STATE_CHARS:
        raise ExpressionError(
            f"the deal's state would be {len(text) / 2**20:.1f} MB; the limit is "
            f"{MAX_STATE_CHARS / 2**20:g} MB: its process keeps too much data (nothing was changed)"
        )
    return text


def _dump_state(workflow: SalesWorkflow) -> str:
    envelope = {
        "format": STATE_FORMAT,
        "serializer_version": SERIALIZER_VERSION,
        "workflow": _CONVERTER.to_dict(workflow),
    }
    return json_text.dumps(envelope, default=_json_default)  # orjson's speed, json's text


def load_state(text: str, spec: Any, subprocess_specs: dict[str, Any]) -> SalesWorkflow:
    envelope = json.loads(text)  # orjson would read an integer beyond 64 bits as a float
    if envelope.get("serializer_version") != SERIALIZER_VERSION:
        raise ValueError(
            f"instance state was written by serializer {envelope.get('serializer_version')}, "
            f"this engine reads {SERIALIZER_VERSION}: a state migration is needed"
        )
    dct = envelope["workflow"]
    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    workflow: SalesWorkflow = _CONVERTER.from_dict(dct)
    return workflow


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"value of type {type(value).__name__} cannot be stored in deal data")


def json_safe(data: Any) -> Any:
    """Task data as plain JSON types (what the database and the CLI get)."""
    return json.loads(json.dumps(data, default=_json_default))


# --- walking the tree --------------------------------------------------------------------


def all_tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def is_element(task: Task) -> bool:
    """A task that stands for a BPMN element (not an internal spec such as Start or EndJoin)."""
    return getattr(task.task_spec, "bpmn_id", None) is not None


def properties(task_spec: Any) -> dict[str, str]:
    ext = getattr(task_spec, "extensions", None) or {}
    props = ext.get("properties") or {}
    return dict(props)


OPEN_STATES = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


@dataclass(frozen=True)
class Snapshot:
    """Task states at one moment, to tell afterwards what happened."""

    states: dict[UUID, int]
    entered: dict[UUID, float]


def snapshot(workflow: BpmnWorkflow, previous: Snapshot | None = None) -> Snapshot:
    states: dict[UUID, int] = {}
    entered: dict[UUID, float] = {}
    for task in all_tasks(workflow):
        states[task.id] = task.state
        if task.state & OPEN_STATES:
            since = previous.entered.get(task.id) if previous is not None else None
            entered[task.id] = since if since is not None else task.last_state_change
    return Snapshot(states, entered)


@dataclass
class Event:
    """Something that happened to one element during a change."""

    kind: str  # completed, timer, message, cancelled, error
    task_id: str
    element_id: str
    element_name: str | None
    at: float
    entered: float | None
    manual: bool
    changes: dict[str, Any] = field(default_factory=dict)


def _changes(task: Task) -> dict[str, Any]:
    parent = task.parent.data if task.parent is not None else {}
    return {k: v for k, v in task.data.items() if k not in parent or parent[k] != v}


def _caught_definition(task: Task) -> Any:
    """The event a catching element waits for.  The branches of an event-based gateway hand
    theirs to the gateway (in the order of its outputs), keeping a "none" event themselves."""
    spec = task.task_spec
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, EventBasedGateway):
        gateway = parent.task_spec
        if spec in gateway.outputs:
            branches = gateway.event_definition.event_definitions
            index = gateway.outputs.index(spec)
            if index < len(branches):
                return branches[index]
    return getattr(spec, "event_definition", None)


def _kind(task: Task, before: Snapshot) -> str | None:
    spec = task.task_spec
    if task.state == TaskState.COMPLETED:
        definition = _caught_definition(task)
        if isinstance(spec, CatchingEvent) and isinstance(definition, TimerEventDefinition):
            return "timer"
        if isinstance(spec, CatchingEvent) and type(definition).__name__.endswith(
            "MessageEventDefinition"
        ):
            return "message"
        return "completed"
    if task.state == TaskState.CANCELLED:
        # Only what was actually open; predicted branches that were never reached don't count.
        return "cancelled" if before.states.get(task.id, 0) & OPEN_STATES else None
    if task.state == TaskState.ERROR:
        return "error"
    return None


def events_since(workflow: BpmnWorkflow, before: Snapshot) -> list[Event]:
    """What finished since `before`, oldest first."""
    found: list[Event] = []
    for task in all_tasks(workflow):
        if not is_element(task) or before.states.get(task.id) == task.state:
            continue
        kind = _kind(task, before)
        if kind is None:
            continue
        found.append(
            Event(
                kind=kind,
                task_id=str(task.id),
                element_id=task.task_spec.bpmn_id,
                element_name=task.task_spec.bpmn_name,
                at=task.last_state_change,
                entered=before.entered.get(task.id),
                manual=bool(task.task_spec.manual),
                changes=json_safe(_changes(task)) if kind == "completed" else {},
            )
        )
    found.sort(key=lambda e: e.at)
    return found


class Change:
    """One change to an instance: records what happens and keeps the task tree pruned.

    Long runs of engine steps (a script loop going round thousands of times) are checkpointed
    every CHECKPOINT_EVERY completed tasks: events are collected, then the tree is pruned, so the
    steps never walk an ever-growing history.  However long the run, it stops after MAX_TASKS
    tasks or MAX_STEP_SECONDS (every evaluation in it too): a process that loops without
    waiting for anyone fails at the task it would have run next, an incident instead of a
    busy core and an endless history.
    """

    CHECKPOINT_EVERY = 100
    MAX_TASKS = 10_000

    def __init__(self, workflow: SalesWorkflow) -> None:
        self.workflow = workflow
        self.before = snapshot(workflow)
        self._events: list[Event] = []
        self._steps = 0

    def engine_steps(self) -> None:
        with time_limit(MAX_STEP_SECONDS):
            self.workflow.do_engine_steps(did_complete_task=self._step_done)

    def _step_done(self, task: Task) -> None:
        self._steps += 1
        if self._steps % self.CHECKPOINT_EVERY == 0:
            self.checkpoint()
        if self._steps >= self.MAX_TASKS or time_is_up():
            following = [c for c in task.children if not c.has_state(TaskState.FINISHED_MASK)]
            raise WorkflowTaskException(
                f"stopped after {self._steps:,} steps without waiting for anyone (the limits are "
                f"{self.MAX_TASKS:,} steps and {MAX_STEP_SECONDS:g} s): does the process loop "
                "without end?",
                task=following[0] if following else task,
            )

    def checkpoint(self) -> None:
        self._events.extend(events_since(self.workflow, self.before))
        prune(self.workflow)
        self.before = snapshot(self.workflow, self.before)

    def finish(self) -> list[Event]:
        """Every event of the change, oldest first; the tree is left pruned."""
        self.checkpoint()
        return sorted(self._events, key=lambda e: e.at)


# --- pruning -----------------------------------------------------------------------------


def prune(workflow: BpmnWorkflow) -> int:
    """Drop finished history from the task tree; returns how many tasks were removed.

    Three kinds of history go:
    - abandoned branches: a CANCELLED subtree (nothing in it completed or open) under a
      COMPLETED task, such as a boundary timer whose task was done first, or the waiting twin
      of a parallel join that fired.  Left in the tree, such a cancelled join task is counted
      as an arrived token by the same join in the next round of a loop (SpiffWorkflow 3.2),
      which fires that join before both branches are done;
    - dead ends: a COMPLETED task without children beside a sibling that carries on (the
      branch whose join token was merged into the other one, an end event of a side branch);
    - chains: a COMPLETED task whose only child is COMPLETED too.  Joins inspect the direct
      parents of their own unfinished tasks, loops the tasks still open; splicing the task out
      and attaching its child to its parent keeps every remaining ancestry relation true.
    """
    removed = 0
    keep = {workflow.task_tree.id}
    if workflow.last_task is not None:
        keep.add(workflow.last_task.id)
    keep.update(workflow.subprocesses)
    for task in list(workflow.tasks.values()):
        if (
            task.id in workflow.tasks
            and task.state == TaskState.CANCELLED
            and task.parent is not None
            and task.parent.state == TaskState.COMPLETED
        ):
            subtree = _subtree(task)
            if all(t.state & _ABANDONED and t.id not in keep for t in subtree):
                task.parent._children.remove(task.id)
                for t in subtree:
                    _forget(workflow, t)
                removed += len(subtree)
    for task in list(workflow.tasks.values()):
        parent = task.parent
        if (
            task.state == TaskState.COMPLETED
            and not task._children
            and task.id not in keep
            and parent is not None
            and parent.state == TaskState.COMPLETED
            and len(parent._children) > 1
        ):
            parent._children.remove(task.id)
            _forget(workflow, task)
            removed += 1
    for task in list(workflow.tasks.values()):
        if (
            task.id in keep
            or task.state != TaskState.COMPLETED
            or len(task._children) != 1
            or task.parent is None
        ):
            continue
        child = workflow.tasks.get(task._children[0])
        if child is None or child.state != TaskState.COMPLETED:
            continue
        parent = task.parent
        parent._children[parent._children.index(task.id)] = child.id
        child._parent = parent.id
        _forget(workflow, task)
        removed += 1
    return removed


_ABANDONED = TaskState.CANCELLED | TaskState.MAYBE | TaskState.LIKELY


def _subtree(task: Task) -> list[Task]:
    found, todo = [], [task]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(current.children)
    return found


def _forget(workflow: BpmnWorkflow, task: Task) -> None:
    workflow.event_manager.remove_task(task)
    del workflow.tasks[task.id]


# --- reading an instance -----------------------------------------------------------------


def open_human_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return [
        t
        for t in all_tasks(workflow)
        if t.state == TaskState.READY and t.task_spec.manual and is_element(t)
    ]


def has_error(workflow: BpmnWorkflow) -> bool:
    return any(t.state == TaskState.ERROR for t in all_tasks(workflow))


def position(workflow: BpmnWorkflow, visited: dict[str, str]) -> dict[str, str]:
    """element id -> completed/ready/waiting/error/cancelled; open states win over old ones."""
    result = dict(visited)
    names = {TaskState.READY: "ready", TaskState.STARTED: "ready", TaskState.WAITING: "waiting"}
    for task in all_tasks(workflow):
        if not is_element(task):
            continue
        if task.state == TaskState.ERROR:
            result[task.task_spec.bpmn_id] = "error"
        elif task.state in names and result.get(task.task_spec.bpmn_id) != "error":
            result[task.task_spec.bpmn_id] = names[task.state]
    return result


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """What the process knows now, merged across the open tasks of parallel branches."""
    if workflow.is_completed():
        data = dict(workflow.last_task.data) if workflow.last_task is not None else {}
        data.update(workflow.data)
        return json_safe(data)
    merged: dict[str, Any] = {}
    open_tasks = [t for t in all_tasks(workflow) if t.state & OPEN_STATES and is_element(t)]
    if not open_tasks and workflow.last_task is not None:
        merged.update(workflow.last_task.data)
    for task in sorted(open_tasks, key=lambda t: t.last_state_change):
        merged.update(task.data)
    return json_safe(merged)


def next_due(workflow: BpmnWorkflow) -> datetime | None:
    """The earliest time a waiting timer is due, if any."""
    due = [at for _task, at in waiting_timers(workflow)]
    return min(due) if due else None


def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[Task, datetime]]:
    """Every waiting timer and when it is due: timer events, and the timer branches of
    event-based gateways (the gateway's task waits for them and keeps their due time)."""
    found = []
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        value = None
        if isinstance(definition, TimerEventDefinition):
            value = definition.details(task).value
        elif isinstance(definition, MultipleEventDefinition) and any(
            isinstance(d, TimerEventDefinition) for d in definition.event_definitions
        ):
            value = task.internal_data.get("event_value")
        if isinstance(value, str):
            found.append((task, parse_iso(value)))
    return found
