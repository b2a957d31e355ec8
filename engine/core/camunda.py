"""Camunda-flavoured BPMN (`camunda:` extensions) -> what our parser reads.

SpiffBpmnParser ignores the `camunda:` namespace.  `translate` rewrites a copy of the XML
before it is parsed; the stored file stays exactly as the designer's tool wrote it.

Mapped:
- `camunda:properties` / `camunda:property` (name, value) -> `spiffworkflow:properties`, so
  `stage`, `sla`, `escalateTo`, `formJsonSchemaFilename` work as in our own files (our own
  `spiffworkflow:property` of the same name wins);
- `camunda:formKey` naming a `.json` file (prefixes such as `embedded:app:`, `deployment:`
  and folders are dropped) -> the `formJsonSchemaFilename` property.  Other form keys (HTML
  embedded forms, Camunda Forms `.form`) cannot be shown: a warning, the task has no form;
- `camunda:candidateGroups` of a human task that sits in no lane -> a lane of that role
  (the first group when several are listed); a task in a lane keeps its lane;
- `camunda:decisionRef` of a business rule task -> `spiffworkflow:calledDecisionId`;
- timer texts written as plain ISO 8601 (`PT5M`, Camunda's literal form) -> the quoted
  Python string our engine evaluates (`"PT5M"`);
- JUEL conditions (`${...}`, `#{...}`) that only compare data fields (`${score > 5}`,
  `${!approved}`, `${amount >= 1000 && tier == 'A'}`) -> the same condition in our
  expression language (engine.core.juel).  Camunda's predecessors (Activiti, Flowable) write
  the same JUEL, so a file without the `camunda:` namespace gets its JUEL conditions
  translated too, and nothing else.

Refused, each with a problem on its element (`findings`): JUEL conditions that do more than
compare data fields (method and bean calls such as `${execution.getVariable('x')}`, property
paths, arithmetic), JUEL in timers, groups and assignees; scripts not in Python
(`scriptFormat` javascript, groovy, ...) or in external resources; Java code
(`camunda:class`, `delegateExpression`, `expression`), external tasks (`camunda:type`),
connectors other than an http-connector of plain values and simple JUEL (which
engine.core.connectors runs), task and execution listeners, input/output mappings and
`camunda:collection` multi-instance loops.  Warned about and ignored: `camunda:assignee`, `dueDate`,
`followUpDate`, `priority`, call activity `camunda:in`/`out` (a call activity passes all
data), `resultVariable` (a decision's outputs become data fields by their names), generated
form fields.  Ignored silently: settings of Camunda's own job executor and history
(`async*`, `exclusive`, `jobPriority`, `historyTimeToLive`, `versionTag`, ...).

Pure: no I/O.
"""

from __future__ import annotations

import copy
import re
from typing import NamedTuple, Protocol

from lxml import etree

from engine.core import connectors
from engine.core.juel import NotTranslatable, is_juel, translate_condition

__all__ = ["CAMUNDA", "Finding", "form_file", "is_camunda", "translate"]

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM_PROPERTY = "formJsonSchemaFilename"
HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})
PYTHON_SCRIPTS = frozenset({"", "python", "text/python", "text/x-python", "python3"})
_ISO_TIMER = re.compile(r"^(R\d*/)?[-+:.,/0-9PTWYMDHS]+(Z|[+-]\d\d:?\d\d)?$", re.IGNORECASE)
_SILENT = frozenset(
    {
        "async",
        "asyncBefore",
        "asyncAfter",
        "exclusive",
        "jobPriority",
        "taskPriority",
        "historyTimeToLive",
        "versionTag",
        "isStartableInTasklist",
        "candidateStarterGroups",
        "candidateStarterUsers",
        "failedJobRetryTimeCycle",
        "initiator",
        "calledElementBinding",
        "calledElementVersion",
        "calledElementVersionTag",
        "calledElementTenantId",
        "decisionRefBinding",
        "decisionRefVersion",
        "decisionRefVersionTag",
        "decisionRefTenantId",
        "formHandlerClass",
        "formRefBinding",
        "formRefVersion",
        "errorCodeVariable",
        "errorMessageVariable",
        "escalationCodeVariable",
        "properties",
        "property",
        "formKey",
        "formRef",
        "candidateGroups",
        "decisionRef",
    }
)
_JAVA = ("class", "delegateExpression", "expression")
_IGNORED = {
    "assignee": "tasks go to the lane's role (the deal owner first when they hold it)",
    "candidateUsers": "tasks go to the lane's role, not to named users",
    "dueDate": "use the `sla` property for a deadline",
    "followUpDate": "use the `sla` property for a deadline",
    "priority": "tasks have no priority here",
    "resultVariable": "a decision's outputs become data fields under their own names",
    "mapDecisionResult": "a decision's outputs become data fields under their own names",
    "in": "a call activity passes all data in and out",
    "out": "a call activity passes all data in and out",
    "formData": "Camunda's generated form fields are not shown: give the task a JSON schema "
    "with the formJsonSchemaFilename property",
    "formField": "Camunda's generated form fields are not shown",
}
_REFUSED = {
    "taskListener": "a task listener runs Camunda code, which salesflow does not run",
    "executionListener": "an execution listener runs Camunda code, which salesflow does not run",
    "inputOutput": "Camunda input/output mappings are not supported: the element sees the "
    "deal's data as it is",
    "connector": "Camunda connectors are not supported: no outside services are configured",
    "collection": "a camunda:collection loop is not supported: use a multi-instance loop "
    "with loopDataInputRef",
    "elementVariable": "a camunda:collection loop is not supported: use a multi-instance loop "
    "with inputDataItem",
    "field": "Java delegate fields are not supported",
}


class _Note(Protocol):
    def __call__(self, element: etree._Element, message: str, severity: str = "error") -> None: ...


class Finding(NamedTuple):
    """Something about a Camunda extension the designer should know, on one element."""

    element_id: str | None
    message: str
    line: int | None
    severity: str  # "error" or "warning"


def is_camunda(root: etree._Element) -> bool:
    return CAMUNDA in (root.nsmap or {}).values() or any(
        isinstance(el.tag, str) and el.tag.startswith("{" + CAMUNDA) for el in root.iter()
    )


def translate(root: etree._Element) -> tuple[etree._Element, list[Finding]]:
    """A copy of the <definitions> with the mapped extensions, and what could not be mapped.
    A file without `camunda:` and without JUEL conditions is returned as it is; one with JUEL
    conditions only has those translated."""
    camunda_file = is_camunda(root)
    conditions = root.iter(f"{{{MODEL}}}conditionExpression")
    if not camunda_file and not any(is_juel(c.text) for c in conditions):
        return root, []
    root = copy.deepcopy(root)
    findings: list[Finding] = []
    reported: set[tuple[str | None, str]] = set()

    def note(element: etree._Element, message: str, severity: str = "error") -> None:
        owner = _owner(element)
        key = (owner.get("id"), message)
        if key not in reported:
            reported.add(key)
            findings.append(Finding(owner.get("id"), message, owner.sourceline, severity))

    for element in list(root.iter(etree.Element)):
        if not isinstance(element.tag, str):
            continue
        namespace, _, local = element.tag[1:].partition("}")
        if namespace == MODEL and local == "conditionExpression" and is_juel(element.text):
            _juel_condition(element, note)
        elif not camunda_file:
            continue
        elif namespace == MODEL:
            _model_element(element, local, note)
        elif namespace == CAMUNDA:
            _camunda_element(element, local, note)
    if camunda_file:
        for process in root.iterfind(f"{{{MODEL}}}process"):
            _lanes_from_groups(process, note)
    return root, findings


def _owner(element: etree._Element) -> etree._Element:
    """The nearest BPMN element with an id: the one a problem is shown on."""
    found: etree._Element | None = element
    while found is not None:
        if found.get("id") and found.tag.startswith("{" + MODEL):
            return found
        found = found.getparent()
    return element


def _juel_condition(element: etree._Element, note: _Note) -> None:
    """A JUEL condition becomes ours when it only compares data fields (the copy's text is
    replaced: what the parser and the checks read); anything more is refused."""
    text = (element.text or "").strip()
    try:
        element.text = translate_condition(text)
    except NotTranslatable as refused:
        flow = element.getparent()
        note(
            flow if flow is not None else element,
            f"the condition '{text}' is JUEL (Camunda's expression language): salesflow "
            f"translates comparisons of data fields, but not '{refused.part}': write the "
            "condition in Python, for example 'amount >= 1000 and approved'",
        )


def _model_element(element: etree._Element, local: str, note: _Note) -> None:
    for attribute, value in element.attrib.items():
        namespace, _, name = str(attribute)[1:].partition("}")
        if not str(attribute).startswith("{") or namespace != CAMUNDA:
            continue
        _camunda_attribute(element, local, name, value, note)
    if local == "conditionExpression" and element.get("language"):
        _script_language(element, element.get("language", ""), note)
    elif local == "scriptTask":
        _script_language(element, element.get("scriptFormat", ""), note)
    elif local in ("timeDuration", "timeDate", "timeCycle"):
        text = (element.text or "").strip()
        if is_juel(text):
            note(element, f"the timer '{text}' is a JUEL expression: write it in Python")
        elif text and _ISO_TIMER.match(text):
            element.text = repr(text).replace("'", '"')


def _script_language(element: etree._Element, language: str, note: _Note) -> None:
    if language.strip().lower() not in PYTHON_SCRIPTS:
        note(
            element,
            f"the script is written in '{language}': scripts here are Python (the safe subset "
            "salesflow runs)",
        )


def _camunda_attribute(
    element: etree._Element, local: str, name: str, value: str, note: _Note
) -> None:
    if name in _JAVA:
        note(element, f"camunda:{name} '{value}' calls Java code, which salesflow cannot run")
    elif name == "type":
        topic = element.get(f"{{{CAMUNDA}}}topic")
        what = f" (topic '{topic}')" if topic else ""
        note(
            element,
            f"an external task{what} waits for a Camunda worker, and salesflow has none",
        )
    elif name == "resource":
        note(element, f"the script lives in another file ('{value}'): put it in the task")
    elif name == "formKey":
        form = form_file(value)
        if form is not None:
            _set_property(element, FORM_PROPERTY, form)
        else:
            note(
                element,
                f"camunda:formKey '{value}' is a Camunda form, which salesflow cannot show: "
                "the task has no form (give it a JSON schema with the "
                f"{FORM_PROPERTY} property)",
                "warning",
            )
    elif name == "decisionRef" and local == "businessRuleTask":
        if is_juel(value):
            note(element, f"the decision '{value}' is a JUEL expression: name the decision")
        else:
            _set_extension(element, "calledDecisionId", value)
    elif name == "candidateGroups" and is_juel(value):
        note(
            element,
            f"camunda:candidateGroups '{value}' is an expression, not a role: put the task "
            "in a lane named after the role that does it",
            "warning",
        )
    elif name in _IGNORED:
        note(element, f"camunda:{name} is ignored: {_IGNORED[name]}", "warning")
    elif name not in _SILENT and name != "topic":
        note(element, f"camunda:{name} is ignored", "warning")


def _camunda_element(element: etree._Element, local: str, note: _Note) -> None:
    if _http_connector(element):
        return  # an HTTP connector, inputs and outputs included: engine.core.connectors runs it
    if local in _REFUSED:
        note(element, _REFUSED[local])
    elif local == "properties":
        for prop in element.iterfind(f"{{{CAMUNDA}}}property"):
            name, value = prop.get("name"), prop.get("value")
            if name and value is not None:
                parent = element.getparent()
                owner = parent.getparent() if parent is not None else None
                if owner is not None:
                    _set_property(owner, name, value, keep_existing=True)
    elif local in _IGNORED:
        note(element, f"camunda:{local} is ignored: {_IGNORED[local]}", "warning")


def _http_connector(element: etree._Element) -> bool:
    """Whether the element is, or is inside, a camunda:connector that engine.core.connectors
    reads (an http-connector of plain values and simple JUEL)."""
    found: etree._Element | None = element
    while found is not None and found.tag != f"{{{CAMUNDA}}}connector":
        found = found.getparent()
    task = found.getparent() if found is not None else None
    if found is None or task is None or task.getparent() is None:
        return False
    try:
        return connectors.read_connector(task.getparent()) is not None
    except ValueError:
        return False


def form_file(form_key: str) -> str | None:
    """The JSON schema file a form key names, or None for other kinds of form."""
    key = form_key.strip()
    if not key.lower().endswith(".json") or is_juel(key):
        return None
    return key.rsplit(":", 1)[-1].rsplit("/", 1)[-1] or None


def _extensions(element: etree._Element) -> etree._Element:
    found = element.find(f"{{{MODEL}}}extensionElements")
    if found is None:
        found = etree.Element(f"{{{MODEL}}}extensionElements")
        # extensionElements follows documentation in every BPMN element.
        docs = element.findall(f"{{{MODEL}}}documentation")
        element.insert(len(docs), found)
    return found


def _set_extension(element: etree._Element, name: str, text: str) -> None:
    ext = _extensions(element)
    if ext.find(f"{{{SPIFF}}}{name}") is None:
        etree.SubElement(ext, f"{{{SPIFF}}}{name}").text = text


def _set_property(
    element: etree._Element, name: str, value: str, *, keep_existing: bool = True
) -> None:
    ext = _extensions(element)
    props = ext.find(f"{{{SPIFF}}}properties")
    if props is None:
        props = etree.SubElement(ext, f"{{{SPIFF}}}properties")
    existing = [p for p in props.iterfind(f"{{{SPIFF}}}property") if p.get("name") == name]
    if existing and keep_existing:
        return
    etree.SubElement(props, f"{{{SPIFF}}}property", name=name, value=value)


# Elements that may come before a process's laneSet (BPMN 2.0 XSD, tProcess).
_BEFORE_LANES = frozenset(
    {
        "documentation",
        "extensionElements",
        "supportedInterfaceRef",
        "ioSpecification",
        "ioBinding",
        "auditing",
        "monitoring",
        "property",
        "laneSet",
    }
)


def _lanes_from_groups(process: etree._Element, note: _Note) -> None:
    """Human tasks with candidate groups and no lane go into a lane named after the group."""
    in_lane = {
        (ref.text or "").strip() for ref in process.iter(f"{{{MODEL}}}flowNodeRef") if ref.text
    }
    lanes: dict[str, list[str]] = {}
    for task in process.iter(etree.Element):
        if etree.QName(task).namespace != MODEL or etree.QName(task).localname not in HUMAN_TASKS:
            continue
        groups = task.get(f"{{{CAMUNDA}}}candidateGroups", "").strip()
        ident = task.get("id")
        if not groups or is_juel(groups) or not ident or _enclosing_in_lane(task, in_lane):
            continue
        names = [g.strip() for g in groups.split(",") if g.strip()]
        if len(names) > 1:
            note(
                task,
                f"camunda:candidateGroups lists {len(names)} groups: the task's lane is the "
                f"first, '{names[0]}'",
                "warning",
            )
        lanes.setdefault(names[0], []).append(ident)
    if not lanes:
        return
    lane_set = etree.Element(f"{{{MODEL}}}laneSet", id=f"{process.get('id')}_camunda_groups")
    for number, (role, tasks) in enumerate(sorted(lanes.items()), 1):
        lane = etree.SubElement(
            lane_set, f"{{{MODEL}}}lane", id=f"{process.get('id')}_group_{number}", name=role
        )
        for ident in tasks:
            etree.SubElement(lane, f"{{{MODEL}}}flowNodeRef").text = ident
    position = 0
    for index, child in enumerate(process):
        if isinstance(child.tag, str) and etree.QName(child).localname in _BEFORE_LANES:
            position = index + 1
    process.insert(position, lane_set)


def _enclosing_in_lane(task: etree._Element, in_lane: set[str]) -> bool:
    found: etree._Element | None = task
    while found is not None and etree.QName(found).localname != "process":
        if found.get("id") in in_lane:
            return True
        found = found.getparent()
    return False
