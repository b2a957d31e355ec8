"""Text at fixed spots: every line of text is the plain label of its own outline-less node.

Graphviz places text by its own measure of it wherever it can: inside an HTML-like label a
line starts at the cell's centre minus half its measured width, and the measure depends on
the text-layout plugin (pango measures the real font; without pango graphviz estimates Times
widths), so the same DOT gives different SVGs.  A plain label of a fixed-size node is placed
without any measure: "text\\l" starts exactly at the node's left side (`text-anchor="start"`),
"text" is centred on it, "text\\r" ends at its right side, and with `labelloc=b` one line's
baseline sits 0.3 font sizes above the node's bottom (pango: within 0.4 pt of that).  So each
line is a node sized (in whole points, as graphviz rounds them) wider and taller than any
measure of its text could be, and the SVG is the same with or without pango: the browser
lays the text out, graphviz only says where.  (Two lines in one label would be spaced by
graphviz's measure too, hence one node per line.)

Line heights and where lines break are ours (diagrams.text wraps by estimated widths).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from diagrams.layout import Box
from diagrams.text import clean, number, quote, text_width

Attrs = list[tuple[str, str]]

BASELINE = 0.3  # with labelloc=b, the baseline is this many font sizes above the node's bottom
MIDDLE = 0.32  # a line looks vertically centred on y when its baseline is this far below y
JUSTIFY = {"left": "\\l", "center": "", "right": "\\r"}


@dataclass(frozen=True)
class Line:
    """One line of text: `x` is its left end, centre or right end (by `align`)."""

    text: str
    x: float
    baseline: float  # points, y up
    size: float
    colour: str
    align: str = "center"  # "left", "center" or "right"
    css: str = "label"
    strike: bool = False
    tooltip: str = ""


@dataclass(frozen=True)
class Patch:
    """A plain rectangle (or triangle): a legend's frame and swatches, a filled marker's dark
    cell, a vertical pool's header band, a message's envelope."""

    box: Box
    fill: str
    pen: str
    width: float = 1.0  # border width; 0: none
    dash: str = ""  # "", "dashed" or "dotted"
    css: str = "legend"
    shape: str = "box"  # or "invtriangle": an envelope's flap, its top side the box's top


Mark = Line | Patch


def _even(points: float) -> int:
    """A size in whole points, even so that half of it is whole too (graphviz rounds sizes)."""
    return 2 * math.ceil(points / 2)


def inches(points: float) -> str:
    """Graphviz sizes are inches: four decimals keep a box within 0.01 pt of its size."""
    return f"{points / 72:.4f}".rstrip("0").rstrip(".") or "0"


def room(text: str, size: float) -> int:
    """A width no measure of `text` reaches: graphviz's estimate gives each UTF-8 byte at most
    one em, and no glyph of ours is wider than an em per byte either."""
    return _even(size * (len(text.encode("utf-8")) + 2))


def line_attrs(line: Line) -> Attrs:
    width, height = room(line.text, line.size), _even(1.5 * line.size)
    shift = {"left": width / 2, "center": 0.0, "right": -width / 2}[line.align]
    x = line.x + shift
    y = line.baseline - BASELINE * line.size + height / 2
    # One line: a newline would make graphviz space lines by its own measure.
    label = quote(clean(line.text).replace("\n", " "))[:-1] + JUSTIFY[line.align] + '"'
    attrs: Attrs = [
        ("class", quote(line.css)),
        ("shape", '"none"'),
        ("fixedsize", '"true"'),
        ("labelloc", '"b"'),
        ("pos", quote(f"{number(x)},{number(y)}!")),
        ("width", inches(width)),
        ("height", inches(height)),
        ("fontsize", number(line.size)),
        ("fontcolor", quote(line.colour)),
        ("label", label),
    ]
    if line.tooltip:
        attrs.append(("tooltip", quote(line.tooltip)))
    return attrs


def strike_attrs(line: Line) -> Attrs:
    """A line through `line` (cancelled elements): an `underline` node's bottom side, as long
    as the text's estimated width, at the height of a lower-case letter's middle."""
    width = text_width(line.text, line.size)
    left = {"left": line.x, "center": line.x - width / 2, "right": line.x - width}[line.align]
    y = line.baseline + 0.3 * line.size
    return [
        ("class", '"strike"'),
        ("shape", '"underline"'),
        ("fixedsize", '"true"'),
        ("pos", quote(f"{number(left + width / 2)},{number(y + 1)}!")),
        ("width", inches(width)),
        ("height", inches(2)),
        ("label", '""'),
        ("penwidth", "0.8"),
        ("color", quote(line.colour)),
    ]


@functools.lru_cache(maxsize=16384)
def bodies(mark: Mark) -> tuple[str, ...]:
    """The attribute lists (DOT text) of the helper nodes that draw `mark`: one node, or two
    for a struck-through line.  Remembered: deals on one process share most of their text."""
    if isinstance(mark, Patch):
        return (_join(patch_attrs(mark)),)
    if mark.strike:
        return _join(line_attrs(mark)), _join(strike_attrs(mark))
    return (_join(line_attrs(mark)),)


def all_bodies(marks: Sequence[Mark]) -> tuple[str, ...]:
    """`bodies` of every mark, in order."""
    return tuple(body for mark in marks for body in bodies(mark))


def _join(attrs: Attrs) -> str:
    return ", ".join(f"{k}={v}" for k, v in attrs)


def patch_attrs(patch: Patch) -> Attrs:
    styles = ["filled", patch.dash] if patch.dash else ["filled"]
    b = patch.box
    return [
        ("class", quote(patch.css)),
        ("shape", quote(patch.shape)),
        ("fixedsize", '"true"'),
        ("pos", quote(f"{number(b.x)},{number(b.y)}!")),
        ("width", inches(b.width)),
        ("height", inches(b.height)),
        ("label", '""'),
        ("style", quote(",".join(styles))),
        ("penwidth", number(patch.width)),
        ("color", quote(patch.pen if patch.width else patch.fill)),
        ("fillcolor", quote(patch.fill)),
    ]


def stack(
    rows: Sequence[tuple[str, float, float]],
    x: float,
    top: float,
    colour: str,
    *,
    align: str = "center",
    css: str = "label",
    strike: Iterable[bool] = (),
) -> list[Mark]:
    """Lines one under the other from `top` down: rows of (text, font size, line height),
    each baseline centred in its line's height.  Empty rows keep their height."""
    struck = list(strike)
    out: list[Mark] = []
    y = top
    for index, (text, size, height) in enumerate(rows):
        baseline = y - height / 2 - MIDDLE * size
        if text.strip():
            cut = struck[index] if index < len(struck) else False
            out.append(Line(text, x, baseline, size, colour, align, css, cut))
        y -= height
    return out


def height_of(rows: Sequence[tuple[str, float, float]]) -> float:
    return sum(height for _, _, height in rows)


def centred(
    rows: Sequence[tuple[str, float, float]],
    x: float,
    y: float,
    colour: str,
    *,
    align: str = "center",
    css: str = "label",
    strike: Iterable[bool] = (),
) -> list[Mark]:
    """`stack`, the whole block centred vertically on `y`."""
    top = y + height_of(rows) / 2
    return stack(rows, x, top, colour, align=align, css=css, strike=strike)


def glyph(char: str, x: float, y: float, size: float, colour: str, css: str = "marker") -> Line:
    """One marker glyph centred on (x, y)."""
    return Line(char, x, y - MIDDLE * size, size, colour, "center", css)
