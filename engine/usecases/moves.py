"""Versions of a process in use: the list, a comparison of two, and moving running deals from
one version to another, with a preview first.

Moving a deal (`move`, pure: no database): SpiffWorkflow's diff aligns the old version's task
specs with the new ones by element id (by position for an element whose id changed but whose
neighbours did not); `migrate_workflow` swaps the specs under the restored workflow and resets
what is open (READY and WAITING tasks: what they predicted is predicted again on the new
version).  What this module adds, and why:
- a deal that cannot move is refused with its reason and stays exactly as it was: it is not
  running (completed, cancelled), it is in error (handle the incident first), an element it
  waits at is not in the new version, a sub-process it runs is gone, or going on in the new
  version fails at once;
- what the reset would lose is put back where it still holds: each open task keeps its id
  (so open-task rows and drafts stay), its data and the moment it became ready (SLA due times,
  time-in-step figures); a waiting timer keeps its due time unless its timer changed, and then
  restarts from now (the preview says so);
- finished tasks of removed elements that pruning left in the tree are spliced out: the
  history table and `visited` keep what happened there;
- the moved workflow must survive a save and a reload onto the new version before it counts.

The preview runs exactly that move on a copy restored from the stored state, so the landing it
shows is the one a migration makes.  A migration is one transaction and one audited action:
each deal that moves gets a `migrated` history row (from and to version, who (`by`), the
batch id shared by the deals moved together), its version columns, position, open tasks,
timers and message subscriptions re-recorded (engine.store.changes.save_change); deals that
cannot move are reported and untouched.

Who, and what each of them is told:
- The process is looked up first (an unknown process or version is a NotFoundError for
  anyone), then the role: a ForbiddenError for a user without it, whatever deals are named.
- Designers and admins migrate (a version is the designer's work, and moving deals onto it is
  part of publishing it).  That is a right over the process, not over deals: they preview and
  move every deal of the process, including deals usecases.access does not show them (it shows
  a designer only the deals they own or work on).  For such a deal the answer carries what a
  move is about (stage, status, version, position, open steps, timers), never its name or
  owner.
- Sales managers preview only.  A preview shows a deal's name and owner by the rule of every
  other page (engine.usecases.access), so a sales manager, who sees every deal, sees them all there.
- A deal id that is not a deal of this process, whether it is a deal of another process or no
  deal at all, is answered word for word alike (`not_found`, "no such deal of this process"):
  naming ids tells nothing about the deals of other processes.
Who moved a deal is kept in its `migrated` entry's data (`by`), not as the entry's actor: an
actor counts as having worked on the deal and would see it from then on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.core import diff, runtime
from engine.core.definitions import form_name
from engine.core.moving import CannotMoveError, Moved, SpecDiffs, move
from engine.core.roles import DESIGNERS, PROCESS_VIEWERS
from engine.core.stages import STAGE_ORDER
from engine.core.version import VersionRuntime
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.store import deployments as versions
from engine.store import heat, users
from engine.store.models import Definition, DefinitionVersion, Instance, OpenTask
from engine.store.records import iso
from engine.store.sla import DueTimes
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.charts import cached_graph
from engine.usecases.unit import MAX_ID, UnitOfWork, Workspace, retried

__all__ = [
    "MAX_IDS",
    "MIGRATE_ROLES",
    "PREVIEW_ROLES",
    "CannotMoveError",
    "MoveCases",
    "Moved",
    "may_migrate",
    "move",
]

PREVIEW_ROLES = PROCESS_VIEWERS
MIGRATE_ROLES = DESIGNERS
CANDIDATE_STATUSES = ("running", "error")  # listed by a preview; only running deals move
MAX_IDS = 1000


def may_migrate(roles: Iterable[str]) -> bool:
    return bool(set(roles) & MIGRATE_ROLES)


# --- moving one workflow (no database) --------------------------------------------------------


# --- reading a move ---------------------------------------------------------------------------


def _landing(
    inst: Instance, new_vr: VersionRuntime, moved: Moved
) -> tuple[list[runtime.Event], dict[str, Any]]:
    """The events of the move and where the deal lands: position, open tasks, timers, stage."""
    wf = moved.change.workflow
    events = moved.change.finish()
    visited = dict(inst.visited)
    for ev in events:
        if ev.kind in ("completed", "timer", "message", "cancelled"):
            visited[ev.element_id] = "cancelled" if ev.kind == "cancelled" else "completed"
    open_tasks = runtime.open_human_tasks(wf)
    found = (new_vr.stages.get(t.task_spec.bpmn_id) for t in open_tasks)
    stages = [name for name in found if name]
    rank = {name: i for i, name in enumerate(STAGE_ORDER)}
    stage = max(stages, key=lambda st: rank.get(st, -1)) if stages else inst.stage
    timers = []
    for task, due in runtime.waiting_timers(wf):
        element = task.task_spec.bpmn_id
        due_at = iso(due)
        timers.append(
            {
                "element_id": element,
                "name": task.task_spec.bpmn_name,
                "due_at": due_at,
                "restarted": moved.timers_before.get(element) != due_at,
            }
        )
    landing = {
        "position": runtime.position(wf, visited),
        "open": [
            {
                "element_id": t.task_spec.bpmn_id,
                "name": t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                "lane": t.task_spec.lane,
            }
            for t in open_tasks
        ],
        "timers": timers,
        "stage_after": stage,
        "status_after": "completed" if wf.is_completed() else "running",
    }
    return events, landing


def _current(inst: Instance, vr: VersionRuntime) -> dict[str, Any]:
    """Where a deal that does not move stays (its open tasks named as in its version)."""
    specs = {getattr(t, "bpmn_id", None): t for t in vr.spec.task_specs.values()}
    return {
        "position": dict(inst.position),
        "open": [
            {
                "element_id": e,
                "name": getattr(specs.get(e), "bpmn_name", None) or e,
                "lane": getattr(specs.get(e), "lane", None),
            }
            for e, state in inst.position.items()
            if state == "ready"
        ],
        "timers": [{**t, "restarted": False} for t in inst.timers],
        "stage_after": inst.stage,
        "status_after": inst.status,
    }


def _record(inst: Instance | None, to_version: int, **more: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "instance_id": str(inst.id) if inst is not None else None,
        "name": inst.name if inst is not None else None,
        "owner": inst.owner if inst is not None else None,
        "stage": inst.stage if inst is not None else None,
        "status": inst.status if inst is not None else None,
        "from_version": inst.version_number if inst is not None else None,
        "to_version": to_version,
        "can_move": False,
        "migrated": False,
        "code": None,
        "reason": None,
        "element_id": None,
        "element_name": None,
        "position": {},
        "open": [],
        "timers": [],
        "stage_after": None,
        "status_after": None,
    }
    base.update(more)
    return base


def _refused(
    inst: Instance, vr: VersionRuntime, to_version: int, why: CannotMoveError
) -> dict[str, Any]:
    return _record(
        inst,
        to_version,
        code=why.code,
        reason=why.reason,
        element_id=why.element_id,
        element_name=why.element_name,
        **_current(inst, vr),
    )


# --- use cases ----------------------------------------------------------------------------


def _ids(instance_ids: Sequence[str | int] | None) -> list[int] | None:
    if instance_ids is None:
        return None
    if len(instance_ids) > MAX_IDS:
        raise ValidationError(f"at most {MAX_IDS} deals at once", field="instance_ids")
    found = []
    for value in instance_ids:
        try:
            found.append(int(value))
        except (TypeError, ValueError):
            raise ValidationError(f"'{value}' is not a deal id", field="instance_ids") from None
    return sorted(set(found))


def _redact(s: Session, user: str | None, results: list[dict[str, Any]]) -> None:
    """The name and owner of a deal the user may not see (usecases.access: a designer sees only
    their own) are left out: moving a deal is a process matter, its content stays private.
    Ids that are no deal of the process are not looked up (they may not even fit a row)."""
    if user is None:
        return
    ids = [int(r["instance_id"]) for r in results if r["code"] != "not_found"]
    query = select(Instance.id).where(
        Instance.id.in_(ids), access.visible_deals(user, users.roles_of(s, user))
    )
    visible = {str(i) for i in s.scalars(query)}
    for found in results:
        if found["instance_id"] not in visible:
            found["name"] = found["owner"] = None


def _check(s: Session, user: str | None, roles: frozenset[str], what: str) -> None:
    if user is None:
        return  # the command line: whoever can reach the database
    if not set(users.roles_of(s, user)) & roles:
        held = " or ".join(sorted(roles))
        raise ForbiddenError(f"{user} may not {what}: that needs the role {held}")


def _run(
    space: Workspace,
    s: Session,
    target: DefinitionVersion,
    ids: list[int] | None,
    stage: str | None,
    from_version: int | None,
    apply: tuple[str | None, UnitOfWork] | None,
    viewer: str | None = None,
) -> dict[str, Any]:
    process_id, to_version = target.definition.process_id, target.version
    new_vr = space.version(s, target.id)
    query = select(Instance).where(Instance.process_id == process_id).order_by(Instance.id)
    if ids is not None:
        # An id no database row can have is simply not found (no overflow in the query).
        query = query.where(Instance.id.in_([i for i in ids if 0 < i <= MAX_ID]))
    else:
        query = query.where(
            Instance.status.in_(CANDIDATE_STATUSES), Instance.version_number != to_version
        )
        if stage:
            query = query.where(Instance.stage == stage)
        if from_version is not None:
            query = query.where(Instance.version_number == from_version)
    if apply is not None and not space.db.is_sqlite:
        query = query.with_for_update()
    deals = list(s.scalars(query.execution_options(populate_existing=True)))
    results = []
    if ids is not None:
        present = {d.id for d in deals}
        for missing in (i for i in ids if i not in present):
            # Another process's deal and no deal at all: the same words (see the module).
            results.append(
                _record(
                    None,
                    to_version,
                    instance_id=str(missing),
                    code="not_found",
                    reason="no such deal of this process",
                )
            )
    now = clock.now()
    batch = uuid.uuid4().hex[:12]
    roles: dict[str, set[str]] = {}
    diffs: SpecDiffs = {}
    for inst in deals:
        results.append(_one(space, s, inst, new_vr, to_version, apply, now, batch, roles, diffs))
    results.sort(key=lambda r: int(r["instance_id"]))
    _redact(s, apply[0] if apply is not None else viewer, results)
    movable = sum(1 for r in results if r["can_move"])
    return {
        "process_id": process_id,
        "to_version": to_version,
        "dry_run": apply is None,
        "batch": batch if apply is not None and movable else None,
        "movable": movable,
        "migrated": sum(1 for r in results if r["migrated"]),
        "refused": len(results) - movable,
        "deals": results,
    }


def _one(
    space: Workspace,
    s: Session,
    inst: Instance,
    new_vr: VersionRuntime,
    to_version: int,
    apply: tuple[str | None, UnitOfWork] | None,
    now: Any,
    batch: str,
    roles: dict[str, set[str]],
    diffs: SpecDiffs,
) -> dict[str, Any]:
    old_vr = space.version(s, inst.version_id)
    if inst.version_number == to_version:
        why = CannotMoveError("same_version", f"it is on version {to_version} already")
        return _refused(inst, old_vr, to_version, why)
    if inst.status == "error":
        error = inst.error or {}
        where = error.get("element_name") or error.get("element_id") or "?"
        why = CannotMoveError("in_error", f"it is in error at '{where}': handle the incident first")
        why.element_id, why.element_name = error.get("element_id"), error.get("element_name")
        return _refused(inst, old_vr, to_version, why)
    if inst.status != "running":
        why = CannotMoveError("not_running", f"it is {inst.status}")
        return _refused(inst, old_vr, to_version, why)
    wf = runtime.load_state(inst.state, old_vr.spec, old_vr.subprocess_specs)  # a copy of its own
    try:
        moved = move(wf, new_vr.spec, new_vr.subprocess_specs, diffs)
    except CannotMoveError as why:
        return _refused(inst, old_vr, to_version, why)
    if apply is None:
        _events, landing = _landing(inst, new_vr, moved)
        return _record(inst, to_version, can_move=True, **landing)
    user, unit = apply
    from_version = inst.version_number
    _refresh_open_tasks(s, inst, old_vr, new_vr, moved.change.workflow)
    # Who moved it goes in the data, not in `actor`: an actor has worked on the deal and sees
    # it from then on (engine.usecases.access), and designers do not see deals.
    entry = {
        "at": now,
        "actor": None,
        "kind": "migrated",
        "data": {
            "from_version": from_version,
            "to_version": to_version,
            "by": user,
            "batch": batch,
        },
    }
    unit.adopt(inst, new_vr, moved.change).save(actor=None, now=now, roles=roles, first=entry)
    landing = _current(inst, new_vr)
    landing["open"] = [
        {
            "element_id": t.task_spec.bpmn_id,
            "name": t.task_spec.bpmn_name or t.task_spec.bpmn_id,
            "lane": t.task_spec.lane,
        }
        for t in runtime.open_human_tasks(moved.change.workflow)
    ]
    landing["timers"] = [
        {**t, "restarted": moved.timers_before.get(t["element_id"]) != t["due_at"]}
        for t in inst.timers
    ]
    return _record(
        inst, to_version, from_version=from_version, can_move=True, migrated=True, **landing
    )


def _refresh_open_tasks(
    s: Session,
    inst: Instance,
    old_vr: VersionRuntime,
    new_vr: VersionRuntime,
    wf: runtime.SalesWorkflow,
) -> None:
    """Open-task rows of tasks that stay open keep their assignee, claim and due time; what
    the new version changed about their element is written over them.  A row whose lane
    changed goes: save_change writes it anew for the new lane's people."""
    still_open = {str(t.id): t for t in runtime.open_human_tasks(wf)}
    rows = list(s.scalars(select(OpenTask).where(OpenTask.instance_id == inst.id)))
    due = DueTimes(s, new_vr.slas)
    gone = []
    for row in rows:
        task = still_open.get(row.task_id)
        if task is None:
            continue  # save_change deletes it
        spec = task.task_spec
        if (spec.lane or None) != (row.lane or None):
            gone.append(row.task_id)
            continue
        values: dict[str, Any] = {
            "element_id": spec.bpmn_id,
            "name": spec.bpmn_name or spec.bpmn_id,
            "stage": new_vr.stages.get(spec.bpmn_id),
            "form": form_name(spec),
        }
        if new_vr.slas.get(spec.bpmn_id) != old_vr.slas.get(row.element_id):
            values.update(due.fields(spec.bpmn_id, row.created_at))
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            s.execute(
                update(OpenTask)
                .where(OpenTask.task_id == row.task_id)
                .values(**changed)
                .execution_options(synchronize_session=False)
            )
    if gone:
        s.execute(delete(OpenTask).where(OpenTask.task_id.in_(gone)))


class MoveCases(UseCases):
    """A process's versions: list them, compare two, move running deals between them."""

    def definition_versions(self, process_id: str) -> list[dict[str, Any]]:
        """A process's versions, newest first: who published each and when, and how many deals
        run on it (running, in error, and all it ever ran)."""
        with self.db.read() as s:
            definition = s.scalars(
                select(Definition).where(Definition.process_id == process_id)
            ).first()
            if definition is None:
                raise NotFoundError(f"no deployed process '{process_id}'")
            # Kept per version, the open ones read from an index (engine.store.heat).
            counts = heat.version_counts(s, process_id)
            rows = s.execute(
                select(
                    DefinitionVersion.id,
                    DefinitionVersion.version,
                    DefinitionVersion.deployed_by,
                    DefinitionVersion.deployed_at,
                )
                .where(DefinitionVersion.definition_id == definition.id)
                .order_by(DefinitionVersion.version.desc())
            )
            found = []
            for version_id, number, by, at in rows:
                per = counts.get(version_id, {})
                found.append(
                    {
                        "version": number,
                        "latest": number == definition.latest_version,
                        "deployed_by": by,
                        "deployed_at": iso(at),
                        "running": per.get("running", 0),
                        "error": per.get("error", 0),
                        "total": sum(per.values()),
                    }
                )
            return found

    def version_diff(self, process_id: str, old: int, new: int) -> diff.VersionDiff:
        """What changed from version `old` to version `new` of a process (engine.core.diff)."""
        sides = []
        for number in (old, new):
            with self.db.read() as s:
                row = versions.version_row(s, process_id, number)
                graph = cached_graph(self.space, row)
                vr = self.version(s, row.id)
                files = dict(row.files)
            sides.append(diff.Side(number, graph, vr.spec, vr.subprocess_specs, files))
        return diff.compare(sides[0], sides[1])

    @retried
    def migrate(
        self,
        process_id: str,
        to_version: int,
        *,
        user: str | None,
        instance_ids: Sequence[str | int] | None = None,
        stage: str | None = None,
        from_version: int | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Move the chosen running deals of a process to version `to_version`: the given ones,
        or all of them (at `stage`, on `from_version` when given).  With `dry_run` nothing is
        written: the answer is the preview.  `user` None is the command line."""
        ids = _ids(instance_ids)
        if dry_run:
            with self.db.read() as s:
                target = versions.version_row(s, process_id, to_version)  # the process first
                _check(s, user, PREVIEW_ROLES, "see migration previews")
                return _run(self.space, s, target, ids, stage, from_version, None, user)
        with self.space.write() as unit:
            target = versions.version_row(unit.s, process_id, to_version)
            _check(unit.s, user, MIGRATE_ROLES, "migrate deals")
            return _run(self.space, unit.s, target, ids, stage, from_version, (user, unit))
