"""Writing a diagram (BPMN DI) into a BPMN file that has none, from a layout given in
bpmn.io's pixels.

A file imported without a diagram cannot be shown or edited in the modeler; the designer
lays it out automatically (graphviz, in diagrams/) and the result is written here as one
`bpmndi:BPMNDiagram`, so that the modeler opens it as if it had been drawn.  Pure: text in,
text out; where everything goes is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from engine.core.graph import Bounds, Point
from engine.core.graph_xml import BPMNDI, DC, DI, MODEL

__all__ = ["DiLayout", "DiShape", "add_diagram"]


@dataclass(frozen=True)
class DiShape:
    """Where one element goes: `bounds` in pixels, x and y its top-left corner (y down)."""

    element_id: str
    bounds: Bounds
    horizontal: bool = False  # pools and lanes, named at their left
    expanded: bool = False  # sub-processes drawn open, their content inside


@dataclass(frozen=True)
class DiLayout:
    """Every shape and every flow's waypoints, in the order they are written."""

    shapes: Sequence[DiShape]
    edges: Sequence[tuple[str, Sequence[Point]]]


def add_diagram(xml: str, layout: DiLayout) -> str:
    """`xml` with one more diagram, `layout`, on the plane of its collaboration (or of its
    first process when it has none)."""
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    owner = root.find(f"{{{MODEL}}}collaboration")
    if owner is None:
        owner = root.find(f"{{{MODEL}}}process")
    diagram = etree.SubElement(
        root,
        f"{{{BPMNDI}}}BPMNDiagram",
        id="diagram_auto_layout",
        nsmap={"bpmndi": BPMNDI, "dc": DC, "di": DI},
    )
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id="plane_auto_layout")
    if owner is not None and owner.get("id"):
        plane.set("bpmnElement", owner.get("id") or "")
    for shape in layout.shapes:
        found = etree.SubElement(
            plane,
            f"{{{BPMNDI}}}BPMNShape",
            id=f"{shape.element_id}_di",
            bpmnElement=shape.element_id,
        )
        if shape.horizontal:
            found.set("isHorizontal", "true")
        if shape.expanded:
            found.set("isExpanded", "true")
        box = shape.bounds
        etree.SubElement(
            found,
            f"{{{DC}}}Bounds",
            x=_px(box.x),
            y=_px(box.y),
            width=_px(box.width),
            height=_px(box.height),
        )
    for edge_id, points in layout.edges:
        edge = etree.SubElement(
            plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{edge_id}_di", bpmnElement=edge_id
        )
        for point in points:
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=_px(point.x), y=_px(point.y))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _px(value: float) -> str:
    return str(round(value))
