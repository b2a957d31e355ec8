"""Everything wrong with a definition before it is saved, every problem at once.

Interface (for the designer page, the API and the CLI):

    from engine.core.lint import Problem, check
    check(files: Mapping[str, str | bytes], *, held_roles=None) -> list[Problem]
        files: file name -> content (".bpmn", ".dmn", form schemas ".json"; other names
        are ignored).  held_roles: the role keys (engine.core.roles.role_key) some active user
        holds; None skips the "nobody holds this lane's role" warning.
        An empty list, or warnings only: ready to publish.
    Problem(message, element_id=None, line=None, file=None, severity="error"|"warning")
        .to_dict() -> {"element_id", "message", "line", "file", "severity"}
        element_id is the BPMN id to mark in the modeler (a sequence flow's id for its
        condition); None for a problem of a whole file.

    Service (engine/service.py):
        check_definition(files) -> list[dict]                      Problem.to_dict()s
        publish(files, *, actor) -> {"process_id", "version", "changed", "processes",
                                     "warnings"}
            raises DefinitionProblemsError (engine.errors; `.problems` = the dicts above)
            when any problem is an error: nothing is stored, the previous version stays.
            ForbiddenError unless actor holds "designer" or "admin" (actor None: the CLI).
        save_draft_definition(process_id, files, *, actor, base_version) -> draft record
            {"process_id", "base_version", "files", "saved_by", "saved_at", "problems"}
        definition_draft(process_id, actor) -> draft record (no "problems") | None
        discard_definition_draft(process_id, actor) -> bool
        definition_files(process_id, version=None) -> dict[str, str]   as stored
        export_definitions() -> dict[str, str]   every latest version's files, by name
            (`salesflow export-definitions DIR` writes them; deploying them changes nothing)

    HTTP: POST /api/v1/definitions (webui/api/definitions_publish.py) calls `publish`.

What is checked, in this order (a file that is not well-formed XML stops its own checks):
1. XML syntax, then the BPMN 2.0 XSD (every schema error, with its line);
2. Camunda extensions (engine.core.camunda: what is mapped, what is refused);
3. the rules below, on the XML, for every process of every file (so that a file from
   another tool says per element why it cannot run);
4. SpiffWorkflow's own parse (engine.core.definitions.parse_sources), and on its result the
   safe-expression check of every condition, script, timer and DMN cell
   (engine.core.script_check) and the SLA properties (engine.core.calendar).

Rules (error unless said otherwise):
- a process with isExecutable="false" cannot run (a warning when another process of the
  files can: it is kept for the picture only); elements the engine has no parser for
  (complex gateways, ...) are named;
- lanes: every human task (user, manual and plain tasks: the ones a person completes) sits
  in a named lane, because a lane is the role whose people do the task.  A lane whose role
  no active user holds yet is a warning (the tasks wait in the role's queue until an admin
  gives someone the role), not an error: a new process may bring a new role;
- exclusive gateways with several outgoing flows: every flow has a condition or is the
  `default`; without a default the conditions must provably cover every case, else the
  deal would stop in error when none holds.  Provable here (conservative): a condition and
  its negation (`x`, `not x`); comparisons of one data field with number constants whose
  ranges cover every number (`amount < 1000`, `amount >= 1000`); `==`/`in` against
  `!=`/`not in` of one field with constants (`tier == 'A'`, `tier != 'A'`), combined with
  `and`/`or`.  Anything else needs a default flow;
- timers: a text that is a constant must be a valid ISO 8601 duration (timeDuration),
  date-time (timeDate) or repeating interval (timeCycle); a bare ISO text is not an
  expression (write "P3D" with quotes); a text with data names must parse, and a name no
  form, script, decision or loop of the files sets is a warning;
- forms: every `formJsonSchemaFilename` names a file given with the process, and that file
  is a JSON schema;
- decisions: every business rule task names a decision (`calledDecisionId`) that is the
  first (only) decision of one of the DMN files;
- call activities call a process of the files;
- reachability: every flow node is reached from a start event along sequence flows (a
  boundary event through its task, link events by name, event sub-processes and
  compensation handlers count as reached); the contents of a sub-process are checked from
  its own start events.

Pure: no database, no clock.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import re
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.core import camunda
from engine.core.calendar import STANDARD_ROLES, sla_problems
from engine.core.definitions import FORM_PROPERTY, element_lines, load_form, parse_sources
from engine.core.expressions import BUILTIN_NAMES, check_expression
from engine.core.roles import role_key
from engine.core.script_check import iter_expressions
from engine.errors import DefinitionError, UnsafeExpressionError

__all__ = ["Problem", "Severity", "check", "source_texts"]

Severity = Literal["error", "warning"]
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_QUOTE = 80

HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})
EVENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "implicitThrowEvent",
    }
)
ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "adHocSubProcess",
        "transaction",
    }
)
GATEWAYS = frozenset(
    {
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
FLOW_NODES = EVENTS | ACTIVITIES | GATEWAYS
SCOPES = frozenset({"subProcess", "adHocSubProcess", "transaction"})
SUPPORTED = frozenset(
    etree.QName(tag).localname
    for tag in (*SpiffBpmnParser.PARSER_CLASSES, *SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)
)
_SCHEMA_LOCK = threading.Lock()
# Files come from anywhere: no entities expanded, nothing fetched.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_pis=True)
_TIMER_KINDS = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, where the designer has to fix it."""

    message: str
    element_id: str | None = None
    line: int | None = None
    file: str | None = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, object]:
        return {
            "element_id": self.element_id,
            "message": self.message,
            "line": self.line,
            "file": self.file,
            "severity": self.severity,
        }


def source_texts(files: Mapping[str, str | bytes]) -> tuple[dict[str, str], list[Problem]]:
    """The files as text; a file that is not UTF-8 is a problem (and left out)."""
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for name, content in files.items():
        if isinstance(content, str):
            texts[name] = content
            continue
        try:
            texts[name] = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(f"not UTF-8 text ({exc.reason})", file=name))
    return texts, problems


def check(
    files: Mapping[str, str | bytes], *, held_roles: Collection[str] | None = None
) -> list[Problem]:
    """Every problem of the files, errors and warnings (none: ready to publish)."""
    texts, problems = source_texts(files)
    bpmn = {n: t for n, t in sorted(texts.items()) if n.endswith(".bpmn")}
    dmn = {n: t for n, t in sorted(texts.items()) if n.endswith(".dmn")}
    if not any(name.endswith(".bpmn") for name in files):
        return [*problems, Problem("no .bpmn file given")]
    docs: dict[str, etree._Element] = {}
    for name, text in {**bpmn, **dmn}.items():
        try:
            docs[name] = etree.fromstring(text.encode("utf-8"), _PARSER)
        except etree.XMLSyntaxError as exc:
            problems.append(Problem(f"not well-formed XML: {exc.msg}", file=name, line=exc.lineno))
    schema_ok = True
    files_of = _Files(texts=texts)
    for name in bpmn:
        root = docs.get(name)
        if root is None:
            schema_ok = False
            continue
        translated, findings = camunda.translate(root)
        problems.extend(
            Problem(
                f.message,
                f.element_id,
                f.line,
                name,
                "warning" if f.severity == "warning" else "error",
            )
            for f in findings
        )
        xsd = list(_schema_problems(name, translated))
        schema_ok = schema_ok and not xsd
        problems.extend(xsd)
        files_of.bpmn[name] = translated
    for name in dmn:
        if name in docs:
            files_of.dmn[name] = docs[name]
    problems.extend(_Linter(files_of, held_roles).run())
    executable = any(_executable(p) for root in files_of.bpmn.values() for p in _processes(root))
    if schema_ok and executable and len(files_of.bpmn) == len(bpmn):
        problems.extend(_deep_problems(texts, problems))
    problems = _unique(problems)
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0))


# --- 1. schema ------------------------------------------------------------------------


def _schema_problems(name: str, root: etree._Element) -> Iterator[Problem]:
    """Every XSD error of a BPMN file (SpiffWorkflow's validator stops at the first)."""
    copy = deepcopy(root)  # keeps the source lines; preprocess renames some tags
    VALIDATOR.preprocess(copy)
    schema = VALIDATOR.validator
    with _SCHEMA_LOCK:  # the schema's error log is shared by every thread
        if schema.validate(copy):
            return
        found = [(e.message, e.line) for e in schema.error_log]
    for message, line in found:
        shown = message.replace(f"{{{MODEL}}}", "bpmn:")
        yield Problem(f"not valid BPMN 2.0 (XSD): {shown}", file=name, line=line or None)


# --- 3. rules on the XML --------------------------------------------------------------


@dataclass
class _Files:
    texts: dict[str, str]
    bpmn: dict[str, etree._Element] = field(default_factory=dict)
    dmn: dict[str, etree._Element] = field(default_factory=dict)


def _local(element: Any) -> str:
    if not isinstance(element.tag, str):
        return ""
    namespace, _, name = element.tag[1:].partition("}")
    return name if namespace == MODEL else ""


def _children(element: etree._Element, *names: str) -> Iterator[etree._Element]:
    for child in element.iterchildren(etree.Element):
        if _local(child) in names:
            yield child


def _processes(root: etree._Element) -> list[etree._Element]:
    return list(_children(root, "process"))


def _executable(process: etree._Element) -> bool:
    return process.get("isExecutable", "true") == "true"


def _properties(element: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for ext in _children(element, "extensionElements"):
        for prop in ext.iter(f"{{{SPIFF}}}property"):
            if prop.get("name") is not None and prop.get("name") not in found:
                found[prop.get("name", "")] = prop.get("value", "")
    return found


def _extension(element: etree._Element, name: str) -> str | None:
    for ext in _children(element, "extensionElements"):
        for found in ext.iterchildren(f"{{{SPIFF}}}{name}"):
            return (found.text or "").strip()
    return None


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _QUOTE else flat[: _QUOTE - 3] + "...")


class _Linter:
    """The rules of the module docstring, over every process of the files."""

    def __init__(self, files: _Files, held_roles: Collection[str] | None) -> None:
        self.files = files
        self.held = None if held_roles is None else {role_key(r) for r in held_roles}
        self.problems: list[Problem] = []
        self.warned_lanes: set[str | None] = set()
        self.file = ""
        self.process_ids = {
            p.get("id") for root in files.bpmn.values() for p in _processes(root) if p.get("id")
        }
        self.decisions = _decisions(files.dmn)
        self.data_names = _data_names(files)
        self.any_executable = any(
            _executable(p) for root in files.bpmn.values() for p in _processes(root)
        )

    def add(
        self, element: etree._Element | None, message: str, severity: Severity = "error"
    ) -> None:
        self.problems.append(
            Problem(
                message,
                element.get("id") if element is not None else None,
                element.sourceline if element is not None else None,
                self.file,
                severity,
            )
        )

    def run(self) -> list[Problem]:
        for name, root in self.files.bpmn.items():
            self.file = name
            for process in _processes(root):
                self.process(process)
        return self.problems

    def process(self, process: etree._Element) -> None:
        if not _executable(process):
            self.add(
                process,
                f"the process '{process.get('id')}' is not executable "
                '(isExecutable="false"): set isExecutable="true" to run it',
                "warning" if self.any_executable else "error",
            )
        lanes = _lanes(process)
        for element in process.iter(etree.Element):
            kind = _local(element)
            if kind in FLOW_NODES and kind not in SUPPORTED:
                self.add(element, f"a {kind} is a BPMN element type salesflow cannot run")
            if kind in HUMAN_TASKS:
                self.lane(element, lanes)
            elif kind == "exclusiveGateway":
                self.gateway(element)
            elif kind == "businessRuleTask":
                self.decision(element)
            elif kind == "callActivity":
                self.call(element)
            elif kind == "timerEventDefinition":
                self.timer(element)
            elif kind == "serviceTask" and not _camunda_code(element):
                self.add(
                    element,
                    "a service task calls an outside service, and salesflow has none "
                    "configured: use a script task, or a user task for the person who does it",
                )
            elif kind == "dataStoreReference":
                self.add(element, "data stores are not supported: keep the data in the deal")
            if kind in FLOW_NODES:
                self.form(element)
        self.reachability(process)

    # -- lanes ---------------------------------------------------------------------------

    def lane(self, task: etree._Element, lanes: dict[str, etree._Element]) -> None:
        lane = _lane_of(task, lanes)
        label = task.get("name") or task.get("id")
        what = f"the task '{label}'" if label else "a task"
        if lane is None:
            self.add(
                task,
                f"{what} sits in no lane: put it in the lane of the role that does it",
            )
            return
        name = (lane.get("name") or "").strip()
        if not name:
            self.add(
                task,
                f"{what} sits in the lane '{lane.get('id')}', which has no name: "
                "name the lane after the role whose people do the task",
            )
            return
        if self.held is not None and role_key(name) not in self.held:
            lane_id = lane.get("id")
            if lane_id in self.warned_lanes:
                return
            self.warned_lanes.add(lane_id)
            standard = ", a standard role," if role_key(name) in STANDARD_ROLES else ""
            self.add(
                lane,
                f"no active user holds the role '{name}'{standard} yet: the tasks of this lane "
                "wait in the role's queue until an admin gives someone the role",
                "warning",
            )

    # -- gateways ------------------------------------------------------------------------

    def gateway(self, gateway: etree._Element) -> None:
        flows = self.outgoing(gateway)
        if len(flows) < 2:
            return
        default = gateway.get("default")
        if default and default not in {f.get("id") for f in flows}:
            self.add(gateway, f"the default flow '{default}' does not leave this gateway")
            default = None
        conditions = []
        for flow in flows:
            condition = _text(next(_children(flow, "conditionExpression"), None))
            if flow.get("id") == default:
                continue
            if not condition:
                self.add(
                    flow,
                    f"the flow '{flow.get('name') or flow.get('id')}' leaves the exclusive "
                    f"gateway '{gateway.get('name') or gateway.get('id')}' without a condition "
                    "and is not its default flow",
                )
                return
            conditions.append(condition)
        if default or camunda_juel(conditions):
            return
        if not covers_every_case(conditions):
            self.add(
                gateway,
                f"the exclusive gateway '{gateway.get('name') or gateway.get('id')}' has no "
                "default flow and its conditions may all be false (the deal would stop in "
                "error): mark one flow as the default",
            )

    def outgoing(self, node: etree._Element) -> list[etree._Element]:
        parent = node.getparent()
        if parent is None:
            return []
        ident = node.get("id")
        return [f for f in _children(parent, "sequenceFlow") if f.get("sourceRef") == ident]

    # -- references ----------------------------------------------------------------------

    def form(self, element: etree._Element) -> None:
        name = _properties(element).get(FORM_PROPERTY)
        if not name:
            return
        text = self.files.texts.get(name)
        if text is None:
            self.add(
                element,
                f"the form '{name}' ({FORM_PROPERTY}) is not among the files: add it",
            )
            return
        failed = _form_problem(name, text)
        if failed is not None:
            detail, line = failed
            self.problems.append(
                Problem(
                    f"the form '{name}': {detail}",
                    element.get("id"),
                    line if line is not None else element.sourceline,
                    name if line is not None else self.file,
                )
            )

    def decision(self, task: etree._Element) -> None:
        ref = _extension(task, "calledDecisionId")
        if not ref:
            self.add(task, "the business rule task names no decision (calledDecisionId)")
            return
        found = self.decisions.get(ref)
        if found is None:
            known = ", ".join(sorted(d for d, (_, first) in self.decisions.items() if first))
            self.add(
                task,
                f"the decision '{ref}' is not among the DMN files"
                + (f" (there are: {known})" if known else ""),
            )
        elif not found[1]:
            self.add(
                task,
                f"the decision '{ref}' is not the first decision of {found[0]}: salesflow "
                "reads one decision per DMN file, so give it a file of its own",
            )

    def call(self, activity: etree._Element) -> None:
        called = activity.get("calledElement")
        if not called:
            self.add(activity, "the call activity names no process (calledElement)")
        elif called not in self.process_ids:
            self.add(activity, f"the called process '{called}' is not among the files")

    # -- timers --------------------------------------------------------------------------

    def timer(self, definition: etree._Element) -> None:
        owner = definition.getparent()
        for child in definition.iterchildren(etree.Element):
            kind = _TIMER_KINDS.get(_local(child))
            if kind is None:
                continue
            text = _text(child)
            if not text or text.startswith(("${", "#{")):
                if not text:
                    self.add(owner, f"the timer {kind} is empty")
                continue  # JUEL: engine.core.camunda reports it
            message, severity = timer_problem(kind, text, self.data_names)
            if message:
                self.add(owner, message, severity)

    # -- reachability --------------------------------------------------------------------

    def reachability(self, scope: etree._Element) -> None:
        nodes = {
            n.get("id"): n for n in scope.iterchildren(etree.Element) if _local(n) in FLOW_NODES
        }
        nodes.pop(None, None)
        if not nodes:
            return
        edges: dict[str, list[str]] = {}
        for flow in _children(scope, "sequenceFlow"):
            edges.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
        links: dict[str, list[str]] = {}
        for ident, node in nodes.items():
            if _local(node) == "boundaryEvent":
                edges.setdefault(node.get("attachedToRef", ""), []).append(ident)
            if _local(node) == "intermediateCatchEvent":
                for link in _children(node, "linkEventDefinition"):
                    links.setdefault(link.get("name", ""), []).append(ident)
        for ident, node in nodes.items():
            if _local(node) == "intermediateThrowEvent":
                for link in _children(node, "linkEventDefinition"):
                    edges.setdefault(ident, []).extend(links.get(link.get("name", ""), []))
        roots = [
            i
            for i, n in nodes.items()
            if _local(n) == "startEvent"
            or n.get("triggeredByEvent") == "true"
            or n.get("isForCompensation") == "true"
        ]
        if not any(_local(nodes[r]) == "startEvent" for r in roots):
            what = "process" if _local(scope) == "process" else "sub-process"
            self.add(scope, f"the {what} has no start event: add one")
            return
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            ident = todo.pop()
            if ident in seen:
                continue
            seen.add(ident)
            todo.extend(t for t in edges.get(ident, []) if t in nodes)
        for ident, node in nodes.items():
            if ident not in seen:
                self.add(
                    node,
                    f"'{node.get('name') or ident}' cannot be reached: no sequence flow from a "
                    "start event leads to it",
                )
            elif _local(node) in SCOPES:
                self.reachability(node)


def _camunda_code(element: etree._Element) -> bool:
    """Whether engine.core.camunda already refused the element's Java or external-task code."""
    return any(
        element.get(f"{{{camunda.CAMUNDA}}}{a}")
        for a in ("class", "delegateExpression", "expression", "type")
    )


def camunda_juel(conditions: Iterable[str]) -> bool:
    return any(c.startswith(("${", "#{")) for c in conditions)


@functools.lru_cache(maxsize=512)
def _form_problem(name: str, text: str) -> tuple[str, int | None] | None:
    """What is wrong with a form schema (message, JSON line), if anything.  Checking a schema
    against its meta-schema costs ~20 ms, and a designer saves the same forms again and
    again: the answer is kept."""
    try:
        load_form(name, text)
    except DefinitionError as err:
        return err.detail, err.line
    return None


def _lanes(process: etree._Element) -> dict[str, etree._Element]:
    """Flow node id -> its lane, the way SpiffWorkflow reads them (the last reference wins,
    which is the innermost lane of nested lanes)."""
    found: dict[str, etree._Element] = {}
    for ref in process.iter(f"{{{MODEL}}}flowNodeRef"):
        lane = ref.getparent()
        if ref.text is not None and lane is not None:
            found[ref.text] = lane
    return found


def _lane_of(task: etree._Element, lanes: dict[str, etree._Element]) -> etree._Element | None:
    """A task's lane, or the lane of the sub-process around it."""
    node: etree._Element | None = task
    while node is not None and _local(node) != "process":
        lane = lanes.get(node.get("id", ""))
        if lane is not None:
            return lane
        node = node.getparent()
    return None


def _decisions(dmn: dict[str, etree._Element]) -> dict[str, tuple[str, bool]]:
    """Decision id -> (file, whether it is the one decision SpiffWorkflow registers)."""
    found: dict[str, tuple[str, bool]] = {}
    for name, root in dmn.items():
        decisions = [
            d for d in root.iterchildren(etree.Element) if etree.QName(d).localname == "decision"
        ]
        for number, decision in enumerate(decisions):
            if decision.get("id"):
                found.setdefault(
                    decision.get("id", ""), (name, number == 0 and len(decisions) == 1)
                )
    return found


def _data_names(files: _Files) -> set[str]:
    """Every data field some form, script, decision or loop of the files sets."""
    names = set(BUILTIN_NAMES)
    for name, text in files.texts.items():
        if name.endswith(".json"):
            try:
                schema = json.loads(text)
            except ValueError:
                continue
            if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
                names.update(schema["properties"])
    for root in files.dmn.values():
        for output in root.iter(etree.Element):
            if etree.QName(output).localname == "output" and output.get("name"):
                names.add(output.get("name", ""))
    for root in files.bpmn.values():
        for element in root.iter(etree.Element):
            local = etree.QName(element).localname
            if local in ("script", "preScript", "postScript") and element.text:
                names.update(_assigned(element.text))
            elif local in (
                "dataInput",
                "dataOutput",
                "dataObject",
                "dataObjectReference",
                "inputDataItem",
                "outputDataItem",
                "property",
            ):
                names.update(v for v in (element.get("name"), element.get("id")) if v)
            elif local in ("loopDataInputRef", "loopDataOutputRef") and element.text:
                names.add(element.text.strip())
    return names


def _assigned(script: str) -> set[str]:
    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError):
        return set()
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def timer_problem(kind: str, text: str, data_names: Collection[str]) -> tuple[str | None, Severity]:
    """What is wrong with a timer text (kind "duration", "date" or "cycle"), if anything."""
    try:
        tree = ast.parse(text.lstrip(" \t"), mode="eval")
    except SyntaxError:
        if _looks_iso(text):
            return (
                f"the timer {kind} {_quote(text)} is not an expression: write it as quoted "
                f'text, "{text}"',
                "error",
            )
        return None, "error"  # the safe-expression check names the syntax error
    body = tree.body
    if isinstance(body, ast.Name) and _looks_iso(text):  # P3D parses as a name
        return (
            f"the timer {kind} {_quote(text)} is not an expression: write it as quoted text, "
            f'"{text.strip()}"',
            "error",
        )
    if isinstance(body, ast.Constant):
        if not isinstance(body.value, str):
            return f"the timer {kind} {_quote(text)} is not ISO 8601 text", "error"
        reason = _iso_problem(kind, body.value)
        if reason:
            return f"the timer {kind} {_quote(text)} {reason}", "error"
        return None, "error"
    unknown = sorted(
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in data_names}
    )
    if unknown:
        listed = ", ".join(f"'{n}'" for n in unknown)
        return (
            f"the timer {kind} {_quote(text)} uses {listed}, which no form, script, decision "
            "or loop of the process sets: the timer fails unless the deal's data has it",
            "warning",
        )
    return None, "error"


_ISO_WORD = re.compile(r"(R\d*)?P(\d+[YMWD])*(T(\d+[HMS])+)?", re.IGNORECASE)


def _looks_iso(text: str) -> bool:
    """ISO 8601 written without quotes: P3D, PT4H, 2026-05-01T09:00, R3/PT1H."""
    stripped = text.strip()
    if _ISO_WORD.fullmatch(stripped) and len(stripped) > 1:
        return True
    return stripped[:4].isdigit() or bool(re.match(r"R\d*/", stripped, re.IGNORECASE))


def _iso_problem(kind: str, text: str) -> str | None:
    try:
        if kind == "duration":
            if not text.upper().startswith("P"):
                return "is not an ISO 8601 duration (like 'P3D' or 'PT4H')"
            TimerEventDefinition.parse_iso_duration(text)
        elif kind == "date":
            TimerEventDefinition.get_datetime(text)
        else:
            parts = text.upper().replace("--", "/").split("/")
            if not parts[0].startswith("R") or len(parts) not in (2, 3):
                return "is not an ISO 8601 repeating interval (like 'R3/PT1H')"
            if parts[0][1:]:
                int(parts[0][1:])
            parsed = [TimerEventDefinition.parse_time_or_duration(p) for p in parts[1:]]
            if not any(isinstance(p, dict) for p in parsed):
                return "has no duration between its repetitions"
    except Exception:  # the library raises a bare Exception for a bad text
        what = {"duration": "duration", "date": "date-time", "cycle": "repeating interval"}
        return f"is not a valid ISO 8601 {what[kind]}"
    return None


# --- exclusive gateways: do the conditions cover every case? --------------------------


Interval = tuple[float, bool, float, bool]  # low, low included, high, high included
_FULL: list[Interval] = [(-math.inf, False, math.inf, False)]


def covers_every_case(conditions: list[str]) -> bool:
    """True when one of the conditions holds for any data (see the module docstring); False
    when that cannot be shown."""
    trees = []
    for text in conditions:
        try:
            trees.append(ast.parse(text.strip(), mode="eval").body)
        except SyntaxError:
            return False
    dumps = {ast.dump(t) for t in trees}
    for tree in trees:
        negated = (
            tree.operand if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not) else None
        )
        if negated is not None and ast.dump(negated) in dumps:
            return True
    return _ranges_cover(trees) or _values_cover(trees)


def _ranges_cover(trees: list[ast.expr]) -> bool:
    subject: list[str] = []
    union: list[Interval] = []
    for tree in trees:
        found = _ranges(tree, subject)
        if found is None:
            return False
        union.extend(found)
    return _covers(union)


def _ranges(tree: ast.expr, subject: list[str]) -> list[Interval] | None:
    """The numbers for which `tree` holds, as intervals of its one subject, or None."""
    if isinstance(tree, ast.BoolOp):
        parts = [_ranges(v, subject) for v in tree.values]
        if any(p is None for p in parts):
            return None
        result = parts[0] or []
        for part in parts[1:]:
            assert part is not None
            result = result + part if isinstance(tree.op, ast.Or) else _intersect(result, part)
        return result
    if not isinstance(tree, ast.Compare):
        return None
    result = list(_FULL)
    left = tree.left
    for op, right in zip(tree.ops, tree.comparators, strict=True):
        pair = _number_side(left, right, subject)
        if pair is None:
            return None
        value, flipped = pair
        ranges = _compare(op, value, flipped)
        if ranges is None:
            return None
        result = _intersect(result, ranges)
        left = right
    return result


def _number(node: ast.expr) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _number_side(left: ast.expr, right: ast.expr, subject: list[str]) -> tuple[float, bool] | None:
    """(constant, flipped) for `subject OP constant` (flipped: `constant OP subject`)."""
    for value_node, other, flipped in ((right, left, False), (left, right, True)):
        value = _number(value_node)
        if value is None or _number(other) is not None:
            continue
        key = ast.dump(other)
        if subject and subject[0] != key:
            return None
        subject[:] = [key]
        return value, flipped
    return None


def _compare(op: ast.cmpop, value: float, flipped: bool) -> list[Interval] | None:
    if flipped:  # c < x is x > c
        swap: dict[type[ast.cmpop], ast.cmpop] = {
            ast.Lt: ast.Gt(),
            ast.LtE: ast.GtE(),
            ast.Gt: ast.Lt(),
            ast.GtE: ast.LtE(),
        }
        op = swap.get(type(op), op)
    inf = math.inf
    table: dict[type[ast.cmpop], list[Interval]] = {
        ast.Lt: [(-inf, False, value, False)],
        ast.LtE: [(-inf, False, value, True)],
        ast.Gt: [(value, False, inf, False)],
        ast.GtE: [(value, True, inf, False)],
        ast.Eq: [(value, True, value, True)],
        ast.NotEq: [(-inf, False, value, False), (value, False, inf, False)],
    }
    return table.get(type(op))


def _intersect(first: list[Interval], second: list[Interval]) -> list[Interval]:
    result = []
    for lo1, li1, hi1, hi1_in in first:
        for lo2, li2, hi2, hi2_in in second:
            lo, li = max((lo1, li1), (lo2, li2), key=lambda b: (b[0], not b[1]))
            hi, hi_in = min((hi1, hi1_in), (hi2, hi2_in), key=lambda b: (b[0], b[1]))
            if lo < hi or (lo == hi and li and hi_in):
                result.append((lo, li, hi, hi_in))
    return result


def _covers(intervals: list[Interval]) -> bool:
    """Whether the intervals together hold every number."""
    reach, reach_in = -math.inf, True
    for lo, lo_in, hi, hi_in in sorted(intervals, key=lambda i: (i[0], not i[1])):
        if lo > reach or (lo == reach and not reach_in and not lo_in):
            return False
        if hi > reach or (hi == reach and hi_in):
            reach, reach_in = hi, hi_in or (hi == reach and reach_in)
    return reach == math.inf


def _values_cover(trees: list[ast.expr]) -> bool:
    """`==`/`in` against `!=`/`not in` of one subject with constants: every value is taken
    when the values some condition excludes are all matched by another."""
    subject: list[str] = []
    matched: set[object] = set()
    excluded: list[set[object]] = []
    for tree in trees:
        found = _values(tree, subject)
        if found is None:
            return False
        positive, values = found
        if positive:
            matched |= values
        else:
            excluded.append(values)
    return any(values <= matched for values in excluded)


def _values(tree: ast.expr, subject: list[str]) -> tuple[bool, set[object]] | None:
    if not isinstance(tree, ast.Compare) or len(tree.ops) != 1:
        return None
    op, right = tree.ops[0], tree.comparators[0]
    values: set[object] | None
    if isinstance(op, ast.Eq | ast.NotEq):
        values = _constants(ast.Tuple(elts=[right], ctx=ast.Load()))
    elif isinstance(op, ast.In | ast.NotIn):
        values = _constants(right)
    else:
        return None
    if values is None:
        return None
    key = ast.dump(tree.left)
    if subject and subject[0] != key:
        return None
    subject[:] = [key]
    return isinstance(op, ast.Eq | ast.In), values


def _constants(node: ast.expr) -> set[object] | None:
    if not isinstance(node, ast.Tuple | ast.List | ast.Set):
        return None
    values: set[object] = set()
    for element in node.elts:
        if not isinstance(element, ast.Constant) or isinstance(element.value, bool | type(None)):
            return None
        values.add(element.value)
    return values


# --- 4. the engine's parse, expressions and SLAs --------------------------------------


def _deep_problems(texts: dict[str, str], found: list[Problem]) -> list[Problem]:
    """SpiffWorkflow's parse of the files and the checks on what it built."""
    try:
        bundles = parse_sources(texts, check=False)
    except DefinitionError as err:
        problem = Problem(err.detail, err.element_id, err.line, err.file)
        if problem.element_id is None and any(p.severity == "error" for p in found):
            return []  # a whole-file parse error: shown once the named ones are fixed
        same = any(
            p.severity == "error"
            and (
                (p.element_id and p.element_id == problem.element_id)
                or p.message in err.detail
                or err.detail in p.message
            )
            for p in found
        )
        return [] if same else [problem]
    problems: list[Problem] = []
    for bundle in bundles:
        file = next((n for n in bundle.files if n.endswith(".bpmn")), None)
        lines = element_lines(etree.fromstring(texts[file].encode("utf-8"))) if file else {}
        problems.extend(_expression_problems(bundle, file, lines))
        problems.extend(_sla_problems(bundle, file, lines))
    return problems


def _expression_problems(bundle: Any, file: str | None, lines: dict[str, int]) -> Iterator[Problem]:
    for found in iter_expressions(bundle.spec, bundle.subprocess_specs):
        if found.text.strip().startswith(("${", "#{")):
            continue  # JUEL: engine.core.camunda names the flow
        try:
            check_expression(found.text, kind=found.kind)
        except UnsafeExpressionError as err:
            yield Problem(
                f"{found.what} {_quote(found.text)}: {err.detail}",
                found.element_id,
                lines.get(found.element_id),
                file,
            )


def _sla_problems(bundle: Any, file: str | None, lines: dict[str, int]) -> Iterator[Problem]:
    """engine.core.calendar's SLA check, for every task instead of the first."""
    for element, message in sla_problems(bundle.spec, bundle.subprocess_specs):
        yield Problem(message, element, lines.get(element), file)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
