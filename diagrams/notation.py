"""BPMN 2.0 notation in graphviz: the shape, border and marker of every kind of element.

Modelled on how bpmn.io draws (so a designer recognises each element), within what graphviz
can draw at a fixed position: markers are Unicode glyphs (DejaVu Sans and Noto Sans CJK
carry them all; a filled glyph or a white-on-black cell stands for a throwing event), and
the two gateway markers that are circles are drawn as a second, unlabelled node on top.

Each function returns DOT attributes as (name, value) pairs with values already in DOT
syntax, in a fixed order, so the DOT text is stable enough to pin in tests, and the text that
goes with the shape as `lettering` marks (lines of text and plain rectangles): no label of a
shape holds text, so nothing is placed by graphviz's measure of a text.
"""

from __future__ import annotations

from dataclasses import replace

from diagrams.layout import (
    LABEL_LINE,
    LABEL_SIZE,
    Area,
    Box,
    annotation_text,
    fitted,
    outside_text,
)
from diagrams.lettering import Attrs, Line, Mark, Patch, centred, glyph, inches, stack
from diagrams.styles import Look
from diagrams.text import lines, number, quote
from engine.core.graph import (
    EVENT_KINDS,
    GATEWAY_KINDS,
    SUBPROCESS_KINDS,
    TASK_KINDS,
    UNKNOWN_KIND,
    Node,
)

Rows = list[tuple[str, float, float]]  # (text, font size, line height)

# Event markers: (catching, throwing).  Throwing markers are the filled variants.
EVENT_MARKERS = {
    "timer": ("◷", "◷"),
    "message": ("✉", "✉"),  # throwing: white on a filled cell, see _event_label
    "signal": ("△", "▲"),
    "error": ("ϟ", "ϟ"),
    "escalation": ("⇧", "⬆"),
    "conditional": ("▤", "▤"),
    "link": ("⇨", "➡"),
    "terminate": ("", ""),  # a filled disc, drawn as an overlay
    "compensate": ("◁◁", "◀◀"),
    "cancel": ("✕", "✖"),
    "multiple": ("⬠", "⬟"),
    "parallelMultiple": ("✚", "✚"),
}
THROWING = frozenset({"intermediateThrowEvent", "endEvent"})
# Task type markers, top-left corner (bpmn.io: bust, scroll, table, gear, envelopes, hand).
TASK_MARKERS = {
    "userTask": "♙",
    "scriptTask": "§",
    "businessRuleTask": "▦",
    "serviceTask": "⚙",
    "sendTask": "✉",  # filled: white on a dark cell
    "receiveTask": "✉",
    "manualTask": "☞",
}
GATEWAY_MARKERS = {
    "exclusiveGateway": "✖",
    "parallelGateway": "✚",
    "complexGateway": "✱",
    "eventBasedGateway": "⬠",
    "inclusiveGateway": "",  # a thick circle, drawn as an overlay node
}
LOOP_MARKERS = {"standard": "↻", "parallel": "|||", "sequential": "≡"}
COMPENSATION_MARKER = "◀◀"  # an activity that undoes another (isForCompensation)
# A process's data input (white arrow) and output (black arrow), top left of the page.
DATA_ARROWS = {"dataInput": "⇨", "dataOutput": "➡"}
# Few font sizes (8, 9, 14 pt; 7 only for a name that fits no other way) and no bold:
# graphviz loads a font per size and face at every render (~0.7 ms each, more for the
# fallback font that carries most markers).
NOTE_SIZE = 8.0  # assignee, due time and heat lines (as flow names)
NOTE_LINE = 9.0
UNKNOWN_PEN = "#8c8c8c"  # a shape whose element the file lacks
MARKER_SIZE = 14.0  # every marker glyph (the title too)
MARKER_ROW = 18  # the type marker's row at the top of a task (2 pt of it above the marker)
BOTTOM_ROW = 15  # loop and [+] markers
Drawn = tuple[Attrs, list[Mark]]  # the element's own attributes, the marks drawn on top


def _fixed(box: Box) -> Attrs:
    return [
        ("pos", quote(f"{number(box.x)},{number(box.y)}!")),
        ("width", inches(box.width)),
        ("height", inches(box.height)),
    ]


def _paint(look: Look, width: float, styles: list[str]) -> Attrs:
    style = [*styles, look.dash] if look.dash and look.dash not in styles else styles
    attrs = [("style", quote(",".join(style)))] if style else []
    attrs += [
        ("penwidth", number(width + look.extra_width)),
        ("color", quote(look.pen)),
        ("fillcolor", quote(look.fill)),
    ]
    if look.tooltip:
        attrs.append(("tooltip", quote(look.tooltip)))
    return attrs


def _name_rows(text: str, width: float, look: Look, max_lines: int) -> tuple[Rows, int]:
    """The name wrapped into `width` (at most `max_lines` lines) and the look's notes under it;
    and how many of the rows are the name's."""
    name = lines(text, width, LABEL_SIZE, max_lines)
    rows = [(line, LABEL_SIZE, LABEL_LINE) for line in name]
    rows += [(note, NOTE_SIZE, NOTE_LINE) for note in look.notes]
    return rows, len(name)


def _hover(marks: list[Mark], tooltip: str) -> list[Mark]:
    """Hovering an element's text shows what hovering the element shows."""
    if not tooltip:
        return marks
    return [
        replace(m, tooltip=tooltip) if isinstance(m, Line) and not m.tooltip else m for m in marks
    ]


def _struck(look: Look, count: int) -> list[bool]:
    """Cancelled elements have their name (not their notes) struck through."""
    return [look.strike] * count


def outside_label(node: Node, label: Box, look: Look) -> list[Mark]:
    """The name (and notes) of an event, gateway or data element, written below or where
    the designer put it: the name centred on the label box, the notes under it."""
    wrapped, size, height = outside_text(node.name, label)
    name = [(line, size, height) for line in wrapped]
    rows, named = [*name, *((note, NOTE_SIZE, NOTE_LINE) for note in look.notes)], len(name)
    if not rows:
        return []
    top = label.y + sum(h for _, _, h in rows[:named]) / 2 if named else label.y + NOTE_LINE / 2
    return _hover(stack(rows, label.x, top, look.font, strike=_struck(look, named)), look.tooltip)


def _marker(char: str, x: float, y: float, size: float, look: Look, inverted: bool) -> list[Mark]:
    """A marker glyph centred on (x, y); `inverted` (a throwing message): in the fill colour on
    a small rectangle in the pen colour."""
    if not char:
        return []
    if not inverted:
        return [glyph(char, x, y, size, look.font)]
    cell = Patch(
        Box(x, y, round(size * 0.95), round(size * 0.8)), look.pen, look.pen, 0, "", "marker"
    )
    return [cell, glyph(char, x, y, size, look.fill)]


def event(node: Node, box: Box, look: Look) -> Drawn:
    definition = node.event
    throwing = node.kind in THROWING
    markers = EVENT_MARKERS.get(definition or "", ("", ""))
    char = markers[1] if throwing else markers[0]
    size = MARKER_SIZE if box.width >= 20 else LABEL_SIZE
    inverted = throwing and definition == "message"
    if node.kind == "startEvent":
        shape, width, outer = "circle", 1.5, box
    elif node.kind == "endEvent":
        shape, width, outer = "circle", 3.0, Box(box.x, box.y, box.width - 2, box.height - 2)
    else:
        # graphviz draws a doublecircle's outer ring 4 pt outside the given size.
        shape, width = "doublecircle", 1.0
        outer = Box(box.x, box.y, box.width - 8, box.height - 8)
    styles = ["filled"]
    if not node.interrupting and node.kind in ("boundaryEvent", "startEvent"):
        styles.append("dashed")
    attrs: Attrs = [
        ("shape", shape),
        *_fixed(outer),
        ("label", '""'),
        *_paint(look, width, styles),
    ]
    return attrs, _marker(char, box.x, box.y, size, look, inverted)


def _bottom_markers(node: Node, collapsed: bool) -> str:
    marks = []
    if node.loop in LOOP_MARKERS:
        marks.append(LOOP_MARKERS[node.loop])
    if node.kind == "adHocSubProcess":
        marks.append("~")
    if node.compensation:
        marks.append(COMPENSATION_MARKER)
    if collapsed and node.kind in SUBPROCESS_KINDS:
        marks.append("⊞")
    return " ".join(marks)


def activity(node: Node, box: Box, look: Look, crowded: bool = False) -> Drawn:
    """Tasks and collapsed sub-processes: a rounded box, type marker top left, name in the
    middle, loop and [+] markers at the bottom; with `crowded` (boundary events sit on the
    bottom side) the name keeps clear of the bottom row too.

    The name is centred in the whole box (a bottom row as high as the marker row) unless it
    needs that room; the marker sits in a 16 pt cell 5 pt from the left, 2 pt from the top
    (a send task's cell is filled: the envelope in the fill colour)."""
    kind_marker = TASK_MARKERS.get(node.kind, "")
    bottom = _bottom_markers(node, True)
    floor = float(BOTTOM_ROW if bottom or crowded else 0)  # kept free at the bottom
    notes = len(look.notes) * NOTE_LINE
    room = box.height - (MARKER_ROW if kind_marker else 0) - floor - notes
    name, size, line, whole = fitted(node.name, box.width - 8, room)
    rows: Rows = [(text, size, line) for text in name]
    rows += [(note, NOTE_SIZE, NOTE_LINE) for note in look.notes]
    named = len(name)
    content = named * line + notes + 2
    h = max(box.height, 20)
    top = float(MARKER_ROW if kind_marker else 0)
    lower = max(top, floor)
    if content > h - top - lower:
        lower = floor if floor else max(0, h - top - content)
    middle = max(h - top - lower, 1)
    marks: list[Mark] = []
    if kind_marker:
        cx, cy = box.left + 13, box.top - 2 - (MARKER_ROW - 2) / 2
        if node.kind == "sendTask":  # a filled envelope: the glyph in the fill colour
            cell = Box(cx, cy, MARKER_ROW - 2, MARKER_ROW - 2)
            marks.append(Patch(cell, look.pen, look.pen, 0, "", "marker"))
            marks.append(glyph(kind_marker, cx, cy, MARKER_SIZE, look.fill))
        else:
            marks.append(glyph(kind_marker, cx, cy, MARKER_SIZE, look.font))
    marks += centred(
        rows, box.x, box.top - top - middle / 2, look.font, strike=_struck(look, named)
    )
    if bottom:
        marks.append(glyph(bottom, box.x, box.bottom + BOTTOM_ROW / 2, MARKER_SIZE, look.font))
    width = 3.5 if node.kind == "callActivity" else 1.5
    styles = ["rounded", "filled", "dotted"] if node.triggered else ["rounded", "filled"]
    attrs: Attrs = [
        ("shape", "box"),
        *_fixed(box),
        ("label", '""'),
        *_paint(look, width, styles),
    ]
    if node.kind == "transaction":
        attrs.append(("peripheries", "2"))
    if not look.tooltip and not whole:
        attrs.append(("tooltip", quote(node.name)))  # the name was cut short: hover shows it
        marks = _hover(marks, node.name)
    return attrs, marks


def container(node: Node, box: Box, look: Look) -> Drawn:
    """An expanded sub-process (a big rounded box behind its children) or a group: the name
    at the top left, loop markers at the bottom."""
    rows, named = _name_rows(node.name, box.width - 12, look, 2)
    marks: list[Mark] = stack(
        rows, box.left + 5, box.top - 4, look.font, align="left", strike=_struck(look, named)
    )
    bottom = _bottom_markers(node, False)
    if bottom:
        marks.append(glyph(bottom, box.x, box.bottom + 4 + BOTTOM_ROW / 2, MARKER_SIZE, look.font))
    if node.kind == "group":
        styles, width = ["rounded", "dashed"], 1.0
    else:
        styles, width = ["rounded", "filled"], 3.5 if node.kind == "callActivity" else 1.5
        if node.triggered:  # an event sub-process: a dotted border, as the spec draws it
            styles, width = ["rounded", "filled", "dotted"], 1.5
    attrs: Attrs = [("shape", "box"), *_fixed(box), ("label", '""')]
    attrs += _paint(look, width, styles)
    if node.kind == "transaction":
        attrs.append(("peripheries", "2"))
    return attrs, marks


def gateway(node: Node, box: Box, look: Look) -> Drawn:
    char = GATEWAY_MARKERS.get(node.kind, "")
    size = MARKER_SIZE if box.width >= 20 else LABEL_SIZE
    attrs: Attrs = [
        ("shape", "diamond"),
        *_fixed(box),
        ("label", '""'),
        *_paint(look, 1.5, ["filled"]),
    ]
    return attrs, _marker(char, box.x, box.y, size, look, False)


def overlays(node: Node, box: Box, look: Look) -> list[Attrs]:
    """Markers that are circles, drawn as unlabelled nodes on top of the element (glyphs
    would not centre exactly): the inclusive gateway's thick ring, the event-based gateway's
    double ring, the terminate event's disc."""
    if node.kind == "inclusiveGateway":
        shape, size, width, fill = "circle", box.width * 0.5, 2.5, ""
    elif node.kind == "eventBasedGateway":
        shape, size, width, fill = "doublecircle", box.width * 0.6 - 8, 1.0, ""
    elif node.event == "terminate" and node.kind == "endEvent":
        shape, size, width, fill = "circle", box.width * 0.55, 1.0, look.pen
    elif node.kind == "message":
        flap_attrs: Attrs = [("shape", "invtriangle"), *_fixed(_flap_box(box)), ("label", '""')]
        flap_attrs += [("penwidth", "1.2"), ("color", quote(look.pen))]
        return [[*flap_attrs, ("style", '"filled"'), ("fillcolor", quote(look.fill))]]
    else:
        return []
    ring = [("shape", shape), *_fixed(Box(box.x, box.y, size, size)), ("label", '""')]
    ring += [("penwidth", number(width)), ("color", quote(look.pen))]
    if fill:
        ring += [("style", '"filled"'), ("fillcolor", quote(fill))]
    return [ring]


def data(node: Node, box: Box, look: Look) -> Drawn:
    """Data objects (a page with a folded corner), a process's data inputs and outputs (the
    page with a white or black arrow at its top left) and data stores (a cylinder)."""
    shape = "cylinder" if node.kind == "dataStoreReference" else "note"
    attrs: Attrs = [
        ("shape", shape),
        *_fixed(box),
        ("label", '""'),
        *_paint(look, 1.2, ["filled"]),
    ]
    marks: list[Mark] = []
    arrow = DATA_ARROWS.get(node.kind)
    if arrow is not None:
        marks.append(glyph(arrow, box.left + 7, box.top - 7, LABEL_SIZE, look.pen))
    if node.collection:  # a list of items: three bars at the bottom middle
        marks.append(glyph(LOOP_MARKERS["parallel"], box.x, box.bottom + 6, LABEL_SIZE, look.pen))
    return attrs, marks


def flap(body: Box, fill: str, pen: str) -> list[Mark]:
    """An envelope's flap on `body`: a triangle from its top corners to just below its
    middle.  Graphviz draws an invtriangle's top side a quarter of the node's height above
    its centre and its tip half the height below, so the node is sized and moved for that."""
    return [Patch(_flap_box(body), fill, pen, 1.0, "", "envelope", "invtriangle")]


def _flap_box(body: Box) -> Box:
    height = body.height * 0.55 * 4 / 3
    return Box(body.x, body.top - height / 4, body.width, height)


def message(node: Node, box: Box, look: Look) -> Drawn:
    """A message on its own: an envelope (its flap is an overlay, see `overlays`)."""
    attrs: Attrs = [("shape", "box"), *_fixed(box), ("label", '""'), *_paint(look, 1.2, ["filled"])]
    return attrs, []


def unknown(node: Node, box: Box, look: Look) -> Drawn:
    """A shape whose element the file does not have: a dashed grey box with the id in it,
    so the designer sees what their tool wrote without a model behind it."""
    name, size, line, _ = fitted(node.id, box.width - 6, box.height - 4)
    marks = centred([(text, size, line) for text in name], box.x, box.y, UNKNOWN_PEN)
    attrs: Attrs = [
        ("shape", "box"),
        *_fixed(box),
        ("label", '""'),
        ("style", '"dashed"'),
        ("penwidth", "1"),
        ("color", quote(UNKNOWN_PEN)),
        ("tooltip", quote(f"{node.id}: {node.name}" if node.name.strip() else node.id)),
    ]
    return attrs, marks


def annotation(node: Node, box: Box, look: Look) -> Drawn:
    """A text annotation: an open bracket on the left (a table cell with three sides, no
    text in it), the text beside it, centred vertically."""
    w, h = max(int(box.width), 20), max(int(box.height), 12)
    table = (
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" WIDTH="{w}" '
        f'HEIGHT="{h}"><TR><TD FIXEDSIZE="TRUE" WIDTH="10" HEIGHT="{h}" BORDER="1" SIDES="LTB" '
        f'COLOR="{look.pen}"></TD><TD FIXEDSIZE="TRUE" WIDTH="{w - 10}" HEIGHT="{h}"></TD></TR>'
        "</TABLE>"
    )
    text, size, line = annotation_text(node.text or node.name, box)
    rows = [(row, size, line) for row in text]
    marks: list[Mark] = centred(rows, box.left + 13, box.y, look.font, align="left")
    attrs: Attrs = [("shape", "plain"), *_fixed(box), ("label", f"<{table}>")]
    return attrs, marks


def node_attrs(node: Node, box: Box, look: Look, expanded: bool, crowded: bool = False) -> Drawn:
    """The element's own shape (without its outside label and overlays) and the text drawn on
    it; `expanded`: an open sub-process, drawn as a container behind its children;
    `crowded`: boundary events sit on its bottom side."""
    if node.kind in EVENT_KINDS:
        attrs, marks = event(node, box, look)
    elif node.kind in GATEWAY_KINDS:
        attrs, marks = gateway(node, box, look)
    elif node.kind == "group" or expanded:
        attrs, marks = container(node, box, look)
    elif node.kind in TASK_KINDS or node.kind in SUBPROCESS_KINDS:
        attrs, marks = activity(node, box, look, crowded)
    elif node.kind == "textAnnotation":
        attrs, marks = annotation(node, box, look)
    elif node.kind == "message":
        attrs, marks = message(node, box, look)
    elif node.kind == UNKNOWN_KIND:
        attrs, marks = unknown(node, box, look)
    else:
        attrs, marks = data(node, box, look)
    return attrs, _hover(marks, look.tooltip)


def area_attrs(area: Area) -> Attrs:
    """A pool or lane rectangle, the header strip at its left shaded (the strip is one
    stripe); a vertical one's band on top is drawn over it (`area_band`)."""
    box, header = area.box, area.header
    attrs: Attrs = [("shape", "box"), *_fixed(box), ("label", '""')]
    if header is not None and area.horizontal and box.width > 0:
        share = min(max(header.width / box.width, 0.001), 0.999)
        attrs += [("style", '"striped"'), ("fillcolor", quote(f"#f2f2f2;{share:.4f}:white"))]
    else:
        attrs += [("style", '"filled"'), ("fillcolor", '"white"')]
    attrs += [("penwidth", _area_pen(area.kind)), ("color", quote(AREA_PEN))]
    return attrs


AREA_PEN = "#555555"


def _area_pen(kind: str) -> str:
    return "1.5" if kind == "pool" else "1"


def area_band(band: Box, kind: str) -> list[Mark]:
    """The header band across the top of a vertical pool or lane (graphviz stripes only run
    across, so the band is a shaded box of its own, drawn over the area's top)."""
    return [Patch(band, "#f2f2f2", AREA_PEN, float(_area_pen(kind)), "", "header")]


def area_label(name: str, label: Box, align: str, css: str) -> list[Mark]:
    """The name of a pool or lane, left-aligned (or centred) in its label box: one line at
    the left or in a band (a smaller font before an ellipsis), up to three in a black box;
    `upright`: a Chinese name down its strip, a character a line (a vertical ellipsis
    when the strip is too short), as Chinese is written vertically."""
    if align == "upright":
        chars = [c for c in name if not c.isspace()]
        room = max(1, int(label.height // LABEL_LINE))
        if len(chars) > room:
            chars = [*chars[: room - 1], "⋮"]
        rows = [(char, LABEL_SIZE, LABEL_LINE) for char in chars]
        return centred(rows, label.x, label.y, "black", align="center", css=css)
    if align == "left":
        wrapped, size, line = lines(name, label.width, LABEL_SIZE, 1), LABEL_SIZE, LABEL_LINE
    elif label.height < 3 * LABEL_LINE:
        wrapped, size, line, _ = fitted(name, label.width - 8, LABEL_LINE)
    else:
        wrapped, size, line = lines(name, label.width, LABEL_SIZE, 3), LABEL_SIZE, LABEL_LINE
    rows = [(text, size, line) for text in wrapped]
    x = label.left if align == "left" else label.x
    return centred(
        rows, x, label.y, "black", align="left" if align == "left" else "center", css=css
    )
