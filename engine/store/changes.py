"""Writing what one change did to a deal: history, inbox rows, deal fields, state.

Called inside the use case's transaction.  History and open-task rows go in as one
executemany each: a completion writes a handful of rows, and the ORM's per-object inserts
would cost more than the engine itself.  The statements of this path are built once, on the
tables rather than the ORM classes (SQLAlchemy Core): an ORM-enabled statement costs three
to five times as much to run, and a change runs about ten of them (bench/engine.py,
docs/benchmarks.md "Issue 16").
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.core import runtime
from engine.core.definitions import form_name
from engine.core.failure_words import incident_notice
from engine.core.roles import role_key
from engine.core.stages import STAGE_ORDER
from engine.core.version import VersionRuntime
from engine.errors import ConflictError
from engine.store import connectors, customers, notifications, users
from engine.store import integrations as webhook_outbox
from engine.store.delegations import route
from engine.store.models import History, Instance, OpenTask, ReportPending, User, table_of
from engine.store.records import iso
from engine.store.sla import DueTimes, still_escalated
from engine.store.subscriptions import deliver_kept, sync_subscriptions

MAX_AMOUNT = Decimal(10) ** 14  # Instance.amount is Numeric(16, 2)

# Every history row names every column, so that one change's rows go in as one executemany
# (SQLAlchemy groups the rows of an executemany by the keys they give).  A missing `data` is
# stored as JSON null, as the ORM stored it.
_HISTORY_KEYS = (
    "actor",
    "element_id",
    "element_name",
    "task_id",
    "entered_at",
    "data",
)
_HISTORY = insert(table_of(History))
_OPEN_TASK = insert(table_of(OpenTask))
_OPEN_TASKS_OF = select(table_of(OpenTask).c.task_id).where(
    table_of(OpenTask).c.instance_id == bindparam("instance_id")
)
_CLOSE_TASKS = delete(table_of(OpenTask)).where(
    table_of(OpenTask).c.task_id.in_(bindparam("task_ids", expanding=True))
)


def _as_amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    # What the column holds (Numeric(16, 2)): a larger figure is no deal's value.
    return amount if amount.is_finite() and abs(amount) < MAX_AMOUNT else None


def deal_value(data: dict[str, Any]) -> Decimal | None:
    """The value a deal's data gives it: its `amount`, else its quote (`price` less its
    `discount_percent`); None when it gives none."""
    if "amount" in data:
        return _as_amount(data["amount"])
    price = _as_amount(data.get("price"))
    if price is None:
        return None
    discount = _as_amount(data.get("discount_percent")) or Decimal(0)
    if not 0 <= discount <= 100:
        return price
    return (price * (100 - discount) / 100).quantize(Decimal("0.01"))


def _as_text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def _stamp(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def note_activity(s: Session, instance_id: int, now: datetime) -> None:
    """Someone worked on the deal (claimed, released, commented): it is not stale.  A plain
    UPDATE, so the deal's lock_version and its cached workflow stay valid.  A deal locked by
    a change in progress is skipped (that change counts as activity itself), so a claim that
    holds its task row never waits for a completion that waits for that row."""
    query = select(Instance.id).where(Instance.id == instance_id)
    if s.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    if s.scalar(query) is None:
        return
    s.execute(
        update(Instance)
        .where(Instance.id == instance_id)
        .values(activity_at=now)
        .execution_options(synchronize_session=False)
    )


def save_change(
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
    status: str | None = None,
    open_before: set[str] | None = None,
) -> list[runtime.Event]:
    """Write what a change did; returns its events.  Raises ConflictError if the deal
    was changed meanwhile (lock_version).  `status` is one the use case decided (a deal
    cancelled, engine.usecases.incidents); otherwise the workflow tells.  A deal that goes into
    error (an incident) is told to its owner.  `open_before`: the deal's open-task ids, when
    the caller read them already (the worker reads a whole batch's at once)."""
    wf = change.workflow
    kept = deliver_kept(s, inst, vr, change, now=now)  # kept messages it now waits for
    error = error or kept.error
    events = change.finish()
    visited = dict(inst.visited)
    last_stage = None
    history = [first] if first is not None else []
    for ev in events:
        data: dict[str, Any] | None = ev.changes or None
        if submitted is not None and ev.task_id == submitted[0]:
            data = submitted[1]  # what the person entered, even where it changed nothing
        data = kept.notes.get(ev.task_id, data)
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
    stage_before = inst.stage
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
    # The deal's value follows its data when the data's value changes (a quote prepared or
    # sent back and made again); in between it is what the owner set (start, deal page).
    value = deal_value(data_now)
    given = inst.amount is not None if new else value == deal_value(inst.data or {})
    if value is not None and not given:
        inst.amount = value
    inst.data = data_now
    inst.lead_source = _as_text(data_now.get("source_channel"), 80)
    tier = _as_text(data_now.get("tier"), 8)
    if inst.customer_id is not None and tier is not None and tier != inst.tier:
        # The deal was graded (again): its customer's tier follows, the latest grading wins;
        # a tier set by hand stands until the next grading.
        customers.follow_tier(s, inst.customer_id, tier, now)
    inst.tier = tier
    inst.lost_reason = _as_text(data_now.get("lost_reason"), 300)
    inst.visited = visited
    inst.position = runtime.position(wf, visited)
    inst.timers = [
        {"element_id": t.task_spec.bpmn_id, "name": t.task_spec.bpmn_name, "due_at": iso(due)}
        for t, due in runtime.waiting_timers(wf)
    ]
    status_before = inst.status
    if status is not None:
        inst.status = status
        inst.error = None
    elif runtime.has_error(wf):
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
    if new or submitted is not None or inst.stage != stage_before:
        inst.activity_at = now  # someone worked on the deal or it moved on (engine.store.stale)
    if inst.escalated_at is not None and not still_escalated(
        s, inst.id, (str(t.id) for t in open_tasks)
    ):
        inst.escalated_at = None  # the escalated tasks are done
    inst.updated_at = now
    inst.state = runtime.dump_state(wf)
    try:
        s.flush()  # the instance row first: a new one gets its id here
    except StaleDataError as exc:
        raise ConflictError(
            f"deal {inst.id} was changed by someone else at the same time; nothing was saved"
        ) from exc
    if history:
        s.execute(_HISTORY, [_history_row(h, inst.id) for h in history])
    if inst.status == "error" and status_before != "error":
        lang = s.scalar(select(User.language).where(User.username == inst.owner))
        failure = dict(error or {})
        if failure.get("element_id"):  # the step as the version names it in that language
            failure["element_name"] = vr.texts(lang).name(
                failure["element_id"], failure.get("element_name")
            )
        text = incident_notice(inst.name, failure, lang)  # in the owner's language
        notifications.notify(s, inst.owner, "incident", text.strip(), instance_id=inst.id, now=now)
    sync_open_tasks(s, inst, vr, open_tasks, roles, new=new, existing=open_before)
    if vr.connectors:  # a service task waits for the worker's call (engine.jobs.connectors)
        connectors.enqueue_waiting(s, inst.id, vr, wf, now)
    sync_subscriptions(s, inst, vr, wf, new=new, kept=kept)
    touch(s, inst.id)  # its report facts are worked out again before the next report
    if webhook_outbox.wanted_events(s):  # cached; empty unless a webhook is registered
        webhook_outbox.record_change(s, inst, events, new, stage_before, status_before, now)
    return events


def _history_row(entry: dict[str, Any], instance_id: int) -> dict[str, Any]:
    row = dict.fromkeys(_HISTORY_KEYS)
    row.update(entry)
    row["instance_id"] = instance_id
    return row


def sync_open_tasks(
    s: Session,
    inst: Instance,
    vr: VersionRuntime,
    open_tasks: list[Any],
    roles: dict[str, set[str]],
    *,
    new: bool,
    existing: set[str] | None = None,
) -> None:
    """Make the instance's open-task rows match its ready human tasks (`existing`: the
    deal's open-task ids when the caller has read them)."""
    if existing is not None:
        existing = set(existing)
    elif new:
        existing = set()
    else:
        existing = set(s.execute(_OPEN_TASKS_OF, {"instance_id": inst.id}).scalars())
    rows = []
    away: dict[str, Any] = {}  # delegations looked up once per person (engine.usecases.handover)
    due = DueTimes(s, vr.slas)
    for task in open_tasks:
        tid = str(task.id)
        if tid in existing:
            existing.discard(tid)
            continue
        spec = task.task_spec
        role = role_key(spec.lane) if spec.lane else None
        owner = inst.owner
        if owner is not None and owner not in roles:
            roles[owner] = users.roles_held(s, owner)
        # Exactly one responsible person: the owner where they hold the lane's role,
        # otherwise the role's queue.
        assignee = owner if owner and (role is None or role in roles[owner]) else None
        delegated_from = None
        if assignee is not None:  # a rep who is away: to the delegate
            assignee, delegated_from = route(s, assignee, role, clock.now(), away)
        ready_at = _stamp(task.last_state_change) or clock.now()
        rows.append(
            {
                "task_id": tid,
                "instance_id": inst.id,
                "element_id": spec.bpmn_id,
                "name": spec.bpmn_name or spec.bpmn_id,
                "lane": spec.lane,
                "role": role,
                "assignee": assignee,
                "delegated_from": delegated_from,
                "stage": vr.stages.get(spec.bpmn_id),
                "form": form_name(spec),
                "created_at": ready_at,
                **due.fields(spec.bpmn_id, ready_at),  # due_at, escalate_to (its SLA)
            }
        )
    if existing:
        s.execute(_CLOSE_TASKS, {"task_ids": sorted(existing)})
    if rows:
        s.execute(_OPEN_TASK, rows)


_TOUCH = insert(table_of(ReportPending))


def touch(s: Session, instance_id: int) -> None:
    """Note that a deal changed: its facts are worked out anew before the next report reads
    them (catch_up).  One small insert in the change's own transaction, so a change costs
    the engine next to nothing, and a deal changed ten times is worked out once."""
    s.execute(_TOUCH, {"instance_id": instance_id})
