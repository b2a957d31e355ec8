"""Where everything goes: a Layout in graphviz points, y up, and the one built from BPMN DI.

A Layout is geometry only (no colours, no notation): node boxes, edge paths, pool and lane
rectangles, canvas size.  The drawing (dot.py) trusts it completely, so graphviz never lays
anything out when a diagram is rendered; the layout is either the designer's (BPMN DI, here)
or computed once by `dot` (auto.py, run by render.py) and cached.

Scale: 1 DI pixel = 0.75 pt.  A browser shows 1 pt as 4/3 CSS px, so the SVG appears exactly
at the size the designer drew it in bpmn.io, and bpmn.io's 12 px labels become 9 pt text.
The content is translated so its top-left corner sits MARGIN points from the canvas corner,
and the canvas grows (the content moving with it) until every name written outside a shape
is on it: files from other tools put labels where their canvas has room and ours has none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from diagrams import routes
from diagrams.areas import HEADER, Area, areas
from diagrams.errors import DiagramError
from diagrams.geometry import (
    FLOW_LABEL_LINE,
    FLOW_LABEL_SIZE,
    LABEL_LINE,
    LABEL_SIZE,
    SCALE,
    Box,
    border_point,
    label_point,
    outline,
    straight,
)
from diagrams.names import shown
from diagrams.text import fits, lines, longest_word, text_width
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

__all__ = [
    "FLOW_LABEL_LINE",
    "FLOW_LABEL_SIZE",
    "HEADER",
    "LABEL_LINE",
    "LABEL_SIZE",
    "MARGIN",
    "OUTSIDE_LABEL_KINDS",
    "SCALE",
    "Area",
    "Box",
    "EdgePath",
    "Layout",
    "annotation_text",
    "border_point",
    "default_label_box",
    "drawn_layout",
    "edge_text",
    "fitted",
    "flow_label_lines",
    "label_point",
    "moved",
    "outline",
    "outside_text",
    "straight",
    "text_extent",
]

log = logging.getLogger(__name__)

MARGIN = 12.0  # points of white around the content
TEXT_INSET = 4.0  # points between any text and the canvas's edge
FLOW_LABEL_WIDTH = 110.0  # flow names without DI label bounds wrap at this width, points
# A name fitted into a box tries these (font size, line height) in turn before it is cut
# short (notation.py keeps to few sizes: graphviz loads a font per size at every render).
FITTING = ((LABEL_SIZE, LABEL_LINE), (8.0, 10.0), (7.0, 9.0))
# Nodes whose name is written outside the shape (below it, or where DI put the label).
OUTSIDE_LABEL_KINDS = (
    EVENT_KINDS
    | GATEWAY_KINDS
    | {"dataObjectReference", "dataObject", "dataStoreReference", "dataInput", "dataOutput"}
    | {"message"}
)


@dataclass(frozen=True)
class EdgePath:
    """An edge from its source's border to its target's border.

    `points` is a polyline, or with `curved` the control points of a cubic B-spline
    (3n+1 points, as graphviz writes them); dot.py shortens either end for arrowheads.
    """

    points: tuple[Point, ...]
    curved: bool = False
    label: Point | None = None  # centre of the flow's name
    label_width: float | None = None  # the width its name wraps at (DI label bounds)


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
    missing: tuple[str, ...] = ()  # ids of the graph's elements this layout could not place


def fitted(text: str, width: float, room: float) -> tuple[list[str], float, float, bool]:
    """`text` in `width` x `room` points: its lines, font size and line height, and whether
    it is whole.  A smaller font comes before an ellipsis: the first size at which every
    word fits whole in the lines there is room for; at none, the smallest, cut short."""
    for size, line in FITTING:
        if fits(text, width, size, max(1, int(room // line))):
            return lines(text, width, size), size, line, True
    size, line = FITTING[-1]
    return lines(text, width, size, max(1, int(room // line))), size, line, False


def outside_text(name: str, label: Box) -> tuple[list[str], float, float]:
    """A name written outside its shape: its lines, font size and line height.  It fits
    its label box (the designer's, sized to their tool's font) in as many lines as the box
    is high, a smaller font before more lines; else it wraps at the usual size, never
    narrower than its longest word: outside a shape a word may overrun its box, it is never
    cut."""
    width = max(label.width * 1.05, 40.0)
    for size, line in FITTING:
        if fits(name, width, size, max(1, round(label.height / line))):
            return lines(name, width, size), size, line
    width = max(width, longest_word(name, LABEL_SIZE))
    return lines(name, width, LABEL_SIZE, 4), LABEL_SIZE, LABEL_LINE


def annotation_text(text: str, box: Box) -> tuple[list[str], float, float]:
    """A text annotation's text beside its bracket: its lines, font size and line height.
    A smaller font when that keeps it inside the box; else the usual size, running above
    and below the bracket (an annotation is never cut: its words are the designer's)."""
    width = box.width - 14
    for size, line in FITTING:
        wrapped = lines(text, width, size)
        if longest_word(text, size) <= width and len(wrapped) * line <= box.height:
            return wrapped, size, line
    return (
        lines(text, max(width, longest_word(text, LABEL_SIZE)), LABEL_SIZE),
        LABEL_SIZE,
        LABEL_LINE,
    )


def flow_label_lines(text: str, path: EdgePath) -> list[str]:
    """A flow's name wrapped as it is written: at its DI label's width (or 110 pt)."""
    width = path.label_width * 1.15 if path.label_width else FLOW_LABEL_WIDTH
    return lines(text, max(width, longest_word(text, FLOW_LABEL_SIZE)), FLOW_LABEL_SIZE, 3)


def default_label_box(node: Node, shape: Box) -> Box:
    """Below the shape, as bpmn.io puts the name of an event or gateway without DI label."""
    width = max(shape.width, 90 * SCALE)
    count = max(
        1, len(lines(node.name, max(width, longest_word(node.name, LABEL_SIZE)), LABEL_SIZE))
    )
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


def _extent(
    graph: Graph, waypoints: Mapping[str, Sequence[Point]]
) -> tuple[float, float, float, float]:
    """Min x, min y, max x, max y of everything with DI, in DI pixels (waypoints: the
    usable ones, see routes.usable)."""
    bounds = [n.bounds for n in graph.nodes] + [n.label_bounds for n in graph.nodes]
    bounds += [a.bounds for a in graph.lanes] + [e.label_bounds for e in graph.edges]
    laned = {lane.process_id for lane in graph.lanes}
    for pool in graph.pools:
        bounds.append(pool.bounds)
        if pool.bounds and pool.process_id in laned and pool.horizontal:
            # Room for the pool's name, written above a pool whose left strip holds lanes.
            p = pool.bounds
            bounds.append(Bounds(p.x, p.y - 20, p.width, 20))
    xs: list[float] = []
    ys: list[float] = []
    for b in bounds:
        if b is not None:
            xs += [b.x, b.x + b.width]
            ys += [b.y, b.y + b.height]
    for points in waypoints.values():
        xs += [p.x for p in points]
        ys += [p.y for p in points]
    if not xs:
        raise DiagramError(
            f"{graph.file or graph.name}: no element has diagram coordinates (BPMN DI); "
            "draw it with the automatic layout"
        )
    return min(xs), min(ys), max(xs), max(ys)


def _expanded(graph: Graph) -> frozenset[str]:
    """Sub-processes drawn open: DI says so, or (no isExpanded, as many tools write) they are
    drawn around their own children, whose centres all lie inside them."""
    inside: dict[str, list[Bounds]] = {}
    for node in graph.nodes:
        if node.parent_id is not None and node.bounds is not None:
            inside.setdefault(node.parent_id, []).append(node.bounds)
    found = set()
    for node in graph.nodes:
        if node.kind not in SUBPROCESS_KINDS or node.bounds is None:
            continue
        b, children = node.bounds, inside.get(node.id, [])
        around = bool(children) and all(
            b.x <= c.x + c.width / 2 <= b.x + b.width
            and b.y <= c.y + c.height / 2 <= b.y + b.height
            for c in children
        )
        if node.expanded or (node.expanded is None and around):
            found.add(node.id)
    return frozenset(found)


def _label_box(node: Node, shape: Box, t: _Transform) -> Box:
    """Where an outside name goes: the DI label bounds, unless the name written there would
    cover the event's or gateway's symbol (some tools store the shape's own bounds there,
    or size the box for a narrower font); then below it, as modelers put it."""
    if node.label_bounds is None:
        return default_label_box(node, shape)
    label = t.box(node.label_bounds)
    if node.kind not in EVENT_KINDS | GATEWAY_KINDS:
        return label
    rows, size, line = outside_text(node.name, label)
    width = max((text_width(row, size) for row in rows), default=0.0)
    written = Box(label.x, label.y, width, len(rows) * line)
    symbol = Box(shape.x, shape.y, shape.width * 0.7, shape.height * 0.7)
    return default_label_box(node, shape) if written.overlaps(symbol) else label


def _path(
    edge: Edge,
    kept: tuple[Point, ...],
    t: _Transform,
    ends: tuple[tuple[Box, str], tuple[Box, str]],
    orthogonal: bool,
) -> tuple[Point, ...]:
    """The polyline of a flow (points), from its usable DI waypoints `kept` and its `ends`
    (box and outline of its source and target)."""
    points = tuple(t.point(p) for p in kept)
    (source, s_shape), (target, t_shape) = ends
    if not edge.waypoints:  # no DI for the flow at all: the plain line between its ends
        return straight(source, s_shape, target, t_shape)
    routed = orthogonal and edge.kind in routes.ROUTED_KINDS
    if not points:  # waypoints stored but none usable: a path between the shapes
        if routed:
            return routes.orthogonal(source, s_shape, target, t_shape)
        return straight(source, s_shape, target, t_shape)
    if routed and routes.slanted(kept):
        return routes.orthogonal(source, s_shape, target, t_shape, points)
    first, last = routes.dropped_ends(edge, kept)
    if first:
        points = (border_point(source, s_shape, points[0]), *points)
    if last:
        points = (*points, border_point(target, t_shape, points[-1]))
    return points


def drawn_layout(graph: Graph) -> Layout:
    """The layout the designer drew (BPMN DI), uniformly scaled: 1 DI px = 0.75 pt.

    Elements without DI bounds are left out (draw such files with the automatic layout) and
    listed in `missing`; flows without waypoints run straight between their ends, flows whose
    waypoints make no path are routed between them (routes.py).
    """
    graph = shown(graph)
    bounds: dict[str, Bounds | None] = {n.id: n.bounds for n in graph.nodes}
    bounds |= {p.id: p.bounds for p in graph.pools} | {x.id: x.bounds for x in graph.lanes}
    kept = {
        e.id: routes.usable(e, (bounds.get(e.source), bounds.get(e.target))) for e in graph.edges
    }
    x0, y0, x1, y1 = _extent(graph, kept)
    t = _Transform(x0, y1)
    nodes = {n.id: t.box(n.bounds) for n in graph.nodes if n.bounds is not None}
    by_id = {n.id: n for n in graph.nodes}
    labels: dict[str, Box] = {}
    for node in graph.nodes:
        if node.id in nodes and node.kind in OUTSIDE_LABEL_KINDS and node.name.strip():
            labels[node.id] = _label_box(node, nodes[node.id], t)
    placed = [
        {p.id: p.bounds for p in graph.pools if p.bounds is not None},
        {x.id: x.bounds for x in graph.lanes if x.bounds is not None},
    ]
    area_boxes = {key: t.box(b) for group in placed for key, b in group.items()}
    occupied = [b for i, b in nodes.items() if by_id[i].kind != "group"] + list(labels.values())
    laid_areas = tuple(areas(graph, area_boxes, occupied))
    boxes = {a.id: a.box for a in laid_areas} | nodes
    flows = [kept[e.id] for e in graph.edges if e.kind in routes.ROUTED_KINDS]
    orthogonal = routes.orthogonal_style(flows)
    edges: dict[str, EdgePath] = {}
    for edge in graph.edges:
        if edge.source not in boxes or edge.target not in boxes:
            continue  # graphviz draws an edge between two drawn nodes only: in `missing`
        source = outline(by_id[edge.source].kind) if edge.source in by_id else "rect"
        target = outline(by_id[edge.target].kind) if edge.target in by_id else "rect"
        ends = ((boxes[edge.source], source), (boxes[edge.target], target))
        points = _path(edge, kept[edge.id], t, ends, orthogonal)
        if len(set(points)) < 2:  # two shapes on one spot: no line to draw between them
            continue
        label, width = None, None
        if edge.label_bounds is not None:
            b = t.box(edge.label_bounds)
            label, width = Point(b.x, b.y), b.width or None
        elif edge_text(edge).strip():
            label = label_point(points)
        edges[edge.id] = EdgePath(points, False, label, width)
    width = (x1 - x0) * SCALE + 2 * MARGIN
    height = (y1 - y0) * SCALE + 2 * MARGIN
    containers = _expanded(graph) & set(nodes)
    drawn = set(nodes) | set(boxes) | set(edges)
    every = [p.id for p in graph.pools] + [x.id for x in graph.lanes]
    every += [n.id for n in graph.nodes] + [e.id for e in graph.edges]
    missing = tuple(element for element in every if element not in drawn)
    if missing:
        log.warning(
            "%s: %d element(s) not drawn, the file gives no place for them: %s",
            graph.file or graph.name,
            len(missing),
            ", ".join(missing),
        )
    layout = Layout(width, height, nodes, labels, edges, laid_areas, SCALE, containers, missing)
    return _room_for_text(layout, graph)


# --- text on the canvas ----------------------------------------------------------------------


def text_extent(layout: Layout, graph: Graph) -> list[Box]:
    """Where the names written outside shapes will be (estimated widths): outside labels,
    flow names, pool and lane names."""
    found: list[Box] = []
    names = {n.id: n.name for n in graph.nodes}
    for node_id, label in layout.labels.items():
        rows, size, line = outside_text(names.get(node_id, ""), label)
        if rows:
            width = max(text_width(row, size) for row in rows)
            found.append(Box(label.x, label.y, width, len(rows) * line))
    for edge in graph.edges:
        path = layout.edges.get(edge.id)
        text = edge_text(edge)
        if path is None or path.label is None or not text.strip():
            continue
        rows = flow_label_lines(text, path)
        width = max((text_width(row, FLOW_LABEL_SIZE) for row in rows), default=0.0)
        found.append(Box(path.label.x, path.label.y, width, len(rows) * FLOW_LABEL_LINE))
    for node in graph.nodes:
        box = layout.nodes.get(node.id)
        if node.kind == "textAnnotation" and box is not None:
            rows, size, line = annotation_text(node.text or node.name, box)
            width = max((text_width(row, size) for row in rows), default=0.0)
            found.append(Box(box.left + 13 + width / 2, box.y, width, len(rows) * line))
    for area in layout.areas:
        if not area.name.strip():
            continue
        width = min(text_width(area.name, LABEL_SIZE), area.label.width)
        x = area.label.left + width / 2 if area.align == "left" else area.label.x
        found.append(Box(x, area.label.y, width, LABEL_LINE))
    return found


def _room_for_text(layout: Layout, graph: Graph) -> Layout:
    """`layout` on a canvas that holds every name written outside a shape, TEXT_INSET from
    its edge: grown, and moved right or up when a name sticks out left or below."""
    boxes = text_extent(layout, graph)
    if not boxes:
        return layout
    dx = max(0.0, TEXT_INSET - min(b.left for b in boxes))
    dy = max(0.0, TEXT_INSET - min(b.bottom for b in boxes))
    width = max(layout.width + dx, max(b.right for b in boxes) + dx + TEXT_INSET)
    height = max(layout.height + dy, max(b.top for b in boxes) + dy + TEXT_INSET)
    if (dx, dy, width, height) == (0.0, 0.0, layout.width, layout.height):
        return layout
    return replace(moved(layout, dx, dy), width=width, height=height)


def moved(layout: Layout, dx: float, dy: float) -> Layout:
    """Everything in `layout` moved by (dx, dy) points (the canvas size unchanged)."""
    if dx == 0 and dy == 0:
        return layout

    def point(p: Point) -> Point:
        return Point(p.x + dx, p.y + dy)

    def path(e: EdgePath) -> EdgePath:
        label = point(e.label) if e.label is not None else None
        return replace(e, points=tuple(point(p) for p in e.points), label=label)

    def area(a: Area) -> Area:
        header = a.header.moved(dx, dy) if a.header is not None else None
        return replace(a, box=a.box.moved(dx, dy), label=a.label.moved(dx, dy), header=header)

    return replace(
        layout,
        nodes={k: b.moved(dx, dy) for k, b in layout.nodes.items()},
        labels={k: b.moved(dx, dy) for k, b in layout.labels.items()},
        edges={k: path(e) for k, e in layout.edges.items()},
        areas=tuple(area(a) for a in layout.areas),
    )
