"""Moving a running deal's workflow onto another version of its process (pure: no database).

SpiffWorkflow's diff aligns the old version's task specs with the new ones by element id (by
position for an element whose id changed but whose neighbours did not); `migrate_workflow`
swaps the specs under the restored workflow and resets what is open (READY and WAITING
tasks: what they predicted is predicted again on the new version).  What `move` adds, and why,
is told in engine.usecases.moves, which decides who may move which deal and records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.clock import iso
from engine.core import runtime
from engine.errors import EngineError

__all__ = ["CannotMoveError", "Moved", "SpecDiffs", "move"]

_OPEN = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR
_KEPT = TaskState.READY | TaskState.WAITING
_PREDICTED = TaskState.MAYBE | TaskState.LIKELY
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


class CannotMoveError(EngineError):
    """Why a deal cannot move: a code (for the pages to translate), the English reason, and
    the element it concerns.  Raised by `move`; the use cases report it per deal."""

    def __init__(self, code: str, reason: str, task: Task | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        spec = task.task_spec if task is not None else None
        self.element_id: str | None = getattr(spec, "bpmn_id", None)
        self.element_name: str | None = getattr(spec, "bpmn_name", None)


@dataclass
class Moved:
    """A workflow now on the new version, and the change that records it."""

    change: runtime.Change
    timers_before: dict[str, str] = field(default_factory=dict)  # element id -> due (ISO)


@dataclass(frozen=True)
class _Saved:
    state: int
    data: dict[str, Any]
    internal_data: dict[str, Any]
    last_state_change: float
    spec: Any


def _label(task: Task) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name)


SpecDiffs = dict[tuple[int, int], tuple[Any, Any, SpecDiff]]


def _spec_diff(cache: SpecDiffs, old: Any, new: Any) -> SpecDiff:
    """The library's comparison of two process specs, made once per pair (it serializes
    every task spec of both: most of a move's time).  Entries keep their specs alive, so
    the ids in the key cannot be reused."""
    key = (id(old), id(new))
    if key not in cache:
        cache[key] = (old, new, SpecDiff(runtime.REGISTRY, old, new))
    return cache[key][2]


def _diff_workflow(
    wf: runtime.SalesWorkflow, spec: Any, subprocess_specs: dict[str, Any], cache: SpecDiffs
) -> tuple[WorkflowDiff, dict[Any, WorkflowDiff | None]]:
    """SpiffWorkflow's `diff_workflow`, with the spec comparisons shared between deals."""
    top = WorkflowDiff(wf, _spec_diff(cache, wf.spec, spec))
    subs: dict[Any, WorkflowDiff | None] = {}
    for sub_id, sub in wf.subprocesses.items():
        new = subprocess_specs.get(sub.spec.name)
        subs[sub_id] = None if new is None else WorkflowDiff(sub, _spec_diff(cache, sub.spec, new))
    return top, subs


def move(
    wf: runtime.SalesWorkflow,
    spec: Any,
    subprocess_specs: dict[str, Any],
    cache: SpecDiffs | None = None,
) -> Moved:
    """Put a restored workflow onto another version's spec, in place (see the module's text).
    Raises CannotMoveError, after which `wf` must be thrown away.  `cache` shares the
    comparison of the specs between the deals of one migration."""
    if runtime.has_error(wf):
        failed = next(t for t in runtime.all_tasks(wf) if t.state == TaskState.ERROR)
        raise CannotMoveError(
            "in_error", f"it is in error at '{_label(failed)}': handle the incident first", failed
        )
    try:
        top, sub_diffs = _diff_workflow(wf, spec, subprocess_specs, {} if cache is None else cache)
    except (KeyError, AttributeError, TypeError) as exc:  # a tree the diff cannot align
        raise CannotMoveError(
            "unsupported", f"its state cannot be aligned with the new version ({exc})"
        ) from None
    parts = [(wf, top, spec)]
    for sub_id, sub_diff in sub_diffs.items():
        sub = wf.subprocesses[sub_id]
        if sub_diff is None:
            raise CannotMoveError(
                "subprocess_removed",
                f"it runs the sub-process '{sub.spec.name}', which the new version does not have",
            )
        parts.append((sub, sub_diff, subprocess_specs[sub.spec.name]))
    for _workflow, found, _spec in parts:
        for task in found.removed:
            if task.state & _OPEN and runtime.is_element(task):
                raise CannotMoveError(
                    "element_removed",
                    f"it is at '{_label(task)}', which the new version does not have",
                    task,
                )
    timers_before = {t.task_spec.bpmn_id: iso(due) or "" for t, due in runtime.waiting_timers(wf)}
    change = runtime.Change(wf)
    saved = {
        t.id: _Saved(t.state, t.data, dict(t.internal_data), t.last_state_change, t.task_spec)
        for t in runtime.all_tasks(wf)
        if t.state & _KEPT
    }
    for workflow, found, new_spec in parts:
        migrate_workflow(found, workflow, new_spec)
    wf.subprocess_specs = subprocess_specs
    _restore(wf, saved)
    _drop_stale(wf, spec, subprocess_specs)
    try:
        change.engine_steps()
    except WorkflowException as exc:
        task = getattr(exc, "task", None)
        where = f" at '{_label(task)}'" if isinstance(task, Task) else ""
        raise CannotMoveError(
            "fails", f"going on in the new version fails{where}: {exc}", task
        ) from None
    if runtime.has_error(wf):
        raise CannotMoveError("fails", "going on in the new version fails")
    try:  # what the database will hold must load onto the new version
        runtime.load_state(runtime.dump_state(wf), spec, subprocess_specs)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise CannotMoveError(
            "unsupported", f"its state does not fit the new version ({exc})"
        ) from None
    return Moved(change, timers_before)


def _restore(wf: runtime.SalesWorkflow, saved: dict[Any, _Saved]) -> None:
    """Give each reset task back its data, when it became ready, and (for a waiting event whose
    definition did not change, such as a timer with the same expression) what it waits for."""
    for task in runtime.all_tasks(wf):
        before = saved.get(task.id)
        if before is None or task.state != before.state:
            continue
        task.data = before.data
        task.last_state_change = before.last_state_change
        waits = isinstance(task.task_spec, CatchingEvent)
        if not waits or _same_event(before.spec, task.task_spec):
            task.internal_data = before.internal_data


def _same_event(old: Any, new: Any) -> bool:
    old_definition = getattr(old, "event_definition", None)
    new_definition = getattr(new, "event_definition", None)
    if old_definition is None or new_definition is None:
        return old_definition is new_definition
    convert = runtime.REGISTRY.convert
    return bool(convert(old_definition) == convert(new_definition))


def _drop_stale(wf: runtime.SalesWorkflow, spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """Tasks still on a removed element after the reset: predictions go, finished history is
    spliced out, anything else refuses the move."""
    workflows = [wf, *wf.subprocesses.values()]
    for workflow in workflows:
        process = spec if workflow is wf else subprocess_specs.get(workflow.spec.name)
        known = set(process.task_specs.values()) if process is not None else set()
        for task in list(workflow.tasks.values()):
            if task.id not in workflow.tasks or task.task_spec in known:
                continue
            if task.state & _PREDICTED:
                _cut(workflow, task)
            elif task.state & _FINISHED and task.parent is not None:
                _splice(workflow, task)
            else:
                raise CannotMoveError(
                    "next_removed",
                    f"it is about to enter '{_label(task)}', which the new version does not have",
                    task,
                )


def _forget(workflow: Any, task: Task) -> None:
    workflow.top_workflow.event_manager.remove_task(task)
    del workflow.tasks[task.id]


def _cut(workflow: Any, task: Task) -> None:
    """Remove a predicted task and everything under it."""
    todo = [task]
    if task.parent is not None:
        task.parent._children.remove(task.id)
    while todo:
        current = todo.pop()
        todo.extend(current.children)
        _forget(workflow, current)


def _splice(workflow: Any, task: Task) -> None:
    """Take a finished task out of the tree; its children move up to its parent."""
    parent = task.parent
    index = parent._children.index(task.id)
    parent._children[index : index + 1] = list(task._children)
    for child in task.children:
        child._parent = parent.id
    if workflow.last_task is task:
        workflow.last_task = parent
    _forget(workflow, task)
