"""Use cases: what the CLI, the web pages and the JSON API call.  One transaction each.

Completing a task (design.md): find the open-task row, lock the instance, check the user and
the form, take the live workflow from the cache (or restore it from its stored state), run it,
write what changed with `lock_version + 1`, commit.  Any error before the commit leaves the
deal exactly where it was.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock, runtime
from engine.db import Database
from engine.definitions import ProcessBundle, form_name, load_form, parse_sources, read_paths
from engine.errors import (
    ConflictError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.forms import check_data, make_validator
from engine.models import (
    Definition,
    DefinitionVersion,
    History,
    Instance,
    OpenTask,
    User,
    UserRole,
)
from engine.passwords import hash_password
from engine.records import history_record, instance_summary, iso, task_record
from engine.roles import role_key

STAGE_ORDER = (
    "lead",
    "qualification",
    "contact",
    "needs",
    "proposal",
    "negotiation",
    "contract",
    "won",
    "lost",
    "after_sales",
)
WORKFLOW_CACHE_SIZE = 2000


@dataclass
class VersionRuntime:
    """A deployed version, ready to run: spec objects and compiled form validators."""

    version_id: int
    process_id: str
    name: str
    version: int
    spec: Any
    subprocess_specs: dict[str, Any]
    validators: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)


class WorkflowCache:
    """Live workflows kept between calls, keyed by instance and valid for one lock_version.

    `checkout` removes the entry, so two threads never share a workflow object; whoever commits
    puts the new state back.
    """

    def __init__(self, size: int = WORKFLOW_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[int, runtime.SalesWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def checkout(self, instance_id: int, lock_version: int) -> runtime.SalesWorkflow | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is not None and item[0] == lock_version:
            return item[1]
        return None

    def checkin(self, instance_id: int, lock_version: int, wf: runtime.SalesWorkflow) -> None:
        with self._lock:
            self._items[instance_id] = (lock_version, wf)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _parse_id(value: str | int, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFoundError(f"no {what} with id '{value}'") from None


def _as_amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _as_text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def _stamp(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class Service:
    """The engine's use cases over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._versions: dict[int, VersionRuntime] = {}
        self._versions_lock = threading.Lock()
        self.workflows = WorkflowCache()

    # --- users -------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        roles: Iterable[str] = (),
        *,
        password: str | None = None,
        display_name: str | None = None,
    ) -> dict[str, Any]:
        """Create a user, or add roles (and a new password) to an existing one."""
        username = username.strip()
        if not username or len(username) > 80 or any(c.isspace() for c in username):
            raise ValidationError("a user name is 1-80 characters without spaces", field="name")
        with self.db.write() as s:
            user = s.scalars(select(User).where(User.username == username)).first()
            if user is None:
                user = User(username=username, display_name=display_name or username)
                s.add(user)
            if display_name:
                user.display_name = display_name
            if password is not None:
                user.password_hash = hash_password(password)
            held = {r.role for r in user.roles}
            for label in roles:
                key = role_key(label)
                if not key:
                    raise ValidationError("a role name cannot be empty", field="role")
                if key not in held:
                    user.roles.append(UserRole(role=key, label=label.strip()))
                    held.add(key)
            s.flush()
            return self._user_record(user)

    def users(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return [self._user_record(u) for u in s.scalars(select(User).order_by(User.username))]

    @staticmethod
    def _user_record(user: User) -> dict[str, Any]:
        return {
            "username": user.username,
            "display_name": user.display_name,
            "roles": sorted(r.label for r in user.roles),
            "active": user.active,
        }

    def _roles_of(self, s: Session, username: str | None) -> set[str]:
        """The role keys an active user holds; NotFoundError for an unknown user."""
        rows = s.execute(
            select(User.id, UserRole.role)
            .outerjoin(UserRole)
            .where(User.username == username, User.active)
        ).all()
        if not rows:
            raise NotFoundError(f"no user '{username}'")
        return {role for _, role in rows if role is not None}

    # --- definitions -------------------------------------------------------------------

    def deploy(
        self, paths: Iterable[str | Path], *, actor: str | None = None
    ) -> list[dict[str, Any]]:
        """Deploy every executable process in the files/folders; all or nothing."""
        return self.deploy_sources(read_paths(paths), actor=actor)

    def deploy_sources(
        self, sources: dict[str, str], *, actor: str | None = None
    ) -> list[dict[str, Any]]:
        bundles = parse_sources(sources)  # raises before anything is written
        results = []
        with self.db.write() as s:
            for bundle in bundles:
                results.append(self._store_bundle(s, bundle, actor))
        return results

    def _store_bundle(self, s: Session, bundle: ProcessBundle, actor: str | None) -> dict[str, Any]:
        definition = s.scalars(
            select(Definition).where(Definition.process_id == bundle.process_id)
        ).first()
        if definition is None:
            definition = Definition(process_id=bundle.process_id, name=bundle.name)
            s.add(definition)
            s.flush()
        same = s.scalars(
            select(DefinitionVersion).where(
                DefinitionVersion.definition_id == definition.id,
                DefinitionVersion.content_hash == bundle.content_hash,
            )
        ).first()
        if same is not None:
            return {"process_id": bundle.process_id, "version": same.version, "changed": False}
        definition.latest_version += 1
        definition.name = bundle.name
        s.add(
            DefinitionVersion(
                definition_id=definition.id,
                version=definition.latest_version,
                content_hash=bundle.content_hash,
                files=bundle.files,
                spec=runtime.dump_spec(bundle.spec, bundle.subprocess_specs),
                deployed_by=actor,
                deployed_at=clock.now(),
            )
        )
        s.flush()
        return {
            "process_id": bundle.process_id,
            "version": definition.latest_version,
            "changed": True,
        }

    def definitions(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            rows = s.scalars(select(Definition).order_by(Definition.process_id))
            return [
                {
                    "process_id": d.process_id,
                    "name": d.name,
                    "version": d.latest_version,
                    "versions": d.latest_version,
                }
                for d in rows
            ]

    def _version_row(self, s: Session, process_id: str, version: int | None) -> DefinitionVersion:
        query = (
            select(DefinitionVersion)
            .join(Definition)
            .where(Definition.process_id == process_id)
            .order_by(DefinitionVersion.version.desc())
        )
        if version is not None:
            query = query.where(DefinitionVersion.version == version)
        row = s.scalars(query.limit(1)).first()
        if row is None:
            which = f" version {version}" if version is not None else ""
            raise NotFoundError(f"no deployed process '{process_id}'{which}")
        return row

    def _runtime(self, s: Session, version_id: int) -> VersionRuntime:
        cached = self._versions.get(version_id)
        if cached is not None:
            return cached
        row = s.get(DefinitionVersion, version_id)
        if row is None:
            raise NotFoundError(f"no definition version {version_id}")
        spec, subs = runtime.load_spec(row.spec)
        vr = VersionRuntime(
            version_id=row.id,
            process_id=row.definition.process_id,
            name=row.definition.name,
            version=row.version,
            spec=spec,
            subprocess_specs=subs,
        )
        for s_ in (spec, *subs.values()):
            for ts in s_.task_specs.values():
                if getattr(ts, "bpmn_id", None) is None:
                    continue
                stage = runtime.properties(ts).get("stage")
                if stage:
                    vr.stages[ts.bpmn_id] = stage
                name = form_name(ts)
                if name and name in row.files and name not in vr.validators:
                    vr.validators[name] = make_validator(load_form(name, row.files[name]))
        with self._versions_lock:
            self._versions.setdefault(version_id, vr)
        return self._versions[version_id]

    # --- instances ---------------------------------------------------------------------

    def start(
        self,
        process_id: str,
        *,
        deal: str | None = None,
        owner: str | None = None,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Start a deal on the latest (or the given) version of a process."""
        data = dict(data or {})
        with self.db.write() as s:
            vrow = self._version_row(s, process_id, version)
            vr = self._runtime(s, vrow.id)
            roles = {owner: self._roles_of(s, owner)} if owner is not None else {}
            if actor is not None and actor != owner:
                self._roles_of(s, actor)
            start_form = form_name(vr.spec.start.outputs[0]) if vr.spec.start.outputs else None
            if start_form in vr.validators:
                check_data(vr.validators[start_form], data)
            wf = runtime.new_workflow(vr.spec, vr.subprocess_specs, data)
            now = clock.now()
            change = runtime.Change(wf)
            self._run(change.engine_steps)
            inst = Instance(
                version_id=vr.version_id,
                process_id=vr.process_id,
                version_number=vr.version,
                name=(deal or data.get("company") or vr.name)[:300],
                owner=owner,
                visited={},
                created_at=now,
            )
            s.add(inst)
            started = {
                "at": now,
                "actor": actor or owner,
                "kind": "started",
                "data": runtime.json_safe(data),
            }
            self._save(
                s,
                inst,
                vr,
                change,
                actor=actor or owner,
                now=now,
                roles=roles,
                new=True,
                first=started,
            )
            if deal is None and not data.get("company"):
                inst.name = f"{vr.name} #{inst.id}"[:300]
                s.flush()
        self.workflows.checkin(inst.id, inst.lock_version, wf)
        return {
            "instance_id": str(inst.id),
            "process_id": inst.process_id,
            "version": inst.version_number,
            "status": inst.status,
        }

    def instances(
        self,
        *,
        process: str | None = None,
        status: str | None = None,
        owner: str | None = None,
    ) -> list[dict[str, Any]]:
        with self.db.read() as s:
            query = select(Instance).order_by(Instance.id)
            if process is not None:
                query = query.where(Instance.process_id == process)
            if status is not None:
                query = query.where(Instance.status == status)
            if owner is not None:
                query = query.where(Instance.owner == owner)
            return [instance_summary(i) for i in s.scalars(query)]

    def show(self, instance_id: str | int) -> dict[str, Any]:
        """Everything about one deal, read from its rows (no workflow is loaded)."""
        iid = _parse_id(instance_id, "instance")
        with self.db.read() as s:
            inst = s.get(Instance, iid)
            if inst is None:
                raise NotFoundError(f"no instance with id '{instance_id}'")
            tasks = s.scalars(
                select(OpenTask).where(OpenTask.instance_id == iid).order_by(OpenTask.created_at)
            )
            history = s.scalars(
                select(History).where(History.instance_id == iid).order_by(History.id)
            )
            return {
                **instance_summary(inst),
                "position": dict(inst.position),
                "data": inst.data,
                "tasks": [task_record(t) for t in tasks],
                "timers": list(inst.timers),
                "error": inst.error,
                "history": [history_record(h) for h in history],
            }

    def tasks(
        self,
        *,
        user: str | None = None,
        role: str | None = None,
        instance: str | int | None = None,
    ) -> list[dict[str, Any]]:
        """Open tasks: a user's own and those waiting in the queues of the user's roles."""
        with self.db.read() as s:
            query = select(OpenTask).order_by(OpenTask.due_at, OpenTask.created_at)
            if user is not None:
                keys = sorted(self._roles_of(s, user))
                query = query.where(
                    (OpenTask.assignee == user)
                    | (OpenTask.assignee.is_(None) & OpenTask.role.in_(keys))
                )
            if role is not None:
                query = query.where(OpenTask.role == role_key(role))
            if instance is not None:
                query = query.where(OpenTask.instance_id == _parse_id(instance, "instance"))
            return [task_record(t) for t in s.scalars(query)]

    def complete(
        self, task_id: str, *, user: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Complete a ready task as `user` with the submitted form data."""
        data = dict(data or {})
        with self.db.write() as s:
            row = s.get(OpenTask, task_id)
            if row is None:
                raise self._gone(s, task_id)
            inst = self._lock(s, row.instance_id)
            if not self.db.is_sqlite:
                # Re-read under the row lock: someone may have completed it while we waited.
                # (SQLite's BEGIN IMMEDIATE took the write lock before the first read.)
                row = s.get(OpenTask, task_id, populate_existing=True)
                if row is None:
                    raise self._gone(s, task_id)
            roles = {user: self._roles_of(s, user)}
            self._check_may_complete(user, roles[user], row)
            vr = self._runtime(s, inst.version_id)
            if row.form is not None and row.form in vr.validators:
                check_data(vr.validators[row.form], data)
            wf = self._workflow(inst, vr)
            task = wf.get_task_from_id(UUID(task_id))
            if task is None or task.state != TaskState.READY:
                raise ConflictError(f"task '{row.name}' is no longer open")
            change = runtime.Change(wf)
            submitted = runtime.json_safe(data)
            task.data.update(submitted)

            def run() -> None:
                task.run()
                change.engine_steps()

            self._run(run)
            self._save(
                s,
                inst,
                vr,
                change,
                actor=user,
                now=clock.now(),
                roles=roles,
                submitted=(task_id, submitted),
            )
            ready = sorted(t.task_spec.bpmn_id for t in runtime.open_human_tasks(wf))
            result = {"instance_id": str(inst.id), "status": inst.status, "ready": ready}
        self.workflows.checkin(inst.id, inst.lock_version, wf)
        return result

    def tick(self) -> dict[str, int]:
        """Fire every timer that is due now."""
        now = clock.now()
        fired = 0
        with self.db.read() as s:
            due = list(
                s.scalars(
                    select(Instance.id)
                    .where(Instance.status == "running", Instance.next_due_at <= now)
                    .order_by(Instance.next_due_at)
                )
            )
        for iid in due:
            fired += self._fire_timers(iid, now)
        return {"fired": fired}

    def _fire_timers(self, iid: int, now: datetime) -> int:
        with self.db.write() as s:
            query = select(Instance).where(
                Instance.id == iid, Instance.status == "running", Instance.next_due_at <= now
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            inst = s.scalars(query).first()
            if inst is None:
                return 0  # fired meanwhile by someone else
            vr = self._runtime(s, inst.version_id)
            wf = self._workflow(inst, vr)
            change = runtime.Change(wf)
            error = None
            try:
                wf.refresh_timers()
                change.engine_steps()
            except WorkflowException as exc:
                error = self._describe(exc)
            events = self._save(
                s, inst, vr, change, actor=None, now=clock.now(), roles={}, error=error
            )
        self.workflows.checkin(inst.id, inst.lock_version, wf)
        return sum(1 for e in events if e.kind == "timer")

    # --- internals ---------------------------------------------------------------------

    def _gone(self, s: Session, task_id: str) -> Exception:
        done = s.scalars(
            select(History).where(History.task_id == task_id, History.kind == "completed").limit(1)
        ).first()
        if done is not None:
            who = f" by {done.actor}" if done.actor else ""
            return ConflictError(f"task {task_id} was already completed{who} at {iso(done.at)}")
        return NotFoundError(f"no open task with id '{task_id}'")

    def _lock(self, s: Session, iid: int) -> Instance:
        inst = s.get(Instance, iid, with_for_update=not self.db.is_sqlite, populate_existing=True)
        if inst is None:
            raise NotFoundError(f"no instance with id '{iid}'")
        if inst.status != "running":
            raise ConflictError(f"deal {iid} is {inst.status}")
        return inst

    @staticmethod
    def _check_may_complete(username: str, roles: set[str], row: OpenTask) -> None:
        if row.assignee is not None:
            if row.assignee != username:
                raise ForbiddenError(
                    f"task '{row.name}' is assigned to {row.assignee}, not to {username}"
                )
            return
        if row.role is not None and row.role not in roles:
            raise ForbiddenError(
                f"task '{row.name}' belongs to the lane '{row.lane}'; "
                f"{username} does not hold that role"
            )

    def _workflow(self, inst: Instance, vr: VersionRuntime) -> runtime.SalesWorkflow:
        wf = self.workflows.checkout(inst.id, inst.lock_version)
        if wf is None:
            wf = runtime.load_state(inst.state, vr.spec, vr.subprocess_specs)
        return wf

    @staticmethod
    def _describe(exc: WorkflowException) -> dict[str, Any]:
        task = getattr(exc, "task", None)
        spec = getattr(task, "task_spec", None)
        return {
            "element_id": getattr(spec, "bpmn_id", None),
            "element_name": getattr(spec, "bpmn_name", None),
            "message": str(exc),
            "data": runtime.json_safe(task.data) if task is not None else None,
        }

    def _run(self, step: Any) -> None:
        """Run engine work started by a person: on failure nothing is kept."""
        try:
            step()
        except WorkflowException as exc:
            info = self._describe(exc)
            where = info["element_name"] or info["element_id"] or "the process"
            raise ExpressionError(
                f"{where} ({info['element_id']}) failed: {info['message']}"
            ) from exc

    def _save(
        self,
        s: Session,
        inst: Instance,
        vr: VersionRuntime,
        change: runtime.Change,
        *,
        actor: str | None,
        now: datetime,
        roles: dict[str, set[str]],
        new: bool = False,
        error: dict[str, Any] | None = None,
        submitted: tuple[str, dict[str, Any]] | None = None,
        first: dict[str, Any] | None = None,
    ) -> list[runtime.Event]:
        """Write what a change did: history, open tasks, deal fields, state.

        History and open-task rows go in as one executemany each: a completion writes a
        handful of rows and the ORM's per-object inserts would cost more than the engine.
        """
        wf = change.workflow
        events = change.finish()
        visited = dict(inst.visited)
        last_stage = None
        history = [first] if first is not None else []
        for ev in events:
            data: dict[str, Any] | None = ev.changes or None
            if submitted is not None and ev.task_id == submitted[0]:
                data = submitted[1]  # what the person entered, even where it changed nothing
            if ev.kind == "error" and error is not None:
                data = {"message": error["message"], "data": error["data"]}
            history.append(
                {
                    "at": _stamp(ev.at) or now,
                    "actor": actor if ev.manual else None,
                    "kind": ev.kind,
                    "element_id": ev.element_id,
                    "element_name": ev.element_name,
                    "task_id": ev.task_id,
                    "entered_at": _stamp(ev.entered),
                    "data": data,
                }
            )
            if ev.kind in ("completed", "timer", "message", "cancelled"):
                visited[ev.element_id] = "cancelled" if ev.kind == "cancelled" else "completed"
            last_stage = vr.stages.get(ev.element_id, last_stage)
        open_tasks = runtime.open_human_tasks(wf)
        open_stages = [
            vr.stages[t.task_spec.bpmn_id] for t in open_tasks if t.task_spec.bpmn_id in vr.stages
        ]
        if open_stages:
            rank = {name: i for i, name in enumerate(STAGE_ORDER)}
            inst.stage = max(open_stages, key=lambda st: rank.get(st, -1))
        elif last_stage is not None:
            inst.stage = last_stage

        data_now = runtime.current_data(wf)
        inst.data = data_now
        inst.amount = _as_amount(data_now.get("amount", data_now.get("price")))
        inst.lead_source = _as_text(data_now.get("source_channel"), 80)
        inst.tier = _as_text(data_now.get("tier"), 8)
        inst.visited = visited
        inst.position = runtime.position(wf, visited)
        inst.timers = [
            {"element_id": t.task_spec.bpmn_id, "name": t.task_spec.bpmn_name, "due_at": iso(due)}
            for t, due in runtime.waiting_timers(wf)
        ]
        if runtime.has_error(wf):
            inst.status = "error"
            inst.error = error
        elif wf.is_completed():
            inst.status = "completed"
            inst.completed_at = now
            inst.error = None
        else:
            inst.status = "running"
            inst.error = None
        inst.next_due_at = runtime.next_due(wf) if inst.status == "running" else None
        inst.updated_at = now
        inst.state = runtime.dump_state(wf)
        try:
            s.flush()  # the instance row first: a new one gets its id here
        except StaleDataError as exc:
            raise ConflictError(
                f"deal {inst.id} was changed by someone else at the same time; nothing was saved"
            ) from exc
        if history:
            s.execute(insert(History), [{**h, "instance_id": inst.id} for h in history])
        self._sync_open_tasks(s, inst, vr, open_tasks, roles, new=new)
        return events

    def _sync_open_tasks(
        self,
        s: Session,
        inst: Instance,
        vr: VersionRuntime,
        open_tasks: list[Any],
        roles: dict[str, set[str]],
        *,
        new: bool,
    ) -> None:
        """Make the instance's open-task rows match its ready human tasks."""
        existing: set[str] = set()
        if not new:
            existing = set(
                s.scalars(select(OpenTask.task_id).where(OpenTask.instance_id == inst.id))
            )
        rows = []
        for task in open_tasks:
            tid = str(task.id)
            if tid in existing:
                existing.discard(tid)
                continue
            spec = task.task_spec
            role = role_key(spec.lane) if spec.lane else None
            owner = inst.owner
            if owner is not None and owner not in roles:
                roles[owner] = self._roles_of(s, owner)
            # Exactly one responsible person: the owner where they hold the lane's role,
            # otherwise the role's queue.
            assignee = owner if owner and (role is None or role in roles[owner]) else None
            rows.append(
                {
                    "task_id": tid,
                    "instance_id": inst.id,
                    "element_id": spec.bpmn_id,
                    "name": spec.bpmn_name or spec.bpmn_id,
                    "lane": spec.lane,
                    "role": role,
                    "assignee": assignee,
                    "stage": vr.stages.get(spec.bpmn_id),
                    "form": form_name(spec),
                    "due_at": None,
                    "created_at": _stamp(task.last_state_change) or clock.now(),
                }
            )
        if existing:
            s.execute(delete(OpenTask).where(OpenTask.task_id.in_(existing)))
        if rows:
            s.execute(insert(OpenTask), rows)


def load_json_object(text: str | None, what: str = "--data") -> dict[str, Any]:
    """Parse user-supplied JSON that must be an object; a clear error otherwise."""
    if text is None or text == "":
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", field=what
        ) from None
    if not isinstance(value, dict):
        raise ValidationError("must be a JSON object ({...})", field=what)
    return value


def count_instances(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Instance)) or 0)
