"""Step 3 of engine.core.lint: the rules of its docstring, checked on the XML of every
process of every file (`_Linter`: lanes, gateways, forms, decisions, call activities,
timers, reachability, and the shape rules of engine.core.lint.structure), and what they
read from the files (lanes, decisions, data names).

Pure: no database, no clock.
"""

from __future__ import annotations

import ast
import difflib
import functools
import ipaddress
import json
from collections.abc import Collection, Iterable

from lxml import etree

from engine.core import camunda, connectors
from engine.core.calendar import ESCALATE_PROPERTY, STANDARD_ROLES
from engine.core.definitions import FORM_PROPERTY, load_form
from engine.core.expressions import BUILTIN_NAMES
from engine.core.forms import rule_problems
from engine.core.lint import structure
from engine.core.lint.bpmn import (
    FLOW_NODES,
    HUMAN_TASKS,
    MODEL,
    SCOPES,
    SUPPORTED,
    _children,
    _executable,
    _extension,
    _Files,
    _local,
    _processes,
    _properties,
    _text,
)
from engine.core.lint.gateways import covers_every_case
from engine.core.lint.problems import Problem, Severity
from engine.core.lint.timers import _TIMER_KINDS, timer_said
from engine.core.lint.wording import Said, say
from engine.core.roles import TEAM_ROLES, role_key
from engine.core.stages import STAGE_ORDER
from engine.core.starters import START_ROLES_PROPERTY, listed_names
from engine.core.translations import file_locale, parse_catalog, translation_files
from engine.errors import DefinitionError

STAGE_PROPERTY = "stage"
# The tasks a person or the engine carries out, which a rep sees by name in lists and charts.
NAMED_TASKS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "callActivity",
    }
)

# --- 3. rules on the XML --------------------------------------------------------------


class _Linter:
    """The rules of the engine.core.lint docstring, over every process of the files."""

    def __init__(
        self,
        files: _Files,
        held_roles: Collection[str] | None,
        hosts: connectors.Reachable | None = None,
    ) -> None:
        self.files = files
        self.hosts = hosts
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
        self.declared_stages = _declared_stages(files)
        self.roles = _known_roles(files)
        self.rules_checked: set[str] = set()
        self.declared = structure.declared_refs(files.bpmn.values())
        self.not_executable = {
            p.get("id")
            for root in files.bpmn.values()
            for p in _processes(root)
            if p.get("id") and not _executable(p)
        }
        self.called = {
            c.get("calledElement")
            for root in files.bpmn.values()
            for c in root.iter(f"{{{MODEL}}}callActivity")
        }
        self.by_id: dict[str, etree._Element] = {}
        self.running = False  # whether the process being checked is executable
        # A problem on which SpiffWorkflow's parser would never return (engine.core.lint
        # then does not start it).
        self.parse_blocked = False

    def add(
        self, element: etree._Element | None, message: Said | None, severity: Severity = "error"
    ) -> None:
        """A problem on the element (on the file for None); nothing for no message."""
        if message is None:
            return
        self.problems.append(
            Problem.of(
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
            self.by_id = {e.get("id", ""): e for e in root.iter(etree.Element) if e.get("id")}
            for process in _processes(root):
                self.process(process)
        return self.problems

    def process(self, process: etree._Element) -> None:
        self.running = _executable(process)
        if not self.running:
            if self.any_executable and process.get("id") not in self.called:
                # A pool drawn beside the processes that run: the engine never reads it.
                self.add(process, say("process.drawing_only"), "warning")
                return
            self.add(process, say("process.not_executable"))
        self.starters(process)
        lanes = _lanes(process)
        forms_expected = any(
            _properties(t).get(FORM_PROPERTY) for t in process.iter(f"{{{MODEL}}}userTask")
        )
        for element in process.iter(etree.Element):
            kind = _local(element)
            if kind in NAMED_TASKS and not (element.get("name") or "").strip():
                self.add(element, say("task.no_name"), "warning")
            if kind == "userTask" and forms_expected:
                self.form_expected(element)
            if kind in FLOW_NODES and kind not in SUPPORTED:
                self.add(element, say("element.unsupported", kind=kind))
            if kind in HUMAN_TASKS:
                self.lane(element, lanes)
            elif kind in ("exclusiveGateway", "inclusiveGateway"):
                self.gateway(element)
            elif kind == "businessRuleTask":
                self.decision(element)
            elif kind == "callActivity":
                self.call(element)
            elif kind == "timerEventDefinition":
                self.timer(element)
            elif kind == "serviceTask" and not _camunda_code(element):
                self.service(element)
            elif kind == "dataStoreReference":
                self.add(element, say("data_store.unsupported"))
            if kind in FLOW_NODES:
                self.form(element)
                self.stage(element)
                self.escalation(element)
                self.shape(element)
            elif kind in structure.EVENT_REFS:
                self.add(element.getparent(), structure.event_ref_said(element, self.declared))
            elif kind == "conditionalEventDefinition":
                self.add(element.getparent(), structure.condition_said(element))
        self.reachability(process)

    def service(self, task: etree._Element) -> None:
        """A service task runs its HTTP connector (engine.core.connectors): one must be there,
        readable, and call a host the admins allowed (when the URL writes its host out; else
        the call checks it when the deal runs)."""
        try:
            connector = connectors.read_connector(task)
        except ValueError as exc:
            self.add(task, say("connector.broken", detail=str(exc)))
            return
        if connector is None:
            self.add(task, say("service_task.no_service"))
            return
        problem = connectors.url_problem(connector)
        if problem is not None:
            self.add(task, say("connector.broken", detail=problem))
            return
        if self.hosts is None:
            return
        if connector.source == "operator":
            if connector.operator not in self.hosts.operators:
                self.add(task, say("connector.unknown_operator", name=connector.operator or ""))
            return
        host = connectors.static_host(connector)
        if host is None:
            self.add(task, say("connector.host_at_run_time"), "warning")
            return
        literal = [host] if _is_address(host) else []
        refused = connectors.address_refusal(host, literal or ["8.8.8.8"], self.hosts)
        if refused is not None:
            self.add(task, say("connector.host_refused", host=host))

    def shape(self, node: etree._Element) -> None:
        """engine.core.lint.structure's rules of one flow node."""
        kind = _local(node)
        found = [structure.split_said(node), structure.scope_said(node)]
        if kind == "adHocSubProcess":
            found.extend(structure.ad_hoc_saids(node))
        elif kind == "boundaryEvent":
            found.append(structure.boundary_said(node, self.by_id))
        elif kind in ("sendTask", "receiveTask"):
            found.append(structure.event_ref_said(node, self.declared))
        for said in found:
            self.add(node, said)
        for data in structure.data_saids(node, self.by_id):
            self.add(node, data.said)
            self.parse_blocked = self.parse_blocked or data.hangs

    # -- lanes ---------------------------------------------------------------------------

    def lane(self, task: etree._Element, lanes: dict[str, etree._Element]) -> None:
        """A human task goes to its lane's role; in no lane, or in a lane without a name
        (no role), the engine gives it to the deal's owner (engine.store.changes): a
        warning, so the designer knows."""
        lane = _lane_of(task, lanes)
        if lane is None:
            self.add(task, say("lane.none"), "warning")
            return
        name = (lane.get("name") or "").strip()
        if not name:
            self.add(task, say("lane.no_name", lane=lane.get("id", "")), "warning")
            return
        if self.held is not None and role_key(name) not in self.held:
            lane_id = lane.get("id")
            if lane_id in self.warned_lanes:
                return
            self.warned_lanes.add(lane_id)
            standard = role_key(name) in STANDARD_ROLES
            key = "lane.standard_role_not_held" if standard else "lane.role_not_held"
            self.add(lane, say(key, role=name), "warning")

    def starters(self, process: etree._Element) -> None:
        """A role of the process's startRoles that no active user holds (engine.core.starters):
        a warning, as for a lane; a new process may bring a new role."""
        if self.held is None:
            return
        for name in listed_names(process):
            if role_key(name) not in self.held:
                said = say("start_roles.not_held", role=name, property=START_ROLES_PROPERTY)
                self.add(process, said, "warning")

    # -- gateways ------------------------------------------------------------------------

    def gateway(self, gateway: etree._Element) -> None:
        """An exclusive or inclusive gateway: every flow but the default has a condition
        (one flow without: on that flow; several: one problem on the gateway naming them
        all), and without a default the conditions cover every case."""
        flows = self.outgoing(gateway)
        if len(flows) < 2:
            return
        inclusive = _local(gateway) == "inclusiveGateway"
        kind = say("kind.inclusive_gateway" if inclusive else "kind.exclusive_gateway")
        default = gateway.get("default")
        if default and default not in {f.get("id") for f in flows}:
            self.add(gateway, say("gateway.foreign_default", flow=default))
            default = None
        bare = [f for f in flows if f.get("id") != default and not structure.has_condition(f)]
        if len(bare) == 1:
            named = " ".join((gateway.get("name") or gateway.get("id") or "").split())
            todo = say("todo.condition" if default else "todo.condition_or_default")
            self.add(bare[0], say("flow.no_condition", kind=kind, gateway=named, todo=todo))
            return
        if bare:
            todo = say("todo.conditions" if default else "todo.conditions_or_default")
            listed = structure.flows_listed(bare)
            self.add(gateway, say("gateway.flows_no_condition", flows=listed, kind=kind, todo=todo))
            return
        conditions = [
            _text(next(_children(f, "conditionExpression"), None))
            for f in flows
            if f.get("id") != default
        ]
        if default or camunda_juel(conditions):
            return
        if not covers_every_case(conditions):
            key = "gateway.inclusive_no_default" if inclusive else "gateway.no_default"
            self.add(gateway, say(key))

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
            self.add(element, say("form.missing", form=name, property=FORM_PROPERTY))
            return
        failed = _form_problem(name, text)
        if failed is None and name not in self.rules_checked:
            self.rules_checked.add(name)
            for detail in _rule_problems(text):
                self.add(element, say("form.problem", form=name, detail=detail), "warning")
        if failed is not None:  # in the form's file (at its line when JSON names one)
            detail, line = failed
            self.problems.append(
                Problem.of(
                    say("form.problem", form=name, detail=detail), element.get("id"), line, name
                )
            )

    def form_expected(self, task: etree._Element) -> None:
        """A user task without a form in a process whose other user tasks have one: the
        person would complete it without entering anything (a warning: it runs)."""
        if _properties(task).get(FORM_PROPERTY):
            return
        self.add(task, say("form.expected", property=FORM_PROPERTY), "warning")

    def stage(self, element: etree._Element) -> None:
        """A `stage` that is neither a stage of the sales process (engine.core.stages) nor
        one the process's translations file declares: the board and the reports would show
        it as a column of its own (a warning: it runs)."""
        stage = (_properties(element).get(STAGE_PROPERTY) or "").strip()
        known = (*STAGE_ORDER, *sorted(self.declared_stages.get(self.file, ())))
        if not stage or stage in known:
            return
        self.add(
            element, say("stage.unknown", stage=stage, nearest=_nearest(stage, known)), "warning"
        )

    def escalation(self, element: etree._Element) -> None:
        """An SLA's escalation role that is neither a lane of the process nor a role of the
        team: nobody could be told (an error: the engine refuses to deploy it)."""
        role = (_properties(element).get(ESCALATE_PROPERTY) or "").strip()
        if not role or role_key(role) in {role_key(r) for r in self.roles}:
            return
        nearest = _nearest(role, self.roles)
        self.add(
            element,
            say("sla.escalation_unknown", role=role, property=ESCALATE_PROPERTY, nearest=nearest),
        )

    def decision(self, task: etree._Element) -> None:
        ref = _extension(task, "calledDecisionId")
        if not ref:
            self.add(task, say("decision.none"))
            return
        found = self.decisions.get(ref)
        if found is None:
            known = ", ".join(sorted(d for d, (_, first) in self.decisions.items() if first))
            if known:
                self.add(task, say("decision.missing_known", decision=ref, known=known))
            else:
                self.add(task, say("decision.missing", decision=ref))
        elif not found[1]:
            self.add(task, say("decision.not_first", decision=ref, file=found[0]))

    def call(self, activity: etree._Element) -> None:
        called = activity.get("calledElement")
        if not called:
            self.add(activity, say("call.none"))
        elif called not in self.process_ids:
            self.add(activity, say("call.missing", process=called))
        elif called in self.not_executable and self.running:
            self.add(activity, say("call.not_executable", process=called))

    # -- timers --------------------------------------------------------------------------

    def timer(self, definition: etree._Element) -> None:
        owner = definition.getparent()
        self.add(owner, structure.timer_time_said(definition))
        for child in definition.iterchildren(etree.Element):
            kind = _TIMER_KINDS.get(_local(child))
            if kind is None:
                continue
            text = _text(child)
            if not text or text.startswith(("${", "#{")):
                if not text:
                    self.add(owner, say("timer.empty", kind=kind))
                continue  # JUEL: engine.core.camunda reports it
            message, severity = timer_said(kind, text, self.data_names)
            if message:
                self.add(owner, message, severity)

    # -- reachability --------------------------------------------------------------------

    def reachability(self, scope: etree._Element) -> None:
        nodes = {
            n.get("id"): n for n in scope.iterchildren(etree.Element) if _local(n) in FLOW_NODES
        }
        nodes.pop(None, None)
        if not nodes or _local(scope) == "adHocSubProcess":  # its tasks are picked as needed
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
            if _local(scope) == "process":  # a sub-process's: structure.scope_said
                self.add(scope, say("scope.no_start", kind="process"))
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
                self.add(node, say("node.unreachable"))
            elif _local(node) in SCOPES:
                self.reachability(node)


def _nearest(value: str, known: Iterable[str]) -> Said | str:
    """ ": did you mean 'x'?" for the known name nearest to a mistyped one, or nothing."""
    names = list(dict.fromkeys(known))
    by_key = {role_key(n): n for n in names}
    found = by_key.get(role_key(value)) or next(
        iter(difflib.get_close_matches(role_key(value), list(by_key), n=1, cutoff=0.6)), None
    )
    if found is not None:
        return say("nearest.did_you_mean", name=by_key.get(found, found))
    return say("nearest.known", names=", ".join(names)) if names else ""


def _declared_stages(files: _Files) -> dict[str, set[str]]:
    """BPMN file -> the stages its translations files declare (a malformed file declares
    none: engine.core.lint.translations reports it)."""
    found: dict[str, set[str]] = {}
    for name, text in translation_files(files.texts, set(files.bpmn)).items():
        try:
            catalog = parse_catalog(name, text)
        except DefinitionError:
            continue
        bpmn = file_locale(name)
        if bpmn is not None:
            found.setdefault(bpmn[0], set()).update(catalog.stages)
    return found


def _known_roles(files: _Files) -> list[str]:
    """The roles an escalation may name, as shown: the team's and every lane's."""
    lanes = [
        (lane.get("name") or "").strip()
        for root in files.bpmn.values()
        for lane in root.iter(f"{{{MODEL}}}lane")
    ]
    return list(dict.fromkeys([*TEAM_ROLES, *(n for n in lanes if n)]))


def _rule_problems(text: str) -> list[str]:
    """engine.core.forms.rule_problems of a form file (a schema that loads)."""
    try:
        return rule_problems(json.loads(text))
    except ValueError:
        return []


def _camunda_code(element: etree._Element) -> bool:
    """Whether engine.core.camunda already refused the element's Java or external-task code."""
    return any(
        element.get(f"{{{camunda.CAMUNDA}}}{a}")
        for a in ("class", "delegateExpression", "expression", "type")
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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
