"""BPMN messages in the pure core: what a version's elements catch, what a workflow waits
for now, how a message matches a deal, and catching one on a chosen task.

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
restricted script engine.  The rules of delivery are engine.usecases.messages's.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.core import runtime
from engine.core.version import VersionRuntime
from engine.errors import ConflictError, NotFoundError, ValidationError

log = logging.getLogger(__name__)

KEEP_PROPERTY = "keepMessagesFor"


DEAL_FIELDS = ("name", "owner", "process_id")


MAX_TEXT = 200  # the length of the name and message_id columns


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


def message_event(waiting: Waiting, payload: dict[str, Any]) -> BpmnEvent:
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


def catch_message(waiting: Waiting, event: BpmnEvent, payload: dict[str, Any]) -> None:
    task = waiting.task
    task.task_spec.catch(task, event)
    task.task_spec._update(task)  # READY: the next engine steps run it
    task.data.update(payload)  # after _update, which copies the parent's data over


def note_task(waiting: Waiting) -> str:
    """The task whose history row tells of the message: the catching element's, or for an
    event-based gateway the branch it took."""
    if waiting.branch is not None:
        for child in waiting.task.children:
            if child.task_spec is waiting.branch:
                return str(child.id)
    return str(waiting.task.id)


def history_note(
    name: str, message_id: str | None, sender: str | None, data: Any
) -> dict[str, Any]:
    note: dict[str, Any] = {"message": name}
    if message_id is not None:
        note["message_id"] = message_id
    if sender is not None:
        note["sent_by"] = sender
    if data:
        note["data"] = data
    return note


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


def matches(columns: dict[str, Any], data: dict[str, Any], correlate: dict[str, Any]) -> bool:
    for key, wanted in correlate.items():
        source = columns if key in DEAL_FIELDS else data
        if key not in source or not _same(source[key], wanted):
            return False
    return True


def deal_columns(inst: Any) -> dict[str, Any]:
    return {key: getattr(inst, key) for key in DEAL_FIELDS}


def fields_text(msg: Message) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in msg.correlate.items())


def nothing_waits(msg: Message) -> NotFoundError:
    if msg.instance_id is not None:
        return NotFoundError(f"deal {msg.instance_id} is not waiting for message '{msg.name}'")
    return NotFoundError(f"no deal with {fields_text(msg)} is waiting for message '{msg.name}'")


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


def failure_of(exc: WorkflowException) -> dict[str, Any]:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    return {
        "element_id": getattr(spec, "bpmn_id", None),
        "element_name": getattr(spec, "bpmn_name", None),
        "message": str(exc),
        "data": runtime.json_safe(task.data) if task is not None else None,
    }
