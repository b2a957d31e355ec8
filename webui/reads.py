"""Read-only look-ups the pages need and engine.service does not offer yet.

Each one reads in one `service.db.read()` transaction, through the engine's own models and
version cache, and changes nothing.  They belong in engine.service (as `task(task_id)`,
`task_form(task_id)`, `start_form(process_id)` and an `ids` filter on `instances`); until
then they live here, in one place, so that moving them is one change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.definitions import form_name
from engine.models import History, Instance, OpenTask
from engine.records import task_record
from engine.service import Service
from engine.versions import version_row


@dataclass(frozen=True)
class TaskForm:
    """What the form page of a task shows besides the deal: its schema and instructions."""

    schema: dict[str, Any] | None
    instructions: str


def open_task(service: Service, task_id: str) -> dict[str, Any] | None:
    """One open task (the CLI's task record), or None when there is no such open task."""
    with service.db.read() as s:
        row = s.get(OpenTask, task_id)
        return task_record(row) if row is not None else None


def finished_task(service: Service, task_id: str) -> dict[str, Any] | None:
    """Who completed a task that is no longer open, when, and on which deal (or None)."""
    with service.db.read() as s:
        row = s.scalars(
            select(History)
            .where(History.task_id == task_id, History.kind == "completed")
            .order_by(History.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return {
            "instance_id": str(row.instance_id),
            "name": row.element_name,
            "actor": row.actor,
            "at": row.at.isoformat(),
        }


def task_form(service: Service, task: dict[str, Any]) -> TaskForm:
    """The JSON schema of a task's form (from the deal's own version) and its instructions."""
    with service.db.read() as s:
        inst = s.get(Instance, int(task["instance_id"]))
        if inst is None:
            return TaskForm(None, "")
        vr = service.version(s, inst.version_id)
    schema = None
    if task.get("form") and task["form"] in vr.validators:
        schema = vr.validators[task["form"]].schema
    instructions = ""
    for spec in (vr.spec, *vr.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            if getattr(ts, "bpmn_id", None) == task["element_id"]:
                ext = getattr(ts, "extensions", None) or {}
                instructions = str(ext.get("instructionsForEndUser") or "")
    return TaskForm(schema, instructions)


def start_form(service: Service, process_id: str) -> dict[str, Any] | None:
    """The JSON schema of the start form of a process's latest version (None without one)."""
    with service.db.read() as s:
        row = version_row(s, process_id, None)
        vr = service.version(s, row.id)
    outputs = vr.spec.start.outputs
    name = form_name(outputs[0]) if outputs else None
    if name is None or name not in vr.validators:
        return None
    schema: dict[str, Any] = vr.validators[name].schema
    return schema


def deals_by_id(service: Service, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Name, process and stage of the given deals (for the task list)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return {}
    with service.db.read() as s:
        rows = s.execute(
            select(Instance.id, Instance.name, Instance.process_id, Instance.stage).where(
                Instance.id.in_(wanted)
            )
        ).all()
    return {str(r.id): {"name": r.name, "process_id": r.process_id, "stage": r.stage} for r in rows}
