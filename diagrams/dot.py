"""Process graph + layout -> DOT text.  Pure: no I/O, no graphviz run, same input same text.

The DOT fixes every position (`pos="x,y!"` for nodes, an explicit B-spline `pos` for edges),
so `neato -n2` only draws: no layout happens at render time and rendering stays fast (edges
without `pos` would make neato route splines, ~10x slower).  Drawing order is declaration
order (`outputorder=nodesfirst`): pools and lanes, then containers (expanded sub-processes,
groups), then flow nodes, boundary events on top of their hosts, the legend, and the flows
last so no shape hides a line.

Every BPMN element carries graphviz's `id` (its BPMN id) and `class` (its kind, plus one
`state-*` in instance diagrams); graphviz copies both onto the element's SVG `<g>`, which is
what the web UI styles and clicks.  Helper nodes (labels, gateway rings, canvas corners)
have names starting with "~", which no BPMN id (an XML NCName) can.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, replace

from diagrams import notation
from diagrams.layout import (
    FLOW_LABEL_SIZE,
    LABEL_SIZE,
    MARGIN,
    OUTSIDE_LABEL_KINDS,
    Box,
    EdgePath,
    Layout,
    edge_text,
)
from diagrams.styles import (
    FONT,
    INK,
    PALE,
    PATH,
    PLAIN,
    TAKEN_WIDTH,
    Look,
    heat_legend,
    heat_looks,
    state_legend,
    state_look,
)
from diagrams.text import html, lines, number, quote, text_width
from engine.graph import GATEWAY_KINDS, Edge, Graph, Heat, InstanceView, Node, Point

# Arrow lengths relative to arrowsize x 10 pt, as graphviz draws them.
ARROW_SIZE = 0.8
ARROW_LENGTH = {"normal": 1.0, "onormal": 1.0, "vee": 1.0, "odot": 0.8, "odiamond": 1.2}
# A flow's target was reached when it is in one of these states.
REACHED = frozenset({"completed", "ready", "waiting", "error", "cancelled"})
_CLASS_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class EdgeLook:
    colour: str = INK
    width: float = 1.2
    state: str | None = None  # instance diagrams: "completed" or "not-reached"


@dataclass(frozen=True)
class Legend:
    html: str
    width: float
    height: float


def definition_dot(
    graph: Graph, layout: Layout, *, heat: Heat | None = None, title: str | None = None
) -> str:
    """The process as designed; with `heat`, coloured by deals here now, with a legend."""
    looks = heat_looks(heat) if heat is not None else {}
    legend = None
    if heat is not None:
        legend = _legend(*heat_legend(heat))
    title_html = html(title) if title else None
    classes = {n.id: n.kind for n in graph.nodes}
    return _document(graph, layout, looks, classes, {}, title_html, legend)


def instance_dot(graph: Graph, layout: Layout, view: InstanceView) -> str:
    """One deal on its process: the path taken, what is open now, errors; title and legend."""
    states = {n.id: view.states.get(n.id, "not-reached") for n in graph.nodes}
    looks: dict[str, Look] = {}
    for node in graph.nodes:
        state = states[node.id]
        notes = []
        if state == "ready" and node.id in view.assignees:
            notes.append(f"→ {view.assignees[node.id]}")
        if node.id in view.due and state in ("ready", "waiting"):
            notes.append(f"due {view.due[node.id]}")
        look = state_look(state, error=view.errors.get(node.id))
        looks[node.id] = replace(look, notes=(*notes, *look.notes))
    classes = {n.id: f"{n.kind} state-{states[n.id]}" for n in graph.nodes}
    edge_looks = {}
    for edge in graph.edges:
        taken = states.get(edge.source) == "completed" and states.get(edge.target) in REACHED
        edge_looks[edge.id] = (
            EdgeLook(PATH, TAKEN_WIDTH, "completed")
            if taken
            else EdgeLook(PALE, 1.0, "not-reached")
        )
    legend = _legend(*state_legend())
    return _document(graph, layout, looks, classes, edge_looks, _instance_title(view), legend)


def _instance_title(view: InstanceView) -> str:
    parts = [f"owner: {view.owner or '—'}", f"status: {view.status}"]
    if view.stage:
        parts.append(f"stage: {view.stage}")
    return f'{html(view.deal)}<FONT POINT-SIZE="9">    {html("  ·  ".join(parts))}</FONT>'


# --- the document -----------------------------------------------------------------------------


def _statement(name: str, attrs: list[tuple[str, str]]) -> str:
    return f"  {quote(name)} [{', '.join(f'{k}={v}' for k, v in attrs)}];"


def _classes(text: str) -> str:
    return quote(" ".join(_CLASS_TOKEN.sub("-", token) for token in text.split()))


def _order(graph: Graph, layout: Layout) -> list[Node]:
    """Containers first (outer before inner), then flow nodes, boundary events last."""
    drawn = [n for n in graph.nodes if n.id in layout.nodes]
    parents = {n.id: n.parent_id for n in drawn}

    def depth(node: Node) -> int:
        count, current = 0, node.parent_id
        while current is not None and count < len(parents):
            count, current = count + 1, parents.get(current)
        return count

    def rank(node: Node) -> tuple[int, int]:
        if node.kind == "group" or node.id in layout.containers:
            return (0, depth(node))
        if node.kind == "boundaryEvent":
            return (2, 0)
        return (1, 0)

    return sorted(drawn, key=rank)  # stable: graph order inside each rank


def _document(
    graph: Graph,
    layout: Layout,
    looks: dict[str, Look],
    classes: dict[str, str],
    edge_looks: dict[str, EdgeLook],
    title: str | None,
    legend: Legend | None,
) -> str:
    legend_box = _legend_place(layout, legend) if legend else None
    width = max(layout.width, legend_box.right + MARGIN if legend_box else 0)
    graph_attrs = [
        ("outputorder", '"nodesfirst"'),
        ("pad", '"0"'),
        ("bgcolor", '"white"'),
        ("fontname", quote(FONT)),
        ("fontsize", "14"),  # the title
    ]
    if title:
        graph_attrs += [("label", f"<{title}>"), ("labelloc", '"t"'), ("labeljust", '"l"')]
    out = [
        'digraph "process" {',
        f"  graph [{', '.join(f'{k}={v}' for k, v in graph_attrs)}];",
        f'  node [fontname={quote(FONT)}, fontsize={number(LABEL_SIZE)}, fixedsize="shape", '
        'margin="0"];',
        f"  edge [fontname={quote(FONT)}, fontsize={number(FLOW_LABEL_SIZE)}, "
        f"arrowsize={number(ARROW_SIZE)}];",
        # Two invisible corners pin the canvas, so that graphviz's coordinates are ours.
        '  "~canvas0" [shape="point", style="invis", width="0", height="0", pos="0,0!"];',
        f'  "~canvas1" [shape="point", style="invis", width="0", height="0", '
        f'pos="{number(width)},{number(layout.height)}!"];',
    ]
    for area in layout.areas:
        attrs = [("id", quote(area.id)), ("class", quote(area.kind))]
        out.append(
            _statement(area.id, attrs + notation.area_attrs(area.box, area.header, area.kind))
        )
    for area in layout.areas:
        if area.name.strip():
            attrs = [("class", quote(f"{area.kind}-label"))]
            attrs += notation.area_label_attrs(area.name, area.label, area.align)
            out.append(_statement(f"~label~{area.id}", attrs))
    for node in _order(graph, layout):
        out.extend(_node(node, layout, looks.get(node.id, PLAIN), classes[node.id]))
    if legend and legend_box:
        out.append(
            _statement(
                "~legend",
                [
                    ("class", '"legend"'),
                    ("shape", '"plain"'),
                    ("pos", quote(f"{number(legend_box.x)},{number(legend_box.y)}!")),
                    ("label", f"<{legend.html}>"),
                ],
            )
        )
    kinds = {n.id: n.kind for n in graph.nodes}
    ends = set(layout.nodes) | {a.id for a in layout.areas}
    for edge in graph.edges:
        path = layout.edges.get(edge.id)
        if path is None or edge.source not in ends or edge.target not in ends:
            continue
        statement = _edge(edge, path, kinds.get(edge.source, ""), edge_looks.get(edge.id))
        if statement:
            out.append(statement)
    out.append("}")
    return "\n".join(out) + "\n"


def _node(node: Node, layout: Layout, look: Look, classes: str) -> list[str]:
    box = layout.nodes[node.id]
    attrs = [("id", quote(node.id)), ("class", _classes(classes))]
    attrs += notation.node_attrs(node, box, look, node.id in layout.containers)
    label = layout.labels.get(node.id)
    if label is None and look.notes and node.kind in OUTSIDE_LABEL_KINDS:
        label = Box(box.x, box.bottom - 10, max(box.width, 60), 12)
    if label is not None and node.kind in OUTSIDE_LABEL_KINDS:
        attrs += notation.outside_label(node, label, look)
    out = [_statement(node.id, attrs)]
    for index, ring in enumerate(notation.overlays(node, box, look)):
        out.append(_statement(f"~ring{index}~{node.id}", [("class", '"marker"'), *ring]))
    return out


# --- edges --------------------------------------------------------------------------------


def _edge(edge: Edge, path: EdgePath, source_kind: str, look: EdgeLook | None) -> str | None:
    head, tail, style = "normal", "none", ""
    if edge.kind == "messageFlow":
        head, tail, style = "onormal", "odot", "dashed"
    elif edge.kind == "association":
        head, style = "none", "dotted"
    elif edge.kind in ("dataInputAssociation", "dataOutputAssociation"):
        head, style = "vee", "dotted"
    elif edge.condition and source_kind not in GATEWAY_KINDS:
        tail = "odiamond"  # a conditional flow out of an activity: the small diamond
    head_length = ARROW_LENGTH.get(head, 0.0) * ARROW_SIZE * 10
    tail_length = ARROW_LENGTH.get(tail, 0.0) * ARROW_SIZE * 10
    pos = _spline(path, head_length, tail_length)
    if pos is None:
        return None
    classes = "flow " + edge.kind + (f" state-{look.state}" if look and look.state else "")
    colour = look.colour if look else INK
    attrs = [
        ("id", quote(edge.id)),
        ("class", _classes(classes)),
        ("pos", quote(pos)),
        ("dir", '"both"'),
        ("arrowhead", quote(head)),
        ("arrowtail", quote(tail)),
    ]
    if style:
        attrs.append(("style", quote(style)))
    attrs += [
        ("color", quote(colour)),
        ("fontcolor", quote(colour if look else INK)),
        ("penwidth", number(look.width if look else 1.2)),
    ]
    text = edge_text(edge)
    if text.strip() and path.label is not None:
        wrapped = lines(text, 110, FLOW_LABEL_SIZE, 3)
        attrs += [
            ("xlabel", f"<{'<BR/>'.join(html(line) for line in wrapped)}>"),
            ("xlp", quote(f"{number(path.label.x)},{number(path.label.y)}")),
        ]
    if edge.is_default and edge.kind == "sequenceFlow":
        attrs += _default_marker(path)
    ends = f"{quote(edge.source)} -> {quote(edge.target)}"
    return f"  {ends} [{', '.join(f'{k}={v}' for k, v in attrs)}];"


def _default_marker(path: EdgePath) -> list[tuple[str, str]]:
    """bpmn.io's slash across a default flow near its source: the edge's own label, a slash
    glyph placed on the line 10 pt from the source, leaning so it crosses the line."""
    a, b = path.points[0], path.points[1]
    length = math.dist((a.x, a.y), (b.x, b.y))
    if length == 0:
        return []
    t = min(10 / length, 0.5)
    x, y = a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t
    angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x)) % 180
    # Box-drawing diagonals: from the upper left, from the upper right.
    glyph = "\u2572" if 20 < angle < 70 else "\u2571"
    return [
        ("label", f"<{glyph}>"),  # at the flow names' 8 pt
        ("lp", quote(f"{number(x)},{number(y)}")),
    ]


def _toward(p: Point, q: Point, distance: float) -> Point:
    length = math.dist((p.x, p.y), (q.x, q.y))
    if length == 0:
        return p
    t = min(distance / length, 0.9)
    return Point(p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t)


def _spline(path: EdgePath, head: float, tail: float) -> str | None:
    """Graphviz's edge pos: "s,tail-tip e,head-tip" then cubic B-spline control points.

    A polyline becomes one straight cubic per segment (control points at thirds); the ends
    are pulled back by the arrow lengths, the arrows then reach the original ends.
    """
    points = list(path.points)
    if not path.curved:  # repeated waypoints make zero-length segments; B-splines keep theirs
        points = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if len(points) < (4 if path.curved else 2):
        return None
    start, end = points[0], points[-1]
    if path.curved:
        control = list(points)
        if head:
            shifted = _toward(end, control[-2], head)
            dx, dy = shifted.x - end.x, shifted.y - end.y
            control[-1] = shifted
            control[-2] = Point(control[-2].x + dx, control[-2].y + dy)
        if tail:
            shifted = _toward(start, control[1], tail)
            dx, dy = shifted.x - start.x, shifted.y - start.y
            control[0] = shifted
            control[1] = Point(control[1].x + dx, control[1].y + dy)
    else:
        if head:
            points[-1] = _toward(end, points[-2], head)
        if tail:
            points[0] = _toward(start, points[1], tail)
        control = [points[0]]
        for a, b in itertools.pairwise(points):
            control += [
                Point(a.x + (b.x - a.x) / 3, a.y + (b.y - a.y) / 3),
                Point(a.x + 2 * (b.x - a.x) / 3, a.y + 2 * (b.y - a.y) / 3),
                b,
            ]
    parts = []  # graphviz reads the start point before the end point
    if tail:
        parts.append(f"s,{number(start.x)},{number(start.y)}")
    if head:
        parts.append(f"e,{number(end.x)},{number(end.y)}")
    parts += [f"{number(p.x)},{number(p.y)}" for p in control]
    return " ".join(parts)


# --- legend placement -------------------------------------------------------------------------


def _occupied(layout: Layout) -> list[Box]:
    boxes = list(layout.nodes.values()) + list(layout.labels.values())
    boxes += [area.label for area in layout.areas]
    for path in layout.edges.values():
        for a, b in itertools.pairwise(path.points):
            boxes.append(
                Box((a.x + b.x) / 2, (a.y + b.y) / 2, abs(a.x - b.x) + 2, abs(a.y - b.y) + 2)
            )
        if path.label is not None:
            boxes.append(Box(path.label.x, path.label.y, 60, 14))
    return boxes


def _legend_place(layout: Layout, legend: Legend) -> Box:
    """A free corner of the drawing (bottom right first); else right of the drawing."""
    w, h = legend.width, legend.height
    inset = MARGIN + 6
    corners = [
        (layout.width - inset - w / 2, inset + h / 2),
        (layout.width - inset - w / 2, layout.height - inset - h / 2),
        (inset + w / 2, inset + h / 2),
        (inset + w / 2, layout.height - inset - h / 2),
    ]
    occupied = _occupied(layout)
    if layout.width > w + 2 * inset and layout.height > h + 2 * inset:
        for x, y in corners:
            box = Box(x, y, w + 8, h + 8)
            if not any(box.overlaps(other) for other in occupied):
                return Box(x, y, w, h)
    return Box(layout.width + w / 2, layout.height - MARGIN - h / 2, w, h)


def _legend(table: str, texts: list[str]) -> Legend:
    """A legend's estimated size: a 24 pt swatch and the longest text; 16 pt per row."""
    width = 44 + max((text_width(t, LABEL_SIZE) for t in texts), default=0)
    return Legend(table, width, len(texts) * 16 + 10)
