"""Where everything goes: a Layout in graphviz points, y up, and the one built from BPMN DI.

A Layout is geometry only (no colours, no notation): node boxes, edge paths, pool and lane
rectangles, canvas size.  The drawing (dot.py) trusts it completely, so graphviz never lays
anything out when a diagram is rendered; the layout is either the designer's (BPMN DI, here)
or computed once by `dot` (auto.py, run by render.py) and cached.

Scale: 1 DI pixel = 0.75 pt.  A browser shows 1 pt as 4/3 CSS px, so the SVG appears exactly
at the size the designer drew it in bpmn.io, and bpmn.io's 12 px labels become 9 pt text.
The content is translated so its top-left corner sits MARGIN points from the canvas corner.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from diagrams.errors import DiagramError
from diagrams.text import lines
from engine.core.graph import (
    EVENT_KINDS,
    GATEWAY_KINDS,
    SUBPROCESS_KINDS,
    Bounds,
    Edge,
    Graph,
    Node,
    Point,
)

SCALE = 0.75  # points per DI pixel
MARGIN = 12.0  # points of white around the content
HEADER = 30 * SCALE  # the strip bpmn.io keeps at the left of a pool or lane for its name
LABEL_SIZE = 9.0  # font size of names, points (bpmn.io's 12 px)
LABEL_LINE = 11.0  # line height of names, points
FLOW_LABEL_SIZE = 8.0  # font size of flow names, points (bpmn.io's 11 px)
# Nodes whose name is written outside the shape (below it, or where DI put the label).
OUTSIDE_LABEL_KINDS = (
    EVENT_KINDS | GATEWAY_KINDS | {"dataObjectReference", "dataObject", "dataStoreReference"}
)


@dataclass(frozen=True)
class Box:
    """A rectangle by its centre (points, y up) and size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2

    @property
    def top(self) -> float:
        return self.y + self.height / 2

    @property
    def bottom(self) -> float:
        return self.y - self.height / 2

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.bottom < other.top
            and other.bottom < self.top
        )


def box_around(points: Iterable[Point]) -> Box:
    xs, ys = zip(*((p.x, p.y) for p in points), strict=True)
    return Box(
        (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys)
    )


@dataclass(frozen=True)
class Area:
    """A pool or a lane: its rectangle, the shaded header strip, and where its name goes."""

    id: str
    kind: str  # "pool" or "lane"
    name: str
    box: Box
    label: Box  # the name is written inside this box
    align: str = "left"  # "left" or "center" inside `label`
    header: Box | None = None  # a strip at the area's left, shaded; None: no strip


@dataclass(frozen=True)
class EdgePath:
    """An edge from its source's border to its target's border.

    `points` is a polyline, or with `curved` the control points of a cubic B-spline
    (3n+1 points, as graphviz writes them); dot.py shortens either end for arrowheads.
    """

    points: tuple[Point, ...]
    curved: bool = False
    label: Point | None = None  # centre of the flow's name


@dataclass(frozen=True)
class Layout:
    """Everything at its place; the canvas spans (0, 0) to (width, height) points."""

    width: float
    height: float
    nodes: Mapping[str, Box] = field(default_factory=dict)
    labels: Mapping[str, Box] = field(default_factory=dict)  # names drawn outside the shape
    edges: Mapping[str, EdgePath] = field(default_factory=dict)
    areas: tuple[Area, ...] = ()  # outermost first: pools, then lanes, parents before children
    scale: float = SCALE  # points per DI pixel (drawn) or 1.0 (auto)
    containers: frozenset[str] = frozenset()  # sub-processes drawn open, behind their children


def outline(kind: str) -> str:
    """The outline an edge ends on: "circle", "diamond" or "rect"."""
    if kind in EVENT_KINDS:
        return "circle"
    if kind in GATEWAY_KINDS:
        return "diamond"
    return "rect"


def border_point(box: Box, shape: str, toward: Point) -> Point:
    """Where the ray from the centre of `box` toward `toward` leaves the outline."""
    dx, dy = toward.x - box.x, toward.y - box.y
    if dx == 0 and dy == 0:
        return Point(box.x, box.y)
    hw, hh = box.width / 2, box.height / 2
    if shape == "circle":
        t = min(hw, hh) / math.hypot(dx, dy)
    elif shape == "diamond":
        t = 1 / (abs(dx) / hw + abs(dy) / hh)
    else:
        t = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    return Point(box.x + dx * t, box.y + dy * t)


def straight(source: Box, source_shape: str, target: Box, target_shape: str) -> tuple[Point, ...]:
    """The line between two centres, cut at both outlines (for flows without waypoints)."""
    return (
        border_point(source, source_shape, Point(target.x, target.y)),
        border_point(target, target_shape, Point(source.x, source.y)),
    )


def label_point(points: tuple[Point, ...]) -> Point:
    """A default spot for a flow's name: half way along, 8 pt beside the line."""
    segments = list(itertools.pairwise(points))
    lengths = [math.dist((a.x, a.y), (b.x, b.y)) for a, b in segments]
    remaining = sum(lengths) / 2
    for (a, b), length in zip(segments, lengths, strict=True):
        if remaining <= length and length > 0:
            t = remaining / length
            ux, uy = (b.x - a.x) / length, (b.y - a.y) / length
            # The normal that points up (or right, for a vertical line).
            nx, ny = (-uy, ux) if ux > 0 or (ux == 0 and uy < 0) else (uy, -ux)
            return Point(a.x + (b.x - a.x) * t + 8 * nx, a.y + (b.y - a.y) * t + 8 * ny)
        remaining -= length
    return points[0]


def default_label_box(node: Node, shape: Box) -> Box:
    """Below the shape, as bpmn.io puts the name of an event or gateway without DI label."""
    width = max(shape.width, 90 * SCALE)
    count = max(1, len(lines(node.name, width, LABEL_SIZE)))
    height = count * LABEL_LINE + 2
    return Box(shape.x, shape.bottom - 3 - height / 2, width, height)


def edge_text(edge: Edge) -> str:
    """What is written along a flow: its name, else its condition."""
    return edge.name or (edge.condition or "")


class _Transform:
    """DI pixels (y down) to points (y up), translated so the content starts at MARGIN."""

    def __init__(self, x0: float, y1: float) -> None:
        self.x0, self.y1 = x0, y1

    def point(self, p: Point) -> Point:
        return Point((p.x - self.x0) * SCALE + MARGIN, (self.y1 - p.y) * SCALE + MARGIN)

    def box(self, b: Bounds) -> Box:
        centre = self.point(Point(b.x + b.width / 2, b.y + b.height / 2))
        return Box(centre.x, centre.y, b.width * SCALE, b.height * SCALE)


def _extent(graph: Graph) -> tuple[float, float, float, float]:
    """Min x, min y, max x, max y of everything with DI, in DI pixels."""
    bounds = [n.bounds for n in graph.nodes] + [n.label_bounds for n in graph.nodes]
    bounds += [a.bounds for a in graph.lanes] + [e.label_bounds for e in graph.edges]
    laned = {lane.process_id for lane in graph.lanes}
    for pool in graph.pools:
        bounds.append(pool.bounds)
        if pool.bounds and pool.process_id in laned:
            # Room for the pool's name, written above a pool whose left strip holds lanes.
            p = pool.bounds
            bounds.append(Bounds(p.x, p.y - 20, p.width, 20))
    xs: list[float] = []
    ys: list[float] = []
    for b in bounds:
        if b is not None:
            xs += [b.x, b.x + b.width]
            ys += [b.y, b.y + b.height]
    for edge in graph.edges:
        xs += [p.x for p in edge.waypoints]
        ys += [p.y for p in edge.waypoints]
    if not xs:
        raise DiagramError(
            f"{graph.file or graph.name}: no element has diagram coordinates (BPMN DI); "
            "draw it with the automatic layout"
        )
    return min(xs), min(ys), max(xs), max(ys)


def _areas(graph: Graph, t: _Transform) -> list[Area]:
    areas: list[Area] = []
    laned = {lane.process_id for lane in graph.lanes}
    for pool in graph.pools:
        if pool.bounds is None:
            continue
        box = t.box(pool.bounds)
        if pool.process_id is None:  # a black box: the name in the middle, no strip
            areas.append(Area(pool.id, "pool", pool.name, box, box, "center"))
            continue
        header = Box(box.left + HEADER / 2, box.y, HEADER, box.height)
        if pool.process_id in laned:
            label = Box(box.x, box.top + 8, box.width, 14)
        else:
            label = _inside_label(box)
        areas.append(Area(pool.id, "pool", pool.name, box, label, "left", header))
    depth = {lane.id: _depth(graph, lane.id) for lane in graph.lanes}
    for lane in sorted(graph.lanes, key=lambda lane: depth[lane.id]):
        if lane.bounds is None:
            continue
        box = t.box(lane.bounds)
        header = Box(box.left + HEADER / 2, box.y, HEADER, box.height)
        areas.append(Area(lane.id, "lane", lane.name, box, _inside_label(box), "left", header))
    return areas


def _inside_label(box: Box) -> Box:
    """The top-left corner of an area, right of its header strip (graphviz cannot rotate
    text, so the name runs horizontally where bpmn.io writes it upwards in the strip)."""
    width = box.width - HEADER - 8
    return Box(box.left + HEADER + 5 + width / 2, box.top - 10, width, 14)


def _depth(graph: Graph, lane_id: str) -> int:
    parents = {lane.id: lane.parent_id for lane in graph.lanes}
    depth, current = 0, parents.get(lane_id)
    while current is not None and depth < len(parents):
        depth, current = depth + 1, parents.get(current)
    return depth


def drawn_layout(graph: Graph) -> Layout:
    """The layout the designer drew (BPMN DI), uniformly scaled: 1 DI px = 0.75 pt.

    Elements without DI bounds are left out (draw such files with the automatic layout);
    flows without waypoints run straight between their ends.
    """
    x0, y0, x1, y1 = _extent(graph)
    t = _Transform(x0, y1)
    nodes = {n.id: t.box(n.bounds) for n in graph.nodes if n.bounds is not None}
    by_id = {n.id: n for n in graph.nodes}
    labels: dict[str, Box] = {}
    for node in graph.nodes:
        if node.id in nodes and node.kind in OUTSIDE_LABEL_KINDS and node.name.strip():
            labels[node.id] = (
                t.box(node.label_bounds)
                if node.label_bounds is not None
                else default_label_box(node, nodes[node.id])
            )
    areas = tuple(_areas(graph, t))
    boxes = {a.id: a.box for a in areas} | nodes
    edges: dict[str, EdgePath] = {}
    for edge in graph.edges:
        if len(edge.waypoints) >= 2:
            points = tuple(t.point(p) for p in edge.waypoints)
        elif edge.source in boxes and edge.target in boxes:
            source = by_id[edge.source].kind if edge.source in by_id else "pool"
            target = by_id[edge.target].kind if edge.target in by_id else "pool"
            points = straight(
                boxes[edge.source], outline(source), boxes[edge.target], outline(target)
            )
        else:
            continue
        label = None
        if edge.label_bounds is not None:
            b = t.box(edge.label_bounds)
            label = Point(b.x, b.y)
        elif edge_text(edge).strip():
            label = label_point(points)
        edges[edge.id] = EdgePath(points, False, label)
    width = (x1 - x0) * SCALE + 2 * MARGIN
    height = (y1 - y0) * SCALE + 2 * MARGIN
    containers = frozenset(
        n.id for n in graph.nodes if n.id in nodes and n.kind in SUBPROCESS_KINDS and n.expanded
    )
    return Layout(width, height, nodes, labels, edges, areas, SCALE, containers)
