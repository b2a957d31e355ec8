"""Messages from outside: a BPMN message (`contract_signed`, `payment_received`) delivered to
the deal waiting for it.

How SpiffWorkflow 3.2 catches a message (read from its source): a waiting catch event sits in
the top workflow's `event_manager.tasks` (an intermediate catch event, a boundary event while
its task is open, a receive task, or an event-based gateway, whose branches' definitions the
parser folds into one MultipleEventDefinition on the gateway).  `send_event(BpmnEvent(...))`
offers the event to every waiting task; definitions compare by class and name, so the event
must carry the definition object the parser built (the `spiff` subclass), taken from the
waiting task.  We catch on one chosen task ourselves (`spec.catch` then `spec._update`, which
is what the event manager does) so that one message reaches one element, and merge the data
afterwards (`_update` copies the parent's data over the task's).  Correlation properties
declared in the BPMN still apply: their retrieval expressions run on the message data in the
restricted script engine, and the library refuses a message whose key differs from the one
the deal already holds.

The rules:
- A message names its deal by `instance_id`, by `correlate` (deal fields: `name`, `owner`,
  `process_id`; any other key is a field of the deal's data), or both.  Values compare
  loosely: the text "8000000" matches the number 8000000 (the command line sends text).
- Only deals waiting for the message are candidates (the `message_subscription` rows, kept in
  step by `sync_subscriptions` on every save).  None: NotFoundError, unless the definition
  keeps early messages: the catch element has the property `keepMessagesFor` (an ISO 8601
  duration such as `P2D`); then the message is stored and handed to the first deal that
  starts waiting for it and matches, on that deal's next save (`deliver_kept`), until it
  expires.  Several: AmbiguousMessageError (409) with their ids; never a random one.
- A `message_id` is delivered once: sent again, the answer is the first delivery's, marked
  `duplicate`.
- Delivery runs like completing a task: the deal is locked, the engine runs on to its next
  wait, and everything is written in one transaction (recording.save_change).
- Who may send: a sender who sees every deal (engine.usecases.access) or holds the `integration`
  role may send to any deal and have messages kept; anyone else only reaches deals they may
  see, and has a message kept only when it names a deal they see by its id.  No sender (the
  command line) may do everything.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock
from engine.core import runtime
from engine.core.roles import role_key
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.store import changes as recording
from engine.store import users
from engine.store.deployments import VersionRuntime
from engine.store.models import (
    Definition,
    DefinitionVersion,
    Instance,
    MessageSubscription,
    ReceivedMessage,
)
from engine.store.records import iso

# recording imports this module too (the save hooks at the end); each uses the other only
# inside functions, so the cycle is harmless.
from engine.usecases import access

if TYPE_CHECKING:
    from engine.usecases.service import Service

__all__ = [
    "DEAL_FIELDS",
    "KEEP_PROPERTY",
    "AmbiguousMessageError",
    "Kept",
    "Message",
    "correlation_pairs",
    "deliver",
    "deliver_kept",
    "sync_subscriptions",
    "waiting_for",
]

log = logging.getLogger(__name__)

KEEP_PROPERTY = "keepMessagesFor"
DEAL_FIELDS = ("name", "owner", "process_id")
INTEGRATION = role_key("integration")
MAX_TEXT = 200  # the length of the name and message_id columns
# A save hands over at most this many kept messages (a loop catching the same message).
MAX_KEPT_PER_SAVE = 20
_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?)"
)


class AmbiguousMessageError(ConflictError):
    """Several deals wait for the message and match its correlation."""

    def __init__(self, message: str, instance_ids: list[int]) -> None:
        self.instance_ids = [str(i) for i in instance_ids]
        super().__init__(message)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "instance_ids": self.instance_ids}


# --- what a definition and an instance wait for ------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The messages a deployed version can catch, and how long each is kept if early."""

    names: frozenset[str]
    keep: dict[str, timedelta]


_CATALOGS: weakref.WeakKeyDictionary[Any, Catalog] = weakref.WeakKeyDictionary()


def catalog(vr: VersionRuntime) -> Catalog:
    """Computed once per spec object (versions never change once deployed)."""
    found = _CATALOGS.get(vr.spec)
    if found is None:
        found = _CATALOGS.setdefault(vr.spec, _build_catalog(vr))
    return found


def _build_catalog(vr: VersionRuntime) -> Catalog:
    names: set[str] = set()
    keep: dict[str, timedelta] = {}
    for process in (vr.spec, *vr.subprocess_specs.values()):
        for spec in process.task_specs.values():
            if not isinstance(spec, CatchingEvent):
                continue
            for name, element in _message_elements(spec):
                names.add(name)
                duration = keep_duration(element)
                if duration is not None:
                    keep[name] = max(duration, keep.get(name, duration))
    return Catalog(frozenset(names), keep)


def _message_elements(spec: Any) -> list[tuple[str, Any]]:
    """(message name, the element that catches it) for a catching spec.  An event-based
    gateway holds its branches' definitions, in the order of its outputs."""
    definition = spec.event_definition
    if isinstance(definition, MessageEventDefinition):
        return [(definition.name, spec)]
    if isinstance(definition, MultipleEventDefinition):
        branches = spec.outputs if isinstance(spec, EventBasedGateway) else []
        return [
            (nested.name, branches[i] if i < len(branches) else spec)
            for i, nested in enumerate(definition.event_definitions)
            if isinstance(nested, MessageEventDefinition)
        ]
    return []


def keep_duration(element: Any) -> timedelta | None:
    """The element's `keepMessagesFor` (P2D, PT12H, P1W, P1DT6H), or None."""
    text = runtime.properties(element).get(KEEP_PROPERTY)
    if not text:
        return None
    found = _DURATION.fullmatch(str(text).strip().strip("\"'").upper())
    parts = {k: int(v) for k, v in (found.groupdict() if found else {}).items() if v}
    if not parts:
        log.warning(
            "%s of element %s is %r, not a duration like P2D: messages are not kept",
            KEEP_PROPERTY,
            getattr(element, "bpmn_id", None),
            text,
        )
        return None
    return timedelta(**parts)


@dataclass(frozen=True)
class Waiting:
    """One element of a running instance waiting for a message."""

    name: str
    element_id: str
    task: Task  # the waiting task (for an event-based gateway: the gateway's)
    definition: MessageEventDefinition
    branch: Any | None  # the gateway's branch spec that the message leads to


def waiting_for(workflow: runtime.SalesWorkflow) -> list[Waiting]:
    """The messages a workflow waits for now, oldest wait first.  Reads only the waiting
    event tasks the library keeps, never the whole tree."""
    found = []
    for task in workflow.event_manager.tasks.values():
        if task.state != TaskState.WAITING:
            continue
        spec = task.task_spec
        definition = spec.event_definition
        nested = (
            definition.event_definitions
            if isinstance(definition, MultipleEventDefinition)
            else [definition]
        )
        elements = dict(enumerate(spec.outputs)) if isinstance(spec, EventBasedGateway) else {}
        for i, item in enumerate(nested):
            if isinstance(item, MessageEventDefinition):
                branch = elements.get(i)
                element = branch if branch is not None else spec
                found.append(Waiting(item.name, element.bpmn_id, task, item, branch))
    found.sort(key=lambda w: w.task.last_state_change)
    return found


def _event(waiting: Waiting, payload: dict[str, Any]) -> BpmnEvent:
    """The event for one waiting element, with the correlation keys the BPMN declares."""
    definition = waiting.definition
    correlations: dict[str, Any] = {}
    if definition.correlation_properties:
        try:
            correlations = definition.get_correlations(waiting.task, payload)
        except Exception as exc:  # the retrieval expression runs on data sent from outside
            raise ValidationError(
                f"message '{waiting.name}' needs its correlation properties "
                f"({', '.join(p.name for p in definition.correlation_properties)}) "
                f"in its data: {exc}",
                field="data",
            ) from None
    return BpmnEvent(definition, payload=dict(payload), correlations=correlations)


def _catch(waiting: Waiting, event: BpmnEvent, payload: dict[str, Any]) -> None:
    task = waiting.task
    task.task_spec.catch(task, event)
    task.task_spec._update(task)  # READY: the next engine steps run it
    task.data.update(payload)  # after _update, which copies the parent's data over


def _note_task(waiting: Waiting) -> str:
    """The task whose history row tells of the message: the catching element's, or for an
    event-based gateway the branch it took."""
    if waiting.branch is not None:
        for child in waiting.task.children:
            if child.task_spec is waiting.branch:
                return str(child.id)
    return str(waiting.task.id)


def _note(name: str, message_id: str | None, sender: str | None, data: Any) -> dict[str, Any]:
    note: dict[str, Any] = {"message": name}
    if message_id is not None:
        note["message_id"] = message_id
    if sender is not None:
        note["sent_by"] = sender
    if data:
        note["data"] = data
    return note


# --- correlation -------------------------------------------------------------------------


def _same(actual: Any, wanted: Any) -> bool:
    """Equal, or the same scalar written as text ("8000000", "true") and as a value."""
    if isinstance(actual, bool) or isinstance(wanted, bool):
        if isinstance(actual, bool) and isinstance(wanted, bool):
            return actual is wanted
        value, text = (actual, wanted) if isinstance(actual, bool) else (wanted, actual)
        return isinstance(text, str) and text.strip().lower() == str(value).lower()
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual == wanted
    if isinstance(actual, int | float | Decimal | str) and isinstance(
        wanted, int | float | Decimal | str
    ):
        try:
            return Decimal(str(actual).strip()) == Decimal(str(wanted).strip())
        except InvalidOperation:
            return False
    return bool(actual == wanted)


def _matches(columns: dict[str, Any], data: dict[str, Any], correlate: dict[str, Any]) -> bool:
    for key, wanted in correlate.items():
        source = columns if key in DEAL_FIELDS else data
        if key not in source or not _same(source[key], wanted):
            return False
    return True


def _columns(inst: Any) -> dict[str, Any]:
    return {key: getattr(inst, key) for key in DEAL_FIELDS}


def _fields(msg: Message) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in msg.correlate.items())


def _nothing_waits(msg: Message) -> NotFoundError:
    if msg.instance_id is not None:
        return NotFoundError(f"deal {msg.instance_id} is not waiting for message '{msg.name}'")
    return NotFoundError(f"no deal with {_fields(msg)} is waiting for message '{msg.name}'")


# --- what is sent ------------------------------------------------------------------------


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ValidationError(f"must be a text of 1 to {MAX_TEXT} characters", field=what)
    return value


@dataclass(frozen=True)
class Message:
    """A message as sent, checked."""

    name: str
    instance_id: int | None = None
    correlate: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None

    @classmethod
    def of(
        cls,
        name: Any,
        *,
        instance_id: Any = None,
        correlate: Any = None,
        data: Any = None,
        message_id: Any = None,
    ) -> Message:
        name = _text(name, "name").strip()
        iid = None
        if instance_id is not None and instance_id != "":
            if isinstance(instance_id, bool) or not re.fullmatch(r"[0-9]{1,10}", str(instance_id)):
                raise ValidationError("must be a deal id (digits)", field="instance_id")
            iid = int(instance_id)
        correlate = {} if correlate is None else correlate
        if not isinstance(correlate, dict):
            raise ValidationError("must be an object of deal fields", field="correlate")
        for key, value in correlate.items():
            _text(key, "correlate")
            if value is None or not isinstance(value, str | int | float):
                raise ValidationError(
                    f"the value of '{key}' must be a text, a number or true/false",
                    field="correlate",
                )
        if iid is None and not correlate:
            raise ValidationError(
                "say which deal the message is for: instance_id, or correlate with deal fields",
                field="correlate",
            )
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ValidationError("must be a JSON object ({...})", field="data")
        if message_id is not None:
            message_id = _text(message_id, "message_id")
        return cls(name, iid, dict(correlate), runtime.json_safe(data), message_id)


def correlation_pairs(texts: Iterable[str] | None) -> dict[str, str]:
    """`KEY=VALUE` texts (the command line's --correlate) as a dict."""
    pairs: dict[str, str] = {}
    for text in texts or ():
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"'{text}' is not KEY=VALUE", field="--correlate")
        pairs[key.strip()] = value
    return pairs


# --- delivering --------------------------------------------------------------------------


def _record(row: ReceivedMessage, *, duplicate: bool, now: datetime) -> dict[str, Any]:
    if row.delivered_at is not None:
        status = "delivered"
    elif row.expires_at is not None and row.expires_at <= now:
        status = "expired"
    else:
        status = "kept"
    return {
        "name": row.name,
        "message_id": row.message_id,
        "status": status,
        "duplicate": duplicate,
        "instance_id": str(row.instance_id) if row.instance_id is not None else None,
        "received_at": iso(row.received_at),
        "delivered_at": iso(row.delivered_at),
        "expires_at": iso(row.expires_at),
    }


@dataclass
class _Sender:
    username: str | None
    roles: set[str]

    @property
    def sends_anything(self) -> bool:
        return self.username is None or access.sees_all(self.roles) or INTEGRATION in self.roles

    def sees(self, s: Session, instance_id: int | None) -> bool:
        if instance_id is None:
            return False
        if self.username is None or self.sends_anything:
            return True
        return access.may_see(s, self.username, self.roles, instance_id)


def deliver(service: Service, msg: Message, *, sender: str | None = None) -> dict[str, Any]:
    """Deliver (or keep) one message; see the module's rules.  One transaction."""
    now = clock.now()
    with service.db.write() as s:
        who = _Sender(sender, users.roles_of(s, sender) if sender is not None else set())
        first = _first_delivery(s, msg, who, now)
        if first is not None:
            return first
        found = _waiting_deals(s, msg, who)
        if len(found) > 1:
            raise AmbiguousMessageError(
                f"{len(found)} deals wait for message '{msg.name}' "
                f"with {_fields(msg)}: {', '.join(map(str, found))}; "
                "send instance_id (or more fields) to choose one",
                found,
            )
        if not found:
            return _keep(service, s, msg, who, now)
        inst = service._lock(s, found[0])
        again = _first_delivery(s, msg, who, now)  # the same id sent twice at the same time
        if again is not None:
            return again
        if not _matches(_columns(inst), inst.data, msg.correlate):
            raise NotFoundError(f"deal {inst.id} changed meanwhile and no longer matches")
        vr = service.version(s, inst.version_id)
        wf = service._workflow(inst, vr)
        waiting = [w for w in waiting_for(wf) if w.name == msg.name]
        if not waiting:
            raise NotFoundError(f"deal {inst.id} is no longer waiting for message '{msg.name}'")
        events = [(w, _event(w, msg.data)) for w in waiting]
        caught = [(w, e) for w, e in events if w.task.task_spec.catches(w.task, e)]
        if not caught:
            raise NotFoundError(
                f"deal {inst.id} waits for message '{msg.name}' with other correlation keys "
                f"than this one carries ({events[0][1].correlations})"
            )
        target, event = caught[0]
        change = runtime.Change(wf)

        def run() -> None:
            _catch(target, event, msg.data)
            change.engine_steps()

        service._run(run)
        note = _note(msg.name, msg.message_id, sender, msg.data)
        recording.save_change(
            s,
            inst,
            vr,
            change,
            actor=sender,
            now=now,
            roles={},
            submitted=(_note_task(target), note),
        )
        row = _store(s, msg, inst.id, now, delivered=True)
        result = _record(row, duplicate=False, now=now)
    service.workflows.checkin(inst.id, inst.lock_version, wf)
    return result


def _first_delivery(s: Session, msg: Message, who: _Sender, now: datetime) -> dict[str, Any] | None:
    """The answer to a message id seen before, or None."""
    if msg.message_id is None:
        return None
    row = s.scalars(
        select(ReceivedMessage).where(ReceivedMessage.message_id == msg.message_id)
    ).first()
    if row is None:
        return None
    if row.name != msg.name:
        raise ConflictError(
            f"message id '{msg.message_id}' was already used for message '{row.name}'"
        )
    target = row.instance_id
    if target is None and row.correlation:
        target = row.correlation.get("instance_id")
    if not who.sends_anything and not who.sees(s, target):
        raise ConflictError(f"message id '{msg.message_id}' was already used")
    return _record(row, duplicate=True, now=now)


def _waiting_deals(s: Session, msg: Message, who: _Sender) -> list[int]:
    """The running deals waiting for the message that match it and the sender may reach."""
    waiting = select(MessageSubscription.instance_id).where(MessageSubscription.name == msg.name)
    query = select(Instance.id, Instance.name, Instance.owner, Instance.process_id).where(
        Instance.id.in_(waiting), Instance.status == "running"
    )
    if msg.instance_id is not None:
        query = query.where(Instance.id == msg.instance_id)
    if not who.sends_anything and who.username is not None:
        query = query.where(access.visible_deals(who.username, who.roles))
    needs_data = any(key not in DEAL_FIELDS for key in msg.correlate)
    if needs_data:
        query = query.add_columns(Instance.data)
    found = []
    for row in s.execute(query.order_by(Instance.id)):
        data = row.data if needs_data else {}
        if _matches(_columns(row), data or {}, msg.correlate):
            found.append(row.id)
    return found


def _keep(
    service: Service, s: Session, msg: Message, who: _Sender, now: datetime
) -> dict[str, Any]:
    """Nothing waits: keep the message if its definition says so, else NotFoundError."""
    inst = s.get(Instance, msg.instance_id) if msg.instance_id is not None else None
    if msg.instance_id is not None and (inst is None or not who.sees(s, msg.instance_id)):
        raise NotFoundError(f"no deal with id '{msg.instance_id}'")
    if inst is not None:
        catalogs = [catalog(service.version(s, inst.version_id))]
    else:
        catalogs = _latest_catalogs(service, s)
    if not any(msg.name in c.names for c in catalogs):
        if inst is not None:
            raise NotFoundError(f"deal {inst.id} never waits for a message named '{msg.name}'")
        raise NotFoundError(f"no deployed process receives a message named '{msg.name}'")
    keep = max((c.keep[msg.name] for c in catalogs if msg.name in c.keep), default=None)
    refused = _nothing_waits(msg)
    if keep is None:
        raise refused
    if inst is not None and inst.status != "running":
        raise NotFoundError(f"deal {inst.id} is {inst.status}: it waits for no message")
    if inst is None and not who.sends_anything:
        raise refused  # kept messages for any deal: only for senders who reach every deal
    if inst is not None and not _matches(_columns(inst), inst.data, msg.correlate):
        raise refused
    row = _store(s, msg, None, now, delivered=False, expires_at=now + keep)
    return _record(row, duplicate=False, now=now)


def _latest_catalogs(service: Service, s: Session) -> list[Catalog]:
    latest = s.scalars(
        select(DefinitionVersion.id)
        .join(Definition, Definition.id == DefinitionVersion.definition_id)
        .where(DefinitionVersion.version == Definition.latest_version)
    )
    return [catalog(service.version(s, version_id)) for version_id in latest]


def _store(
    s: Session,
    msg: Message,
    instance_id: int | None,
    now: datetime,
    *,
    delivered: bool,
    expires_at: datetime | None = None,
) -> ReceivedMessage:
    row = ReceivedMessage(
        message_id=msg.message_id,
        name=msg.name,
        correlation={"instance_id": msg.instance_id, "fields": msg.correlate},
        data=msg.data,
        instance_id=instance_id,
        received_at=now,
        delivered_at=now if delivered else None,
        expires_at=expires_at,
    )
    s.add(row)
    try:
        s.flush()
    except IntegrityError as exc:  # the unique message id, sent twice at the same moment
        raise ConflictError(
            f"message id '{msg.message_id}' is being delivered by another request"
        ) from exc
    return row


# --- hooks of recording.save_change ------------------------------------------------------


@dataclass
class Kept:
    """Kept messages handed to an instance during one save."""

    rows: list[ReceivedMessage] = field(default_factory=list)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)  # task id -> history data
    error: dict[str, Any] | None = None


def deliver_kept(
    s: Session, inst: Instance, vr: VersionRuntime, change: runtime.Change, *, now: datetime
) -> Kept:
    """Hand the instance the kept messages it now waits for, oldest first.  Called by
    save_change before it records the change; free for versions that catch no message, one
    indexed query for an instance that waits for one.  A failure while the engine runs on
    puts the deal in error (like a timer) instead of undoing the caller's change."""
    kept = Kept()
    if not catalog(vr).names:
        return kept
    wf = change.workflow
    taken: set[int] = set()
    for _ in range(MAX_KEPT_PER_SAVE):
        waiting = waiting_for(wf)
        if not waiting:
            break
        query = (
            select(ReceivedMessage)
            .where(
                ReceivedMessage.name.in_(sorted({w.name for w in waiting})),
                ReceivedMessage.delivered_at.is_(None),
                ReceivedMessage.expires_at > now,
            )
            .order_by(ReceivedMessage.received_at, ReceivedMessage.id)
        )
        if s.get_bind().dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        rows = [r for r in s.scalars(query) if r.id not in taken]
        if not rows or runtime.has_error(wf):
            break
        delivered = _hand_over(inst, wf, change, waiting, rows, kept, now)
        if delivered is None:
            break
        taken.add(delivered.id)
        if kept.error is not None:
            break
    return kept


def _hand_over(
    inst: Instance,
    wf: runtime.SalesWorkflow,
    change: runtime.Change,
    waiting: list[Waiting],
    rows: list[ReceivedMessage],
    kept: Kept,
    now: datetime,
) -> ReceivedMessage | None:
    """Deliver the first kept message that matches the instance; the row, or None."""
    columns = _columns(inst)
    data = runtime.current_data(wf)
    for row in rows:
        correlation = row.correlation or {}
        target = correlation.get("instance_id")
        if target is not None and target != inst.id:
            continue
        if not _matches(columns, data, correlation.get("fields") or {}):
            continue
        payload = row.data or {}
        for w in (w for w in waiting if w.name == row.name):
            try:
                event = _event(w, payload)
            except ValidationError:
                continue
            if not w.task.task_spec.catches(w.task, event):
                continue
            row.delivered_at = now
            row.instance_id = inst.id  # None for a new instance: set after its flush
            kept.rows.append(row)
            try:
                _catch(w, event, payload)
                change.engine_steps()
            except WorkflowException as exc:
                kept.error = _failure(exc)
            kept.notes[_note_task(w)] = _note(row.name, row.message_id, None, payload)
            return row
    return None


def _failure(exc: WorkflowException) -> dict[str, Any]:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    return {
        "element_id": getattr(spec, "bpmn_id", None),
        "element_name": getattr(spec, "bpmn_name", None),
        "message": str(exc),
        "data": runtime.json_safe(task.data) if task is not None else None,
    }


def sync_subscriptions(
    s: Session,
    inst: Instance,
    vr: VersionRuntime,
    wf: runtime.SalesWorkflow,
    *,
    new: bool,
    kept: Kept,
) -> None:
    """Make the instance's message_subscription rows match what it waits for now (after
    save_change has flushed the instance, so a new one has its id)."""
    for row in kept.rows:
        row.instance_id = inst.id
    if not catalog(vr).names:
        return
    wanted = set()
    if inst.status == "running":
        wanted = {(w.name, w.element_id) for w in waiting_for(wf)}
    have: dict[tuple[str, str], int] = {}
    stale = []
    if not new:
        rows = s.execute(
            select(
                MessageSubscription.id, MessageSubscription.name, MessageSubscription.element_id
            ).where(MessageSubscription.instance_id == inst.id)
        )
        for r in rows:
            key = (r.name, r.element_id)
            if key in wanted and key not in have:
                have[key] = r.id
            else:
                stale.append(r.id)
    if stale:
        s.execute(delete(MessageSubscription).where(MessageSubscription.id.in_(stale)))
    fresh = [
        {"instance_id": inst.id, "name": name, "element_id": element}
        for name, element in sorted(wanted - set(have))
    ]
    if fresh:
        s.execute(insert(MessageSubscription), fresh)
