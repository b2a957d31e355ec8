"""Pools and lanes as designed: a horizontal one has a shaded strip at its left, a vertical one
(DI isHorizontal="false", about one export in twenty) a shaded band on top with its name.

Graphviz cannot rotate text, so a horizontal pool or lane cannot write its name up its strip
as bpmn.io does.  A Chinese (or Japanese, Korean) name is written down the strip, a character
a line, as those scripts are written vertically.  Any other name is written at the lane's top
left, right of the strip; a pool holding lanes writes it above itself (its lanes fill it),
and a pool without lanes at its top left unless a shape or a name is there, then above itself
too.  A vertical pool or lane writes its name across its band, as every modelling tool does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from diagrams.geometry import LABEL_LINE, LABEL_SIZE, SCALE, Box
from diagrams.text import is_wide, text_width
from engine.core.graph import Graph

HEADER = 30 * SCALE  # bpmn.io's 30 px strip (or band) that holds a pool's or lane's name


@dataclass(frozen=True)
class Area:
    """A pool or a lane: its rectangle, the shaded header, and where its name goes."""

    id: str
    kind: str  # "pool" or "lane"
    name: str
    box: Box
    label: Box  # the name is written inside this box
    align: str = "left"  # "left", "center" or "upright" (down the strip) inside `label`
    # The shaded strip at the area's left (horizontal) or band at its top (vertical); None:
    # no header (a black-box pool).
    header: Box | None = None
    horizontal: bool = True


def _strip(box: Box) -> Box:
    return Box(box.left + HEADER / 2, box.y, HEADER, box.height)


def _band(box: Box) -> Box:
    height = min(HEADER, box.height)
    return Box(box.x, box.top - height / 2, box.width, height)


def _inside_label(box: Box) -> Box:
    """The top-left corner of an area, right of its header strip."""
    width = box.width - HEADER - 8
    return Box(box.left + HEADER + 5 + width / 2, box.top - 10, width, 14)


def _above(box: Box) -> Box:
    return Box(box.x, box.top + 8, box.width, 14)


def _crowded(name: str, label: Box, occupied: Sequence[Box]) -> bool:
    """Whether `name`, written from the left of `label`, would run over a shape or a name."""
    width = min(text_width(name, LABEL_SIZE), label.width)
    written = Box(label.left + width / 2, label.y, width, LABEL_LINE)
    return any(written.overlaps(other) for other in occupied)


def _upright(name: str) -> bool:
    """Whether a name is written down its strip: every character of it a wide one (CJK)."""
    chars = [c for c in name if not c.isspace()]
    return bool(chars) and all(is_wide(c) for c in chars)


def _depth(graph: Graph, lane_id: str) -> int:
    parents = {lane.id: lane.parent_id for lane in graph.lanes}
    depth, current = 0, parents.get(lane_id)
    while current is not None and depth < len(parents):
        depth, current = depth + 1, parents.get(current)
    return depth


def areas(graph: Graph, boxes: Mapping[str, Box], occupied: Sequence[Box]) -> list[Area]:
    """The pools and lanes that have a box in `boxes`, outermost first; `occupied`: the
    shapes and names a pool's name must not be written over."""
    out: list[Area] = []
    laned = {lane.process_id for lane in graph.lanes}
    for pool in graph.pools:
        box = boxes.get(pool.id)
        if box is None:
            continue
        if pool.process_id is None:  # a black box: the name in the middle, no header
            out.append(Area(pool.id, "pool", pool.name, box, box, "center", None, pool.horizontal))
        elif not pool.horizontal:
            band = _band(box)
            out.append(Area(pool.id, "pool", pool.name, box, band, "center", band, False))
        elif _upright(pool.name):
            strip = _strip(box)
            out.append(Area(pool.id, "pool", pool.name, box, strip, "upright", strip))
        else:
            label = _inside_label(box)
            if pool.process_id in laned or _crowded(pool.name, label, occupied):
                label = _above(box)
            out.append(Area(pool.id, "pool", pool.name, box, label, "left", _strip(box)))
    depth = {lane.id: _depth(graph, lane.id) for lane in graph.lanes}
    for lane in sorted(graph.lanes, key=lambda lane: depth[lane.id]):
        box = boxes.get(lane.id)
        if box is None:
            continue
        if lane.horizontal and _upright(lane.name):
            strip = _strip(box)
            area = Area(lane.id, "lane", lane.name, box, strip, "upright", strip)
        elif lane.horizontal:
            area = Area(lane.id, "lane", lane.name, box, _inside_label(box), "left", _strip(box))
        else:
            band = _band(box)
            area = Area(lane.id, "lane", lane.name, box, band, "center", band, False)
        out.append(area)
    return out
