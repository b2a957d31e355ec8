"""The diagram-interchange (BPMN DI) side of reading a file: which diagrams it has, which is
the main one, and what one diagram's plane holds.

A file may carry several bpmndi:BPMNDiagram elements: one per collaboration (MIWG C.4.0),
one per called process (C.5.0), one per collapsed sub-process drawn inside (bpmn.io writes
an empty one for each).  The main diagram is the one a designer means by "the model": a
collaboration's, else the one showing the most, the first of equals in file order.

Pure: reads an lxml tree it is handed.  engine.core.graph_xml builds the Graph from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine.core.graph import Bounds, Point
from engine.core.xml_repair import BPMNDI, DC, DI, MODEL
from engine.errors import DefinitionError

__all__ = ["Plane", "Refs", "bounds", "choose", "label_bounds", "summaries", "waypoints"]


def q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def local(element: etree._Element) -> str:
    """The element's BPMN name ("userTask"), or "" for anything outside the BPMN namespace."""
    namespace, _, name = element.tag.rpartition("}")
    return name if namespace == "{" + MODEL else ""


class Refs:
    """Resolves id references as files write them.

    BPMN references are IDREFs or QNames; some tools prefix the QName ("tns:task_1").
    The prefix is dropped only when the bare id names an element, so an id that really
    contains a colon still resolves to itself.
    """

    def __init__(self, root: etree._Element) -> None:
        self.by_id: dict[str, etree._Element] = {}
        for element in root.iter(etree.Element):
            ident = element.get("id")
            if ident and local(element) and ident not in self.by_id:
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


@dataclass(frozen=True)
class Plane:
    """What one diagram shows.

    `shapes` and `edges` map a BPMN element id to its first BPMNShape or BPMNEdge (what the
    graph is built from); `all_shapes` and `all_edges` are every one of them in file order,
    so that what the graph could not use is found and reported, never dropped silently.
    """

    diagram: str | None
    element: str | None  # what the plane as a whole stands for (collaboration, process, ...)
    shapes: dict[str, etree._Element]
    edges: dict[str, etree._Element]
    all_shapes: tuple[etree._Element, ...]
    all_edges: tuple[etree._Element, ...]

    @staticmethod
    def of(diagram: etree._Element, ref: Refs) -> Plane:
        plane = diagram.find(q(BPMNDI, "BPMNPlane"))
        shapes: dict[str, etree._Element] = {}
        edges: dict[str, etree._Element] = {}
        all_shapes = tuple(plane.iter(q(BPMNDI, "BPMNShape"))) if plane is not None else ()
        all_edges = tuple(plane.iter(q(BPMNDI, "BPMNEdge"))) if plane is not None else ()
        for shape in all_shapes:
            target = ref(shape.get("bpmnElement"))
            if target is not None:
                shapes.setdefault(target, shape)  # a second shape of one element: first wins
        for edge in all_edges:
            target = ref(edge.get("bpmnElement"))
            if target is not None:
                edges.setdefault(target, edge)
        element = ref(plane.get("bpmnElement")) if plane is not None else None
        return Plane(diagram.get("id"), element, shapes, edges, all_shapes, all_edges)

    @property
    def size(self) -> int:
        return len(self.all_shapes) + len(self.all_edges)


def bounds(element: etree._Element | None) -> Bounds | None:
    """dc:Bounds of a shape or label; None when absent or not four finite numbers."""
    found = element.find(q(DC, "Bounds")) if element is not None else None
    if found is None:
        return None
    try:
        values = [float(found.get(a)) for a in ("x", "y", "width", "height")]
    except (TypeError, ValueError):
        return None
    return Bounds(*values) if all(math.isfinite(v) for v in values) else None


def label_bounds(di: etree._Element | None) -> Bounds | None:
    return bounds(di.find(q(BPMNDI, "BPMNLabel")) if di is not None else None)


def waypoints(edge: etree._Element | None) -> tuple[Point, ...]:
    if edge is None:
        return ()
    points = []
    for waypoint in edge.iterchildren(q(DI, "waypoint")):
        try:
            x, y = float(waypoint.get("x")), float(waypoint.get("y"))
        except (TypeError, ValueError):
            continue  # one unreadable bend is better dropped than the whole edge
        if math.isfinite(x) and math.isfinite(y):
            points.append(Point(x, y))
    return tuple(points)


# --- the file's diagrams --------------------------------------------------------------------


def diagrams_of(root: etree._Element) -> list[etree._Element]:
    return list(root.iterchildren(q(BPMNDI, "BPMNDiagram")))


def _is_collaboration(plane: Plane, ref: Refs) -> bool:
    element = ref.element(plane.element)
    return element is not None and local(element) == "collaboration"


def main_index(planes: list[Plane], ref: Refs) -> int | None:
    """The main diagram's position: a collaboration's before any other, then the one that
    shows the most shapes and edges; max() keeps the first of equals (file order)."""
    if not planes:
        return None
    scores = [(_is_collaboration(p, ref), p.size) for p in planes]
    return max(range(len(planes)), key=lambda i: scores[i])


def summaries(root: etree._Element) -> list[dict[str, Any]]:
    """Each diagram of the file, in file order, for a person choosing one: its id and name
    (None when the file gives none), what its plane stands for, how many shapes and edges
    it holds, and whether it is the main one (drawn unless another is asked for)."""
    ref = Refs(root)
    found = diagrams_of(root)
    planes = [Plane.of(d, ref) for d in found]
    main = main_index(planes, ref)
    listed = []
    for n, (diagram, plane) in enumerate(zip(found, planes, strict=True)):
        element = ref.element(plane.element)
        listed.append(
            {
                "id": diagram.get("id") or None,
                "name": diagram.get("name") or None,
                "plane": plane.element,
                "plane_kind": local(element) if element is not None else None,
                "shapes": len(plane.all_shapes),
                "edges": len(plane.all_edges),
                "main": n == main,
            }
        )
    return listed


def choose(
    root: etree._Element, wanted: str | None, file: str | None, ref: Refs | None = None
) -> etree._Element | None:
    """The diagram to draw: `wanted` as an id, else as a name (BPMNDiagram/@name), else the
    main one; None for a file without DI.  DefinitionError for a diagram the file lacks or
    a name several diagrams share."""
    found = diagrams_of(root)
    if wanted is None:
        ref = ref if ref is not None else Refs(root)
        main = main_index([Plane.of(d, ref) for d in found], ref)
        return found[main] if main is not None else None
    by_id = [d for d in found if d.get("id") == wanted]
    if by_id:
        return by_id[0]
    by_name = [d for d in found if (d.get("name") or "").strip() == wanted.strip()]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        ids = ", ".join(d.get("id") or "?" for d in by_name)
        raise DefinitionError(
            f"several diagrams are called this ({ids}): choose one by its id",
            file=file,
            element_id=wanted,
        )
    names = ", ".join(_described(d) for d in found) or "none"
    raise DefinitionError(
        f"the file has no such diagram (its diagrams: {names})", file=file, element_id=wanted
    )


def _described(diagram: etree._Element) -> str:
    ident, name = diagram.get("id"), diagram.get("name")
    if ident and name and name != ident:
        return f'{ident} "{name}"'
    return ident or (f'"{name}"' if name else "one without an id")
