"""Process graph + layout -> DOT text.  Pure: no I/O, no graphviz run, same input same text.

The DOT fixes every position (`pos="x,y!"` for nodes, an explicit B-spline `pos` for edges),
so `neato -n2` only draws: no layout happens at render time and rendering stays fast (edges
without `pos` would make neato route splines, ~10x slower).  The canvas is graphviz's
`viewport` (with `notranslate`), so coordinates in the SVG are ours.  Drawing order is
declaration order (`outputorder=nodesfirst`): pools and lanes, then containers (expanded
sub-processes, groups), then flow nodes, boundary events on top of their hosts, the title,
the legend, flow names, and the flows last (flows.py) so no shape hides a line; the one
shape drawn on a line, a message flow's envelope, is a gap the line leaves.  Names tools
generate but hide are left out first (names.py), and a chart whose human tasks are not all
in lanes says who gets them (styles.owner_note), in its legend or in a note of its own.

No text is placed by graphviz's measure of it (see lettering.py): every line of text is its
own small node, so the SVG is the same whether graphviz measures text with pango or not.

Every BPMN element carries graphviz's `id` (its BPMN id) and `class` (its kind, plus one
`state-*` in instance diagrams); graphviz copies both onto the element's SVG `<g>`, which is
what the web UI styles and clicks.  Helper nodes (lines of text, gateway rings, legend
boxes) have names starting with "~", which no BPMN id (an XML NCName) can.

Most of a deal's chart is what every deal of its version shows (lanes, the elements not
reached, the legend); what an element or flow turns into is kept per layout, keyed by
everything it is made from (`_pieces`), so a deal's chart only works out what is its own.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from threading import Lock
from typing import Any, TypeVar

from diagrams import lettering, notation
from diagrams.flows import ARROW_SIZE, EdgeLook, css_classes, flow
from diagrams.layout import (
    LABEL_SIZE,
    MARGIN,
    OUTSIDE_LABEL_KINDS,
    Box,
    Layout,
)
from diagrams.lettering import Mark, Patch
from diagrams.names import shown
from diagrams.styles import (
    FONT,
    INK,
    PALE,
    PATH,
    PLAIN,
    TAKEN_WIDTH,
    LegendRow,
    Look,
    heat_legend,
    heat_looks,
    owner_note,
    state_legend,
    state_look,
)
from diagrams.text import number, quote, text_width
from engine.core.graph import Graph, Heat, InstanceView, Node

# A flow's target was reached when it is in one of these states.
REACHED = frozenset({"completed", "ready", "waiting", "error", "cancelled"})


@dataclass(frozen=True)
class Legend:
    title: str
    rows: tuple[LegendRow, ...]
    width: float
    height: float


TITLE_SIZE = 14.0  # the title's first line; the details under it at LABEL_SIZE
TITLE_ROW = 20.0  # line heights in the title band
DETAIL_ROW = 12.0
LEGEND_PAD = 6.0  # inside the legend's frame
LEGEND_ROW = 16.0
SWATCH = (24.0, 12.0)


@dataclass(frozen=True)
class Overlay:
    """Marks laid over a definition chart by another module (diagrams/diff.py): looks and
    extra classes of elements, looks of flows, and the legend that explains them."""

    looks: Mapping[str, Look] = field(default_factory=dict)
    classes: Mapping[str, str] = field(default_factory=dict)  # element id -> extra classes
    edges: Mapping[str, EdgeLook] = field(default_factory=dict)
    legend: tuple[str, list[LegendRow]] | None = None


def definition_dot(
    graph: Graph,
    layout: Layout,
    *,
    heat: Heat | None = None,
    title: str | None = None,
    overlay: Overlay | None = None,
    legend_inside: bool = True,
    zh: bool = False,
) -> str:
    """The process as designed; with `heat`, coloured by deals here now, with a legend
    (not with `legend_inside=False`: printed pages draw it on each page, diagrams/pages.py);
    the chart's own words in Simplified Chinese with `zh`."""
    graph = shown(graph)
    looks = heat_looks(heat, zh=zh) if heat is not None else {}
    found = heat_legend(heat, zh=zh) if heat is not None and legend_inside else None
    heading = [(title, TITLE_SIZE, TITLE_ROW)] if title else []
    classes = {n.id: n.kind for n in graph.nodes}
    if overlay is None:
        legend = _with_note(found, owner_note(graph, zh=zh))
        return _document(graph, layout, looks, classes, {}, heading, legend)
    looks = {**looks, **overlay.looks}
    for element_id, extra in overlay.classes.items():
        if element_id in classes:
            classes[element_id] += f" {extra}"
    found = overlay.legend if overlay.legend and legend_inside else found
    legend = _with_note(found, owner_note(graph, zh=zh))
    return _document(graph, layout, looks, classes, dict(overlay.edges), heading, legend)


def _with_note(legend: tuple[str, list[LegendRow]] | None, note: str | None) -> Legend | None:
    """The legend with `note` as its last row; a note without a legend gets a box of its own
    (also on printed pages, whose legend is drawn beside the chart, not from it)."""
    if note is None:
        return _legend(*legend) if legend is not None else None
    if legend is None:
        return _legend(note, [])
    title, rows = legend
    return _legend(title, [*rows, LegendRow(note, size=8.0)])


def instance_dot(
    graph: Graph,
    layout: Layout,
    view: InstanceView,
    *,
    legend_inside: bool = True,
    zh: bool = False,
) -> str:
    """One deal on its process: the path taken, what is open now, errors; title and legend
    (not with `legend_inside=False`: printed pages draw it on each page, diagrams/pages.py);
    the legend and notes in Simplified Chinese with `zh` (the title's words are the view's)."""
    graph = shown(graph)
    states = {n.id: view.states.get(n.id, "not-reached") for n in graph.nodes}
    looks: dict[str, Look] = {}
    for node in graph.nodes:
        state = states[node.id]
        notes = []
        if state == "ready" and node.id in view.assignees:
            notes.append(f"→ {view.assignees[node.id]}")
        if node.id in view.due and state in ("ready", "waiting"):
            notes.append(f"{view.words.get('due', 'due')} {view.due[node.id]}")
        look = state_look(state, error=view.errors.get(node.id), zh=zh)
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
    legend = _with_note(state_legend(zh=zh) if legend_inside else None, owner_note(graph, zh=zh))
    return _document(graph, layout, looks, classes, edge_looks, _instance_title(view), legend)


def _instance_title(view: InstanceView) -> list[tuple[str, float, float]]:
    """The deal's name, and under it who owns it, its status and stage."""
    words = view.words
    parts = [
        f"{words.get('owner', 'owner')}: {view.owner or '—'}",
        f"{words.get('status', 'status')}: {view.status}",
    ]
    if view.stage:
        parts.append(f"{words.get('stage', 'stage')}: {view.stage}")
    return [(view.deal, TITLE_SIZE, TITLE_ROW), ("  ·  ".join(parts), LABEL_SIZE, DETAIL_ROW)]


# --- the document -----------------------------------------------------------------------------


def _statement(name: str, attrs: list[tuple[str, str]]) -> str:
    return f"  {quote(name)} [{', '.join(f'{k}={v}' for k, v in attrs)}];"


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


class _Marks:
    """Lines of text and rectangles as DOT statements, each a helper node with its own name."""

    def __init__(self) -> None:
        self.count = 0

    def statements(self, marks: Sequence[Mark]) -> list[str]:
        return self.numbered(lettering.all_bodies(marks))

    def numbered(self, bodies: Sequence[str]) -> list[str]:
        out = []
        for body in bodies:
            self.count += 1
            out.append(f'  "~{self.count}" [{body}];')
        return out


P = TypeVar("P")
_PIECES_LIMIT = 5_000  # pieces kept per layout (a deal adds a few: its assignee, due times)
_pieces_lock = Lock()
_pieces_by_layout: dict[int, tuple[weakref.ref[Layout], dict[Hashable, Any]]] = {}


def _pieces(layout: Layout) -> dict[Hashable, Any]:
    """The pieces of DOT made for `layout` so far (forgotten with the layout)."""
    key = id(layout)
    with _pieces_lock:
        found = _pieces_by_layout.get(key)
        if found is not None and found[0]() is layout:
            pieces = found[1]
            if len(pieces) > _PIECES_LIMIT:
                pieces.clear()
            return pieces

        def forget(ref: weakref.ref[Layout]) -> None:
            with _pieces_lock:
                if _pieces_by_layout.get(key, (None,))[0] is ref:
                    del _pieces_by_layout[key]

        pieces = {}
        _pieces_by_layout[key] = (weakref.ref(layout, forget), pieces)
        return pieces


def _piece(pieces: dict[Hashable, Any], key: Hashable, make: Callable[..., P], *args: Any) -> P:
    """`make(*args)`, made once per `key` (which must name everything `args` are)."""
    if key in pieces:
        found: P = pieces[key]
        return found
    made = pieces[key] = make(*args)
    return made


def _document(
    graph: Graph,
    layout: Layout,
    looks: dict[str, Look],
    classes: dict[str, str],
    edge_looks: dict[str, EdgeLook],
    heading: list[tuple[str, float, float]],
    legend: Legend | None,
) -> str:
    legend_box = _legend_place(layout, legend) if legend else None
    width = max(layout.width, legend_box.right + MARGIN if legend_box else 0)
    band = 2 + sum(h for _, _, h in heading) if heading else 0.0  # the title, above the layout
    height = layout.height + band
    viewport = f"{number(width)},{number(height)},1,{number(width / 2)},{number(height / 2)}"
    graph_attrs = [
        ("outputorder", '"nodesfirst"'),
        ("pad", '"0"'),
        ("bgcolor", '"white"'),
        # The canvas is ours: (0, 0) to (width, height), whatever graphviz thinks the
        # drawing's extent is (the nodes of lines of text are wider than their text).
        ("viewport", quote(viewport)),
        ("notranslate", '"true"'),
    ]
    out = [
        'digraph "process" {',
        f"  graph [{', '.join(f'{k}={v}' for k, v in graph_attrs)}];",
        f'  node [fontname={quote(FONT)}, fontsize={number(LABEL_SIZE)}, fixedsize="shape", '
        'margin="0"];',
        f"  edge [arrowsize={number(ARROW_SIZE)}];",
    ]
    marks = _Marks()
    pieces = _pieces(layout)
    areas, area_labels = _piece(pieces, "areas", _areas, layout)
    out += areas
    out += marks.numbered(area_labels)
    crowded = _piece(pieces, ("crowded", graph.nodes), _crowded, graph, layout)
    for node in _order(graph, layout):
        look, css, full = looks.get(node.id, PLAIN), classes[node.id], node.id in crowded
        statements, bodies = _piece(
            pieces, ("node", node, look, css, full), _node, node, layout, look, css, full
        )
        out += statements
        out += marks.numbered(bodies)
    if heading:
        out += marks.statements(
            lettering.stack(heading, MARGIN, height - 2, INK, align="left", css="title")
        )
    if legend and legend_box:
        out += marks.numbered(
            _piece(pieces, ("legend", legend), _legend_bodies, legend, legend_box)
        )
    kinds = {n.id: n.kind for n in graph.nodes}
    ends = set(layout.nodes) | {a.id for a in layout.areas}
    flows = []
    for edge in graph.edges:
        path = layout.edges.get(edge.id)
        if path is None or edge.source not in ends or edge.target not in ends:
            continue
        kind, edge_look = kinds.get(edge.source, ""), edge_looks.get(edge.id)
        statement, bodies = _piece(
            pieces, ("edge", edge, kind, edge_look), flow, edge, path, kind, edge_look
        )
        if statement:
            flows.append(statement)
            out += marks.numbered(bodies)
    out += flows
    out.append("}")
    return "\n".join(out) + "\n"


def _areas(layout: Layout) -> tuple[list[str], tuple[str, ...]]:
    """Pools and lanes: their statements, and the bodies of their names' marks."""
    out = []
    for area in layout.areas:
        attrs = [("id", quote(area.id)), ("class", quote(area.kind))]
        out.append(_statement(area.id, attrs + notation.area_attrs(area)))
    labels: list[Mark] = []
    for area in layout.areas:
        if not area.horizontal and area.header is not None:
            labels += notation.area_band(area.header, area.kind)
        if area.name.strip():
            css = f"{area.kind}-label"
            labels += notation.area_label(area.name, area.label, area.align, css)
    return out, lettering.all_bodies(labels)


def _crowded(graph: Graph, layout: Layout) -> frozenset[str]:
    """Activities with a boundary event sitting on their bottom side (where most tools put
    them): their name keeps clear of it."""
    found = set()
    for node in graph.nodes:
        event, host = layout.nodes.get(node.id), layout.nodes.get(node.attached_to or "")
        if node.kind == "boundaryEvent" and event and host and abs(event.y - host.bottom) < 4:
            found.add(node.attached_to or "")
    return frozenset(found)


def _node(
    node: Node, layout: Layout, look: Look, classes: str, crowded: bool
) -> tuple[list[str], tuple[str, ...]]:
    """An element's statements, and the bodies of its text's marks."""
    box = layout.nodes[node.id]
    attrs = [("id", quote(node.id)), ("class", css_classes(classes))]
    expanded = node.id in layout.containers
    own, text = notation.node_attrs(node, box, look, expanded, crowded)
    attrs += own
    label = layout.labels.get(node.id)
    if label is None and look.notes and node.kind in OUTSIDE_LABEL_KINDS:
        label = Box(box.x, box.bottom - 10, max(box.width, 60), 12)
    if label is not None and node.kind in OUTSIDE_LABEL_KINDS:
        text += notation.outside_label(node, label, look)
    out = [_statement(node.id, attrs)]
    for index, ring in enumerate(notation.overlays(node, box, look)):
        out.append(_statement(f"~ring{index}~{node.id}", [("class", '"marker"'), *ring]))
    return out, lettering.all_bodies(text)


# --- legend placement -------------------------------------------------------------------------


def _occupied(layout: Layout) -> list[Box]:
    boxes = list(layout.nodes.values()) + list(layout.labels.values())
    boxes += [area.label for area in layout.areas]
    boxes += [area.header for area in layout.areas if area.header is not None]
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


def _legend(title: str, rows: list[LegendRow]) -> Legend:
    """A legend's size: the title and spanning rows from the left, the other rows after a
    24 pt swatch; one row per 16 pt."""
    text_left = LEGEND_PAD + SWATCH[0] + LEGEND_PAD
    widths = [LEGEND_PAD + text_width(title, LABEL_SIZE)]
    for row in rows:
        spans = row.swatch is None and not row.sample
        widths.append((LEGEND_PAD if spans else text_left) + text_width(row.text, row.size))
    height = 2 * LEGEND_PAD + (len(rows) + 1) * LEGEND_ROW
    return Legend(title, tuple(rows), max(widths) + LEGEND_PAD + 2, height)


def _legend_bodies(legend: Legend, box: Box) -> tuple[str, ...]:
    return lettering.all_bodies(_legend_marks(legend, box))


def _legend_marks(legend: Legend, box: Box) -> list[Mark]:
    """The legend's frame, title, swatches and texts at `box`."""
    marks: list[Mark] = [Patch(box, "white", "#888888", 1.0)]
    left, top = box.left + LEGEND_PAD, box.top - LEGEND_PAD
    marks += lettering.stack(
        [(legend.title, LABEL_SIZE, LEGEND_ROW)], left, top, INK, align="left", css="legend"
    )
    swatch_x = left + SWATCH[0] / 2
    text_left = left + SWATCH[0] + LEGEND_PAD
    for index, row in enumerate(legend.rows, start=1):
        y = top - (index + 0.5) * LEGEND_ROW  # the row's middle
        if row.swatch is not None:
            look = row.swatch
            border = 1 + round(look.extra_width)
            swatch = Box(swatch_x, y, *SWATCH)
            marks.append(Patch(swatch, look.fill, look.pen, border, look.dash))
        elif row.sample:
            marks.append(
                lettering.glyph(row.sample, swatch_x, y, row.size, row.sample_colour, "legend")
            )
        x = text_left if row.swatch is not None or row.sample else left
        strike = row.swatch is not None and row.swatch.strike
        line = lettering.glyph(row.text, x, y, row.size, INK, "legend")
        marks.append(replace(line, align="left", strike=strike))
    return marks
