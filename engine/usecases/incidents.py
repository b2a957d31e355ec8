"""Incidents: a deal whose engine step failed, and what an operator does about it.

When an expression, a script or a service call fails in the engine's own steps (after a
person's task is done, after a timer fired, after an operator's retry) the failed task stays
in ERROR in the workflow, the deal's status becomes `error` and `Instance.error` keeps the
element, the message, the data the element saw and when; whatever was completed before stays
completed, in the workflow and in the history.  The message is worded in the reader's
language when it is read (`incident_record`, engine.core.failure_words).

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
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core import runtime
from engine.core.failure_words import worded
from engine.core.failures import (
    failed_task,
    failure_said,
    is_gateway,
    task_failure,
)
from engine.core.lint.wording import word
from engine.core.roles import MANAGERS
from engine.errors import (
    ConflictError,
    ExpressionError,
    ForbiddenError,
    ValidationError,
)
from engine.store import users
from engine.store.models import Instance
from engine.store.records import instance_summary
from engine.usecases.base import UseCases
from engine.usecases.notices import Named, Notices
from engine.usecases.outcomes import deal_summary
from engine.usecases.unit import DealChange, UnitOfWork, parse_id, retried

__all__ = [
    "INCIDENT_ROLES",
    "MAX_REASON",
    "IncidentCases",
    "again_text",
    "failure_text",
    "incident_record",
    "may_handle",
]

INCIDENT_ROLES = MANAGERS
MAX_REASON = 2000
MAX_DATA_KEYS = 200
MAX_DATA_BYTES = 100_000


def incident_record(error: dict[str, Any] | None, lang: str | None = None) -> dict[str, Any] | None:
    """A deal's incident with every key (records written before some keys existed lack
    them): element_id, element_name, task_id, message (the English the engine or a library
    made), text (what failed, in `lang`), detail (the message, when `text` says it in other
    words: the technical detail), data, at, skippable."""
    if error is None:
        return None
    message = str(error.get("message") or "")
    text, detail = worded(message, error.get("said"), lang)
    return {
        "element_id": error.get("element_id"),
        "element_name": error.get("element_name"),
        "task_id": error.get("task_id"),
        "message": message,
        "text": text,
        "detail": detail,
        "data": error.get("data"),
        "at": error.get("at"),
        "skippable": bool(error.get("skippable", True)),
    }


def failure_text(message: str | None, lang: str | None) -> dict[str, str | None] | None:
    """A failure kept as English text only (a connector call's last error) in `lang`: its
    text, and the original as the technical detail when the text words it otherwise."""
    if not message:
        return None
    text, detail = worded(message, None, lang)
    return {"text": text, "detail": detail}


def again_text(exc: Exception, lang: str | None) -> str:
    """Why a retry or a skip was refused, in `lang`: the failure the element met again (the
    refusal's own English names the element, which the page shows already)."""
    cause = exc.__cause__
    return word(failure_said(cause), lang) if isinstance(cause, Exception) else str(exc)


def may_handle(roles: set[str] | frozenset[str]) -> bool:
    """Whether someone holding `roles` may retry, skip or cancel a deal in error."""
    return bool(set(roles) & INCIDENT_ROLES)


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


# --- internals ---------------------------------------------------------------------------


def _check_role(s: Session, user: str) -> set[str]:
    roles = users.roles_of(s, user)
    if not may_handle(roles):
        raise ForbiddenError(
            f"{user} may not handle incidents: that needs the role Sales Manager or admin"
        )
    return roles


def _open(unit: UnitOfWork, instance_id: str | int, user: str) -> DealChange:
    """The deal in error, locked, with its workflow; after checking who asks."""
    iid = parse_id(instance_id)
    unit.roles[user] = _check_role(unit.s, user)
    inst = unit.lock(iid, status=None)
    if inst.status != "error":
        raise ConflictError(f"deal {iid} is {inst.status}: it has no incident to handle")
    return unit.open(inst)


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
        failed = failed_task(exc, change.workflow)
        if failed is None or failed.id == task_id:
            raise _again(element, exc) from exc
        return task_failure(failed, exc, clock.now())
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


def _tell_owner(
    s: Session, inst: Instance, actor: str, kind: str, failed: Task | None = None, reason: str = ""
) -> None:
    """Tell the deal's owner (in their language: engine.usecases.notices) what `actor` did;
    `failed` is the element the notice names."""
    if inst.owner and inst.owner != actor:
        task = None
        if failed is not None:
            spec = failed.task_spec
            task = Named(inst.version_id, getattr(spec, "bpmn_id", None), _element(failed))
        Notices(s).tell(
            inst.owner,
            kind,
            kind,
            instance_id=inst.id,
            task=task,
            user=actor,
            deal=inst.name,
            reason=reason,
        )


def _result(inst: Instance) -> dict[str, Any]:
    return {
        "instance_id": str(inst.id),
        "status": inst.status,
        "error": incident_record(inst.error),
    }


class IncidentCases(UseCases):
    """Deals in error and what sales managers and admins do about them."""

    def incident_count(self) -> int:
        """How many deals are in error (the navigation shows it to those who handle them)."""
        with self.db.read() as s:
            return s.scalar(select(func.count()).where(Instance.status == "error")) or 0

    def incidents(
        self, *, user: str, limit: int | None = None, offset: int = 0, lang: str | None = None
    ) -> list[dict[str, Any]]:
        """The deals in error, most recent first, each with its incident worded in `lang`."""
        with self.db.read() as s:
            _check_role(s, user)
            query = (
                select(Instance)
                .where(Instance.status == "error")
                .order_by(Instance.updated_at.desc(), Instance.id.desc())
            )
            if limit is not None:
                query = query.limit(limit).offset(offset)
            return [
                {**deal_summary(instance_summary(i)), "error": incident_record(i.error, lang)}
                for i in s.scalars(query)
            ]

    @retried
    def retry(
        self, instance_id: str | int, *, user: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run the failed element again on its input data, with `data` set on it first."""
        with self.space.write() as unit:
            s = unit.s
            deal = _open(unit, instance_id, user)
            inst, wf = deal.deal, deal.workflow
            values = _checked_values(data) if data is not None else {}
            failed = _incident_task(wf, inst)
            element = _element(failed)
            change = deal.change
            inputs = deepcopy(failed.parent.data) if failed.parent is not None else {}
            changed = {k: v for k, v in values.items() if k not in inputs or inputs[k] != v}
            inputs.update(values)
            try:
                wf.reset_from_task_id(failed.id, inputs)
            except Exception as exc:  # entering it again failed (the library raises bare ones)
                raise _again(element, exc) from exc
            error = _go_on(change, failed.id, element)
            entry = _entry(user, "incident_retry", failed, changed or None)
            deal.save(actor=user, first=entry, error=error)
            _tell_owner(s, inst, user, "incident_retry", failed)
            return _result(inst)

    @retried
    def skip(self, instance_id: str | int, *, user: str) -> dict[str, Any]:
        """Mark the failed element completed without running it, and go on."""
        with self.space.write() as unit:
            s = unit.s
            deal = _open(unit, instance_id, user)
            inst, wf = deal.deal, deal.workflow
            failed = _incident_task(wf, inst)
            element = _element(failed)
            if is_gateway(failed):
                raise ConflictError(
                    f"'{element}' is a gateway: it decides which way the deal goes, so it cannot "
                    "be skipped; correct the data and retry it"
                )
            change = deal.change
            # As if it had not run: what a script set before it failed is dropped.
            failed.data = deepcopy(failed.parent.data) if failed.parent is not None else {}
            try:
                failed.complete()
            except Exception as exc:  # its post-script, or entering what follows it
                raise _again(element, exc) from exc
            error = _go_on(change, failed.id, element)
            entry = _entry(user, "incident_skip", failed, None)
            deal.save(actor=user, first=entry, error=error)
            _tell_owner(s, inst, user, "incident_skip", failed)
            return _result(inst)

    @retried
    def cancel(self, instance_id: str | int, *, user: str, reason: str) -> dict[str, Any]:
        """Stop a deal in error for good, with a reason."""
        with self.space.write() as unit:
            s = unit.s
            deal = _open(unit, instance_id, user)
            inst, wf = deal.deal, deal.workflow
            reason = (reason or "").strip()
            if not reason or len(reason) > MAX_REASON:
                raise ValidationError(f"a reason is 1-{MAX_REASON} characters", field="reason")
            wf.cancel()
            entry = _entry(user, "cancelled", None, {"reason": reason})
            deal.save(actor=user, first=entry, status="cancelled")
            _tell_owner(s, inst, user, "cancelled", reason=reason)
            return _result(inst)
