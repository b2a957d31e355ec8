"""BPMN 2.0 notation in graphviz: the shape, border and marker of every kind of element.

Modelled on how bpmn.io draws (so a designer recognises each element), within what graphviz
can draw at a fixed position: markers are Unicode glyphs (DejaVu Sans and Noto Sans CJK
carry them all; a filled glyph or a white-on-black cell stands for a throwing event), and
the two gateway markers that are circles are drawn as a second, unlabelled node on top.

Each function returns DOT attributes as (name, value) pairs with values already in DOT
syntax, in a fixed order, so the DOT text is stable enough to pin in tests.
"""

from __future__ import annotations

from diagrams.layout import LABEL_LINE, LABEL_SIZE, Box
from diagrams.styles import Look
from diagrams.text import html, lines, number, quote
from engine.graph import EVENT_KINDS, GATEWAY_KINDS, SUBPROCESS_KINDS, TASK_KINDS, Node

Attrs = list[tuple[str, str]]

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
# Three font sizes only (8, 9, 14 pt) and no bold: graphviz loads a font per size and face
# at every render (~0.7 ms each, more for the fallback font that carries most markers).
NOTE_SIZE = 8.0  # assignee, due time and heat lines (as flow names)
NOTE_LINE = 10.0
MARKER_SIZE = 14.0  # every marker glyph (the title too)


def inches(points: float) -> str:
    """Graphviz sizes are inches: four decimals keep a box within 0.01 pt of its DI size."""
    return f"{points / 72:.4f}".rstrip("0").rstrip(".") or "0"


def _fixed(box: Box) -> Attrs:
    return [
        ("pos", quote(f"{number(box.x)},{number(box.y)}!")),
        ("width", inches(box.width)),
        ("height", inches(box.height)),
    ]


def _paint(look: Look, width: float, styles: list[str]) -> Attrs:
    style = [*styles, look.dash] if look.dash else styles
    attrs = [("style", quote(",".join(style)))] if style else []
    attrs += [
        ("penwidth", number(width + look.extra_width)),
        ("color", quote(look.pen)),
        ("fillcolor", quote(look.fill)),
        ("fontcolor", quote(look.font)),
    ]
    if look.tooltip:
        attrs.append(("tooltip", quote(look.tooltip)))
    return attrs


def _name_html(text: str, width: float, look: Look, max_lines: int) -> str:
    wrapped = lines(text, width, LABEL_SIZE, max_lines)
    body = "<BR/>".join(html(line) for line in wrapped)
    if look.strike and body:
        body = f"<S>{body}</S>"
    notes = "".join(
        f'<BR/><FONT POINT-SIZE="{number(NOTE_SIZE)}">{html(note)}</FONT>' for note in look.notes
    )
    return body + notes if body else notes.removeprefix("<BR/>")


def _glyph(char: str, size: float, look: Look, inverted: bool = False) -> str:
    if not char:
        return ""
    if inverted:  # a filled marker: the glyph in the fill colour on a cell in the pen colour
        return (
            '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
            f'<TR><TD BGCOLOR="{look.pen}"><FONT POINT-SIZE="{number(size)}" '
            f'COLOR="{look.fill}">{char}</FONT></TD></TR></TABLE>'
        )
    return f'<FONT POINT-SIZE="{number(size)}">{char}</FONT>'


def outside_label(node: Node, label: Box, look: Look) -> Attrs:
    """The name (and notes) of an event, gateway or data element, written below or where
    the designer put it: graphviz's xlabel at a fixed xlp."""
    body = _name_html(node.name, max(label.width * 1.15, 40), look, 4)
    if not body:
        return []
    # Notes add lines below the name: keep the name where DI put it.
    y = label.y - len(look.notes) * NOTE_LINE / 2
    return [("xlabel", f"<{body}>"), ("xlp", quote(f"{number(label.x)},{number(y)}"))]


def event(node: Node, box: Box, look: Look) -> Attrs:
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
    label = _glyph(char, size, look, inverted)
    return [
        ("shape", shape),
        *_fixed(outer),
        ("label", f"<{label}>" if label else '""'),
        *_paint(look, width, styles),
    ]


MARKER_ROW = 18  # the type marker's row at the top of a task (2 pt of it above the marker)
BOTTOM_ROW = 15  # loop and [+] markers


def _task_table(box: Box, marker: str, filled: str, name: str, content: float, bottom: str) -> str:
    """Marker top left, name in the middle: centred in the whole box (a bottom row as high as
    the marker row) unless the name needs that room; loop and [+] markers at the bottom.
    The marker sits in a fixed-size cell so that a filled marker's background stays small."""
    w, h = max(int(box.width), 30), max(int(box.height), 20)
    top = MARKER_ROW if marker else 0
    lower = max(top, BOTTOM_ROW if bottom else 0)
    if content > h - top - lower:
        lower = BOTTOM_ROW if bottom else max(0, int(h - top - content))
    middle = max(h - top - lower, 1)
    rows, span = "", ' COLSPAN="3"' if marker else f' WIDTH="{w}"'
    if marker:
        background = f' BGCOLOR="{filled}"' if filled else ""
        rows += (
            '<TR><TD COLSPAN="3" HEIGHT="2"></TD></TR>'
            f'<TR><TD FIXEDSIZE="TRUE" WIDTH="5" HEIGHT="{MARKER_ROW - 2}"></TD>'
            f'<TD FIXEDSIZE="TRUE" WIDTH="16" HEIGHT="{MARKER_ROW - 2}"{background}>{marker}</TD>'
            f'<TD WIDTH="{w - 21}"></TD></TR>'
        )
    rows += f'<TR><TD{span} HEIGHT="{middle}">{name}</TD></TR>'
    if lower >= 1:
        rows += f'<TR><TD{span} HEIGHT="{lower}" VALIGN="BOTTOM">{bottom}</TD></TR>'
    return (
        '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" '
        f'WIDTH="{w}" HEIGHT="{h}">{rows}</TABLE>'
    )


def _bottom_markers(node: Node, look: Look, collapsed: bool) -> str:
    marks = []
    if node.loop in LOOP_MARKERS:
        marks.append(LOOP_MARKERS[node.loop])
    if node.kind == "adHocSubProcess":
        marks.append("~")
    if collapsed and node.kind in SUBPROCESS_KINDS:
        marks.append("⊞")
    return _glyph(" ".join(marks), MARKER_SIZE, look) if marks else ""


def activity(node: Node, box: Box, look: Look) -> Attrs:
    """Tasks and collapsed sub-processes: a rounded box, type marker top left, name in the
    middle, loop and [+] markers at the bottom."""
    kind_marker = TASK_MARKERS.get(node.kind, "")
    if node.kind == "sendTask":  # a filled envelope: the glyph in the fill colour on a dark cell
        filled = look.pen
        size = number(MARKER_SIZE)
        marker = f'<FONT POINT-SIZE="{size}" COLOR="{look.fill}">{kind_marker}</FONT>'
    else:
        filled, marker = "", _glyph(kind_marker, MARKER_SIZE, look)
    bottom = _bottom_markers(node, look, True)
    notes = len(look.notes) * NOTE_LINE
    room = box.height - (MARKER_ROW if marker else 0) - (BOTTOM_ROW if bottom else 0) - notes
    most = max(1, int(room // LABEL_LINE))
    name = _name_html(node.name, box.width - 8, look, most)
    content = len(lines(node.name, box.width - 8, LABEL_SIZE, most)) * LABEL_LINE + notes + 2
    width = 3.5 if node.kind == "callActivity" else 1.5
    attrs: Attrs = [
        ("shape", "box"),
        *_fixed(box),
        ("label", f"<{_task_table(box, marker, filled, name, content, bottom)}>"),
        *_paint(look, width, ["rounded", "filled"]),
    ]
    if node.kind == "transaction":
        attrs.append(("peripheries", "2"))
    if (
        not look.tooltip
        and lines(node.name, box.width - 8, LABEL_SIZE, most)[-1:]
        != lines(node.name, box.width - 8, LABEL_SIZE)[-1:]
    ):
        attrs.append(("tooltip", quote(node.name)))  # the name was cut short: hover shows it
    return attrs


def container(node: Node, box: Box, look: Look) -> Attrs:
    """An expanded sub-process (a big rounded box behind its children) or a group."""
    name = _name_html(node.name, box.width - 12, look, 2)
    w, h = max(int(box.width), 20), max(int(box.height), 20)
    table = (
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" WIDTH="{w}" '
        f'HEIGHT="{h}"><TR><TD WIDTH="{w}" ALIGN="LEFT" VALIGN="TOP" BALIGN="LEFT">{name}</TD></TR>'
        f'<TR><TD WIDTH="{w}" VALIGN="BOTTOM">{_bottom_markers(node, look, False)}</TD></TR>'
        "</TABLE>"
    )
    if node.kind == "group":
        styles, width = ["rounded", "dashed"], 1.0
    else:
        styles, width = ["rounded", "filled"], 3.5 if node.kind == "callActivity" else 1.5
    attrs: Attrs = [("shape", "box"), *_fixed(box), ("label", f"<{table}>")]
    attrs += _paint(look, width, styles)
    if node.kind == "transaction":
        attrs.append(("peripheries", "2"))
    return attrs


def gateway(node: Node, box: Box, look: Look) -> Attrs:
    char = GATEWAY_MARKERS.get(node.kind, "")
    size = MARKER_SIZE if box.width >= 20 else LABEL_SIZE
    label = _glyph(char, size, look)
    return [
        ("shape", "diamond"),
        *_fixed(box),
        ("label", f"<{label}>" if label else '""'),
        *_paint(look, 1.5, ["filled"]),
    ]


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
    else:
        return []
    ring = [("shape", shape), *_fixed(Box(box.x, box.y, size, size)), ("label", '""')]
    ring += [("penwidth", number(width)), ("color", quote(look.pen))]
    if fill:
        ring += [("style", '"filled"'), ("fillcolor", quote(fill))]
    return [ring]


def data(node: Node, box: Box, look: Look) -> Attrs:
    """Data objects (a page with a folded corner) and data stores (a cylinder)."""
    shape = "cylinder" if node.kind == "dataStoreReference" else "note"
    return [
        ("shape", shape),
        *_fixed(box),
        ("label", '""'),
        *_paint(look, 1.2, ["filled"]),
    ]


def annotation(node: Node, box: Box, look: Look) -> Attrs:
    """A text annotation: an open bracket on the left, the text beside it."""
    w, h = max(int(box.width), 20), max(int(box.height), 12)
    text = lines(node.text or node.name, box.width - 14, LABEL_SIZE)
    body = "<BR/>".join(html(line) for line in text)
    table = (
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" WIDTH="{w}" '
        f'HEIGHT="{h}"><TR><TD WIDTH="10" BORDER="1" SIDES="LTB" COLOR="{look.pen}"></TD>'
        f'<TD ALIGN="LEFT" BALIGN="LEFT" CELLPADDING="3">{body}</TD></TR></TABLE>'
    )
    return [
        ("shape", "plain"),
        *_fixed(box),
        ("label", f"<{table}>"),
        ("fontcolor", quote(look.font)),
    ]


def node_attrs(node: Node, box: Box, look: Look, expanded: bool) -> Attrs:
    """The element's own shape (without its outside label and overlays); `expanded`: an open
    sub-process, drawn as a container behind its children."""
    if node.kind in EVENT_KINDS:
        return event(node, box, look)
    if node.kind in GATEWAY_KINDS:
        return gateway(node, box, look)
    if node.kind == "group" or expanded:
        return container(node, box, look)
    if node.kind in TASK_KINDS or node.kind in SUBPROCESS_KINDS:
        return activity(node, box, look)
    if node.kind == "textAnnotation":
        return annotation(node, box, look)
    return data(node, box, look)


def area_attrs(box: Box, header: Box | None, kind: str) -> Attrs:
    """A pool or lane rectangle, its header strip shaded (the strip is one stripe)."""
    attrs: Attrs = [("shape", "box"), *_fixed(box), ("label", '""')]
    if header is not None and box.width > 0:
        share = min(max(header.width / box.width, 0.001), 0.999)
        attrs += [("style", '"striped"'), ("fillcolor", quote(f"#f2f2f2;{share:.4f}:white"))]
    else:
        attrs += [("style", '"filled"'), ("fillcolor", '"white"')]
    attrs += [("penwidth", "1.5" if kind == "pool" else "1"), ("color", quote("#555555"))]
    return attrs


def area_label_attrs(name: str, label: Box, align: str) -> Attrs:
    """The name of a pool or lane, left-aligned (or centred) in its label box."""
    line = lines(name, label.width, LABEL_SIZE, 1 if align == "left" else 3)
    body = "<BR/>".join(html(part) for part in line)
    w = max(int(label.width), 1)
    table = (
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" WIDTH="{w}">'
        f'<TR><TD WIDTH="{w}" ALIGN="{align.upper()}" BALIGN="{align.upper()}">{body}</TD></TR>'
        "</TABLE>"
    )
    return [
        ("shape", "plain"),
        ("pos", quote(f"{number(label.x)},{number(label.y)}!")),
        ("label", f"<{table}>"),
    ]
