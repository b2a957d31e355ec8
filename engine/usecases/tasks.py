"""Tasks: a user's inbox and queues, a task's form, completing, claiming, releasing, half-filled
forms kept as drafts.

The one rule of who may act on a task (`check_may_complete`): its assignee; or, while it
waits in a role's queue, anyone holding that role.  Pages, API and CLI all ask it here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypedDict
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import iso
from engine.core import runtime
from engine.core.definitions import form_name
from engine.core.expressions import acting_user
from engine.core.failures import engine_steps
from engine.core.forms import send_back_field, sent_back
from engine.core.records import TaskCompleted, TaskRecord
from engine.core.roles import role_key
from engine.core.translations import localized_check
from engine.core.version import VersionRuntime
from engine.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from engine.store import changes, drafts, users
from engine.store.models import (
    History,
    Instance,
    OpenTask,
    table_of,
)
from engine.store.records import task_record
from engine.usecases import access
from engine.usecases.base import UseCases
from engine.usecases.notices import Notices
from engine.usecases.people import display_name
from engine.usecases.reports import facts
from engine.usecases.texts import is_english, localize_task, localize_tasks, texts_of
from engine.usecases.unit import parse_id, retried


def _refusal(
    username: str,
    roles: set[str] | frozenset[str],
    *,
    name: str,
    assignee: str | None,
    role: str | None,
    lane: str | None,
) -> str | None:
    """Why `username` (holding `roles`) may not act on an open task, or None when they may:
    its assignee may, and while it is queued anyone holding its role."""
    if assignee is not None:
        if assignee == username:
            return None
        return f"task '{name}' is assigned to {assignee}, not to {username}"
    if role is not None and role not in roles:
        return f"task '{name}' belongs to the lane '{lane}'; {username} does not hold that role"
    return None


class TaskRow(Protocol):
    """What the rule of who may act reads of an open task (its ORM row or a Core row)."""

    @property
    def name(self) -> str: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def role(self) -> str | None: ...
    @property
    def lane(self) -> str | None: ...


def check_may_complete(username: str, roles: set[str] | frozenset[str], row: TaskRow) -> None:
    """ForbiddenError unless `username` (holding `roles`) may complete, claim or keep a draft
    of the open task `row`."""
    why = _refusal(
        username, roles, name=row.name, assignee=row.assignee, role=row.role, lane=row.lane
    )
    if why is not None:
        raise ForbiddenError(why)


def may_complete(username: str, roles: set[str] | frozenset[str], task: Mapping[str, Any]) -> bool:
    """`check_may_complete` as a yes or no, for a task's record (the pages' buttons).  A
    record names the lane, not the role: the role is the lane's key, as the change writer
    stores it (engine.store.changes)."""
    lane = task.get("lane")
    role = role_key(lane) if lane else None
    return (
        _refusal(username, roles, name="", assignee=task.get("assignee"), role=role, lane=lane)
        is None
    )


class TaskGone(TypedDict):
    """What became of a task that is no longer open, read from its deal's history (`fate`):
    `what` is "completed" (by `actor` at `at`), "cancelled" (by the process: a timer or a
    message ended it, `by_event` names that event), "lost" (the deal was marked lost by
    `actor`, `reason` why), "deal_cancelled" (the deal was cancelled by `actor`, `reason`
    why), "moved" (the deal moved to another version of its process, by `actor`, and the task
    is no part of where it landed) or "closed" (it ended without a trace of how)."""

    task_id: str
    instance_id: str
    deal: str
    element_id: str | None
    name: str
    what: str
    actor: str | None
    at: str | None
    reason: str | None
    by_event: str | None


GONE_KINDS = ("completed", "cancelled", "lost", "deal_cancelled", "moved", "closed")
# One change writes its history at one moment, its rows side by side: how far apart a task's
# cancel and what caused it (the deal's end, the timer that fired) may be.
SAME_CHANGE_SECONDS = 60
CHANGE_ROWS = 20


def fate(s: Session, task_id: str) -> TaskGone | None:
    """What became of a task that is not open (see TaskGone), from its deal's history; None
    for an id no history names.  Names as the designer wrote them (`gone_task` translates)."""
    rows = list(s.scalars(select(History).where(History.task_id == task_id).order_by(History.id)))
    if not rows:
        return None
    iid = rows[0].instance_id
    inst = s.get(Instance, iid)
    named = next((r for r in reversed(rows) if r.element_name or r.element_id), rows[-1])
    record: TaskGone = {
        "task_id": task_id,
        "instance_id": str(iid),
        "deal": inst.name if inst is not None else f"#{iid}",
        "element_id": named.element_id,
        "name": named.element_name or named.element_id or "",
        "what": "closed",
        "actor": None,
        "at": None,
        "reason": None,
        "by_event": None,
    }
    done = next((r for r in reversed(rows) if r.kind == "completed"), None)
    if done is not None:
        return {**record, "what": "completed", "actor": done.actor, "at": iso(done.at)}
    cancelled = next((r for r in reversed(rows) if r.kind == "cancelled"), None)
    last = cancelled or rows[-1]
    # What the deal did then: its end (marked lost, cancelled) or a move to another version,
    # in the same change as the task's cancel (a cancelled deal's entry is written before its
    # tasks', a loss after them); for a task that left no cancel, the first one after it.
    ends = list(
        s.scalars(
            select(History)
            .where(
                History.instance_id == iid,
                History.task_id.is_(None),
                History.kind.in_(("lost", "cancelled", "migrated")),
            )
            .order_by(History.id)
        )
    )
    if cancelled is not None:
        ends = [e for e in ends if abs((e.at - last.at).total_seconds()) <= SAME_CHANGE_SECONDS]
    else:
        ends = [e for e in ends if e.id > last.id]
    end = ends[0] if ends else None
    if end is not None:
        data = end.data if isinstance(end.data, dict) else {}
        what = {"lost": "lost", "cancelled": "deal_cancelled"}.get(end.kind, "moved")
        by = end.actor if end.kind != "migrated" else data.get("by")
        return {
            **record,
            "what": what,
            "actor": str(by) if by else None,
            "at": iso(end.at),
            "reason": str(data["reason"]) if data.get("reason") else None,
        }
    if cancelled is not None:
        event = next(
            (
                e
                for e in s.scalars(
                    select(History)
                    .where(
                        History.instance_id == iid,
                        History.kind.in_(("timer", "message")),
                        History.id < cancelled.id + CHANGE_ROWS,
                        History.id > cancelled.id - CHANGE_ROWS,
                    )
                    .order_by(History.id)
                )
                if abs((e.at - cancelled.at).total_seconds()) <= SAME_CHANGE_SECONDS
            ),
            None,
        )
        by_event = (event.element_name or event.element_id) if event is not None else None
        return {**record, "what": "cancelled", "at": iso(cancelled.at), "by_event": by_event}
    return record


def _gone_message(found: TaskGone) -> str:
    name, at, who = found["name"], found["at"], found["actor"]
    by = f" by {who}" if who else ""
    why = f": {found['reason']}" if found["reason"] else ""
    return {
        "completed": f"task '{name}' was already completed{by} at {at}",
        "cancelled": f"task '{name}' was cancelled by the process at {at}"
        + (f" ({found['by_event']})" if found["by_event"] else ""),
        "lost": f"task '{name}' is closed: the deal was marked lost{by} at {at}{why}",
        "deal_cancelled": f"task '{name}' is closed: the deal was cancelled{by} at {at}{why}",
        "moved": f"task '{name}' is closed: the deal was moved to another version{by} at {at}",
    }.get(found["what"], f"task '{name}' is no longer open")


class TaskGoneError(ConflictError):
    """A task that is no longer open: the message says what became of it (`fate`), which
    the API's answer carries as `gone` (the pages word it themselves)."""

    def __init__(self, found: TaskGone) -> None:
        self.fate = found
        super().__init__(_gone_message(found))

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "gone": dict(self.fate)}


def gone(s: Session, task_id: str) -> Exception:
    """Why a task id is not open: TaskGoneError saying what became of it (who completed it
    and when, or that the deal was lost, cancelled or moved), or NotFoundError."""
    found = fate(s, task_id)
    if found is not None:
        return TaskGoneError(found)
    return NotFoundError(f"no open task with id '{task_id}'")


def lock_open_task(s: Session, task_id: str, *, sqlite: bool) -> OpenTask:
    """An open task's row, locked for this transaction (SQLite: BEGIN IMMEDIATE holds it)."""
    row = s.get(OpenTask, task_id, with_for_update=not sqlite)
    if row is None:
        raise gone(s, task_id)
    return row


def _reopened(s: Session, instance_id: int) -> list[OpenTask]:
    """The deal's open tasks that were completed before: the work sent back."""
    done = select(History.element_id).where(
        History.instance_id == instance_id, History.kind == "completed"
    )
    return list(
        s.scalars(
            select(OpenTask)
            .where(OpenTask.instance_id == instance_id, OpenTask.element_id.in_(done))
            .order_by(OpenTask.created_at, OpenTask.task_id)
        )
    )


# A completion reads the task's row and the ids of its deal's other open tasks (what the change
# writer compares the new open tasks with) in one statement, built once on the table.
_OPEN = table_of(OpenTask)
_TASK_AND_SIBLINGS = select(
    _OPEN.c.task_id,
    _OPEN.c.instance_id,
    _OPEN.c.element_id,
    _OPEN.c.name,
    _OPEN.c.lane,
    _OPEN.c.role,
    _OPEN.c.assignee,
    _OPEN.c.form,
).where(
    _OPEN.c.instance_id
    == select(_OPEN.c.instance_id).where(_OPEN.c.task_id == bindparam("task_id")).scalar_subquery()
)


def _task_and_siblings(s: Session, task_id: str) -> tuple[Any, set[str]]:
    """An open task's row (gone: TaskGoneError or NotFoundError) and the ids of every open
    task of its deal, its own included."""
    rows = s.execute(_TASK_AND_SIBLINGS, {"task_id": task_id}).all()
    row = next((r for r in rows if r.task_id == task_id), None)
    if row is None:
        raise gone(s, task_id)
    return row, {r.task_id for r in rows}


def _forms_of(vr: VersionRuntime) -> dict[str, str]:
    """Element id -> the name of its form, for the elements of a version that have one."""
    found: dict[str, str] = {}
    for spec in (vr.spec, *vr.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            name = form_name(ts)
            if name and getattr(ts, "bpmn_id", None):
                found[ts.bpmn_id] = name
    return found


def _decides(vr: VersionRuntime, form: str) -> bool:
    """Whether a form of the version has a choice that sends the work back."""
    return send_back_field(vr.form_schema(form)) is not None


def _tell_sent_back(s: Session, inst: Instance, user: str, comment: str) -> None:
    """An approval refused (engine.core.forms `sent_back`): tell whoever has the reopened
    task (its assignee, else the deal's owner) who sent it back and why, in their language."""
    notices = Notices(s)
    who = display_name(s, user)
    for row in _reopened(s, inst.id):
        to = row.assignee or inst.owner
        if not to or to == user:
            continue
        notices.tell(
            to,
            "sent_back",
            "sent_back" if comment else "sent_back_silent",
            instance_id=inst.id,
            task_id=row.task_id,
            task=notices.element(inst.id, row.element_id, row.name),
            who=who,
            deal=inst.name,
            comment=comment,
        )


class TaskCases(UseCases):
    """A user's open tasks and what they do with them."""

    def save_draft(self, task_id: str, *, user: str, data: dict[str, Any]) -> dict[str, Any]:
        """Keep a half-filled form of an open task the user may complete (engine.store.drafts)."""
        with self.db.write() as s:
            row = s.get(OpenTask, task_id)
            if row is None:
                raise gone(s, task_id)
            check_may_complete(user, users.roles_of(s, user), row)
            return drafts.save_draft(s, task_id, user, data)

    def draft(self, task_id: str, *, user: str) -> dict[str, Any] | None:
        with self.db.read() as s:
            return drafts.load_draft(s, task_id, user)

    def discard_draft(self, task_id: str, *, user: str) -> bool:
        with self.db.write() as s:
            return drafts.discard_draft(s, task_id, user)

    def tasks(
        self,
        *,
        user: str | None = None,
        role: str | None = None,
        instance: str | int | None = None,
        lang: str | None = None,
    ) -> list[TaskRecord]:
        """Open tasks: a user's own and those waiting in the queues of the user's roles;
        their names in `lang` (engine.usecases.texts)."""
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
                query = query.where(OpenTask.instance_id == parse_id(instance))
            return localize_tasks(self, s, (task_record(t) for t in s.scalars(query)), lang)

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
        lang: str | None = None,
    ) -> dict[str, Any]:
        """One page of a user's open tasks (own and queued), due soonest first, then oldest,
        each with its deal's name and process, and how many match; task names in `lang`.
        Sorted, counted and paged in the database; deals are joined only when a filter needs
        them and otherwise read for the page's rows alone, so a rep with thousands of open
        tasks costs little more than one with ten."""
        with self.db.read() as s:
            keys = sorted(users.roles_of(s, user))
            where: list[ColumnElement[bool]] = [
                (OpenTask.assignee == user)
                | (OpenTask.assignee.is_(None) & OpenTask.role.in_(keys))
            ]
            if stage:
                where.append(OpenTask.stage == stage)
            if instance is not None and instance != "":
                where.append(OpenTask.instance_id == parse_id(instance))
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
                iid: (name, process_id, version_id)
                for iid, name, process_id, version_id in s.execute(
                    select(
                        Instance.id, Instance.name, Instance.process_id, Instance.version_id
                    ).where(Instance.id.in_({t.instance_id for t in tasks}))
                )
            }
            english = is_english(lang)
            rows = [
                {
                    **(
                        task_record(t)
                        if english or t.instance_id not in deals
                        else localize_task(
                            task_record(t), texts_of(self, s, deals[t.instance_id][2], lang)
                        )
                    ),
                    "deal": deals.get(t.instance_id, ("", ""))[0],
                    "process_id": deals.get(t.instance_id, ("", ""))[1],
                }
                for t in tasks
            ]
            return {"rows": rows, "total": total}

    def task(self, task_id: str, *, lang: str | None = None) -> TaskRecord | None:
        """One open task (the record `tasks` lists; its name in `lang`), or None."""
        with self.db.read() as s:
            row = s.get(OpenTask, task_id)
            if row is None:
                return None
            return localize_tasks(self, s, [task_record(row)], lang)[0]

    def completed_task(self, task_id: str) -> dict[str, Any] | None:
        """A task that is no longer open (completed, cancelled, or ended with its deal):
        who ended it, when, on which deal (`fate`); None for an id no history names."""
        with self.db.read() as s:
            found = fate(s, task_id)
        return dict(found) if found is not None else None

    def gone_task(self, task_id: str, *, user: str, lang: str | None = None) -> TaskGone | None:
        """What became of a task that is no longer open (`fate`: who completed it and when,
        or that its deal was lost, cancelled or moved), for a user who may see its deal, the
        task's name in `lang`; None for an open task, an unknown id, or a deal the user may
        not see (as for a task that never was: no leak)."""
        with self.db.read() as s:
            if s.get(OpenTask, task_id) is not None:
                return None
            found = fate(s, task_id)
            if found is None:
                return None
            iid = int(found["instance_id"])
            if not access.may_see(s, user, users.roles_of(s, user), iid):
                return None
            inst = s.get(Instance, iid)
            if inst is not None and not is_english(lang) and found["element_id"]:
                texts = texts_of(self, s, inst.version_id, lang)
                found = {**found, "name": texts.name(found["element_id"], found["name"])}
            return found

    def sent_back_note(self, task_id: str, *, lang: str | None = None) -> dict[str, Any] | None:
        """Why an open task is open again, when an approval sent it back (engine.core.forms
        `sent_back`): who sent it back (`by`), when (`at`), from which step (`step`, its
        name in `lang`) and their comment (`comment`, "" without one); None for a task that
        was not sent back since it was last completed (or never was)."""
        with self.db.read() as s:
            row = s.get(OpenTask, task_id)
            if row is None:
                return None
            last = s.scalar(
                select(func.max(History.id)).where(
                    History.instance_id == row.instance_id,
                    History.element_id == row.element_id,
                    History.kind == "completed",
                )
            )
            if last is None:
                return None
            inst = s.get(Instance, row.instance_id)
            assert inst is not None  # a foreign key
            vr = self.version(s, inst.version_id)
            forms = _forms_of(vr)
            later = s.scalars(
                select(History)
                .where(
                    History.instance_id == row.instance_id,
                    History.kind == "completed",
                    History.id > last,
                    History.element_id.in_([e for e, f in forms.items() if _decides(vr, f)]),
                )
                .order_by(History.id.desc())
            )
            for entry in later:
                back = sent_back(vr.form_schema(forms.get(entry.element_id or "")), entry.data)
                if back is None:
                    continue
                texts = texts_of(self, s, inst.version_id, lang)
                return {
                    "by": entry.actor,
                    "at": iso(entry.at),
                    "step": texts.name(entry.element_id, entry.element_name),
                    "comment": back[1],
                }
            return None

    def task_form(self, task_id: str, *, lang: str | None = None) -> dict[str, Any]:
        """An open task's form schema (None without a form) and its instructions, in `lang`:
        the form's titles, help and choices translated (engine.core.translations)."""
        with self.db.read() as s:
            row = s.get(OpenTask, task_id)
            if row is None:
                raise gone(s, task_id)
            inst = s.get(Instance, row.instance_id)
            assert inst is not None  # a foreign key
            vr = self.version(s, inst.version_id)
            texts = vr.texts(lang)
            return {
                "schema": texts.form(row.form, vr.form_schema(row.form)),
                "instructions": texts.instructions(
                    row.element_id, vr.instructions.get(row.element_id, "")
                ),
            }

    @retried
    def complete(
        self,
        task_id: str,
        *,
        user: str,
        data: dict[str, Any] | None = None,
        lang: str | None = None,
    ) -> TaskCompleted:
        """Complete a ready task as `user` with the submitted form data; a form's errors are
        worded in `lang`, each naming its field by its title in that language."""
        data = dict(data or {})
        with self.space.write() as unit:
            s = unit.s
            row, open_before = _task_and_siblings(s, task_id)
            deal = unit.deal(row.instance_id)
            if not self.db.is_sqlite:
                # Re-read under the row lock: someone may have completed it while we waited.
                # (On SQLite the unit checks the deal's lock_version once it takes the lock:
                # the deal's open tasks change only with it.)
                row, open_before = _task_and_siblings(s, task_id)
            unit.roles[user] = users.roles_of(s, user)
            check_may_complete(user, unit.roles[user], row)
            if row.form is not None and row.form in deal.version.validators:
                vr = deal.version
                texts = vr.texts(lang)
                shown = texts.form(row.form, vr.form_schema(row.form))
                localized_check(vr.validators[row.form], data, shown, texts.locale)
            task = deal.workflow.get_task_from_id(UUID(task_id))
            if task is None or task.state != TaskState.READY:
                raise ConflictError(f"task '{row.name}' is no longer open")
            submitted = runtime.json_safe(data)
            task.data.update(submitted)
            # The task, or a condition or timer its completion leads into, fails: refused.  A
            # script, decision or service call on the way on fails: the task stays done and
            # the deal goes into error (engine.usecases.incidents).
            with acting_user(user):  # what get_current_user() tells the process
                deal.run(task.run)
                error = deal.run(lambda: engine_steps(deal.change, after=task))
            deal.save(
                actor=user, submitted=(task_id, submitted), error=error, open_before=open_before
            )
            drafts.discard_task_drafts(s, task_id)
            back = sent_back(deal.version.form_schema(row.form), submitted)
            if back is not None:
                _tell_sent_back(s, deal.deal, user, back[1])
            ready = sorted(t.task_spec.bpmn_id for t in runtime.open_human_tasks(deal.workflow))
            return {"instance_id": str(deal.deal.id), "status": deal.deal.status, "ready": ready}

    def claim(self, task_id: str, *, user: str) -> TaskRecord:
        """Take a task from a role's queue: it becomes the user's own."""
        with self.db.write() as s:
            row = lock_open_task(s, task_id, sqlite=self.db.is_sqlite)
            if row.assignee == user:
                return task_record(row)
            if row.assignee is not None:
                raise ConflictError(f"task '{row.name}' is already assigned to {row.assignee}")
            check_may_complete(user, users.roles_of(s, user), row)
            row.assignee = user
            self._note(s, row, user, "claimed")
            return task_record(row)

    def claim_many(self, task_ids: Sequence[str], *, user: str) -> list[TaskRecord]:
        """Take several tasks from the queues in one transaction: all of them, or none (the
        first refusal names its task)."""
        if not task_ids:
            raise ValidationError("choose at least one task", field="tasks")
        if len(task_ids) > 200:
            raise ValidationError("at most 200 tasks at once", field="tasks")
        with self.db.write() as s:
            roles = users.roles_of(s, user)
            taken = []
            for task_id in dict.fromkeys(task_ids):
                row = lock_open_task(s, task_id, sqlite=self.db.is_sqlite)
                if row.assignee not in (None, user):
                    raise ConflictError(f"task '{row.name}' is already assigned to {row.assignee}")
                check_may_complete(user, roles, row)
                if row.assignee is None:
                    row.assignee = user
                    self._note(s, row, user, "claimed")
                taken.append(task_record(row))
            return taken

    def release(self, task_id: str, *, user: str) -> TaskRecord:
        """Give a task back to its role's queue."""
        with self.db.write() as s:
            row = lock_open_task(s, task_id, sqlite=self.db.is_sqlite)
            if row.assignee != user:
                raise ForbiddenError(f"task '{row.name}' is not assigned to {user}")
            row.assignee = None
            self._note(s, row, user, "released")
            return task_record(row)

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
            changes.touch(s, row.instance_id)
        changes.note_activity(s, row.instance_id, clock.now())
