"""Optimisation initiatives (销售流程优化执行表): an instance of the initiative process, the
sales process it improves, its execution table, its weekly reviews and its measured effect.

An initiative is one run of `optimization_initiative` (started with Service.start, owned by
the lead) plus an `initiative` row in the same transaction.  Its execution table rows each
have exactly one responsible person (one active user: a role, a team or a list is refused),
a status (not started / in progress / done / blocked), planned and actual dates, notes, the
contact in another department, and the elements of the sales process the row changes
(checked against the graph of that process's current version).

Who may do what (every use case checks it; reading is open to every active user):
- create an initiative: sales managers and admins;
- add rows, change any field of any row, record weekly reviews: sales managers, admins and
  the initiative's lead;
- the owner of a row: its progress (status, actual date, notes, contact), not its plan
  (stage, task, owner, planned date, elements), which is the lead's;
- everyone else reads.

Weekly review (`record_review`): every blocked row counts one more consecutive blocked
review, every other row starts again from none; a row blocked at three consecutive reviews
(or more) is flagged.  The review then drives the initiative's process, whose execution loop
is "wait 7 days -> Weekly review -> count -> blocked for 3 cycles? -> Re-evaluate direction":
the review completes the open Weekly review task with `blocked_cycles_max` (the longest run
of blocked reviews of any row) and `execution_done` (every row done), and the process raises
the Re-evaluate direction task for its lead (the lane is the sales manager's, so the lead
must hold that role).  A review recorded before the 7 days are over ends that week's wait (the
review is the week's review) and the next wait starts from it.  A process still in
preparation, or at the re-evaluation already, is left where it is; the review is recorded.
As long as a flagged row stays blocked, every review raises the re-evaluation again.
Setting a row to another status than blocked clears its flag at once; its count of blocked
reviews only changes at reviews, so switching back and forth between reviews changes nothing.

Reminders (`send_reminders`, run by the worker): a row in progress not updated for a day
tells its owner, at most once a day.

Effect: for the elements linked by the rows, the passes of the process's deals through them
(history rows with the time the element was entered) before `effective_at` against after it:
mean, shortest and longest time in the element, how many passes and deals, and how many of
those deals were won and lost (passed an element whose stage is won or lost); conversion is
won of decided (won + lost).  Computed with SQL aggregates; a deal is before or after by when
it entered the element.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, case, distinct, extract, func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.core import runtime
from engine.core.definitions import form_name
from engine.core.failures import engine_steps
from engine.core.forms import check_data
from engine.core.graph import ARTIFACT_KINDS, Graph
from engine.core.roles import TEAM_ROLES, role_key
from engine.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from engine.store import deployments as versions
from engine.store import drafts, users
from engine.store import team_settings as settings
from engine.store.changes import touch
from engine.store.db import Database
from engine.store.models import (
    ROW_STATUSES,
    History,
    Initiative,
    InitiativeReview,
    InitiativeRow,
    Instance,
    User,
    UserRole,
)
from engine.store.notifications import notify
from engine.store.records import iso
from engine.usecases.charts import cached_graph
from engine.usecases.unit import UnitOfWork

if TYPE_CHECKING:
    from engine.usecases.service import Service

__all__ = [
    "PLAN_FIELDS",
    "PROCESS",
    "PROGRESS_FIELDS",
    "ROW_STATUSES",
    "add_row",
    "create_initiative",
    "element_choices",
    "get_initiative",
    "list_initiatives",
    "load_demo_initiative",
    "record_review",
    "rights",
    "send_reminders",
    "update_row",
]

PROCESS = "optimization_initiative"
REVIEW_TASK = "task_weekly_review"
WEEK_TIMER = "timer_wait_7_days"
REEVALUATE_TASK = "task_re_evaluate_direction"
BLOCKED_LIMIT = 3
LEAD_ROLE = role_key("Sales Manager")
MANAGERS = frozenset({role_key("Sales Manager"), role_key("admin")})
PLAN_FIELDS = ("stage", "task", "owner", "planned_date", "elements")
PROGRESS_FIELDS = ("status", "actual_date", "notes", "contact")
ROW_FIELDS = PLAN_FIELDS + PROGRESS_FIELDS
REMIND_AFTER = timedelta(days=1)
# History kinds that mean a deal went through an element (not cancelled, not failed).
PASSED = ("completed", "timer", "message")
# Names that are a role or a group of people, never one person (role keys).
TEAM_WORDS = frozenset(
    role_key(w)
    for w in (
        *TEAM_ROLES,
        "team",
        "sales team",
        "sales",
        "everyone",
        "all",
    )
)
# Separators of several names, Chinese full-width ones too.
SEVERAL = re.compile("[,;/&+\u3001\uff0c\uff1b]|\\s(?:and|und|et)\\s|\u548c")
LIMITS = {"name": 300, "stage": 200, "task": 2000, "notes": 5000, "contact": 200}
MAX_ELEMENTS = 50
REVIEWS_SHOWN = 10


# --- records -------------------------------------------------------------------------------


def row_record(row: InitiativeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "stage": row.stage,
        "task": row.task,
        "owner": row.owner,
        "planned_date": row.planned_date.isoformat() if row.planned_date else None,
        "actual_date": row.actual_date.isoformat() if row.actual_date else None,
        "status": row.status,
        "notes": row.notes,
        "contact": row.contact,
        "elements": list(row.elements or []),
        "flagged": row.flagged,
        "blocked_reviews": row.blocked_reviews,
        "updated_at": iso(row.updated_at),
        "updated_by": row.updated_by,
    }


def review_record(review: InitiativeReview) -> dict[str, Any]:
    return {
        "id": review.id,
        "at": iso(review.at),
        "by": review.by,
        "blocked_rows": list(review.blocked_rows or []),
        "notes": review.notes,
    }


def _summary(ini: Initiative, status: str | None) -> dict[str, Any]:
    return {
        "id": ini.id,
        "name": ini.name,
        "process_id": ini.process_id,
        "lead": ini.lead,
        "effective_at": iso(ini.effective_at),
        "instance_id": str(ini.instance_id) if ini.instance_id is not None else None,
        "status": status,
        "created_at": iso(ini.created_at),
        "created_by": ini.created_by,
    }


# --- checking what is sent -----------------------------------------------------------------


def _text(value: Any, field: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError("must not be empty", field=field)
    if len(value) > LIMITS[field]:
        raise ValidationError(f"at most {LIMITS[field]} characters", field=field)
    return value


def _date(value: Any, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValidationError("a date is written YYYY-MM-DD", field=field)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"no such date: {value.strip()}", field=field) from None


def _status(value: Any) -> str:
    if value not in ROW_STATUSES:
        raise ValidationError(f"must be one of: {', '.join(ROW_STATUSES)}", field="status")
    return str(value)


def _owner(s: Session, value: Any) -> str:
    """Exactly one active user: a list, a team, a role or several names are refused."""
    if isinstance(value, list | tuple | set | dict):
        raise ValidationError(
            "exactly one person owns a task: give one user name, not a list", field="owner"
        )
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("exactly one person owns a task: give a user name", field="owner")
    name = value.strip()
    found = s.execute(select(User.active).where(User.username == name)).first()
    if found is not None:
        if not found[0]:
            raise ValidationError(f"user '{name}' is no longer active", field="owner")
        return name
    key = role_key(name)
    held = s.scalar(select(UserRole.role).where(UserRole.role == key).limit(1))
    if key in TEAM_WORDS or held is not None:
        raise ValidationError(
            f"'{name}' is a role or a team, not a person: exactly one user owns a task",
            field="owner",
        )
    if SEVERAL.search(name):
        raise ValidationError(
            f"'{name}' names several people: exactly one user owns a task", field="owner"
        )
    raise ValidationError(f"no active user '{name}'", field="owner")


def _graph(service: Service, s: Session, process_id: str) -> tuple[Graph, int]:
    row = versions.version_row(s, process_id, None)
    return cached_graph(service.space, row), row.version


def _flow_nodes(graph: Graph, process_id: str) -> dict[str, str]:
    """element id -> its name, for the flow nodes of `process_id` (artifacts left out)."""
    return {
        n.id: n.name or n.id
        for n in graph.nodes
        if n.kind not in ARTIFACT_KINDS and n.process_id in (None, process_id)
    }


def _elements(service: Service, s: Session, process_id: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value] if value else []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("a list of element ids", field="elements")
    chosen = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(chosen) > MAX_ELEMENTS:
        raise ValidationError(f"at most {MAX_ELEMENTS} elements", field="elements")
    graph, version = _graph(service, s, process_id)
    unknown = [e for e in chosen if e not in _flow_nodes(graph, process_id)]
    if unknown:
        raise ValidationError(
            f"not elements of process '{process_id}' (version {version}): {', '.join(unknown)}",
            field="elements",
        )
    return chosen


def _effective(value: Any, s: Session) -> datetime:
    """A moment: an aware datetime, ISO text, or a date (its start in the team's time zone)."""
    if value is None or value == "":
        return clock.now()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        value = _date(value, "effective_at")
    if isinstance(value, date):
        return settings.sla_calendar(s).at(value, 0)
    if isinstance(value, str):
        try:
            return clock.parse_iso(value.strip())
        except ValueError:
            pass
    raise ValidationError(
        "a date (YYYY-MM-DD) or a time (ISO 8601, e.g. 2026-03-02T09:00:00+08:00)",
        field="effective_at",
    )


# --- who may do what -----------------------------------------------------------------------


def _initiative(s: Session, initiative_id: int | str, *, lock: bool = False) -> Initiative:
    try:
        iid = int(initiative_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no initiative with id '{initiative_id}'") from None
    bind = s.get_bind()
    ini = s.get(Initiative, iid, with_for_update=lock and bind.dialect.name != "sqlite")
    if ini is None:
        raise NotFoundError(f"no initiative with id '{initiative_id}'")
    return ini


def _plans(roles: set[str], ini: Initiative, username: str) -> bool:
    return bool(roles & MANAGERS) or ini.lead == username


def rights(service: Service, initiative_id: int | str, username: str) -> dict[str, Any]:
    """What `username` may do on an initiative: `plan` (add rows, change any field, record
    reviews) and `rows`, the ids of the rows whose progress they may update."""
    with service.db.read() as s:
        ini = _initiative(s, initiative_id)
        roles = users.roles_of(s, username)
        plans = _plans(roles, ini, username)
        query = select(InitiativeRow.id).where(InitiativeRow.initiative_id == ini.id)
        if not plans:
            query = query.where(InitiativeRow.owner == username)
        return {"plan": plans, "rows": sorted(s.scalars(query))}


def may_create(roles: Iterable[str]) -> bool:
    return bool(set(roles) & MANAGERS)


# --- use cases -----------------------------------------------------------------------------


def create_initiative(
    service: Service,
    *,
    name: str,
    process_id: str,
    lead: str,
    actor: str,
    effective_at: Any = None,
) -> dict[str, Any]:
    """Start the initiative process for `lead` and keep the initiative beside it: checked
    first, then both written in one transaction (Service.start's `then`)."""
    with service.db.read() as s:
        if not may_create(users.roles_of(s, actor)):
            raise ForbiddenError("only sales managers and admins start optimisation initiatives")
        name = _text(name, "name", required=True)
        if not isinstance(process_id, str) or not process_id.strip():
            raise ValidationError(
                "name the sales process the initiative improves", field="process_id"
            )
        process_id = process_id.strip()
        try:
            versions.version_row(s, process_id, None)
        except NotFoundError:
            raise ValidationError(
                f"no deployed process '{process_id}'", field="process_id"
            ) from None
        try:
            versions.version_row(s, PROCESS, None)
        except NotFoundError:
            raise ConflictError(
                f"the initiative process '{PROCESS}' is not deployed (salesflow deploy processes)"
            ) from None
        if not isinstance(lead, str) or not lead.strip():
            raise ValidationError("name the lead: one user", field="lead")
        lead = lead.strip()
        try:
            lead_roles = users.roles_of(s, lead)
        except NotFoundError:
            raise ValidationError(f"no active user '{lead}'", field="lead") from None
        if LEAD_ROLE not in lead_roles:
            raise ValidationError(
                f"{lead} does not hold the Sales Manager role: the initiative's tasks are in "
                "that lane, so its lead must hold it",
                field="lead",
            )
        moment = _effective(effective_at, s)
    made: list[Initiative] = []

    def keep(s: Session, inst: Instance) -> None:
        ini = Initiative(
            instance_id=inst.id,
            name=name,
            process_id=process_id,
            lead=lead,
            effective_at=moment,
            created_at=clock.now(),
            created_by=actor,
        )
        s.add(ini)
        s.flush()
        made.append(ini)

    started = service.start(PROCESS, deal=name, owner=lead, actor=actor, then=keep)
    return {**_summary(made[0], started["status"]), "rows": [], "reviews": []}


def list_initiatives(service: Service) -> list[dict[str, Any]]:
    """Every initiative, newest first, with how many of its rows are in each status and how
    many are flagged."""
    with service.db.read() as s:
        found = s.execute(
            select(Initiative, Instance.status)
            .outerjoin(Instance, Instance.id == Initiative.instance_id)
            .order_by(Initiative.id.desc())
        ).all()
        counts: dict[int, dict[str, int]] = {}
        for iid, status, flagged, n in s.execute(
            select(
                InitiativeRow.initiative_id,
                InitiativeRow.status,
                InitiativeRow.flagged,
                func.count(),
            ).group_by(InitiativeRow.initiative_id, InitiativeRow.status, InitiativeRow.flagged)
        ):
            mine = counts.setdefault(iid, {**dict.fromkeys(ROW_STATUSES, 0), "flagged": 0})
            mine[status] += n
            if flagged:
                mine["flagged"] += n
        empty = {**dict.fromkeys(ROW_STATUSES, 0), "flagged": 0}
        return [
            {**_summary(ini, status), "counts": counts.get(ini.id, dict(empty))}
            for ini, status in found
        ]


def get_initiative(
    service: Service, initiative_id: int | str, *, with_effect: bool = True
) -> dict[str, Any]:
    """One initiative: its rows in table order, its latest reviews and its effect."""
    with service.db.read() as s:
        ini = _initiative(s, initiative_id)
        status = None
        if ini.instance_id is not None:
            status = s.scalar(select(Instance.status).where(Instance.id == ini.instance_id))
        rows = s.scalars(
            select(InitiativeRow)
            .where(InitiativeRow.initiative_id == ini.id)
            .order_by(InitiativeRow.position, InitiativeRow.id)
        ).all()
        reviews = s.scalars(
            select(InitiativeReview)
            .where(InitiativeReview.initiative_id == ini.id)
            .order_by(InitiativeReview.id.desc())
            .limit(REVIEWS_SHOWN)
        )
        result = {
            **_summary(ini, status),
            "rows": [row_record(r) for r in rows],
            "reviews": [review_record(r) for r in reviews],
        }
        if with_effect:
            result["effect"] = measure_effect(service, s, ini, rows)
        return result


def element_choices(service: Service, process_id: str) -> list[dict[str, str]]:
    """The elements a row may link: the flow nodes of the process's current version."""
    with service.db.read() as s:
        graph, _version = _graph(service, s, process_id)
        nodes = {n.id: n for n in graph.nodes}
        return [
            {"id": eid, "name": name, "kind": nodes[eid].kind}
            for eid, name in _flow_nodes(graph, process_id).items()
        ]


def add_row(
    service: Service, initiative_id: int | str, fields: Mapping[str, Any], *, actor: str
) -> dict[str, Any]:
    """A new row at the end of the execution table (the lead, sales managers, admins)."""
    _known(fields)
    with service.db.write() as s:
        ini = _initiative(s, initiative_id, lock=True)
        if not _plans(users.roles_of(s, actor), ini, actor):
            raise ForbiddenError(
                "only the initiative's lead, sales managers and admins add rows to its table"
            )
        if "task" not in fields:
            raise ValidationError("must not be empty", field="task")
        if "owner" not in fields:
            raise ValidationError("exactly one person owns a task: give a user name", field="owner")
        last = s.scalar(
            select(func.max(InitiativeRow.position)).where(InitiativeRow.initiative_id == ini.id)
        )
        row = InitiativeRow(
            initiative_id=ini.id,
            position=(last or 0) + 1,
            stage="",
            task="",
            owner="",
            status="not started",
            notes="",
            contact="",
            elements=[],
            blocked_reviews=0,
            flagged=False,
        )
        _apply(service, s, ini, row, fields, actor)
        s.add(row)
        s.flush()
        return row_record(row)


def update_row(
    service: Service,
    initiative_id: int | str,
    row_id: int | str,
    changes: Mapping[str, Any],
    *,
    actor: str,
) -> dict[str, Any]:
    """Change the fields given (PATCH): any of them for the lead, sales managers and admins,
    the progress fields for the row's owner."""
    _known(changes)
    with service.db.write() as s:
        ini = _initiative(s, initiative_id)
        try:
            rid = int(row_id)
        except (TypeError, ValueError):
            raise NotFoundError(f"no row '{row_id}' in initiative {ini.id}") from None
        row = s.get(InitiativeRow, rid, with_for_update=not service.db.is_sqlite)
        if row is None or row.initiative_id != ini.id:
            raise NotFoundError(f"no row '{row_id}' in initiative {ini.id}")
        if not _plans(users.roles_of(s, actor), ini, actor):
            if row.owner != actor:
                raise ForbiddenError(
                    "only the initiative's lead, sales managers, admins and the row's owner "
                    "change a row"
                )
            plan = sorted(set(changes) & set(PLAN_FIELDS))
            if plan:
                raise ForbiddenError(
                    f"the plan of a row ({', '.join(plan)}) is the lead's; its owner updates "
                    "the status, the actual date, the notes and the contact"
                )
        _apply(service, s, ini, row, changes, actor)
        s.flush()
        return row_record(row)


def _known(fields: Mapping[str, Any]) -> None:
    if not isinstance(fields, Mapping):
        raise ValidationError("must be a JSON object ({...})", field="body")
    unknown = sorted(set(fields) - set(ROW_FIELDS))
    if unknown:
        raise ValidationError(
            f"unknown field; a row has {', '.join(ROW_FIELDS)}", field=str(unknown[0])
        )


def _apply(
    service: Service,
    s: Session,
    ini: Initiative,
    row: InitiativeRow,
    fields: Mapping[str, Any],
    actor: str,
) -> None:
    if "stage" in fields:
        row.stage = _text(fields["stage"], "stage")
    if "task" in fields:
        row.task = _text(fields["task"], "task", required=True)
    if "owner" in fields:
        row.owner = _owner(s, fields["owner"])
    if "planned_date" in fields:
        row.planned_date = _date(fields["planned_date"], "planned_date")
    if "actual_date" in fields:
        actual = _date(fields["actual_date"], "actual_date")
        today = settings.sla_calendar(s).local_date(clock.now())
        if actual is not None and actual > today:
            raise ValidationError(
                "the actual date is when it was done: not after today", field="actual_date"
            )
        row.actual_date = actual
    if "status" in fields:
        row.status = _status(fields["status"])
        if row.status != "blocked":
            row.flagged = False
    if "notes" in fields:
        row.notes = _text(fields["notes"], "notes")
    if "contact" in fields:
        row.contact = _text(fields["contact"], "contact")
    if "elements" in fields:
        row.elements = _elements(service, s, ini.process_id, fields["elements"])
    row.updated_at = clock.now()
    row.updated_by = actor


def record_review(
    service: Service, initiative_id: int | str, *, actor: str, notes: str = ""
) -> dict[str, Any]:
    """The weekly review: counts the blocked rows, flags those blocked at three consecutive
    reviews and drives the initiative's process (see the module's docstring)."""
    notes = _text(notes, "notes")
    now = clock.now()
    with service.space.write() as unit:
        s = unit.s
        ini = _initiative(s, initiative_id, lock=True)
        roles = users.roles_of(s, actor)
        if not _plans(roles, ini, actor):
            raise ForbiddenError(
                "only the initiative's lead, sales managers and admins record its reviews"
            )
        rows = s.scalars(
            select(InitiativeRow)
            .where(InitiativeRow.initiative_id == ini.id)
            .order_by(InitiativeRow.position, InitiativeRow.id)
        ).all()
        blocked, newly_flagged = [], []
        for row in rows:
            if row.status == "blocked":
                row.blocked_reviews += 1
                blocked.append(row.id)
                if row.blocked_reviews >= BLOCKED_LIMIT and not row.flagged:
                    row.flagged = True
                    newly_flagged.append(row)
            else:
                row.blocked_reviews = 0
                row.flagged = False
        review = InitiativeReview(
            initiative_id=ini.id, at=now, by=actor, blocked_rows=blocked, notes=notes
        )
        s.add(review)
        s.flush()
        longest = max((r.blocked_reviews for r in rows), default=0)
        done = bool(rows) and all(r.status == "done" for r in rows)
        process = _drive(unit, ini, actor, roles, longest, done, notes)
        for row in newly_flagged:
            notify(
                s,
                ini.lead,
                "initiative_flagged",
                f"Initiative '{ini.name}': '{row.task}' ({row.owner}) has been blocked at "
                f"{row.blocked_reviews} weekly reviews in a row. Re-evaluate the direction.",
                instance_id=ini.instance_id,
                task_id=process.get("re_evaluation_task"),
                now=now,
            )
        return {
            **review_record(review),
            "flagged_rows": [r.id for r in rows if r.flagged],
            "process": process,
        }


def _drive(
    unit: UnitOfWork,
    ini: Initiative,
    actor: str,
    roles: set[str],
    longest: int,
    done: bool,
    notes: str,
) -> dict[str, Any]:
    """Complete the process's weekly review with what the review found, ending the week's
    wait first if it still runs.  Returns what the process did."""
    s = unit.s
    if ini.instance_id is None:
        return {"advanced": False, "status": None, "open": []}
    status = s.scalar(select(Instance.status).where(Instance.id == ini.instance_id))
    if status != "running":
        return {"advanced": False, "status": status, "open": []}
    deal = unit.deal(ini.instance_id)
    inst, vr, wf, change = deal.deal, deal.version, deal.workflow, deal.change
    task = _ready(wf, REVIEW_TASK)
    if task is None:
        timer = next(
            (t for t in wf.event_manager.tasks.values() if t.task_spec.bpmn_id == WEEK_TIMER),
            None,
        )
        if timer is None:
            open_now = sorted(t.task_spec.bpmn_id for t in runtime.open_human_tasks(wf))
            deal.keep()  # nothing changed: the workflow goes back into the cache as it was
            return {"advanced": False, "status": inst.status, "open": open_now}
        timer.task_spec.event_definition.catch(timer)  # the review is this week's: no wait
        wf.refresh_timers()
        deal.run(change.engine_steps)
        task = _ready(wf, REVIEW_TASK)
        if task is None:  # a changed process: keep what happened and stop there
            deal.save(actor=actor, roles={})
            return {"advanced": True, "status": inst.status, "open": []}
    data = {"blocked_cycles_max": longest, "execution_done": done, "review_notes": notes}
    form = form_name(task.task_spec)
    if form is not None and form in vr.validators:
        check_data(vr.validators[form], data)
    task.data.update(data)
    deal.run(task.run)
    error = deal.run(lambda: engine_steps(change, after=task))
    deal.save(actor=actor, roles={actor: roles}, submitted=(str(task.id), data), error=error)
    drafts.discard_task_drafts(s, str(task.id))
    opened = runtime.open_human_tasks(wf)
    answer = {
        "advanced": True,
        "status": inst.status,
        "open": sorted(t.task_spec.bpmn_id for t in opened),
    }
    reeval = next((t for t in opened if t.task_spec.bpmn_id == REEVALUATE_TASK), None)
    if reeval is not None:
        answer["re_evaluation_task"] = str(reeval.id)
    return answer


def _ready(wf: runtime.SalesWorkflow, element_id: str) -> Any:
    return next(
        (t for t in runtime.open_human_tasks(wf) if t.task_spec.bpmn_id == element_id), None
    )


# --- reminders -----------------------------------------------------------------------------


def send_reminders(service_or_db: Service | Database, now: datetime | None = None) -> int:
    """Tell the owner of every row in progress that nobody updated for a day to update it;
    at most once a day per row.  How many were told (the worker's job)."""
    db = service_or_db if isinstance(service_or_db, Database) else service_or_db.db
    now = now or clock.now()
    due = now - REMIND_AFTER
    with db.write() as s:
        query = (
            select(InitiativeRow, Initiative.name)
            .join(Initiative, Initiative.id == InitiativeRow.initiative_id)
            .join(User, User.username == InitiativeRow.owner)
            .outerjoin(Instance, Instance.id == Initiative.instance_id)
            .where(
                InitiativeRow.status == "in progress",
                InitiativeRow.updated_at <= due,
                InitiativeRow.reminded_at.is_(None) | (InitiativeRow.reminded_at <= due),
                User.active.is_(True),
                Instance.status.is_(None) | (Instance.status == "running"),
            )
            .order_by(InitiativeRow.id)
        )
        if not db.is_sqlite:
            query = query.with_for_update(of=InitiativeRow, skip_locked=True)
        sent = 0
        for row, name in s.execute(query).all():
            quiet = (now - row.updated_at).days
            notify(
                s,
                row.owner,
                "initiative_reminder",
                f"Initiative '{name}': '{row.task}' is in progress and was last updated "
                f"{quiet} day(s) ago. Update its row in the execution table (status, notes).",
                now=now,
            )
            row.reminded_at = now
            sent += 1
        return sent


# --- the effect ----------------------------------------------------------------------------


def _seconds(s: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    if s.get_bind().dialect.name == "sqlite":
        return cast(
            ColumnElement[float], (func.julianday(later) - func.julianday(earlier)) * 86400.0
        )
    return cast(ColumnElement[float], extract("epoch", later - earlier))


def _figures(
    passes: int, deals: int, mean: Any, low: Any, high: Any, won: int, lost: int
) -> dict[str, Any]:
    decided = won + lost
    return {
        "passes": passes,
        "deals": deals,
        "mean_seconds": round(float(mean), 1) if mean is not None else None,
        "min_seconds": round(float(low), 1) if low is not None else None,
        "max_seconds": round(float(high), 1) if high is not None else None,
        "won": won,
        "lost": lost,
        "conversion": round(won / decided, 4) if decided else None,
    }


EMPTY = _figures(0, 0, None, None, None, 0, 0)


def measure_effect(
    service: Service, s: Session, ini: Initiative, rows: Iterable[InitiativeRow]
) -> dict[str, Any]:
    """Before against after `effective_at`, per linked element (one aggregate query)."""
    linked = list(dict.fromkeys(e for r in rows for e in (r.elements or [])))
    result: dict[str, Any] = {"effective_at": iso(ini.effective_at), "elements": []}
    if not linked:
        return result
    try:
        graph, _version = _graph(service, s, ini.process_id)
        names = _flow_nodes(graph, ini.process_id)
        stages = {n.id: n.stage for n in graph.nodes}
    except NotFoundError:
        names, stages = {}, {}
    won_at = [e for e, st in stages.items() if st == "won"]
    lost_at = [e for e, st in stages.items() if st == "lost"]
    won_deals = select(History.instance_id).where(
        History.element_id.in_(won_at), History.kind == "completed"
    )
    lost_deals = select(History.instance_id).where(
        History.element_id.in_(lost_at), History.kind == "completed"
    )
    effective = ini.effective_at or ini.created_at
    period = case((History.entered_at < effective, "before"), else_="after").label("period")
    stay = _seconds(s, History.at, History.entered_at)
    query = (
        select(
            History.element_id,
            period,
            func.count(),
            func.count(distinct(History.instance_id)),
            func.avg(stay),
            func.min(stay),
            func.max(stay),
            func.count(distinct(case((History.instance_id.in_(won_deals), History.instance_id)))),
            func.count(distinct(case((History.instance_id.in_(lost_deals), History.instance_id)))),
        )
        .join(Instance, Instance.id == History.instance_id)
        .where(
            Instance.process_id == ini.process_id,
            History.element_id.in_(linked),
            History.kind.in_(PASSED),
            History.entered_at.is_not(None),
        )
        .group_by(History.element_id, period)
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for element_id, when, *figures in s.execute(query):
        found[(element_id, when)] = _figures(*figures)
    for element_id in linked:
        before = found.get((element_id, "before"), EMPTY)
        after = found.get((element_id, "after"), EMPTY)
        result["elements"].append(
            {
                "element_id": element_id,
                "name": names.get(element_id, element_id),
                "before": dict(before),
                "after": dict(after),
                "time_change": _ratio(after["mean_seconds"], before["mean_seconds"]),
                "conversion_change": _difference(after["conversion"], before["conversion"]),
            }
        )
    return result


def _ratio(after: float | None, before: float | None) -> float | None:
    """The change of the mean time, as a fraction of before (-0.25: a quarter faster)."""
    if after is None or not before:
        return None
    return round(after / before - 1, 4)


def _difference(after: float | None, before: float | None) -> float | None:
    if after is None or before is None:
        return None
    return round(after - before, 4)


# --- the demo ------------------------------------------------------------------------------

DEMO_LEAD = "zhang.wei"
DEMO_EFFECTIVE_DAYS_AGO = 14
# What the lead entered in the preparation tasks (element id -> form data).
PREPARATION: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "task_locate_core_problem",
        {
            "problem_source": "data",
            "core_problem": "Needs analysis takes too long: deals wait a week for the survey",
            "baseline_metrics": [{"metric": "days in needs analysis", "value": 6}],
            "improvement_goal": "Cut the time in needs analysis by 20%",
        },
    ),
    (
        "task_map_current_process",
        {
            "process_steps": [
                {"step": "Needs analysis", "owner_role": "Sales Rep", "duration_days": 6}
            ]
        },
    ),
    (
        "task_form_team",
        {
            "initiative_lead": DEMO_LEAD,
            "team_members": [
                {"name": "wang.fang", "role": "Sales Rep"},
                {"name": "li.na", "role": "Sales Rep"},
            ],
        },
    ),
    (
        "task_break_goal_into_tasks",
        {
            "execution_tasks": [
                {
                    "stage": "needs analysis",
                    "task": "Standard pain-point survey",
                    "responsible_role": "Sales Rep",
                    "responsible_person": "li.na",
                    "planned_date": "2026-03-05",
                }
            ]
        },
    ),
)
DEMO_ROWS: tuple[dict[str, Any], ...] = (
    {
        "stage": "Customer development",
        "task": "Screen prospects by industry and size",
        "owner": "wang.fang",
        "status": "done",
        "notes": "Added the filter annual revenue ≥ 5,000,000 CNY",
        "elements": ["task_qualify_lead"],
        "plan_days": -40,
        "done_days": -39,
    },
    {
        "stage": "Needs analysis",
        "task": "Standard pain-point survey (three-step questioning)",
        "owner": "li.na",
        "status": "blocked",
        "notes": "Customers resist the survey; shorten it to 5 questions",
        "elements": ["task_needs_analysis"],
        "plan_days": -20,
    },
    {
        "stage": "Needs analysis",
        "task": "Survey template in the needs-analysis form",
        "owner": "wang.fang",
        "status": "in progress",
        "notes": "",
        "elements": ["task_needs_analysis"],
        "plan_days": 3,
    },
    {
        "stage": "Quote and negotiation",
        "task": "Price terms with the 5% room",
        "owner": DEMO_LEAD,
        "status": "not started",
        "notes": "Legal must review the template",
        "contact": "刘洋 Liu Yang (Legal)",
        "elements": ["task_prepare_quote", "task_negotiate"],
        "plan_days": 10,
    },
)
# Days deals spend in a user task in the demo's past: (before, after) the initiative.
DEMO_STAY_DAYS = {"task_needs_analysis": (6.0, 3.0)}
DEMO_OTHER_STAY_DAYS = (1.0, 1.0)


def load_demo_initiative(service: Service) -> dict[str, Any]:
    """The demo's initiative: faster needs analysis, in its execution loop, with a table
    and one review, and a measurable effect.

    The demo deals were all driven a moment ago, so their history first gets the times of a
    past: every other deal ran before the initiative took effect (two weeks ago), spending
    about 6 days in needs analysis; the rest ran after it, spending about 3.  Only the times
    of their history rows (and when they were created or completed) are rewritten; what
    happened stays as the engine recorded it.
    """
    now = clock.now()
    effective = now - timedelta(days=DEMO_EFFECTIVE_DAYS_AGO)
    _retime_demo_deals(service, "sales_pipeline", effective)
    ini = create_initiative(
        service,
        name="需求分析提速 Faster needs analysis",
        process_id="sales_pipeline",
        lead=DEMO_LEAD,
        actor=DEMO_LEAD,
        effective_at=effective,
    )
    assert ini["instance_id"] is not None
    for element_id, data in PREPARATION:
        [task] = [
            t for t in service.tasks(instance=ini["instance_id"]) if t["element_id"] == element_id
        ]
        who = task["assignee"] or _holder(service, task["lane"])
        service.complete(task["task_id"], user=who, data=data)
    today = now.date()
    for spec in DEMO_ROWS:
        fields = {k: v for k, v in spec.items() if k not in ("plan_days", "done_days")}
        fields["planned_date"] = (today + timedelta(days=spec["plan_days"])).isoformat()
        if "done_days" in spec:
            fields["actual_date"] = (today + timedelta(days=spec["done_days"])).isoformat()
        add_row(service, ini["id"], fields, actor=DEMO_LEAD)
    record_review(
        service, ini["id"], actor=DEMO_LEAD, notes="The survey is blocked: customers resist it."
    )
    return get_initiative(service, ini["id"])


def _holder(service: Service, lane: str | None) -> str:
    key = role_key(lane or "")
    for user in service.users():
        if key in {role_key(r) for r in user["roles"]}:
            return str(user["username"])
    raise LookupError(f"nobody holds the lane {lane!r}")


def _retime_demo_deals(service: Service, process_id: str, effective: datetime) -> None:
    """Spread the demo deals of `process_id` over the weeks around `effective` (see
    load_demo_initiative): even-numbered ones before it, odd-numbered ones after it."""
    with service.db.write() as s:
        deals = list(
            s.execute(
                select(Instance.id, Instance.status)
                .where(Instance.process_id == process_id)
                .order_by(Instance.id)
            )
        )
        manual = {
            n.id
            for n in _graph(service, s, process_id)[0].nodes
            if n.kind in ("userTask", "manualTask")
        }
        changes: list[dict[str, Any]] = []
        for n, (iid, status) in enumerate(deals):
            after = n % 2 == 1
            k = n // 2
            if after:
                cursor = effective + timedelta(hours=3 * k)
            else:
                cursor = effective - timedelta(days=60) + timedelta(days=2 * k)
            start = cursor
            for hid, element_id, entered in s.execute(
                select(History.id, History.element_id, History.entered_at)
                .where(History.instance_id == iid)
                .order_by(History.id)
            ):
                values: dict[str, Any] = {"id": hid, "at": cursor, "entered_at": None}
                if entered is not None:
                    values["entered_at"] = cursor
                    cursor += _demo_stay(element_id, element_id in manual, after, k)
                    values["at"] = cursor
                changes.append(values)
            s.execute(
                update(Instance)
                .where(Instance.id == iid)
                .values(
                    created_at=start,
                    completed_at=cursor if status == "completed" else None,
                )
                .execution_options(synchronize_session=False)
            )
        if changes:
            s.execute(update(History), changes)  # by primary key, one executemany
            for iid, _status in deals:  # the report facts follow the history's new times
                touch(s, iid)


def _demo_stay(element_id: str | None, manual: bool, after: bool, k: int) -> timedelta:
    """How long a demo deal stayed at an element: people take days, the engine a second;
    the linked element varies a little from deal to deal."""
    if not manual:
        return timedelta(seconds=1)
    if element_id in DEMO_STAY_DAYS:
        days = DEMO_STAY_DAYS[element_id][int(after)] + (k % 3 - 1) * (0.5 if after else 1.0)
        return timedelta(days=days)
    return timedelta(days=DEMO_OTHER_STAY_DAYS[int(after)])
