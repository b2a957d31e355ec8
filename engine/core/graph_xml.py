"""BPMN XML -> engine.core.graph.Graph: the parser behind `graph_from_xml` and its kin.

Import these from engine.core.graph; this module only keeps the parsing out of the types file.

Pure: reads only the text it is handed (no files, no network, no clock).  Built on lxml and
not on SpiffWorkflow's parser, because a designer must be able to look at files that would
never run: isExecutable="false", data stores, implicit splits, other vendors' extensions.
What a strict XML parser refuses but a repair can read (engine.core.xml_repair) is read, and
the repair is one of the graph's warnings.

One Graph per BPMN diagram (bpmndi:BPMNDiagram), the main one unless another is asked for
(engine.core.graph_di says which).  With DI, a graph holds exactly what the chosen diagram's
plane shows, so a file whose collaborations or collapsed sub-processes are drawn on several
diagrams gives one picture per diagram, as in the modeller that drew it.  A file without any
DI gives every element, with no bounds, for diagrams/ to lay out.

Every BPMNShape and BPMNEdge of the plane becomes something of the graph: the node, lane,
pool or edge of its element when it has one we know; otherwise a node or an edge of kind
"unknown" at its DI position (a shape for an element the file lacks, a choreography, ...).
What even that cannot hold (a second shape of one element, an edge that joins no shape) is
left out with a warning, never silently.

The promise to diagrams/: every id a Graph refers to (edge ends, parent_id, lane_id,
attached_to, a lane's parent_id) is a node, pool or lane of that same Graph; a reference
that would dangle is None and an edge that would dangle is not there.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from engine.core import graph_di, xml_repair
from engine.core.graph import (
    ARTIFACT_KINDS,
    EVENT_DEFINITIONS,
    EVENT_KINDS,
    GATEWAY_KINDS,
    SUBPROCESS_KINDS,
    TASK_KINDS,
    UNKNOWN_KIND,
    Bounds,
    Edge,
    Graph,
    Lane,
    Node,
    Point,
    Pool,
)
from engine.core.graph_di import Plane, Refs
from engine.core.graph_di import local as _local
from engine.core.graph_di import q as _q
from engine.core.graph_words import say
from engine.core.xml_repair import BPMNDI, DC, DI, MODEL
from engine.errors import DefinitionError

__all__ = [
    "BPMNDI",
    "DC",
    "DI",
    "MODEL",
    "SPIFF",
    "bpmn_processes",
    "diagram_ids",
    "diagram_list",
    "graph_from_xml",
    "graphs_from_xml",
    "parse_definitions",
    "read_definitions",
]

SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

FLOW_NODE_KINDS = EVENT_KINDS | TASK_KINDS | SUBPROCESS_KINDS | GATEWAY_KINDS
NODE_KINDS = FLOW_NODE_KINDS | ARTIFACT_KINDS
# Sub-processes whose contents are defined inside them; a call activity's contents belong to
# another process, which is drawn (if at all) as that process.
CONTAINER_KINDS = SUBPROCESS_KINDS - {"callActivity"}
EDGE_KINDS = frozenset({"sequenceFlow", "association", "messageFlow"})
DATA_ASSOCIATION_KINDS = frozenset({"dataInputAssociation", "dataOutputAssociation"})
MESSAGE_VISIBLE = frozenset({"initiating", "non_initiating"})
# Warnings of one kind beyond this many are counted, not listed: a diagram of a file that
# lost its process would otherwise print a line for each of its hundred shapes.
MAX_LISTED = 10
INSIDE_SLACK = 2.0  # DI px: a child drawn on its sub-process's border is still inside


def _elements(parent: etree._Element) -> Iterator[etree._Element]:
    """Child elements only: comments, processing instructions and the entity references
    left in place (entities are never resolved) are not part of the model."""
    return parent.iterchildren(etree.Element)


def read_definitions(
    xml: str | bytes, file: str | None = None
) -> tuple[etree._Element, tuple[str, ...]]:
    """The <definitions> root and what reading it repaired, or DefinitionError naming the
    file (and the line if known)."""
    root, repairs = xml_repair.read(xml, file)
    if root.tag != _q(MODEL, "definitions"):
        namespace, _, name = root.tag.rpartition("}")
        where = f" in the namespace {namespace[1:]}" if namespace else " in no namespace"
        raise DefinitionError(
            f"not a BPMN 2.0 file: the root element is {name}{where}, "
            f"expected definitions in the namespace {MODEL}",
            file=file,
            line=root.sourceline,
        )
    return root, repairs


def parse_definitions(xml: str | bytes, file: str | None = None) -> etree._Element:
    """The <definitions> root, or DefinitionError naming the file (and the line if known)."""
    return read_definitions(xml, file)[0]


def bpmn_processes(files: Mapping[str, str | bytes]) -> Iterator[etree._Element]:
    """Every <bpmn:process> element of the BPMN files among `files` (name -> text), by file
    name; a file that is not well-formed XML holds none (the checks say what is wrong)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for name, text in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, parser)
        except etree.XMLSyntaxError:
            continue
        yield from root.iter(f"{{{MODEL}}}process")


def diagram_ids(xml: str | bytes, *, file: str | None = None) -> list[str]:
    """The ids of the file's diagrams, in file order (a diagram without an id cannot be
    chosen by id; graph_from_xml still shows it when it is the main one)."""
    root = parse_definitions(xml, file)
    return [d.get("id") for d in graph_di.diagrams_of(root) if d.get("id")]


def diagram_list(xml: str | bytes, *, file: str | None = None) -> list[dict[str, Any]]:
    """Each diagram of the file (see engine.core.graph_di.summaries); [] without DI."""
    return graph_di.summaries(parse_definitions(xml, file))


def graph_from_xml(
    xml: str | bytes, *, file: str | None = None, diagram: str | None = None
) -> Graph:
    """The Graph of one diagram of a BPMN file: the main one unless `diagram` names one by
    its id or its name."""
    root, repairs = read_definitions(xml, file)
    ref = Refs(root)
    return _Reader(root, graph_di.choose(root, diagram, file, ref), repairs, ref).graph(file)


def graphs_from_xml(xml: str | bytes, *, file: str | None = None) -> list[Graph | None]:
    """One Graph per diagram, in file order (as diagram_list lists them), None for a diagram
    that shows nothing; a file without DI gives its one Graph of everything."""
    root, repairs = read_definitions(xml, file)
    found = graph_di.diagrams_of(root)
    if not found:
        return [_Reader(root, None, repairs).graph(file)]
    ref = Refs(root)
    return [
        _Reader(root, d, repairs, ref).graph(file) if Plane.of(d, ref).size else None for d in found
    ]


# --- the semantic model ---------------------------------------------------------------------


def _xml_bool(value: str | None, default: bool) -> bool:
    text = (value or "").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    return default


def _event(element: etree._Element, ref: Refs) -> str | None:
    """The event definition: "timer", "message", ... ("multiple" if several), or None.

    Definitions may also be shared at the top of the file and named by eventDefinitionRef.
    """
    kinds = [_local(child) for child in _elements(element)]
    for child in element.iterchildren(_q(MODEL, "eventDefinitionRef")):
        target = ref.element(child.text)
        if target is not None:
            kinds.append(_local(target))
    names = [k.removesuffix("EventDefinition") for k in kinds if k.endswith("EventDefinition")]
    names = [n for n in names if n in EVENT_DEFINITIONS]
    if len(names) > 1:
        parallel = _xml_bool(element.get("parallelMultiple"), False)
        return "parallelMultiple" if parallel else "multiple"
    return names[0] if names else None


def _interrupting(element: etree._Element, kind: str) -> bool:
    if kind == "boundaryEvent":
        return _xml_bool(element.get("cancelActivity"), True)
    if kind == "startEvent":  # only event sub-process starts can be non-interrupting
        return _xml_bool(element.get("isInterrupting"), True)
    return True


def _loop(element: etree._Element) -> str | None:
    if element.find(_q(MODEL, "standardLoopCharacteristics")) is not None:
        return "standard"
    multi = element.find(_q(MODEL, "multiInstanceLoopCharacteristics"))
    if multi is not None:
        return "sequential" if _xml_bool(multi.get("isSequential"), False) else "parallel"
    return None


def _stage(element: etree._Element) -> str | None:
    path = "/".join(
        (_q(MODEL, "extensionElements"), _q(SPIFF, "properties"), _q(SPIFF, "property"))
    )
    for prop in element.iterfind(path):
        if prop.get("name") == "stage":
            return prop.get("value")
    return None


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _collection(element: etree._Element, kind: str, ref: Refs) -> bool:
    """A data object (or its reference), input or output that stands for a list of items."""
    if kind == "dataObjectReference":
        target = ref.element(element.get("dataObjectRef"))
        return target is not None and _xml_bool(target.get("isCollection"), False)
    if kind in ("dataObject", "dataInput", "dataOutput"):
        return _xml_bool(element.get("isCollection"), False)
    return False


def _name(element: etree._Element, kind: str, ref: Refs) -> str:
    """The label to draw: the name, or what an unnamed artifact stands for; a data object's
    state after it in brackets, as modellers write it ("Invoice [approved]")."""
    name = _own_name(element, kind, ref)
    state = element.find(_q(MODEL, "dataState")) if kind in DATA_WITH_STATE else None
    label = (state.get("name") or "").strip() if state is not None else ""
    return f"{name} [{label}]".strip() if label else name


DATA_WITH_STATE = frozenset(
    {"dataObjectReference", "dataStoreReference", "dataInput", "dataOutput"}
)


def _own_name(element: etree._Element, kind: str, ref: Refs) -> str:
    name: str = element.get("name") or ""
    if name:
        return name
    # A reference usually carries the name, but some tools only name what it refers to.
    pointer = {
        "dataObjectReference": "dataObjectRef",
        "dataStoreReference": "dataStoreRef",
        "group": "categoryValueRef",
    }.get(kind)
    target = ref.element(element.get(pointer)) if pointer else None
    if target is None:
        return ""
    return target.get("value" if kind == "group" else "name") or ""


def _nearest(ident: str | None, parents: dict[str, str], present: Container[str]) -> str | None:
    """`ident` or its closest ancestor that this graph holds; None if there is none."""
    seen: set[str] = set()
    while ident is not None and ident not in present and ident not in seen:
        seen.add(ident)  # a cycle in a broken file must not hang the parser
        ident = parents.get(ident)
    return ident if ident is not None and ident in present else None


def _inside(inner: Bounds, outer: Bounds) -> bool:
    return (
        inner.x >= outer.x - INSIDE_SLACK
        and inner.y >= outer.y - INSIDE_SLACK
        and inner.x + inner.width <= outer.x + outer.width + INSIDE_SLACK
        and inner.y + inner.height <= outer.y + outer.height + INSIDE_SLACK
    )


def _holding(point: Point, nodes: Iterable[Node]) -> str | None:
    """The smallest node whose DI bounds hold `point` (an edge's end drawn on its border)."""
    best: tuple[float, str] | None = None
    for node in nodes:
        box = node.bounds
        if box is None or box.width <= 0 or box.height <= 0:
            continue
        spot = Bounds(point.x, point.y, 0, 0)
        if _inside(spot, box) and (best is None or box.width * box.height < best[0]):
            best = (box.width * box.height, node.id)
    return best[1] if best is not None else None


@dataclass(frozen=True)
class _LaneSeen:
    lane: Lane  # parent_id is the lane it is written in, which may not be shown
    depth: int  # 0 for a lane of the process's laneSet, +1 per childLaneSet
    node_refs: tuple[str, ...]


class _Notes:
    """The reader's warnings, in the order first met; more than MAX_LISTED of one kind are
    counted in one more line."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}

    def add(self, key: str, /, **args: str | int) -> None:
        self.by_key.setdefault(key, []).append(say(key, **args))

    def texts(self) -> tuple[str, ...]:
        out: list[str] = []
        for said in self.by_key.values():
            out += said[:MAX_LISTED]
            if len(said) > MAX_LISTED:
                out.append(say("more", count=len(said) - MAX_LISTED))
        return tuple(out)


class _Reader:
    """Reads the semantic model once, keeping what the chosen diagram shows."""

    def __init__(
        self,
        root: etree._Element,
        diagram: etree._Element | None,
        repairs: tuple[str, ...] = (),
        ref: Refs | None = None,
    ) -> None:
        self.root = root
        self.ref = ref if ref is not None else Refs(root)
        self.plane = Plane.of(diagram, self.ref) if diagram is not None else None
        self.repairs = repairs
        self.notes = _Notes()
        self.nodes: dict[str, Node] = {}  # shown nodes, by id, in file order
        self.parents: dict[str, str] = {}  # flow element -> its sub-process, shown or not
        self.process_of: dict[str, str] = {}  # flow element -> its process, shown or not
        self.lanes: list[_LaneSeen] = []  # shown lanes
        self.lane_parents: dict[str, str] = {}  # every nested lane -> its parent lane
        self.pools: dict[str, Pool] = {}
        # Edges wait until every node is known: a flow may be written before its ends.
        self.edge_elements: list[tuple[etree._Element, str]] = []  # (element, owner id)
        self.taken: set[str] = set()  # every id the graph has given out (unknown items)
        self.di_nodes: dict[str, str] = {}  # an unknown shape's DI id -> its node's id

    def shows(self, ident: str, kind: str) -> bool:
        if self.plane is None:
            # Without DI everything is drawn, except a data object: only its references are.
            return kind != "dataObject"
        return ident in self.plane.shapes

    def shape(self, ident: str) -> etree._Element | None:
        return self.plane.shapes.get(ident) if self.plane is not None else None

    def graph(self, file: str | None) -> Graph:
        processes = [p for p in self.root.iterchildren(_q(MODEL, "process")) if p.get("id")]
        for process in processes:
            self.read_container(process, process.get("id"), None)
        collaborations = list(self.root.iterchildren(_q(MODEL, "collaboration")))
        process_ids = {p.get("id") for p in processes}
        for collaboration in collaborations:
            self.read_collaboration(collaboration, process_ids)
        if self.plane is not None:
            self.read_drawn_only(processes)
        lanes = self.resolved_lanes()
        nodes = self.resolved_nodes()
        nodes += self.unknown_nodes(nodes, lanes)
        edges = list(self.resolved_edges(nodes))
        edges += self.unknown_edges(nodes, edges)
        used = {n.process_id for n in nodes} | {x.process_id for x in lanes}
        used |= {p.process_id for p in self.pools.values()}
        shown_processes = tuple(
            p.get("id") for p in processes if self.plane is None or p.get("id") in used
        )
        if not processes:
            self.notes.add("file.no_process")
        elif (
            self.plane is not None
            and not shown_processes
            and any(n.kind == UNKNOWN_KIND for n in nodes)
        ):
            self.notes.add("diagram.no_process", diagram=self.diagram_name())
        return Graph(
            name=self.name(processes, collaborations, shown_processes, file),
            file=file,
            process_ids=shown_processes,
            pools=tuple(self.pools.values()),
            lanes=tuple(lanes),
            nodes=tuple(self.expanded(nodes)),
            edges=tuple(edges),
            diagram=self.plane.diagram if self.plane is not None else None,
            warnings=self.repairs + self.notes.texts(),
        )

    def diagram_name(self) -> str:
        assert self.plane is not None
        return self.plane.diagram or self.plane.element or "-"

    def what(self, ident: str | None) -> str:
        """An element as a message names it: '"Check stock" (task_1)', or its id."""
        if not ident:
            return "-"
        element = self.ref.by_id.get(ident)
        name = (element.get("name") or "").strip() if element is not None else ""
        return f'"{name}" ({ident})' if name else ident

    # --- reading ---------------------------------------------------------------------------

    def read_container(
        self, container: etree._Element, process_id: str, parent: str | None
    ) -> None:
        """A process or sub-process: its lanes, nodes, flows and artifacts, recursively."""
        for child in _elements(container):
            kind, ident = _local(child), child.get("id")
            if kind == "laneSet":
                self.read_lanes(child, process_id, None, 0)
            elif kind == "ioSpecification":
                # The process's own inputs and outputs, drawn as data objects with an arrow.
                for data in _elements(child):
                    if _local(data) in ("dataInput", "dataOutput") and data.get("id"):
                        self.read_node(data, _local(data), process_id, parent)
            elif not ident:
                continue  # nothing can refer to it and no DI can show it
            elif kind in EDGE_KINDS:
                self.edge_elements.append((child, ident))
            elif kind in NODE_KINDS:
                self.read_node(child, kind, process_id, parent)
                if kind in CONTAINER_KINDS:
                    # Read the contents even when the sub-process itself is not shown: a
                    # drill-down diagram shows a collapsed sub-process's inside on its own.
                    self.read_container(child, process_id, ident)

    def read_node(
        self, element: etree._Element, kind: str, process: str | None, parent: str | None
    ) -> None:
        ident = element.get("id")
        if parent is not None:
            self.parents[ident] = parent
        if process is not None:
            self.process_of.setdefault(ident, process)
        if self.shows(ident, kind) and ident not in self.nodes:  # a repeated id: first wins
            shape = self.shape(ident)
            expanded = shape.get("isExpanded") if shape is not None else None
            self.nodes[ident] = Node(
                id=ident,
                kind=kind,
                name=_name(element, kind, self.ref),
                process_id=process,
                parent_id=parent,
                bounds=graph_di.bounds(shape),
                label_bounds=graph_di.label_bounds(shape),
                event=_event(element, self.ref) if kind in EVENT_KINDS else None,
                interrupting=_interrupting(element, kind),
                attached_to=self.ref(element.get("attachedToRef")),
                loop=_loop(element),
                expanded=(
                    _xml_bool(expanded, False)
                    if kind in SUBPROCESS_KINDS and expanded is not None
                    else None
                ),
                stage=_stage(element),
                text=_text(element.find(_q(MODEL, "text"))) if kind == "textAnnotation" else "",
                triggered=kind == "subProcess"
                and _xml_bool(element.get("triggeredByEvent"), False),
                compensation=_xml_bool(element.get("isForCompensation"), False),
                collection=_collection(element, kind, self.ref),
            )
        # Data associations are written inside the activity or event they belong to.
        for child in _elements(element):
            if _local(child) in DATA_ASSOCIATION_KINDS:
                self.edge_elements.append((child, ident))

    def read_lanes(
        self, lane_set: etree._Element, process_id: str, parent: str | None, depth: int
    ) -> None:
        for lane in lane_set.iterchildren(_q(MODEL, "lane")):
            ident = lane.get("id")
            if not ident:
                continue
            if parent is not None:
                self.lane_parents[ident] = parent
            if self.shows(ident, "lane"):
                refs = (self.ref(r.text) for r in lane.iterchildren(_q(MODEL, "flowNodeRef")))
                shape = self.shape(ident)
                self.lanes.append(
                    _LaneSeen(
                        Lane(
                            id=ident,
                            name=lane.get("name") or "",
                            process_id=process_id,
                            parent_id=parent,
                            bounds=graph_di.bounds(shape),
                            horizontal=_horizontal(shape),
                        ),
                        depth,
                        tuple(r for r in refs if r),
                    )
                )
            for child_set in lane.iterchildren(_q(MODEL, "childLaneSet")):
                self.read_lanes(child_set, process_id, ident, depth + 1)

    def read_collaboration(self, collaboration: etree._Element, processes: set[str]) -> None:
        """Pools, message flows, and the artifacts drawn across pools."""
        for child in _elements(collaboration):
            kind, ident = _local(child), child.get("id")
            if not ident:
                continue
            if kind == "participant":
                if self.shows(ident, kind) and ident not in self.pools:
                    process = self.ref(child.get("processRef"))
                    shape = self.shape(ident)
                    self.pools[ident] = Pool(
                        id=ident,
                        name=child.get("name") or "",
                        # A reference to a process the file does not hold is a black box too.
                        process_id=process if process in processes else None,
                        bounds=graph_di.bounds(shape),
                        horizontal=_horizontal(shape),
                    )
            elif kind in EDGE_KINDS:
                self.edge_elements.append((child, ident))
            elif kind in ARTIFACT_KINDS:
                self.read_node(child, kind, None, None)

    def read_drawn_only(self, processes: list[etree._Element]) -> None:
        """What only a diagram's shapes bring in: a pool drawn for a process itself (no
        participant), standalone message shapes, and elements of kinds we know that sit
        where the walk above does not look; and the flows it did not meet."""
        assert self.plane is not None
        for process in processes:
            ident = process.get("id")
            if ident in self.plane.shapes and ident not in self.pools:
                shape = self.shape(ident)
                self.pools[ident] = Pool(
                    id=ident,
                    name=process.get("name") or "",
                    process_id=ident,
                    bounds=graph_di.bounds(shape),
                    horizontal=_horizontal(shape),
                )
        met = {id(element) for element, _ in self.edge_elements}
        for ident in self.plane.shapes:
            element = self.ref.by_id.get(ident)
            kind = _local(element) if element is not None else ""
            if ident in self.nodes or element is None:
                continue
            if kind in NODE_KINDS:  # messages too: an ARTIFACT_KIND
                self.read_node(element, kind, self.process_of.get(ident), None)
        for ident in self.plane.edges:
            element = self.ref.by_id.get(ident)
            if element is None or id(element) in met:
                continue
            kind = _local(element)
            if kind in EDGE_KINDS or kind in DATA_ASSOCIATION_KINDS:
                parent = element.getparent()
                owner = parent.get("id") if parent is not None else None
                self.edge_elements.append((element, owner or ""))

    # --- resolving: references to what this diagram does not show -----------------------

    def resolved_lanes(self) -> list[Lane]:
        shown = {seen.lane.id for seen in self.lanes}
        return [
            replace(seen.lane, parent_id=_nearest(seen.lane.parent_id, self.lane_parents, shown))
            for seen in self.lanes
        ]

    def resolved_nodes(self) -> list[Node]:
        # A node sits in the innermost lane that lists it: a parent lane lists its children's
        # nodes too (as the spec asks), and some tools list them in the parent only.
        innermost: dict[str, tuple[int, str]] = {}
        for seen in self.lanes:
            for ident in seen.node_refs:
                if ident not in innermost or innermost[ident][0] < seen.depth:
                    innermost[ident] = (seen.depth, seen.lane.id)
        nodes = [
            replace(
                node,
                lane_id=innermost[node.id][1] if node.id in innermost else None,
                parent_id=_nearest(node.parent_id, self.parents, self.nodes),
                attached_to=node.attached_to if node.attached_to in self.nodes else None,
            )
            for node in self.nodes.values()
        ]
        for node in nodes:
            shape = self.shape(node.id)
            if shape is not None and node.bounds is None:
                self.notes.add("shape.no_bounds", shape=_di_id(shape), element=self.what(node.id))
        return nodes

    def expanded(self, nodes: list[Node]) -> list[Node]:
        """Sub-processes without isExpanded that are drawn around children shown on this
        diagram are expanded: tools that leave the flag out draw them open.  A call
        activity likewise, drawn around the process it calls."""
        boxes = {n.id: n.bounds for n in nodes}
        calls = {
            n.id: self.ref(self.ref.by_id[n.id].get("calledElement"))
            for n in nodes
            if n.kind == "callActivity" and n.expanded is None and n.id in self.ref.by_id
        }
        holding: set[str] = set()
        for node in nodes:
            if node.bounds is None:
                continue
            hosts = [node.parent_id] if node.parent_id is not None else []
            hosts += [c for c, called in calls.items() if called and node.process_id == called]
            for host in hosts:
                outer = boxes.get(host)
                if host != node.id and outer is not None and _inside(node.bounds, outer):
                    holding.add(host)
        return [
            replace(n, expanded=True)
            if n.kind in SUBPROCESS_KINDS and n.expanded is None and n.id in holding
            else n
            for n in nodes
        ]

    def unknown_nodes(self, nodes: list[Node], lanes: list[Lane]) -> list[Node]:
        """A node of kind "unknown" for each shape nothing else took: one for an element
        the file lacks, or of a kind the graph has no place for (a choreography task, a
        conversation); a second shape of an element that has one is left out."""
        if self.plane is None:
            return []
        taken = {*self.nodes, *self.pools, *(x.id for x in lanes)}
        self.taken = taken | set(self.plane.edges)
        unknown: list[Node] = []
        for shape in self.plane.all_shapes:
            written = (shape.get("bpmnElement") or "").strip()
            ident = self.ref(written)
            if ident in taken and self.plane.shapes.get(ident) is shape:
                continue
            element = self.ref.by_id.get(ident) if ident else None
            if ident in taken:
                self.notes.add("shape.twice", shape=_di_id(shape), element=self.what(ident))
                continue
            box = graph_di.bounds(shape)
            if box is None:  # no element we can draw and no place: nothing to draw it from
                self.notes.add("shape.lost", shape=_di_id(shape))
                continue
            if not written:
                self.notes.add("shape.no_reference", shape=_di_id(shape))
            elif element is None:
                self.notes.add("shape.no_element", shape=_di_id(shape), element=written)
            else:
                kind = _local(element)
                self.notes.add(
                    "shape.unreadable", shape=_di_id(shape), element=self.what(ident), kind=kind
                )
            node_id = self.fresh(ident, shape.get("id"))
            unknown.append(
                Node(
                    id=node_id,
                    kind=UNKNOWN_KIND,
                    name=(element.get("name") or "") if element is not None else "",
                    bounds=box,
                    label_bounds=graph_di.label_bounds(shape),
                )
            )
            self.di_nodes[_di_id(shape)] = node_id
        return unknown

    def fresh(self, *candidates: str | None) -> str:
        """The first candidate id no item of the graph has yet (then it has it)."""
        for candidate in candidates:
            if candidate and candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        n = 1
        while f"di-{n}" in self.taken:
            n += 1
        self.taken.add(f"di-{n}")
        return f"di-{n}"

    def end_of(
        self, ident: str | None, kind: str, ends: Mapping[str, Bounds | None], at: Point | None
    ) -> str | None:
        """Where an edge meeting `ident` is drawn to: the element; for a flow (an
        annotation's association or a data association drawn onto a flow), the flow's end
        nearer to `at`, where the edge touches it; for an element this diagram does not show,
        its closest shown sub-process, or for a message flow the pool of its process; None
        when none of them is shown."""
        if ident is None or ident in ends:
            return ident
        element = self.ref.by_id.get(ident)
        if element is not None and _local(element) in EDGE_KINDS:
            sides = [self.ref(element.get("sourceRef")), self.ref(element.get("targetRef"))]
            shown = [s for s in sides if s is not None and s in ends]
            if at is None or len(shown) < 2:
                return shown[0] if shown else None
            return min(shown, key=lambda s: _distance(at, ends[s]))
        found = _nearest(ident, self.parents, self.nodes)
        if found is not None:
            return found
        if kind == "messageFlow":
            process = self.process_of.get(ident)
            for pool in self.pools.values():
                if process is not None and pool.process_id == process:
                    return pool.id
        return None

    def resolved_edges(self, nodes: list[Node]) -> Iterator[Edge]:
        ends = self.boxes(nodes)
        done: set[str] = set()  # a repeated id: the first wins
        for element, owner in self.edge_elements:
            kind, ident = _local(element), element.get("id")
            if not ident or ident in done:
                continue
            if self.plane is not None and ident not in self.plane.edges:
                continue  # not on this diagram
            source, target = self.ends(element, kind, owner, ends)
            di = self.plane.edges[ident] if self.plane is not None else None
            points = graph_di.waypoints(di)
            drawn_source = self.end_of(source, kind, ends, points[0] if points else None)
            drawn_target = self.end_of(target, kind, ends, points[-1] if points else None)
            if drawn_source is None or drawn_target is None:
                missing = source if drawn_source is None else target
                self.missing_end(ident, kind, missing)
                continue
            done.add(ident)
            condition = element.find(_q(MODEL, "conditionExpression"))
            source_element = self.ref.element(element.get("sourceRef"))
            visible = di.get("messageVisibleKind") if di is not None else None
            yield Edge(
                id=ident,
                kind=kind,
                source=drawn_source,
                target=drawn_target,
                name=element.get("name") or "",
                condition=(_text(condition) or None) if kind == "sequenceFlow" else None,
                is_default=(
                    kind == "sequenceFlow"
                    and source_element is not None
                    and self.ref(source_element.get("default")) == ident
                ),
                waypoints=points,
                label_bounds=graph_di.label_bounds(di),
                message=visible if kind == "messageFlow" and visible in MESSAGE_VISIBLE else None,
                direction=element.get("associationDirection") if kind == "association" else None,
            )

    def missing_end(self, ident: str, kind: str, missing: str | None) -> None:
        if self.plane is None:
            self.notes.add(
                "flow.end_missing", kind=kind, element=self.what(ident), end=self.what(missing)
            )
        else:
            absent = missing is None or missing not in self.ref.by_id
            self.notes.add(
                "edge.end_absent" if absent else "edge.end_missing",
                edge=_di_id(self.plane.edges[ident]),
                element=self.what(ident),
                end=self.what(missing),
            )

    def ends(
        self, element: etree._Element, kind: str, owner: str, ends: Container[str]
    ) -> tuple[str | None, str | None]:
        """Where an edge is drawn from and to.

        A data association's own sourceRef/targetRef name the data object reference on one
        side and the activity's internal data input/output on the other; the drawing joins
        the data object reference and the activity that holds the association.
        """
        if kind == "dataInputAssociation":
            sources = [self.ref(s.text) for s in element.iterchildren(_q(MODEL, "sourceRef"))]
            shown = next((s for s in sources if s in ends), None)
            return shown or next((s for s in sources if s), None), owner
        if kind == "dataOutputAssociation":
            return owner, self.ref(element.findtext(_q(MODEL, "targetRef")))
        return self.ref(element.get("sourceRef")), self.ref(element.get("targetRef"))

    def unknown_edges(self, nodes: list[Node], edges: list[Edge]) -> list[Edge]:
        """An edge of kind "unknown" for each BPMNEdge nothing else took, when its ends can
        be found: the shapes its DI names (sourceElement, targetElement), the element's own
        sourceRef and targetRef, or the shapes under its first and last waypoints."""
        if self.plane is None:
            return []
        made = {e.id for e in edges}
        self.taken |= made
        # A DI id -> the element it shows: edges may name shapes or other edges as ends.
        by_di = {_di_id(s): i for i, s in self.plane.shapes.items()} | self.di_nodes
        by_di |= {_di_id(e): i for i, e in self.plane.edges.items()}
        ends = self.boxes(nodes)
        unknown: list[Edge] = []
        for edge in self.plane.all_edges:
            written = (edge.get("bpmnElement") or "").strip()
            ident = self.ref(written)
            if ident in made and self.plane.edges.get(ident) is edge:
                continue
            element = self.ref.by_id.get(ident) if ident else None
            kind = _local(element) if element is not None else ""
            if ident in made or (ident in self.plane.edges and self.plane.edges[ident] is not edge):
                self.notes.add("edge.twice", edge=_di_id(edge), element=self.what(ident))
                continue
            if kind in EDGE_KINDS or kind in DATA_ASSOCIATION_KINDS:
                continue  # a flow whose end is not shown: said in resolved_edges
            points = graph_di.waypoints(edge)
            first, last = (points[0], points[-1]) if points else (None, None)
            candidates = [
                (
                    by_di.get(edge.get("sourceElement") or ""),
                    by_di.get(edge.get("targetElement") or ""),
                ),
            ]
            if element is not None:
                candidates.append(
                    (self.ref(element.get("sourceRef")), self.ref(element.get("targetRef")))
                )
            if first is not None and last is not None:
                candidates.append((_holding(first, nodes), _holding(last, nodes)))
            found = None
            for source_id, target_id in candidates:
                source = self.end_of(source_id, UNKNOWN_KIND, ends, first)
                target = self.end_of(target_id, UNKNOWN_KIND, ends, last)
                if source is not None and target is not None:
                    found = (source, target)
                    break
            self.unknown_edge_note(edge, written, element, kind, drawn=found is not None)
            if found is None:
                continue
            source, target = found
            unknown.append(
                Edge(
                    id=self.fresh(ident, edge.get("id")),
                    kind=UNKNOWN_KIND,
                    source=source,
                    target=target,
                    name=(element.get("name") or "") if element is not None else "",
                    waypoints=points,
                    label_bounds=graph_di.label_bounds(edge),
                )
            )
        return unknown

    def boxes(self, nodes: list[Node]) -> dict[str, Bounds | None]:
        """What an edge may end on (nodes and pools), with their DI bounds."""
        return {n.id: n.bounds for n in nodes} | {p.id: p.bounds for p in self.pools.values()}

    def unknown_edge_note(
        self,
        edge: etree._Element,
        written: str,
        element: etree._Element | None,
        kind: str,
        *,
        drawn: bool,
    ) -> None:
        tail = "" if drawn else "_lost"
        if not written:
            self.notes.add("edge.no_reference" + tail, edge=_di_id(edge))
        elif element is None:
            self.notes.add("edge.no_element" + tail, edge=_di_id(edge), element=written)
        else:
            ident = element.get("id")
            self.notes.add(
                "edge.unreadable" + tail, edge=_di_id(edge), element=self.what(ident), kind=kind
            )

    def name(
        self,
        processes: list[etree._Element],
        collaborations: list[etree._Element],
        shown: tuple[str, ...],
        file: str | None,
    ) -> str:
        """The collaboration's name, else the first process's name, else its id, else the
        file name.  With DI, the collaboration is the one the diagram's plane stands for."""
        if self.plane is None:
            collaboration = collaborations[0] if collaborations else None
        else:
            plane_element = self.ref.element(self.plane.element)
            is_collaboration = plane_element is not None and _local(plane_element) == (
                "collaboration"
            )
            collaboration = plane_element if is_collaboration else None
        if collaboration is not None and collaboration.get("name"):
            return str(collaboration.get("name"))
        first = shown[0] if shown else (processes[0].get("id") if processes else None)
        if first:
            return str(self.ref.by_id[first].get("name") or first)
        return file or ""


def _distance(point: Point, box: Bounds | None) -> float:
    """From `point` to the middle of `box` (infinite without one)."""
    if box is None:
        return math.inf
    return math.hypot(point.x - box.x - box.width / 2, point.y - box.y - box.height / 2)


def _horizontal(shape: etree._Element | None) -> bool:
    """DI isHorizontal: pools and lanes are horizontal unless the shape says false."""
    return _xml_bool(shape.get("isHorizontal") if shape is not None else None, True)


def _di_id(di: etree._Element) -> str:
    """A BPMNShape's or BPMNEdge's own id, as messages name it; its line without one."""
    return di.get("id") or f"(line {di.sourceline})"
