"""What changed between two versions of a process: added, removed and changed elements.

Pure: built from each version's graph (engine.core.graph, read from its BPMN XML: names, kinds,
lanes, flows, conditions) and its parsed spec (what the engine runs: properties such as the
stage, the form, the SLA; scripts; timer expressions; the decision a task calls) and its files
(a form or decision table whose file changed changes the elements that use it).  No database.

Elements are matched by BPMN id, sequence flows too.  An element is "changed" when any of its
aspects differs (see ASPECTS); its incoming and outgoing neighbours are aspects, so putting a
step between A and B marks A and B changed as well as adding the step.  Where an element sits
on the drawing is not an aspect: moving a shape changes nothing a deal does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.core.graph import Edge, Graph
from engine.core.runtime import properties

__all__ = ["ASPECTS", "Difference", "ElementChange", "Side", "VersionDiff", "compare"]

# Aspects in the order a change lists them; properties other than the known ones follow as
# "property:<name>".
ASPECTS = (
    "name",
    "type",
    "lane",
    "stage",
    "form",
    "form_schema",
    "sla",
    "escalate_to",
    "script",
    "prescript",
    "postscript",
    "timer",
    "event",
    "message",
    "decision",
    "decision_table",
    "instructions",
    "attached_to",
    "interrupting",
    "loop",
    "conditions",
    "incoming",
    "outgoing",
    "text",
    # sequence flows
    "source",
    "target",
    "condition",
    "default",
)
# spiffworkflow:property names with an aspect of their own.
_PROPERTY_ASPECTS = {
    "stage": "stage",
    "formJsonSchemaFilename": "form",
    "sla": "sla",
    "escalateTo": "escalate_to",
}
STATUSES = ("added", "removed", "changed")


@dataclass(frozen=True)
class Side:
    """One version as the comparison sees it."""

    version: int
    graph: Graph
    spec: Any = None  # the parsed process spec; None compares the drawings only
    subprocess_specs: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Difference:
    aspect: str
    old: str | None
    new: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"aspect": self.aspect, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class ElementChange:
    """One element (or sequence flow) that was added, removed or changed."""

    element_id: str
    kind: str  # the BPMN kind in the newer version (the older one's for removed elements)
    name: str
    status: str  # one of STATUSES
    differences: tuple[Difference, ...] = ()

    @property
    def is_flow(self) -> bool:
        return self.kind == "sequenceFlow"

    def to_dict(self) -> dict[str, Any]:
        return {
            "element_id": self.element_id,
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "differences": [d.to_dict() for d in self.differences],
        }


@dataclass(frozen=True)
class VersionDiff:
    old_version: int
    new_version: int
    changes: tuple[ElementChange, ...] = ()

    def marks(self) -> dict[str, str]:
        """Element or flow id -> added/removed/changed, for drawing."""
        return {c.element_id: c.status for c in self.changes}

    def ids(self, status: str) -> list[str]:
        return [c.element_id for c in self.changes if c.status == status]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.changes if c.status == s) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "counts": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
        }


def compare(old: Side, new: Side) -> VersionDiff:
    """The differences from `old` to `new`: elements in the newer drawing's order, then the
    removed ones, then sequence flows the same way."""
    old_facts, new_facts = _element_facts(old), _element_facts(new)
    changes = _changes(old_facts, new_facts, _nodes(old.graph), _nodes(new.graph))
    old_flows, new_flows = _flow_facts(old.graph), _flow_facts(new.graph)
    changes += _changes(old_flows, new_flows, _flows(old.graph), _flows(new.graph))
    return VersionDiff(old.version, new.version, tuple(changes))


# --- comparing ---------------------------------------------------------------------------------

Facts = dict[str, str]


def _changes(
    old: Mapping[str, Facts],
    new: Mapping[str, Facts],
    old_items: Mapping[str, tuple[str, str]],
    new_items: Mapping[str, tuple[str, str]],
) -> list[ElementChange]:
    found = []
    for ident, (kind, name) in new_items.items():
        if ident not in old:
            found.append(ElementChange(ident, kind, name, "added"))
            continue
        differences = _differences(old[ident], new[ident])
        if differences:
            found.append(ElementChange(ident, kind, name, "changed", differences))
    for ident, (kind, name) in old_items.items():
        if ident not in new:
            found.append(ElementChange(ident, kind, name, "removed"))
    return found


def _order(aspect: str) -> tuple[int, str]:
    return (ASPECTS.index(aspect), "") if aspect in ASPECTS else (len(ASPECTS), aspect)


def _differences(old: Facts, new: Facts) -> tuple[Difference, ...]:
    aspects = sorted(set(old) | set(new), key=_order)
    return tuple(Difference(a, old.get(a), new.get(a)) for a in aspects if old.get(a) != new.get(a))


# --- facts per element ----------------------------------------------------------------------


def _nodes(graph: Graph) -> dict[str, tuple[str, str]]:
    return {n.id: (n.kind, n.name) for n in graph.nodes}


def _flows(graph: Graph) -> dict[str, tuple[str, str]]:
    return {e.id: (e.kind, e.name) for e in graph.edges if e.kind == "sequenceFlow"}


def _element_facts(side: Side) -> dict[str, Facts]:
    graph = side.graph
    lanes = {lane.id: lane.name or lane.id for lane in graph.lanes}
    flows = [e for e in graph.edges if e.kind == "sequenceFlow"]
    specs = _task_specs(side)
    facts = {}
    for node in graph.nodes:
        found: Facts = {"name": node.name, "type": node.kind}
        _put(found, "lane", lanes.get(node.lane_id) if node.lane_id else None)
        _put(found, "event", node.event)
        _put(found, "attached_to", node.attached_to)
        if node.kind == "boundaryEvent":
            found["interrupting"] = "yes" if node.interrupting else "no"
        _put(found, "loop", node.loop)
        _put(found, "text", node.text or None)
        incoming = [e for e in flows if e.target == node.id]
        outgoing = [e for e in flows if e.source == node.id]
        _put(found, "incoming", ", ".join(sorted({e.source for e in incoming})))
        _put(found, "outgoing", ", ".join(sorted({e.target for e in outgoing})))
        _put(found, "conditions", _conditions(outgoing))
        spec = specs.get(node.id)
        if spec is not None:
            found.update(_spec_facts(spec, side.files))
        facts[node.id] = found
    return facts


def _flow_facts(graph: Graph) -> dict[str, Facts]:
    facts = {}
    for edge in graph.edges:
        if edge.kind != "sequenceFlow":
            continue
        found: Facts = {"name": edge.name, "source": edge.source, "target": edge.target}
        _put(found, "condition", edge.condition)
        if edge.is_default:
            found["default"] = "yes"
        facts[edge.id] = found
    return facts


def _put(facts: Facts, aspect: str, value: str | None) -> None:
    if value not in (None, ""):
        facts[aspect] = str(value)


def _conditions(outgoing: list[Edge]) -> str:
    """What decides each way out: "→ target_id: condition" per conditional or default flow.
    Neighbours are named by id, so renaming one element does not change the others."""
    lines = []
    for edge in outgoing:
        if edge.condition:
            lines.append(f"→ {edge.target}: {edge.condition}")
        elif edge.is_default:
            lines.append(f"→ {edge.target}: (default)")
    return "\n".join(sorted(lines))


def _task_specs(side: Side) -> dict[str, Any]:
    if side.spec is None:
        return {}
    found: dict[str, Any] = {}
    for process in (side.spec, *side.subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id is not None:
                found.setdefault(bpmn_id, task_spec)
    return found


def _spec_facts(spec: Any, files: Mapping[str, str]) -> Facts:
    """What the engine runs of one element, beyond what the drawing shows."""
    found: Facts = {}
    for name, value in sorted(properties(spec).items()):
        aspect = _PROPERTY_ASPECTS.get(name, f"property:{name}")
        _put(found, aspect, value)
    form = found.get("form")
    if form is not None and form in files:
        found["form_schema"] = _digest(files[form])
    for aspect in ("script", "prescript", "postscript"):
        _put(found, aspect, getattr(spec, aspect, None))
    extensions = getattr(spec, "extensions", None) or {}
    _put(found, "instructions", extensions.get("instructionsForEndUser"))
    definition = getattr(spec, "event_definition", None)
    if definition is not None:
        kind = type(definition).__name__
        if "Timer" in kind:
            _put(found, "timer", getattr(definition, "expression", None))
        elif "Message" in kind:
            _put(found, "message", getattr(definition, "name", None))
    decision = extensions.get("calledDecisionId") or _decision_id(spec)
    if decision:
        found["decision"] = str(decision)
        tables = [text for name, text in sorted(files.items()) if name.endswith(".dmn")]
        holding = [text for text in tables if f'id="{decision}"' in text]
        if holding:
            found["decision_table"] = _digest("\0".join(holding))
    return found


def _decision_id(spec: Any) -> str | None:
    engine = getattr(spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    return getattr(table, "id", None)


def _digest(text: str) -> str:
    """A file's content as a short fingerprint: equal files, equal text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
