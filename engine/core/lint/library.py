"""SpiffWorkflow's parse errors in the designer's words (step 4 of engine.core.lint).

The parser stops at the first thing it cannot read, with a text written for Python
programmers: "Exactly one start event is required in a SubWorkflow Task; found 0.. ", "Cannot
resolve dataInputAssociation <Element {...}sourceRef at 0x7f...>", and, where the library
itself trips, the repr of a Python exception ("NotImplementedError('Unsupported Catch
Event: ...')", "TypeError(...raise_validation_exception() got an unexpected keyword
argument 'node')").  `library_said` turns each text it knows into an entry of
engine.core.lint.wording, worded with the element the parser names (most through the
rules of engine.core.lint.structure, which find the same problems on the XML); a text it
does not know is shown `cleaned` of Python, and not at all when nothing readable is left.

Pure: no database, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from engine.core.lint import structure
from engine.core.lint.bpmn import _local
from engine.core.lint.problems import _quote
from engine.core.lint.wording import Said, recognised, say
from engine.errors import DefinitionError

# What a reader must never see: Python's reprs, exception names, memory addresses and the
# library's own words for things ("SubWorkflow", "TaskSpec", "spec").
LEAKS = re.compile(
    r"<Element\b|\bat 0x|0x[0-9a-fA-F]{4,}|\b[A-Z]\w*(?:Error|Exception)\b|Traceback|"
    r"NoneType|SubWorkflow|[Tt]ask ?[Ss]pec|BpmnWorkflow|\bspecs?\b|__\w+__|'node'|%r|\bb'"
)
_ELEMENT_REPR = re.compile(r"<Element (?:\{[^}]*\})?([\w.-]+) at 0x[0-9a-fA-F]+>")
_WRAPPED = re.compile(r"^\s*\w+(?:Error|Exception)\((['\"])(.*?)\1")
_ENGINE_WORDS = (
    (re.compile(r"SubWorkflow( Task)?", re.IGNORECASE), "sub-process"),
    (re.compile(r"\bTask ?Spec(ification)?s?\b", re.IGNORECASE), "task"),
    (re.compile(r"\bBpmnWorkflow\b"), "process"),
    (re.compile(r"\bspecs?\b"), "definition"),
)

Context = tuple[etree._Element | None, Mapping[str, etree._Element], list[etree._Element]]
Rule = Callable[[re.Match[str], Context], Said | None]


def library_said(err: DefinitionError, docs: Mapping[str, etree._Element]) -> Said:
    """The designer's words for a DefinitionError of engine.core.definitions.parse_sources:
    the library's error behind it (`__cause__`) when it has one, else its own text."""
    cause = err.__cause__
    text = _message(cause) if cause is not None else err.detail
    context = _context(err, docs)
    for pattern, rule in _RULES:
        found = pattern.search(text)
        if found is not None:
            said = rule(found, context)
            if said is not None:
                return said
    if cause is None:  # one of engine.core.definitions' own texts
        own = recognised(err.detail)
        if own is not None:
            return own
    detail = cleaned(text)
    return say("parse.library", detail=detail) if detail else say("parse.unknown")


def cleaned(text: str) -> str:
    """A library's text without Python in it: reprs of XML elements become the element's
    kind, an exception's repr its message, the engine's words ours; "" when what is left
    still reads as Python."""
    wrapped = _WRAPPED.match(text)
    if wrapped is not None:
        text = wrapped.group(2)
    text = _ELEMENT_REPR.sub(r"\1", text).replace("%r", "")
    for pattern, word in _ENGINE_WORDS:
        text = pattern.sub(word, text)
    text = re.sub(r"\.{2,}(?!\.)", ".", " ".join(text.split())).strip(" .:;,")
    return "" if LEAKS.search(text) else text


# --- the texts it knows -------------------------------------------------------------------


def _message(exc: BaseException) -> str:
    """The library's message as written (SpiffWorkflowException's str() adds ". " and its
    notes), or its repr when it wrapped another exception."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, str) else ""


def _context(err: DefinitionError, docs: Mapping[str, etree._Element]) -> Context:
    root = docs.get(err.file or "")
    roots = [root] if root is not None else list(docs.values())
    by_id: dict[str, etree._Element] = {}
    for each in roots:
        for element in each.iter(etree.Element):
            if element.get("id"):
                by_id.setdefault(element.get("id", ""), element)
    element = by_id.get(err.element_id) if err.element_id else None
    return element, by_id, list(docs.values())


def _keyed(key: str, **args: Any) -> Rule:
    return lambda found, context: say(key, **args)


def _group(key: str, name: str, quote: bool = False) -> Rule:
    def rule(found: re.Match[str], context: Context) -> Said:
        value = found.group(1).strip()
        return say(key, **{name: _quote(value) if quote else value})

    return rule


def _on_element(
    make: Callable[[etree._Element, Context], Said | None], otherwise: Said | None = None
) -> Rule:
    def rule(found: re.Match[str], context: Context) -> Said | None:
        element = context[0]
        said = make(element, context) if element is not None else None
        return said or otherwise

    return rule


def _event_ref(element: etree._Element, context: Context) -> Said | None:
    declared = structure.declared_refs(context[2])
    for each in (element, *element.iter(etree.Element)):
        said = structure.event_ref_said(each, declared)
        if said is not None:
            return said
    return None


def _sub_process(found: re.Match[str], context: Context) -> Said:
    element = context[0]
    said = structure.scope_said(element) if element is not None else None
    if said is not None:
        return said
    count = int(found.group(1))
    return (
        say("scope.no_start", kind="sub-process")
        if count == 0
        else say("scope.starts", count=count)
    )


def _data(element: etree._Element, context: Context) -> Said | None:
    found = structure.data_saids(element, context[1])
    if found:
        return found[0].said
    stores = [
        context[1].get((ref.text or "").strip())
        for ref in element.iter(etree.Element)
        if _local(ref) in ("sourceRef", "targetRef")
    ]
    if any(s is not None and _local(s) == "dataStoreReference" for s in stores):
        return say("data_store.unsupported")
    return None


def _bare_flow(element: etree._Element, context: Context) -> Said | None:
    gateway = context[1].get(element.get("sourceRef", ""))
    if gateway is None:
        return None
    inclusive = _local(gateway) == "inclusiveGateway"
    kind = say("kind.inclusive_gateway" if inclusive else "kind.exclusive_gateway")
    name = " ".join((gateway.get("name") or gateway.get("id") or "").split())
    todo = say("todo.condition" if gateway.get("default") else "todo.condition_or_default")
    return say("flow.no_condition", kind=kind, gateway=name, todo=todo)


def _timer(element: etree._Element, context: Context) -> Said | None:
    for definition in element.iter(etree.Element):
        if _local(definition) == "timerEventDefinition":
            return structure.timer_time_said(definition)
    return None


_R = re.compile
_RULES: list[tuple[re.Pattern[str], Rule]] = [
    (
        _R(r"Unsupported Catch Event"),
        _on_element(lambda e, c: structure.boundary_said(e, c[1]), say("boundary.no_trigger")),
    ),
    (
        _R(r"unexpected keyword argument 'node'|Expected an? \w+ node"),
        _on_element(_event_ref),
    ),
    (
        _R(r"Could not find messageRef from message event definition: (\S+)"),
        _group("event.missing_message", "ref"),
    ),
    (_R(r"start event is required in a SubWorkflow.*?found (\d+)"), _sub_process),
    (_R(r"SubWorkflow Must contain an End event"), _keyed("scope.no_end")),
    (_R(r"Cannot resolve data(?:Input|Output)Association"), _on_element(_data)),
    (
        _R(r"Multiple outgoing flows are not supported"),
        _on_element(lambda e, c: structure.split_said(e)),
    ),
    (_R(r"outgoing sequence flow without condition"), _on_element(_bare_flow)),
    (
        _R(r"Unknown Time Specification|Time Specification Error"),
        _on_element(_timer, say("lib.timer_unreadable")),
    ),
    (_R(r"Conditional event definition with missing condition"), _keyed("event.no_condition")),
    (
        _R(r"no support implemented for this task type"),
        _on_element(lambda e, c: say("element.unsupported", kind=_local(e) or "element")),
    ),
    (_R(r"Process \S+ is not executable"), _keyed("process.not_executable")),
    (_R(r"No start event found"), _keyed("scope.no_start", kind="process")),
    (_R(r"Sequential ordering for ad hoc"), _keyed("scope.ad_hoc_sequential")),
    (_R(r"Ad hoc subprocesses may not contain start or end"), _keyed("scope.ad_hoc_events")),
    (_R(r"No \"calledElement\" attribute"), _keyed("call.none")),
    (_R(r"The process '([^']*)' was not found"), _group("call.missing", "process")),
    (_R(r"Invalid Script Task"), _keyed("lib.script_none")),
    (_R(r"loopMaximum or loopCondition"), _keyed("lib.loop_no_limit")),
    (_R(r"must specify exactly one of cardinality"), _keyed("lib.mi_both")),
    (_R(r"must specify a cardinality or a"), _keyed("lib.mi_no_input")),
    (_R(r"loop input data reference is missing"), _keyed("lib.mi_input_missing")),
    (_R(r"loop output data reference is missing"), _keyed("lib.mi_output_missing")),
    (
        _R(r"Cancel Events may only be used with transactions"),
        _keyed("boundary.cancel_outside_transaction"),
    ),
    (
        _R(r"we found two items, perhaps a form has the same ID\? \((.*)\)"),
        _group("lib.no_such_target", "target"),
    ),
    (
        _R(r"Correlation is missing correlation property retrieval expressions: (.*)"),
        _group("lib.correlation", "ref"),
    ),
    (
        _R(r"Message identifier is missing from correlation property: (.*)"),
        _group("lib.correlation", "ref"),
    ),
    (_R(r"identifier is missing from bpmn xml"), _keyed("lib.definition_no_id")),
    (_R(r"Data Store (?:with name|name is missing)"), _keyed("data_store.unsupported")),
    (_R(r"Duplicate process ID: (.*)"), _group("lib.duplicate_process", "ref")),
    (_R(r"A Service Task must have an operator"), _keyed("service_task.no_service")),
    (_R(r"No decisions found"), _keyed("dmn.no_decision")),
    (_R(r"Multiple decision tables"), _keyed("dmn.several_tables")),
    (
        _R(r"Unknown type in decision table: '?\{?[^}]*\}?([\w-]+)"),
        _group("dmn.unknown_part", "part"),
    ),
    (_R(r"Malformed Output Expression '(.*?)'"), _group("dmn.bad_output", "text", quote=True)),
    (_R(r"No DMN Diagram available with id \"([^\"]*)\""), _group("decision.missing", "decision")),
]
