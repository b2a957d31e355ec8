"""Incidents: a deal whose engine step failed, and what an operator does about it.

When an expression, a script or a service call fails in the engine's own steps (after a
person's task is done, after a timer fired, after an operator's retry) the failed task stays
in ERROR in the workflow, the deal's status becomes `error` and `Instance.error` keeps the
element, the message, the data the element saw and when; whatever was completed before stays
completed, in the workflow and in the history.

A person's own step is different.  When the task itself fails (its post-script), or a routing
decision its completion leads into (a gateway's condition, a timer's expression, evaluated on
the data just entered, such as a condition reading a field the form left empty), the completion
is refused and the deal stays where it was: the form shows the error and the person corrects
the data.  Scripts, decision tables and service calls are the engine's own work: when one of
them fails on the way on, the person's task stays done and the deal goes into error.  Starting
a deal refuses every failure (engine.usecases.service): there is no deal yet to hold an incident.

Who handles incidents: sales managers and admins (INCIDENT_ROLES), who see every deal.  Process
designers fix definitions, not the data of running deals, and do not see deals: they are left
out on purpose.  The remedies, each audited in the history and told to the deal's owner:
- retry (`incident_retry`): run the failed element again on its input data, with corrected
  values set on it first; names not given keep their values (history data: what changed);
- skip (`incident_skip`): mark the failed element completed without running it, and go on.
  A gateway decides the path, so it cannot be skipped: correct the data and retry it;
- cancel (`cancelled`): stop the deal, with a reason.
A retry that fails at the same element again is refused (nothing changes, the error says why);
one that gets past it and fails further on opens the next incident there.
"""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

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
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core import runtime
from engine.core.roles import role_key
from engine.errors import (
    ConflictError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.store import changes as recording
from engine.store import notifications, users
from engine.store.models import Instance
from engine.store.records import instance_summary, iso

if TYPE_CHECKING:
    from engine.store.deployments import VersionRuntime
    from engine.usecases.service import Service

__all__ = [
    "INCIDENT_ROLES",
    "cancel",
    "count",
    "describe_failure",
    "engine_steps",
    "incident_record",
    "list_incidents",
    "may_handle",
    "retry",
    "skip",
]

INCIDENT_ROLES = frozenset(role_key(r) for r in ("Sales Manager", "admin"))
MAX_REASON = 2000
MAX_DATA_KEYS = 200
MAX_DATA_BYTES = 100_000

_GATEWAYS = (
    ExclusiveGatewayMixin,
    InclusiveGatewayMixin,
    ParallelGatewayMixin,
    EventBasedGatewayMixin,
)


def incident_record(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """A deal's incident with every key (records written before some keys existed lack
    them): element_id, element_name, task_id, message, data, at, skippable."""
    if error is None:
        return None
    return {
        "element_id": error.get("element_id"),
        "element_name": error.get("element_name"),
        "task_id": error.get("task_id"),
        "message": str(error.get("message") or ""),
        "data": error.get("data"),
        "at": error.get("at"),
        "skippable": bool(error.get("skippable", True)),
    }


def may_handle(roles: set[str] | frozenset[str]) -> bool:
    """Whether someone holding `roles` may retry, skip or cancel a deal in error."""
    return bool(set(roles) & INCIDENT_ROLES)


# --- failures (no database) --------------------------------------------------------------


def _is_gateway(task: Task) -> bool:
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


def _failed_task(exc: WorkflowException, wf: runtime.SalesWorkflow | None = None) -> Task | None:
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


def _describe(task: Task, exc: Exception, now: datetime) -> dict[str, Any]:
    spec = task.task_spec
    return {
        "element_id": getattr(spec, "bpmn_id", None) or spec.name,
        "element_name": getattr(spec, "bpmn_name", None),
        "task_id": str(task.id),
        "message": str(exc),
        "data": runtime.json_safe(task.data),
        "at": iso(now),
        "skippable": not _is_gateway(task),
    }


def describe_failure(
    exc: WorkflowException, wf: runtime.SalesWorkflow | None = None
) -> dict[str, Any]:
    """The incident of a failure: element, task, message, the data the element saw, when.
    The failed task is left in ERROR (see `_failed_task`)."""
    failed = _failed_task(exc, wf)
    if failed is not None:
        return _describe(failed, exc, clock.now())
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
        failed = _failed_task(exc, change.workflow)
        if failed is None or (after is not None and _decided_by(failed, after)):
            raise
        return _describe(failed, exc, clock.now())
    return None


def _checked_values(data: Any) -> dict[str, Any]:
    """Values an operator sets on the failed element: a JSON object of modest size."""
    if not isinstance(data, dict):
        raise ValidationError("must be a JSON object ({...})", field="data")
    if len(data) > MAX_DATA_KEYS:
        raise ValidationError(f"at most {MAX_DATA_KEYS} keys", field="data")
    for key in data:
        if not isinstance(key, str) or not key.strip() or len(key) > 200:
            raise ValidationError("every key is a name of 1 to 200 characters", field="data")
        if key.startswith("_"):
            raise ValidationError(f"'{key}': a name may not start with '_'", field="data")
    try:
        text = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError("only JSON values (no NaN or infinity)", field="data") from None
    if len(text.encode()) > MAX_DATA_BYTES:
        raise ValidationError(f"at most {MAX_DATA_BYTES:,} bytes of JSON", field="data")
    values: dict[str, Any] = json.loads(text)
    return values


# --- use cases ---------------------------------------------------------------------------


def count(service: Service) -> int:
    """How many deals are in error (the navigation shows it to those who handle them)."""
    with service.db.read() as s:
        return s.scalar(select(func.count()).where(Instance.status == "error")) or 0


def list_incidents(
    service: Service, *, user: str, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The deals in error, most recent first, each with its incident."""
    with service.db.read() as s:
        _check_role(s, user)
        query = (
            select(Instance)
            .where(Instance.status == "error")
            .order_by(Instance.updated_at.desc(), Instance.id.desc())
        )
        if limit is not None:
            query = query.limit(limit).offset(offset)
        return [
            {**instance_summary(i), "error": incident_record(i.error)} for i in s.scalars(query)
        ]


def retry(
    service: Service, instance_id: str | int, *, user: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the failed element again on its input data, with `data` set on it first."""
    with service.db.write() as s:
        inst, vr, wf, roles = _open(service, s, instance_id, user)
        values = _checked_values(data) if data is not None else {}
        failed = _incident_task(wf, inst)
        element = _element(failed)
        change = runtime.Change(wf)
        inputs = deepcopy(failed.parent.data) if failed.parent is not None else {}
        changed = {k: v for k, v in values.items() if k not in inputs or inputs[k] != v}
        inputs.update(values)
        try:
            wf.reset_from_task_id(failed.id, inputs)
        except Exception as exc:  # entering it again failed (the library raises bare ones too)
            raise _again(element, exc) from exc
        error = _go_on(change, failed.id, element)
        entry = _entry(user, "incident_retry", failed, changed or None)
        _save(s, inst, vr, change, user, roles, entry, error)
        _tell_owner(
            s, inst, user, "incident_retry", f"{user} retried '{element}' of deal '{inst.name}'."
        )
        result = _result(inst)
    service.workflows.checkin(inst.id, inst.lock_version, wf)
    return result


def skip(service: Service, instance_id: str | int, *, user: str) -> dict[str, Any]:
    """Mark the failed element completed without running it, and go on."""
    with service.db.write() as s:
        inst, vr, wf, roles = _open(service, s, instance_id, user)
        failed = _incident_task(wf, inst)
        element = _element(failed)
        if _is_gateway(failed):
            raise ConflictError(
                f"'{element}' is a gateway: it decides which way the deal goes, so it cannot "
                "be skipped; correct the data and retry it"
            )
        change = runtime.Change(wf)
        # As if it had not run: what a script set before it failed is dropped.
        failed.data = deepcopy(failed.parent.data) if failed.parent is not None else {}
        try:
            failed.complete()
        except Exception as exc:  # its post-script, or entering what follows it
            raise _again(element, exc) from exc
        error = _go_on(change, failed.id, element)
        entry = _entry(user, "incident_skip", failed, None)
        _save(s, inst, vr, change, user, roles, entry, error)
        _tell_owner(
            s, inst, user, "incident_skip", f"{user} skipped '{element}' of deal '{inst.name}'."
        )
        result = _result(inst)
    service.workflows.checkin(inst.id, inst.lock_version, wf)
    return result


def cancel(service: Service, instance_id: str | int, *, user: str, reason: str) -> dict[str, Any]:
    """Stop a deal in error for good, with a reason."""
    with service.db.write() as s:
        inst, vr, wf, roles = _open(service, s, instance_id, user)
        reason = (reason or "").strip()
        if not reason or len(reason) > MAX_REASON:
            raise ValidationError(f"a reason is 1-{MAX_REASON} characters", field="reason")
        change = runtime.Change(wf)
        wf.cancel()
        entry = _entry(user, "cancelled", None, {"reason": reason})
        recording.save_change(
            s,
            inst,
            vr,
            change,
            actor=user,
            now=clock.now(),
            roles=roles,
            first=entry,
            status="cancelled",
        )
        _tell_owner(s, inst, user, "cancelled", f"{user} cancelled deal '{inst.name}': {reason}")
        result = _result(inst)
    service.workflows.checkin(inst.id, inst.lock_version, wf)
    return result


# --- internals ---------------------------------------------------------------------------


def _check_role(s: Session, user: str) -> set[str]:
    roles = users.roles_of(s, user)
    if not may_handle(roles):
        raise ForbiddenError(
            f"{user} may not handle incidents: that needs the role Sales Manager or admin"
        )
    return roles


def _open(
    service: Service, s: Session, instance_id: str | int, user: str
) -> tuple[Instance, VersionRuntime, runtime.SalesWorkflow, dict[str, set[str]]]:
    """The deal in error, locked, with its workflow; after checking who asks."""
    try:
        iid = int(instance_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no instance with id '{instance_id}'") from None
    roles = _check_role(s, user)
    inst = s.get(Instance, iid, with_for_update=not service.db.is_sqlite, populate_existing=True)
    if inst is None:
        raise NotFoundError(f"no instance with id '{instance_id}'")
    if inst.status != "error":
        raise ConflictError(f"deal {iid} is {inst.status}: it has no incident to handle")
    vr = service.version(s, inst.version_id)
    wf = service.workflows.checkout(inst.id, inst.lock_version)
    if wf is None:
        wf = runtime.load_state(inst.state, vr.spec, vr.subprocess_specs)
    return inst, vr, wf, {user: roles}


def _incident_task(wf: runtime.SalesWorkflow, inst: Instance) -> Task:
    """The task the deal's incident is about: the one recorded, else the newest in ERROR."""
    recorded = (inst.error or {}).get("task_id")
    if recorded:
        task = wf.get_task_from_id(UUID(recorded))
        if task is not None and task.state == TaskState.ERROR:
            return task
    errored = [t for t in runtime.all_tasks(wf) if t.state == TaskState.ERROR]
    if not errored:
        raise ConflictError(f"deal {inst.id} has no failed element to handle; cancel it instead")
    return max(errored, key=lambda t: t.last_state_change)


def _element(task: Task) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name)


def _again(element: str, exc: Exception) -> ExpressionError:
    return ExpressionError(f"'{element}' failed again: {exc}; nothing was changed")


def _go_on(change: runtime.Change, task_id: UUID, element: str) -> dict[str, Any] | None:
    """The engine's steps after a retry or a skip; the same element failing is refused."""
    try:
        change.engine_steps()
    except WorkflowException as exc:
        failed = _failed_task(exc, change.workflow)
        if failed is None or failed.id == task_id:
            raise _again(element, exc) from exc
        return _describe(failed, exc, clock.now())
    return None


def _entry(user: str, kind: str, task: Task | None, data: dict[str, Any] | None) -> dict[str, Any]:
    spec = task.task_spec if task is not None else None
    return {
        "at": clock.now(),
        "actor": user,
        "kind": kind,
        "element_id": getattr(spec, "bpmn_id", None),
        "element_name": getattr(spec, "bpmn_name", None),
        "task_id": str(task.id) if task is not None else None,
        "entered_at": None,
        "data": data,
    }


def _save(
    s: Session,
    inst: Instance,
    vr: VersionRuntime,
    change: runtime.Change,
    user: str,
    roles: dict[str, set[str]],
    entry: dict[str, Any],
    error: dict[str, Any] | None,
) -> None:
    recording.save_change(
        s, inst, vr, change, actor=user, now=clock.now(), roles=roles, first=entry, error=error
    )


def _tell_owner(s: Session, inst: Instance, actor: str, kind: str, text: str) -> None:
    if inst.owner and inst.owner != actor:
        notifications.notify(s, inst.owner, kind, text, instance_id=inst.id)


def _result(inst: Instance) -> dict[str, Any]:
    return {
        "instance_id": str(inst.id),
        "status": inst.status,
        "error": incident_record(inst.error),
    }
