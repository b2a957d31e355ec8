"""BPMN XML -> engine.core.graph.Graph: the parser behind `graph_from_xml` and `diagram_ids`.

Import these from engine.core.graph; this module only keeps the parsing out of the types file.

Pure: reads only the text it is handed (no files, no network, no clock).  Built on lxml and
not on SpiffWorkflow's parser, because a designer must be able to look at files that would
never run: isExecutable="false", data stores, implicit splits, other vendors' extensions.

One Graph per BPMN diagram (bpmndi:BPMNDiagram).  With DI, a graph holds exactly what the
chosen diagram's plane shows, so a file whose collaborations or collapsed sub-processes are
drawn on several diagrams gives one picture per diagram, as in the modeller that drew it.
A file without any DI gives every element, with no bounds, for diagrams/ to lay out.

Files from other tools are often inconsistent (DI for unknown elements, flows to missing
nodes); what cannot be drawn is left out instead of failing the whole file.  The promise to
diagrams/: every id a Graph refers to (edge ends, parent_id, lane_id, attached_to, a lane's
parent_id) is a node, pool or lane of that same Graph; a reference that would dangle is None
and an edge that would dangle is not there.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, replace

from lxml import etree

from engine.core.graph import (
    ARTIFACT_KINDS,
    EVENT_DEFINITIONS,
    EVENT_KINDS,
    GATEWAY_KINDS,
    SUBPROCESS_KINDS,
    TASK_KINDS,
    Bounds,
    Edge,
    Graph,
    Lane,
    Node,
    Point,
    Pool,
)
from engine.errors import DefinitionError

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

FLOW_NODE_KINDS = EVENT_KINDS | TASK_KINDS | SUBPROCESS_KINDS | GATEWAY_KINDS
# Sub-processes whose contents are defined inside them; a call activity's contents belong to
# another process, which is drawn (if at all) as that process.
CONTAINER_KINDS = SUBPROCESS_KINDS - {"callActivity"}
EDGE_KINDS = frozenset({"sequenceFlow", "association", "messageFlow"})
DATA_ASSOCIATION_KINDS = frozenset({"dataInputAssociation", "dataOutputAssociation"})


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _local(element: etree._Element) -> str:
    """The element's BPMN name ("userTask"), or "" for anything outside the BPMN namespace."""
    namespace, _, name = element.tag.rpartition("}")
    return name if namespace == "{" + MODEL else ""


def _elements(parent: etree._Element) -> Iterator[etree._Element]:
    """Child elements only: comments, processing instructions and the entity references
    left in place (entities are never resolved) are not part of the model."""
    return parent.iterchildren(etree.Element)


def parse_definitions(xml: str | bytes, file: str | None = None) -> etree._Element:
    """The <definitions> root, or DefinitionError naming the file (and the line if known)."""
    if isinstance(xml, str):
        # lxml refuses text that still declares an encoding; it is decoded already, so hand
        # it over as UTF-8 and tell the parser to ignore the declaration.
        data, encoding = xml.encode("utf-8", "surrogateescape"), "utf-8"
    else:
        data, encoding = xml, None
    # No entity expansion and no network: uploaded files must not read local files or URLs.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, encoding=encoding)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise DefinitionError(
            f"not well-formed XML: {error.msg}", file=file, line=error.lineno
        ) from error
    if root.tag != _q(MODEL, "definitions"):
        raise DefinitionError(
            f"not a BPMN 2.0 file: the root element is {root.tag!r}, "
            f"expected 'definitions' in the namespace {MODEL}",
            file=file,
            line=root.sourceline,
        )
    return root


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
    chosen by id; graph_from_xml still shows it when it comes first)."""
    root = parse_definitions(xml, file)
    return [d.get("id") for d in root.iterchildren(_q(BPMNDI, "BPMNDiagram")) if d.get("id")]


def graph_from_xml(
    xml: str | bytes, *, file: str | None = None, diagram: str | None = None
) -> Graph:
    """The Graph of one diagram of a BPMN file (the first diagram unless one is named)."""
    root = parse_definitions(xml, file)
    diagrams = list(root.iterchildren(_q(BPMNDI, "BPMNDiagram")))
    if diagram is not None:
        chosen = next((d for d in diagrams if d.get("id") == diagram), None)
        if chosen is None:
            raise DefinitionError("the file has no such diagram", file=file, element_id=diagram)
    else:
        chosen = diagrams[0] if diagrams else None
    return _Reader(root, chosen).graph(file)


# --- DI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plane:
    """What one diagram shows: BPMN element id -> its BPMNShape or BPMNEdge."""

    diagram: str | None
    element: str | None  # what the plane as a whole stands for (collaboration, process, ...)
    shapes: dict[str, etree._Element]
    edges: dict[str, etree._Element]


def _plane(diagram: etree._Element, ref: _Refs) -> _Plane:
    plane = diagram.find(_q(BPMNDI, "BPMNPlane"))
    shapes: dict[str, etree._Element] = {}
    edges: dict[str, etree._Element] = {}
    if plane is not None:
        for shape in plane.iter(_q(BPMNDI, "BPMNShape")):
            target = ref(shape.get("bpmnElement"))
            if target is not None:
                shapes.setdefault(target, shape)  # a second shape of one element: first wins
        for edge in plane.iter(_q(BPMNDI, "BPMNEdge")):
            target = ref(edge.get("bpmnElement"))
            if target is not None:  # an edge standing for nothing cannot be keyed
                edges.setdefault(target, edge)
    element = ref(plane.get("bpmnElement")) if plane is not None else None
    return _Plane(diagram.get("id"), element, shapes, edges)


def _bounds(element: etree._Element | None) -> Bounds | None:
    """dc:Bounds of a shape or label; None when absent or not four finite numbers."""
    found = element.find(_q(DC, "Bounds")) if element is not None else None
    if found is None:
        return None
    try:
        values = [float(found.get(a)) for a in ("x", "y", "width", "height")]
    except (TypeError, ValueError):
        return None
    return Bounds(*values) if all(math.isfinite(v) for v in values) else None


def _label_bounds(di: etree._Element | None) -> Bounds | None:
    return _bounds(di.find(_q(BPMNDI, "BPMNLabel")) if di is not None else None)


def _waypoints(edge: etree._Element | None) -> tuple[Point, ...]:
    if edge is None:
        return ()
    points = []
    for waypoint in edge.iterchildren(_q(DI, "waypoint")):
        try:
            x, y = float(waypoint.get("x")), float(waypoint.get("y"))
        except (TypeError, ValueError):
            continue  # one unreadable bend is better dropped than the whole edge
        if math.isfinite(x) and math.isfinite(y):
            points.append(Point(x, y))
    return tuple(points)


# --- the semantic model ---------------------------------------------------------------------


class _Refs:
    """Resolves id references as files write them.

    BPMN references are IDREFs or QNames; some tools prefix the QName ("tns:task_1").
    The prefix is dropped only when the bare id names an element, so an id that really
    contains a colon still resolves to itself.
    """

    def __init__(self, root: etree._Element) -> None:
        self.by_id: dict[str, etree._Element] = {}
        for element in root.iter(etree.Element):
            ident = element.get("id")
            if ident and _local(element) and ident not in self.by_id:
                self.by_id[ident] = element

    def __call__(self, value: str | None) -> str | None:
        value = (value or "").strip()
        if value not in self.by_id and ":" in value:
            bare = value.rsplit(":", 1)[1]
            if bare in self.by_id:
                return bare
        return value or None

    def element(self, value: str | None) -> etree._Element | None:
        ident = self(value)
        return self.by_id.get(ident) if ident else None


def _xml_bool(value: str | None, default: bool) -> bool:
    text = (value or "").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    return default


def _event(element: etree._Element, ref: _Refs) -> str | None:
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


def _name(element: etree._Element, kind: str, ref: _Refs) -> str:
    """The label to draw: the name, or what an unnamed artifact stands for."""
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


@dataclass(frozen=True)
class _LaneSeen:
    lane: Lane  # parent_id is the lane it is written in, which may not be shown
    depth: int  # 0 for a lane of the process's laneSet, +1 per childLaneSet
    node_refs: tuple[str, ...]


class _Reader:
    """Reads the semantic model once, keeping what the chosen diagram shows."""

    def __init__(self, root: etree._Element, diagram: etree._Element | None) -> None:
        self.root = root
        self.ref = _Refs(root)
        self.plane = _plane(diagram, self.ref) if diagram is not None else None
        self.nodes: dict[str, Node] = {}  # shown nodes, by id, in file order
        self.parents: dict[str, str] = {}  # flow element -> its sub-process, shown or not
        self.lanes: list[_LaneSeen] = []  # shown lanes
        self.lane_parents: dict[str, str] = {}  # every nested lane -> its parent lane
        self.pools: dict[str, Pool] = {}
        # Edges wait until every node is known: a flow may be written before its ends.
        self.edge_elements: list[tuple[etree._Element, str]] = []  # (element, owner id)

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
        lanes = self.resolved_lanes()
        nodes = self.resolved_nodes()
        used = {n.process_id for n in nodes} | {x.process_id for x in lanes}
        used |= {p.process_id for p in self.pools.values()}
        shown_processes = tuple(
            p.get("id") for p in processes if self.plane is None or p.get("id") in used
        )
        return Graph(
            name=self.name(processes, collaborations, shown_processes, file),
            file=file,
            process_ids=shown_processes,
            pools=tuple(self.pools.values()),
            lanes=tuple(lanes),
            nodes=tuple(nodes),
            edges=tuple(self.resolved_edges()),
            diagram=self.plane.diagram if self.plane is not None else None,
        )

    # --- reading ---------------------------------------------------------------------------

    def read_container(
        self, container: etree._Element, process_id: str, parent: str | None
    ) -> None:
        """A process or sub-process: its lanes, nodes, flows and artifacts, recursively."""
        for child in _elements(container):
            kind, ident = _local(child), child.get("id")
            if kind == "laneSet":
                self.read_lanes(child, process_id, None, 0)
            elif not ident:
                continue  # nothing can refer to it and no DI can show it
            elif kind in EDGE_KINDS:
                self.edge_elements.append((child, ident))
            elif kind in FLOW_NODE_KINDS or kind in ARTIFACT_KINDS:
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
        if self.shows(ident, kind) and ident not in self.nodes:  # a repeated id: first wins
            shape = self.shape(ident)
            expanded = shape.get("isExpanded") if shape is not None else None
            self.nodes[ident] = Node(
                id=ident,
                kind=kind,
                name=_name(element, kind, self.ref),
                process_id=process,
                parent_id=parent,
                bounds=_bounds(shape),
                label_bounds=_label_bounds(shape),
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
                self.lanes.append(
                    _LaneSeen(
                        Lane(
                            id=ident,
                            name=lane.get("name") or "",
                            process_id=process_id,
                            parent_id=parent,
                            bounds=_bounds(self.shape(ident)),
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
                    self.pools[ident] = Pool(
                        id=ident,
                        name=child.get("name") or "",
                        # A reference to a process the file does not hold is a black box too.
                        process_id=process if process in processes else None,
                        bounds=_bounds(self.shape(ident)),
                    )
            elif kind in EDGE_KINDS:
                self.edge_elements.append((child, ident))
            elif kind in ARTIFACT_KINDS:
                self.read_node(child, kind, None, None)

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
        return [
            replace(
                node,
                lane_id=innermost[node.id][1] if node.id in innermost else None,
                parent_id=_nearest(node.parent_id, self.parents, self.nodes),
                attached_to=node.attached_to if node.attached_to in self.nodes else None,
            )
            for node in self.nodes.values()
        ]

    def resolved_edges(self) -> Iterator[Edge]:
        ends = self.nodes.keys() | self.pools.keys()
        done: set[str] = set()
        for element, owner in self.edge_elements:
            kind, ident = _local(element), element.get("id")
            if not ident or ident in done:
                continue
            if self.plane is not None and ident not in self.plane.edges:
                continue  # not on this diagram
            source, target = self.ends(element, kind, owner, ends)
            if source not in ends or target not in ends:
                continue  # an end that is missing, not drawn, or not a node or pool
            done.add(ident)
            di = self.plane.edges[ident] if self.plane is not None else None
            condition = element.find(_q(MODEL, "conditionExpression"))
            source_element = self.ref.element(element.get("sourceRef"))
            yield Edge(
                id=ident,
                kind=kind,
                source=source,
                target=target,
                name=element.get("name") or "",
                condition=(_text(condition) or None) if kind == "sequenceFlow" else None,
                is_default=(
                    kind == "sequenceFlow"
                    and source_element is not None
                    and self.ref(source_element.get("default")) == ident
                ),
                waypoints=_waypoints(di),
                label_bounds=_label_bounds(di),
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
            sources = (self.ref(s.text) for s in element.iterchildren(_q(MODEL, "sourceRef")))
            return next((s for s in sources if s in ends), None), owner
        if kind == "dataOutputAssociation":
            return owner, self.ref(element.findtext(_q(MODEL, "targetRef")))
        return self.ref(element.get("sourceRef")), self.ref(element.get("targetRef"))

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
