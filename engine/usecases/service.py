"""Use cases: what the CLI, the web pages and the JSON API call.  One transaction each.

Completing a task (design.md): find the open-task row, lock the instance, check the user and
the form, take the live workflow from the cache (or restore it from its stored state), run it,
write what changed with `lock_version + 1`, commit.  Any error before the commit leaves the
deal exactly where it was.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ColumnElement, func, select, union_all
from sqlalchemy.orm import Session, defer, load_only

from engine import clock
from engine.core import runtime
from engine.core.definitions import form_name, parse_sources, read_paths
from engine.core.diff import VersionDiff
from engine.core.forms import check_data
from engine.core.graph import Graph, Heat, InstanceView
from engine.core.lint import check as lint_check
from engine.core.lint import source_texts
from engine.core.roles import role_key
from engine.errors import (
    ConflictError,
    DefinitionError,
    DefinitionProblemsError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.jobs import timers
from engine.store import changes as recording
from engine.store import deployments as versions
from engine.store import drafts, notifications, users
from engine.store import team_settings as settings
from engine.store.db import Database
from engine.store.deployments import VersionRuntime
from engine.store.models import (
    DefinitionDraft,
    DefinitionVersion,
    History,
    Instance,
    OpenTask,
    User,
    UserRole,
)
from engine.store.records import (
    SUMMARY_COLUMNS,
    history_record,
    instance_summary,
    iso,
    task_record,
)
from engine.store.stale import stale_clause
from engine.usecases import access, charts, handover, incidents, messages
from engine.usecases import moves as migration
from engine.usecases.reports import facts

_T = TypeVar("_T")
WORKFLOW_CACHE_SIZE = 2000
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
log = logging.getLogger(__name__)


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


def _stage_is(stage: str | None) -> ColumnElement[bool]:
    return Instance.stage.is_(None) if stage is None else Instance.stage == stage


def _parse_id(value: str | int, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFoundError(f"no {what} with id '{value}'") from None


# What a deal's chart is drawn from (Service.instance_chart, charts.instance_view).
CHART_COLUMNS = (
    Instance.id,
    Instance.version_id,
    Instance.process_id,
    Instance.name,
    Instance.owner,
    Instance.status,
    Instance.stage,
    Instance.position,
    Instance.timers,
    Instance.error,
)


class Service:
    """The engine's use cases over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._versions: dict[int, VersionRuntime] = {}
        self._versions_lock = threading.Lock()
        self.workflows = WorkflowCache()
        self._graphs: dict[int, Graph] = {}
        # (process id, version number) -> graph and its layout's cache key
        self._graphs_by_number: dict[tuple[str, int], tuple[Graph, str]] = {}

    # --- users -------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        roles: Iterable[str] = (),
        *,
        password: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Create a user, or add roles (and a new password) to an existing one."""
        with self.db.write() as s:
            return users.add_user(
                s, username, roles, password=password, display_name=display_name, email=email
            )

    def users(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return users.list_users(s)

    def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        """The user's record for a right password, else None."""
        with self.db.read() as s:
            return users.authenticate(s, username, password)

    def roles(self, username: str) -> set[str]:
        """The role keys a user holds (NotFoundError for unknown or inactive users)."""
        with self.db.read() as s:
            return users.roles_of(s, username)

    def create_token(self, username: str, name: str = "") -> dict[str, Any]:
        with self.db.write() as s:
            token_id, token = users.create_token(s, username, name)
        return {"id": token_id, "token": token}

    def user_for_token(self, token: str) -> str | None:
        """Who an API token belongs to.  Requests only read; "last used" is written at most
        every few minutes so that API calls do not queue for the write lock."""
        with self.db.read() as s:
            found = users.user_for_token(s, token)
        if found is None:
            return None
        username, token_id, last_used = found
        if last_used is None or clock.now() - last_used > TOKEN_TOUCH_INTERVAL:
            with self.db.write() as s:
                users.touch_token(s, token_id)
        return username

    def revoke_token(self, token_id: int, username: str | None = None) -> None:
        with self.db.write() as s:
            users.revoke_token(s, token_id, username)

    def tokens(self, username: str) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return users.list_tokens(s, username)

    def user(self, username: str) -> dict[str, Any]:
        """One user (active or not) with the open tasks assigned to them."""
        with self.db.read() as s:
            return users.get_user(s, username)

    def set_user(
        self,
        username: str,
        *,
        roles: Iterable[str] | None = None,
        display_name: str | None = None,
        email: str | None = None,
        password: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Change an existing user; given roles replace the held ones (engine.store.users)."""
        with self.db.write() as s:
            return users.set_user(
                s,
                username,
                roles=roles,
                display_name=display_name,
                email=email,
                password=password,
                actor=actor,
            )

    def deactivate_user(self, username: str, *, actor: str | None = None) -> dict[str, Any]:
        """No more log-ins or API calls; the record lists the open tasks that stay theirs."""
        with self.db.write() as s:
            return users.deactivate_user(s, username, actor=actor)

    def activate_user(self, username: str) -> dict[str, Any]:
        with self.db.write() as s:
            return users.activate_user(s, username)

    def set_language(self, username: str, language: str | None) -> None:
        with self.db.write() as s:
            users.set_language(s, username, language)

    # --- drafts ------------------------------------------------------------------------

    def save_draft(self, task_id: str, *, user: str, data: dict[str, Any]) -> dict[str, Any]:
        """Keep a half-filled form of an open task the user may complete (engine.store.drafts)."""
        with self.db.write() as s:
            row = s.get(OpenTask, task_id)
            if row is None:
                raise self._gone(s, task_id)
            self._check_may_complete(user, users.roles_of(s, user), row)
            return drafts.save_draft(s, task_id, user, data)

    def draft(self, task_id: str, *, user: str) -> dict[str, Any] | None:
        with self.db.read() as s:
            return drafts.load_draft(s, task_id, user)

    def discard_draft(self, task_id: str, *, user: str) -> bool:
        with self.db.write() as s:
            return drafts.discard_draft(s, task_id, user)

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
        with self.db.write() as s:
            return [versions.store_bundle(s, bundle, actor) for bundle in bundles]

    def definitions(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return versions.list_definitions(s)

    # --- designing definitions: check, publish, drafts (engine.core.lint) --------------------

    def check_definition(self, files: Mapping[str, str | bytes]) -> list[dict[str, Any]]:
        """Every problem of a definition's files, errors and warnings (engine.core.lint)."""
        with self.db.read() as s:
            held = _held_roles(s)
        return [p.to_dict() for p in lint_check(files, held_roles=held)]

    def publish(self, files: Mapping[str, str | bytes], *, actor: str | None) -> dict[str, Any]:
        """Check everything, then deploy: a new version, or `changed` False for content that
        is deployed already.  Any error refuses the whole save (DefinitionProblemsError) and
        leaves what was deployed as it was.  `actor` None is the command line."""
        with self.db.read() as s:
            _check_designer(s, actor)
            held = _held_roles(s)
        problems = lint_check(files, held_roles=held)
        if any(p.severity == "error" for p in problems):
            raise DefinitionProblemsError([p.to_dict() for p in problems])
        texts, _ = source_texts(files)
        bundles = parse_sources(texts)
        with self.db.write() as s:
            results = [versions.store_bundle(s, bundle, actor) for bundle in bundles]
            if actor is not None:
                for result in results:
                    _drop_draft(s, result["process_id"], actor)
        return {
            **results[0],
            "processes": results,
            "warnings": [p.to_dict() for p in problems],
        }

    def definition_files(self, process_id: str, version: int | None = None) -> dict[str, str]:
        """The files of a deployed version (its latest without `version`), as stored."""
        with self.db.read() as s:
            return dict(versions.version_row(s, process_id, version).files)

    def export_definitions(self) -> dict[str, str]:
        """The files of every process's latest version, by file name; a file name that two
        processes use with different contents is a DefinitionError."""
        files: dict[str, str] = {}
        owner: dict[str, str] = {}
        with self.db.read() as s:
            for found in versions.list_definitions(s):
                pid = found["process_id"]
                for name, text in versions.version_row(s, pid, None).files.items():
                    if name in files and files[name] != text:
                        raise DefinitionError(
                            f"the latest versions of '{owner[name]}' and '{pid}' hold "
                            "different files of this name: deploy them together first",
                            file=name,
                        )
                    files[name], owner[name] = text, pid
        return files

    def save_draft_definition(
        self,
        process_id: str,
        files: Mapping[str, str | bytes],
        *,
        actor: str,
        base_version: int | None,
    ) -> dict[str, Any]:
        """Keep a designer's unfinished edit (one per process and designer), problems and
        all; the answer lists the problems a publish would meet."""
        texts, _ = source_texts(files)
        with self.db.write() as s:
            _check_designer(s, actor)
            if base_version is not None:
                versions.version_row(s, process_id, base_version)  # NotFoundError
            row = s.scalars(
                select(DefinitionDraft).where(
                    DefinitionDraft.process_id == process_id, DefinitionDraft.saved_by == actor
                )
            ).first()
            if row is None:
                row = DefinitionDraft(process_id=process_id, saved_by=actor)
                s.add(row)
            row.base_version = base_version
            row.files = texts
            row.saved_at = clock.now()
            s.flush()
            record = _draft_record(row)
            held = _held_roles(s)
        record["problems"] = [p.to_dict() for p in lint_check(files, held_roles=held)]
        return record

    def definition_draft(self, process_id: str, actor: str) -> dict[str, Any] | None:
        """The designer's draft of a process, if they kept one."""
        with self.db.read() as s:
            row = s.scalars(
                select(DefinitionDraft).where(
                    DefinitionDraft.process_id == process_id, DefinitionDraft.saved_by == actor
                )
            ).first()
            return _draft_record(row) if row is not None else None

    def discard_definition_draft(self, process_id: str, actor: str) -> bool:
        """Drop the designer's draft; False when there was none."""
        with self.db.write() as s:
            return _drop_draft(s, process_id, actor)

    def version(self, s: Session, version_id: int) -> VersionRuntime:
        """A deployed version ready to run, restored once per process and kept."""
        cached = self._versions.get(version_id)
        if cached is not None:
            return cached
        vr = versions.load_version(s, version_id)
        with self._versions_lock:
            return self._versions.setdefault(version_id, vr)

    # --- charts ------------------------------------------------------------------------

    def definition_chart(self, process_id: str, version: int | None = None) -> tuple[Graph, str]:
        """A deployed version's graph and a key that names its layout for caching."""
        with self.db.read() as s:
            row = versions.version_row(s, process_id, version)
            return self._graph(row), f"{row.content_hash}:{process_id}"

    def instance_chart(self, instance_id: str | int) -> tuple[Graph, InstanceView, str]:
        """A deal's graph (its own version), where it stands, and the layout's cache key."""
        iid = _parse_id(instance_id, "instance")
        with self.db.read() as s:
            # Neither the workflow state nor the version's files and spec: a chart is drawn
            # from the position, and the graph is parsed once per version.
            inst = s.scalars(
                select(Instance).options(load_only(*CHART_COLUMNS)).where(Instance.id == iid)
            ).first()
            if inst is None:
                raise NotFoundError(f"no instance with id '{instance_id}'")
            content_hash = s.scalars(
                select(DefinitionVersion.content_hash).where(
                    DefinitionVersion.id == inst.version_id
                )
            ).one()
            graph = self._graphs.get(inst.version_id)
            if graph is None:
                row = s.get(DefinitionVersion, inst.version_id)
                assert row is not None  # a foreign key
                graph = self._graph(row)
            view = charts.instance_view(s, inst)
            return graph, view, f"{content_hash}:{inst.process_id}"

    def deal_chart(self, deal: Mapping[str, Any]) -> tuple[Graph, InstanceView, str]:
        """`instance_chart` of a deal already read (`show`'s record): its page draws the
        chart from what it shows, reading at most its version's graph, once."""
        key = (str(deal["process_id"]), int(deal["version"]))
        found = self._graphs_by_number.get(key)
        if found is None:
            with self.db.read() as s:
                row = versions.version_row(s, *key)
                found = self._graphs_by_number.setdefault(
                    key, (self._graph(row), f"{row.content_hash}:{key[0]}")
                )
        graph, layout_key = found
        return graph, charts.view_of(deal), layout_key

    def heat(self, process_id: str, version: int | None = None) -> Heat:
        with self.db.read() as s:
            versions.version_row(s, process_id, version)  # NotFoundError for unknown ones
            return charts.heat(s, process_id, version)

    def _graph(self, row: DefinitionVersion) -> Graph:
        cached = self._graphs.get(row.id)
        if cached is None:
            cached = self._graphs.setdefault(row.id, charts.version_graph(row))
        return cached

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
        then: Callable[[Session, Instance], None] | None = None,
    ) -> dict[str, Any]:
        """Start a deal on the latest (or the given) version of a process.  `then(s, inst)`
        writes what a caller keeps beside the new instance, in the same transaction."""
        data = dict(data or {})
        with self.db.write() as s:
            vrow = versions.version_row(s, process_id, version)
            vr = self.version(s, vrow.id)
            roles = {owner: users.roles_of(s, owner)} if owner is not None else {}
            if actor is not None and actor != owner:
                users.roles_of(s, actor)
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
            recording.save_change(
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
            if then is not None:
                then(s, inst)
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
        stage: str | None = None,
        tier: str | None = None,
        lead_source: str | None = None,
        search: str | None = None,
        visible_to: str | None = None,
        ids: Iterable[str | int] | None = None,
        stale: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Deals, filtered; with `visible_to` only those that user may see (engine.usecases.access);
        with `stale` only the stale ones (engine.store.stale)."""
        with self.db.read() as s:
            query = select(Instance).options(load_only(*SUMMARY_COLUMNS)).order_by(Instance.id)
            for column, value in (
                (Instance.process_id, process),
                (Instance.status, status),
                (Instance.owner, owner),
                (Instance.stage, stage),
                (Instance.tier, tier),
                (Instance.lead_source, lead_source),
            ):
                if value is not None:
                    query = query.where(column == value)
            if search:
                query = query.where(Instance.name.icontains(search, autoescape=True))
            if ids is not None:
                query = query.where(
                    Instance.id.in_(sorted({_parse_id(i, "instance") for i in ids}))
                )
            if visible_to is not None:
                roles = users.roles_of(s, visible_to)
                query = query.where(access.visible_deals(visible_to, roles))
            if stale:
                query = query.where(stale_clause(settings.stale_days(s), clock.now()))
            if limit is not None:
                query = query.limit(limit).offset(offset)
            return [instance_summary(i) for i in s.scalars(query)]

    def board(
        self, process: str, *, visible_to: str | None = None, per_stage: int = 50
    ) -> dict[str, dict[str, Any]]:
        """The running deals of a process by stage: for each stage how many there are and
        the `per_stage` most recently changed.  Two statements whatever the number of stages
        (counts grouped by stage; the cards as one UNION ALL of per-stage index scans), and
        only the columns a card shows are read."""
        with self.db.read() as s:
            where: list[ColumnElement[bool]] = [
                Instance.process_id == process,
                Instance.status == "running",
            ]
            if visible_to is not None:
                where.append(access.visible_deals(visible_to, users.roles_of(s, visible_to)))
            grouped = select(Instance.stage, func.count()).where(*where).group_by(Instance.stage)
            counts = {stage: n for stage, n in s.execute(grouped)}
            board: dict[str, dict[str, Any]] = {
                stage or "": {"count": n, "cards": []} for stage, n in counts.items()
            }
            if not counts:
                return board
            newest = [
                select(Instance.id)
                .where(*where, _stage_is(stage))
                .order_by(Instance.updated_at.desc(), Instance.id.desc())
                .limit(per_stage)
                .subquery()
                for stage in counts
            ]
            ids = union_all(*(select(sub.c.id) for sub in newest)).subquery()
            cards = s.scalars(
                select(Instance)
                .options(load_only(*SUMMARY_COLUMNS))
                .where(Instance.id.in_(select(ids.c.id)))
                .order_by(Instance.updated_at.desc(), Instance.id.desc())
            )
            for inst in cards:
                board[inst.stage or ""]["cards"].append(instance_summary(inst))
            return board

    def show(self, instance_id: str | int) -> dict[str, Any]:
        """Everything about one deal, read from its rows (no workflow is loaded)."""
        iid = _parse_id(instance_id, "instance")
        with self.db.read() as s:
            inst = s.get(Instance, iid, options=[defer(Instance.state)])
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
                keys = sorted(users.roles_of(s, user))
                query = query.where(
                    (OpenTask.assignee == user)
                    | (OpenTask.assignee.is_(None) & OpenTask.role.in_(keys))
                )
            if role is not None:
                query = query.where(OpenTask.role == role_key(role))
            if instance is not None:
                query = query.where(OpenTask.instance_id == _parse_id(instance, "instance"))
            return [task_record(t) for t in s.scalars(query)]

    def task_counts(self, user: str) -> dict[str, int]:
        """How many open tasks are the user's own and how many wait in the user's queues
        (counted in the database: the navigation shows them on every page)."""
        with self.db.read() as s:
            keys = sorted(users.roles_of(s, user))
            mine = s.scalar(select(func.count()).where(OpenTask.assignee == user))
            queued = s.scalar(
                select(func.count()).where(OpenTask.assignee.is_(None), OpenTask.role.in_(keys))
            )
            return {"mine": mine or 0, "queued": queued or 0}

    def inbox(
        self,
        user: str,
        *,
        stage: str | None = None,
        instance: str | int | None = None,
        process: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
        total: int | None = None,
    ) -> dict[str, Any]:
        """One page of a user's open tasks (own and queued), due soonest first, then oldest,
        each with its deal's name and process, and how many match.  Sorted, counted and paged
        in the database; deals are joined only when a filter needs them and otherwise read
        for the page's rows alone, so a rep with thousands of open tasks costs little more
        than one with ten."""
        with self.db.read() as s:
            keys = sorted(users.roles_of(s, user))
            where: list[ColumnElement[bool]] = [
                (OpenTask.assignee == user)
                | (OpenTask.assignee.is_(None) & OpenTask.role.in_(keys))
            ]
            if stage:
                where.append(OpenTask.stage == stage)
            if instance is not None and instance != "":
                where.append(OpenTask.instance_id == _parse_id(instance, "instance"))
            if process:
                where.append(Instance.process_id == process)
            if search:
                where.append(Instance.name.icontains(search, autoescape=True))
            count = select(func.count()).select_from(OpenTask)
            page = select(OpenTask)
            if process or search:
                count = count.join(Instance, Instance.id == OpenTask.instance_id)
                page = page.join(Instance, Instance.id == OpenTask.instance_id)
            if total is None or len(where) > 1:  # a known total holds for the unfiltered inbox
                total = s.scalar(count.where(*where)) or 0
            tasks = list(
                s.scalars(
                    page.where(*where)
                    .order_by(
                        OpenTask.due_at.is_(None),
                        OpenTask.due_at,
                        OpenTask.created_at,
                        OpenTask.task_id,
                    )
                    .limit(limit)
                    .offset(offset)
                )
            )
            deals = {
                iid: (name, process_id)
                for iid, name, process_id in s.execute(
                    select(Instance.id, Instance.name, Instance.process_id).where(
                        Instance.id.in_({t.instance_id for t in tasks})
                    )
                )
            }
            rows = [
                {
                    **task_record(t),
                    "deal": deals.get(t.instance_id, ("", ""))[0],
                    "process_id": deals.get(t.instance_id, ("", ""))[1],
                }
                for t in tasks
            ]
            return {"rows": rows, "total": total}

    def task(self, task_id: str) -> dict[str, Any] | None:
        """One open task (the record `tasks` lists), or None."""
        with self.db.read() as s:
            row = s.get(OpenTask, task_id)
            return task_record(row) if row is not None else None

    def completed_task(self, task_id: str) -> dict[str, Any] | None:
        """Who completed a task that is no longer open, when, on which deal; or None."""
        with self.db.read() as s:
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
                "at": iso(row.at),
            }

    def task_form(self, task_id: str) -> dict[str, Any]:
        """An open task's form schema (None without a form) and its instructions."""
        with self.db.read() as s:
            row = s.get(OpenTask, task_id)
            if row is None:
                raise self._gone(s, task_id)
            inst = s.get(Instance, row.instance_id)
            assert inst is not None  # a foreign key
            vr = self.version(s, inst.version_id)
            return {
                "schema": vr.form_schema(row.form),
                "instructions": vr.instructions.get(row.element_id, ""),
            }

    def start_form(self, process_id: str, version: int | None = None) -> dict[str, Any] | None:
        """The schema of a process's start form (latest version unless given), if any."""
        with self.db.read() as s:
            row = versions.version_row(s, process_id, version)
            return self.version(s, row.id).start_form()

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
            roles = {user: users.roles_of(s, user)}
            self._check_may_complete(user, roles[user], row)
            vr = self.version(s, inst.version_id)
            if row.form is not None and row.form in vr.validators:
                check_data(vr.validators[row.form], data)
            wf = self._workflow(inst, vr)
            task = wf.get_task_from_id(UUID(task_id))
            if task is None or task.state != TaskState.READY:
                raise ConflictError(f"task '{row.name}' is no longer open")
            change = runtime.Change(wf)
            submitted = runtime.json_safe(data)
            task.data.update(submitted)
            # The task, or a condition or timer its completion leads into, fails: refused.  A
            # script, decision or service call on the way on fails: the task stays done and
            # the deal goes into error (engine.usecases.incidents).
            self._run(task.run)
            error = self._run(lambda: incidents.engine_steps(change, after=task))
            recording.save_change(
                s,
                inst,
                vr,
                change,
                actor=user,
                now=clock.now(),
                roles=roles,
                submitted=(task_id, submitted),
                error=error,
            )
            drafts.discard_task_drafts(s, task_id)
            ready = sorted(t.task_spec.bpmn_id for t in runtime.open_human_tasks(wf))
            result = {"instance_id": str(inst.id), "status": inst.status, "ready": ready}
        self.workflows.checkin(inst.id, inst.lock_version, wf)
        return result

    def deliver_message(
        self,
        name: str,
        *,
        instance_id: str | int | None = None,
        correlate: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        message_id: str | None = None,
        sender: str | None = None,
    ) -> dict[str, Any]:
        """Deliver a BPMN message from outside to the deal waiting for it, or keep it when
        the definition says so; `sender` None is the command line (rules: usecases.messages)."""
        message = messages.Message.of(
            name, instance_id=instance_id, correlate=correlate, data=data, message_id=message_id
        )
        return messages.deliver(self, message, sender=sender)

    def claim(self, task_id: str, *, user: str) -> dict[str, Any]:
        """Take a task from a role's queue: it becomes the user's own."""
        with self.db.write() as s:
            row = self._open_task_for_update(s, task_id)
            if row.assignee == user:
                return task_record(row)
            if row.assignee is not None:
                raise ConflictError(f"task '{row.name}' is already assigned to {row.assignee}")
            self._check_may_complete(user, users.roles_of(s, user), row)
            row.assignee = user
            self._note(s, row, user, "claimed")
            return task_record(row)

    def release(self, task_id: str, *, user: str) -> dict[str, Any]:
        """Give a task back to its role's queue."""
        with self.db.write() as s:
            row = self._open_task_for_update(s, task_id)
            if row.assignee != user:
                raise ForbiddenError(f"task '{row.name}' is not assigned to {user}")
            row.assignee = None
            self._note(s, row, user, "released")
            return task_record(row)

    def comment(self, instance_id: str | int, *, user: str, text: str) -> dict[str, Any]:
        """Add a comment to a deal's timeline."""
        iid = _parse_id(instance_id, "instance")
        text = text.strip()
        if not text or len(text) > 5000:
            raise ValidationError("a comment is 1-5000 characters", field="text")
        with self.db.write() as s:
            users.roles_of(s, user)
            if s.get(Instance, iid) is None:
                raise NotFoundError(f"no instance with id '{instance_id}'")
            row = History(
                instance_id=iid, at=clock.now(), actor=user, kind="comment", data={"text": text}
            )
            s.add(row)
            s.flush()
            recording.note_activity(s, iid, row.at)
            return history_record(row)

    def may_see(self, username: str, instance_id: str | int) -> bool:
        """The visibility rule of engine.usecases.access for one deal."""
        iid = _parse_id(instance_id, "instance")
        with self.db.read() as s:
            return access.may_see(s, username, users.roles_of(s, username), iid)

    def tick(self) -> dict[str, int]:
        """Fire every timer that is due now (jobs.timers; the worker does it continuously)."""
        return {"fired": timers.fire_due(self).fired}

    # --- people covering for people (engine.usecases.handover) and notifications ----------------

    def reassign(self, task_id: str, to_user: str, *, actor: str | None) -> dict[str, Any]:
        """Give one open task to another user holding its lane's role."""
        with self.db.write() as s:
            row = self._open_task_for_update(s, task_id)
            return handover.reassign(s, row, to_user, actor=actor, now=clock.now())

    def handover_preview(
        self, from_user: str, to_user: str, *, actor: str | None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """How many deals and tasks `hand_over` would move (nothing is changed)."""
        iid = _parse_id(instance_id, "instance") if instance_id is not None else None
        with self.db.read() as s:
            return handover.handover_preview(s, from_user, to_user, actor=actor, instance_id=iid)

    def hand_over(
        self, from_user: str, to_user: str, *, actor: str | None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """Everything `from_user` has (or one deal of it) to `to_user`, in one transaction."""
        iid = _parse_id(instance_id, "instance") if instance_id is not None else None
        with self.db.write() as s:
            return handover.hand_over(
                s, from_user, to_user, actor=actor, now=clock.now(), instance_id=iid
            )

    def delegate(
        self,
        from_user: str,
        to_user: str,
        *,
        until: handover.Moment,
        starts: handover.Moment | None = None,
        actor: str | None,
    ) -> dict[str, Any]:
        """`from_user`'s work goes to `to_user` until `until` (a date: to its end)."""
        ends_at = handover.as_time(until, end=True)
        starts_at = handover.as_time(starts) if starts not in (None, "") else None
        with self.db.write() as s:
            return handover.delegate(
                s,
                from_user,
                to_user,
                ends_at=ends_at,
                starts_at=starts_at,
                actor=actor,
                now=clock.now(),
            )

    def cancel_delegation(self, delegation_id: int, *, actor: str | None) -> dict[str, Any]:
        with self.db.write() as s:
            return handover.cancel_delegation(s, delegation_id, actor=actor, now=clock.now())

    def delegations(self, user: str | None = None) -> list[dict[str, Any]]:
        """Delegations not ended yet, from or to `user` (everyone's without)."""
        with self.db.read() as s:
            return handover.delegations(s, user)

    def notifications(self, user: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return notifications.recent(s, user, limit)

    def unread_notifications(self, user: str) -> int:
        """One COUNT (the bell on every page)."""
        with self.db.read() as s:
            return notifications.unread_count(s, user)

    def mark_notifications_read(self, user: str, ids: list[int] | None = None) -> int:
        """Mark some (or all) of the user's notifications read; how many changed."""
        with self.db.write() as s:
            return notifications.mark_read(s, user, ids)

    # --- incidents: deals in error (engine.usecases.incidents) -----------------------------------

    def incidents(
        self, *, user: str, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The deals in error with their incidents, newest first (sales managers, admins)."""
        return incidents.list_incidents(self, user=user, limit=limit, offset=offset)

    def incident_count(self) -> int:
        return incidents.count(self)

    def retry(
        self, instance_id: str | int, *, user: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a deal's failed element again, with `data` set on it first."""
        return incidents.retry(self, instance_id, user=user, data=data)

    def skip(self, instance_id: str | int, *, user: str) -> dict[str, Any]:
        """Mark a deal's failed element completed without running it, and go on."""
        return incidents.skip(self, instance_id, user=user)

    def cancel(self, instance_id: str | int, *, user: str, reason: str) -> dict[str, Any]:
        """Stop a deal in error, for a reason."""
        return incidents.cancel(self, instance_id, user=user, reason=reason)

    # --- versions: list, compare, move running deals (engine.usecases.moves) -----------------

    def definition_versions(self, process_id: str) -> list[dict[str, Any]]:
        """A process's versions, newest first: who published each, when, its deals."""
        return migration.version_list(self, process_id)

    def version_diff(self, process_id: str, old: int, new: int) -> VersionDiff:
        """Added, removed and changed elements from version `old` to `new` (engine.core.diff)."""
        return migration.version_diff(self, process_id, old, new)

    def migrate(
        self,
        process_id: str,
        to_version: int,
        *,
        user: str | None,
        instance_ids: list[str] | None = None,
        stage: str | None = None,
        from_version: int | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Move running deals to another version, or (dry_run) preview where they land."""
        return migration.migrate(
            self,
            process_id,
            to_version,
            user=user,
            instance_ids=instance_ids,
            stage=stage,
            from_version=from_version,
            dry_run=dry_run,
        )

    # --- internals ---------------------------------------------------------------------

    def _gone(self, s: Session, task_id: str) -> Exception:
        done = s.scalars(
            select(History).where(History.task_id == task_id, History.kind == "completed").limit(1)
        ).first()
        if done is not None:
            who = f" by {done.actor}" if done.actor else ""
            return ConflictError(f"task {task_id} was already completed{who} at {iso(done.at)}")
        return NotFoundError(f"no open task with id '{task_id}'")

    def _open_task_for_update(self, s: Session, task_id: str) -> OpenTask:
        row = s.get(OpenTask, task_id, with_for_update=not self.db.is_sqlite)
        if row is None:
            raise self._gone(s, task_id)
        return row

    @staticmethod
    def _note(s: Session, row: OpenTask, user: str, kind: str) -> None:
        s.add(
            History(
                instance_id=row.instance_id,
                at=clock.now(),
                actor=user,
                kind=kind,
                element_id=row.element_id,
                element_name=row.name,
                task_id=row.task_id,
            )
        )
        if kind in facts.ACTION_KINDS:  # a first action on the task: a response time
            facts.touch(s, row.instance_id)
        recording.note_activity(s, row.instance_id, clock.now())

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
        return incidents.describe_failure(exc)

    def _run(self, step: Callable[[], _T]) -> _T:
        """Run engine work started by a person: on failure nothing is kept."""
        try:
            return step()
        except WorkflowException as exc:
            info = self._describe(exc)
            where = info["element_name"] or info["element_id"] or "the process"
            raise ExpressionError(
                f"{where} ({info['element_id']}) failed: {info['message']}"
            ) from exc


DESIGNER_ROLES = frozenset({role_key("designer"), role_key("admin")})


def _check_designer(s: Session, actor: str | None) -> None:
    """Only designers and admins change definitions; None is the command line."""
    if actor is not None and not users.roles_of(s, actor) & DESIGNER_ROLES:
        raise ForbiddenError(f"{actor} may not change process definitions (designers, admins)")


def _held_roles(s: Session) -> frozenset[str]:
    """The role keys at least one active user holds."""
    rows = s.scalars(select(UserRole.role).join(User).where(User.active).distinct())
    return frozenset(rows)


def _drop_draft(s: Session, process_id: str, actor: str) -> bool:
    row = s.scalars(
        select(DefinitionDraft).where(
            DefinitionDraft.process_id == process_id, DefinitionDraft.saved_by == actor
        )
    ).first()
    if row is not None:
        s.delete(row)
    return row is not None


def _draft_record(row: DefinitionDraft) -> dict[str, Any]:
    return {
        "process_id": row.process_id,
        "base_version": row.base_version,
        "files": dict(row.files),
        "saved_by": row.saved_by,
        "saved_at": iso(row.saved_at),
    }


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
