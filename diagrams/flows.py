"""A flow as DOT: its line (graphviz's edge `pos`: cubic B-splines through the layout's path),
its arrowheads by kind, and its marks: its name, a default flow's slash, a message flow's
envelope.  Pure, like dot.py, which puts the flows last in the document.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from diagrams import lettering, notation
from diagrams.geometry import halfway
from diagrams.layout import (
    FLOW_LABEL_LINE,
    FLOW_LABEL_SIZE,
    Box,
    EdgePath,
    edge_text,
    flow_label_lines,
)
from diagrams.lettering import Mark, Patch
from diagrams.styles import INK
from diagrams.text import number, quote
from engine.core.graph import GATEWAY_KINDS, UNKNOWN_KIND, Edge, Point

# Arrow lengths relative to arrowsize x 10 pt, as graphviz draws them.
ARROW_SIZE = 0.8
ARROW_LENGTH = {"normal": 1.0, "onormal": 1.0, "vee": 1.0, "odot": 0.8, "odiamond": 1.2}
ENVELOPE = (16.0, 11.0)  # the message drawn on a message flow, points (bpmn.io's 20 x 14 px)
# Its fill: white for the message that starts the exchange, grey for the answer (BPMN 2.0).
ENVELOPE_FILL = {"initiating": "white", "non_initiating": "#c8c8c8"}
_CLASS_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class EdgeLook:
    colour: str = INK
    width: float = 1.2
    state: str | None = None  # instance diagrams: "completed" or "not-reached"


def css_classes(text: str) -> str:
    """A quoted class list: each token with what CSS cannot take in a class name as "-"."""
    return quote(" ".join(_CLASS_TOKEN.sub("-", token) for token in text.split()))


def _edge(edge: Edge, path: EdgePath, source_kind: str, look: EdgeLook | None) -> str | None:
    head, tail, style = "normal", "none", ""
    if edge.kind == "messageFlow":
        head, tail, style = "onormal", "odot", "dashed"
    elif edge.kind == "association":
        # An association with a direction points at its target (both ends for "Both"),
        # with the line arrow modellers draw (a compensation handler, a data flow note).
        head, style = ("vee" if edge.direction in ("One", "Both") else "none"), "dotted"
        tail = "vee" if edge.direction == "Both" else "none"
    elif edge.kind in ("dataInputAssociation", "dataOutputAssociation"):
        head, style = "vee", "dotted"
    elif edge.kind == UNKNOWN_KIND:  # a BPMNEdge for no element the file has
        head, style = "none", "dashed"
    elif edge.condition and source_kind not in GATEWAY_KINDS:
        tail = "odiamond"  # a conditional flow out of an activity: the small diamond
    head_length = ARROW_LENGTH.get(head, 0.0) * ARROW_SIZE * 10
    tail_length = ARROW_LENGTH.get(tail, 0.0) * ARROW_SIZE * 10
    gap = _envelope_gap(edge, path)
    if gap is not None:  # the line stops at the envelope: graphviz draws every node first
        before, after = gap
        first = _spline(EdgePath(before), 0.0, tail_length)
        second = _spline(EdgePath(after), head_length, 0.0)
        pos = f"{first};{second}" if first and second else None
    else:
        pos = _spline(path, head_length, tail_length)
    if pos is None:
        return None
    classes = "flow " + edge.kind + (f" state-{look.state}" if look and look.state else "")
    colour = look.colour if look else INK
    if edge.kind == UNKNOWN_KIND and look is None:
        colour = notation.UNKNOWN_PEN
    attrs = [
        ("id", quote(edge.id)),
        ("class", css_classes(classes)),
        ("pos", quote(pos)),
        ("dir", '"both"'),
        ("arrowhead", quote(head)),
        ("arrowtail", quote(tail)),
    ]
    if style:
        attrs.append(("style", quote(style)))
    attrs += [
        ("color", quote(colour)),
        ("penwidth", number(look.width if look else 1.2)),
    ]
    ends = f"{quote(edge.source)} -> {quote(edge.target)}"
    return f"  {ends} [{', '.join(f'{k}={v}' for k, v in attrs)}];"


def flow(
    edge: Edge, path: EdgePath, source_kind: str, look: EdgeLook | None
) -> tuple[str | None, tuple[str, ...]]:
    """A flow's statement (None: nothing to draw) and the bodies of its marks (its name, a
    default flow's slash, a message flow's envelope)."""
    statement = _edge(edge, path, source_kind, look)
    if statement is None:
        return None, ()
    return statement, lettering.all_bodies(
        _edge_marks(edge, path, look) + _envelope(edge, path, look)
    )


def _envelope_gap(edge: Edge, path: EdgePath) -> tuple[tuple[Point, ...], tuple[Point, ...]] | None:
    """A message flow with an envelope: its polyline before and after the envelope (None:
    drawn whole; a curved path keeps its line under the envelope)."""
    if edge.kind != "messageFlow" or edge.message not in ENVELOPE_FILL or path.curved:
        return None
    found = halfway(path.points)
    if found is None:
        return None
    _, ux, uy = found
    width, height = ENVELOPE
    half = min(width / 2 / abs(ux) if ux else math.inf, height / 2 / abs(uy) if uy else math.inf)
    total = sum(math.dist((a.x, a.y), (b.x, b.y)) for a, b in itertools.pairwise(path.points))
    if total / 2 - half < 12 or total / 2 + half > total - 12:  # too short to cut: keep whole
        return None
    return _until(path.points, total / 2 - half), _until(path.points[::-1], total / 2 - half)[::-1]


def _until(points: tuple[Point, ...], length: float) -> tuple[Point, ...]:
    """The first `length` points' worth of a polyline."""
    out = [points[0]]
    for a, b in itertools.pairwise(points):
        step = math.dist((a.x, a.y), (b.x, b.y))
        if step >= length:
            t = length / step if step else 0.0
            out.append(Point(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t))
            return tuple(out)
        out.append(b)
        length -= step
    return tuple(out)


def _envelope(edge: Edge, path: EdgePath, look: EdgeLook | None) -> list[Mark]:
    """The message on a message flow (DI messageVisibleKind): an envelope half way along,
    white when it starts the exchange, grey when it answers; its flap an inverted triangle
    from the top corners to the middle.  Graphviz draws nodes before edges, so the line
    leaves a gap for it (`_envelope_gap`)."""
    fill = ENVELOPE_FILL.get(edge.message or "")
    found = halfway(path.points) if fill and edge.kind == "messageFlow" else None
    if found is None or fill is None:
        return []
    middle, pen = found[0], look.colour if look else INK
    width, height = ENVELOPE
    body = Box(middle.x, middle.y, width, height)
    return [Patch(body, fill, pen, 1.0, "", "envelope"), *notation.flap(body, fill, pen)]


def _edge_marks(edge: Edge, path: EdgePath, look: EdgeLook | None) -> list[Mark]:
    """A flow's name (or condition) centred on its label point, and a default flow's slash."""
    colour = look.colour if look else INK
    marks: list[Mark] = []
    text = edge_text(edge)
    if text.strip() and path.label is not None:
        rows = [(line, FLOW_LABEL_SIZE, FLOW_LABEL_LINE) for line in flow_label_lines(text, path)]
        marks += lettering.centred(rows, path.label.x, path.label.y, colour, css="flow-label")
    if edge.is_default and edge.kind == "sequenceFlow":
        marks += _default_marker(path, colour)
    return marks


def _default_marker(path: EdgePath, colour: str) -> list[Mark]:
    """bpmn.io's slash across a default flow near its source: a slash glyph (at the flow
    names' 8 pt) centred on the line 10 pt from the source, leaning so it crosses the line."""
    a, b = path.points[0], path.points[1]
    length = math.dist((a.x, a.y), (b.x, b.y))
    if length == 0:
        return []
    t = min(10 / length, 0.5)
    x, y = a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t
    angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x)) % 180
    # Box-drawing diagonals: from the upper left, from the upper right.
    glyph = "\u2572" if 20 < angle < 70 else "\u2571"
    return [lettering.glyph(glyph, x, y, FLOW_LABEL_SIZE, colour, "default-marker")]


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
