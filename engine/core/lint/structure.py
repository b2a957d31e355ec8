"""The shape rules of engine.core.lint: what SpiffWorkflow's parser stops at, found on the XML
for every element at once (the parser names the first and stops; on one of them it even
never returns).  Each rule is a function of one element that words its problem, or None:

- `split_said`: a task or an event with several outgoing flows.  The parser refuses it
  ("multiple outgoing flows"): salesflow splits paths only at gateways, so the designer
  adds a parallel gateway (or, when the flows carry conditions, an exclusive or inclusive
  one);
- `scope_said`: an embedded sub-process (or transaction) that is empty, has no start
  event, several, or no end event; an ad-hoc sub-process with start or end events or a
  sequential ordering;
- `boundary_said`: a boundary event without a trigger the engine runs (compensation, none),
  or a cancel event on something that is not a transaction;
- `event_ref_said`: an event that names a message, signal, error or escalation no file
  declares (the parser crashes on it);
- `timer_time_said`: a timer with no duration, date or cycle at all;
- `data_saids`: a data association whose other end is neither a data object nor a data
  store, or a data object declared too far out: there the parser loops forever
  (`Hang`), so engine.core.lint does not start it.

engine.core.lint.library words the parser's own errors with the same functions, for the
case the XML rules missed one.

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from engine.core.lint.bpmn import FLOW_NODES, GATEWAYS, MODEL, _children, _local, _text
from engine.core.lint.wording import Said, say

# What SpiffWorkflow creates a process of its own for (a sub-process's parser has the
# parser of the scope around it as its parent).
SCOPE_KINDS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
# The sub-processes the parser reads as "exactly one start event, at least one end event".
EMBEDDED = frozenset({"subProcess", "transaction"})
BOUNDARY_TRIGGERS = frozenset(
    {
        "timerEventDefinition",
        "messageEventDefinition",
        "signalEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
        "conditionalEventDefinition",
        "cancelEventDefinition",
    }
)
_OTHER_TRIGGERS = {
    "compensateEventDefinition": "trigger.compensation",
    "linkEventDefinition": "trigger.link",
    "terminateEventDefinition": "trigger.terminate",
}
# eventDefinition -> (its attribute naming what it refers to, the declaring element, key).
EVENT_REFS = {
    "messageEventDefinition": ("messageRef", "message", "event.missing_message"),
    "signalEventDefinition": ("signalRef", "signal", "event.missing_signal"),
    "errorEventDefinition": ("errorRef", "error", "event.missing_error"),
    "escalationEventDefinition": ("escalationRef", "escalation", "event.missing_escalation"),
}
_SPLITS_ALLOWED = GATEWAYS | {"startEvent"}


@dataclass(frozen=True)
class DataProblem:
    """A data association's problem; `hangs`: SpiffWorkflow's parser would never return."""

    said: Said
    hangs: bool = False


# --- flows ----------------------------------------------------------------------------------


def outgoing(node: etree._Element) -> list[etree._Element]:
    """The sequence flows leaving a flow node (they sit beside it, in its scope)."""
    parent = node.getparent()
    ident = node.get("id")
    if parent is None or not ident:
        return []
    return [f for f in _children(parent, "sequenceFlow") if f.get("sourceRef") == ident]


def flow_label(flow: etree._Element) -> str:
    """A flow as the designer finds it: its name, or its id when it has none."""
    name = " ".join((flow.get("name") or "").split())
    return f"'{name or flow.get('id', '')}'"


def flows_listed(flows: Iterable[etree._Element]) -> str:
    return ", ".join(flow_label(f) for f in flows)


def has_condition(flow: etree._Element) -> bool:
    return bool(_text(next(_children(flow, "conditionExpression"), None)))


def split_said(node: etree._Element) -> Said | None:
    """A task or an event (not a gateway, not a start event) with several outgoing flows."""
    if _local(node) not in FLOW_NODES or _local(node) in _SPLITS_ALLOWED:
        return None
    flows = outgoing(node)
    if len(flows) < 2:
        return None
    name = " ".join((node.get("name") or "").split()) or node.get("id", "")
    key = "node.conditional_split" if any(map(has_condition, flows)) else "node.implicit_split"
    return say(key, count=len(flows), flows=flows_listed(flows), name=name)


# --- sub-processes --------------------------------------------------------------------------


def scope_said(scope: etree._Element) -> Said | None:
    """An embedded sub-process's start and end events: exactly one start, an end."""
    if _local(scope) not in EMBEDDED:
        return None
    nodes = [n for n in scope.iterchildren(etree.Element) if _local(n) in FLOW_NODES]
    starts = [n for n in nodes if _local(n) == "startEvent"]
    if not nodes:
        return say("scope.empty")
    if not starts:
        return say("scope.no_start", kind="sub-process")
    if len(starts) > 1:
        return say("scope.starts", count=len(starts))
    if not any(_local(n) == "endEvent" for n in nodes):
        return say("scope.no_end")
    return None


def ad_hoc_saids(scope: etree._Element) -> list[Said]:
    found = []
    if scope.get("ordering") == "Sequential":
        found.append(say("scope.ad_hoc_sequential"))
    if any(_local(n) in ("startEvent", "endEvent") for n in scope.iterchildren(etree.Element)):
        found.append(say("scope.ad_hoc_events"))
    return found


# --- events ---------------------------------------------------------------------------------


def boundary_said(event: etree._Element, by_id: Mapping[str, etree._Element]) -> Said | None:
    """A boundary event the engine cannot wait for."""
    kinds = [_local(d) for d in event.iter(etree.Element) if _local(d).endswith("Definition")]
    if "cancelEventDefinition" in kinds:
        attached = by_id.get(event.get("attachedToRef", ""))
        if attached is not None and _local(attached) != "transaction":
            return say("boundary.cancel_outside_transaction")
    if any(k in BOUNDARY_TRIGGERS for k in kinds):
        return None
    if not kinds:
        return say("boundary.no_trigger")
    key = "trigger.multiple" if len(kinds) > 1 else _OTHER_TRIGGERS.get(kinds[0])
    return say("boundary.unsupported", trigger=say(key) if key else kinds[0])


def declared_refs(roots: Iterable[etree._Element]) -> dict[str, set[str]]:
    """ "message" / "signal" / "error" / "escalation" -> the ids the files declare (the
    parser reads them from every file of the definition)."""
    found: dict[str, set[str]] = {kind: set() for _, kind, _ in EVENT_REFS.values()}
    for root in roots:
        for element in root.iter(etree.Element):
            kind = _local(element)
            if kind in found and element.get("id"):
                found[kind].add(element.get("id", ""))
    return found


def event_ref_said(definition: etree._Element, declared: Mapping[str, set[str]]) -> Said | None:
    """An event definition (or a send/receive task) naming what no file declares."""
    local = _local(definition)
    if local in ("sendTask", "receiveTask"):
        local = "messageEventDefinition"
    if local not in EVENT_REFS:
        return None
    attribute, kind, key = EVENT_REFS[local]
    ref = definition.get(attribute)
    if ref is None or ref in declared.get(kind, set()):
        return None
    return say(key, ref=ref)


def timer_time_said(definition: etree._Element) -> Said | None:
    """A timer with no duration, date or cycle (an empty one is the timer rule's)."""
    owner = definition.getparent()
    scope = owner if owner is not None else definition
    times = ("timeDate", "timeDuration", "timeCycle")
    if any(_local(e) in times for e in scope.iter(etree.Element)):
        return None
    return say("timer.no_time")


def condition_said(definition: etree._Element) -> Said | None:
    if any(_local(e) == "condition" for e in definition.iter(etree.Element)):
        return None
    return say("event.no_condition")


# --- data -----------------------------------------------------------------------------------


def data_saids(node: etree._Element, by_id: Mapping[str, etree._Element]) -> list[DataProblem]:
    """The data associations of a flow node, as SpiffWorkflow resolves them: a data object
    reference whose data object is declared in the node's own scope or the one around it,
    or a data store reference (the data store rule speaks of those).  One problem for the
    ends it reads from, one for those it writes to."""
    found = []
    ends = (
        ("dataInputAssociation", "sourceRef", "data.input_unresolved"),
        ("dataOutputAssociation", "targetRef", "data.output_unresolved"),
    )
    for association, end, key in ends:
        unresolved: list[str] = []
        for link in _children(node, association):
            for ref in _children(link, end):
                ident = (ref.text or "").strip()
                problem = _data_problem(node, ident, by_id)
                if isinstance(problem, DataProblem):
                    found.append(problem)
                elif problem and problem not in unresolved:
                    unresolved.append(problem)
        if unresolved:
            found.append(DataProblem(say(key, refs=", ".join(f"'{r}'" for r in unresolved))))
    return found


def _data_problem(
    node: etree._Element, ref: str, by_id: Mapping[str, etree._Element]
) -> DataProblem | str | None:
    """None when the parser resolves the reference, the name of what it cannot resolve, or
    the problem of a data object declared too far out."""
    target = by_id.get(ref)
    kind = _local(target) if target is not None else ""
    if kind == "dataStoreReference":
        return None
    if target is None or kind != "dataObjectReference":
        return _named(target, ref)
    data_object = target.get("dataObjectRef", "")
    scope = _scope_of(node)
    if scope is None or data_object in _data_objects(scope):
        return None
    outer = _scope_of(scope)
    if outer is None:  # the process itself: the parser says it cannot resolve it
        return _named(target, ref)
    if data_object in _data_objects(outer):
        return None
    # SpiffWorkflow looks in the scope and its parent only, and then loops forever.
    return DataProblem(say("data.out_of_reach", ref=_named(target, ref)), hangs=True)


def _named(element: etree._Element | None, ref: str) -> str:
    name = " ".join(((element.get("name") if element is not None else None) or "").split())
    return name or ref


def _scope_of(element: etree._Element) -> etree._Element | None:
    parent = element.getparent()
    while parent is not None and _local(parent) not in SCOPE_KINDS:
        parent = parent.getparent()
    return parent


def _data_objects(scope: etree._Element) -> set[str]:
    return {d.get("id", "") for d in scope.iterchildren(f"{{{MODEL}}}dataObject")}
