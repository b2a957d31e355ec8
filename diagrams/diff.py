"""Two versions of a process side by side: what was added, changed or removed, on the chart.

The newer version is drawn with its added and changed elements (and flows) marked, the older
one with its removed and changed ones; unchanged elements stay as designed.  Pure like dot.py,
whose definition chart it marks (`Overlay`); the marks come in as plain element id -> status
mappings, so diagrams/ still sees nothing of the engine but its graph types.

Every mark differs in fill AND border, so a greyscale print still tells them apart: added =
thick solid green, changed = thick dashed amber, removed = dotted red and struck through.
Marked elements carry the class `diff-added`, `diff-changed` or `diff-removed` in the SVG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from diagrams import layout_for
from diagrams.dot import EdgeLook, Overlay, definition_dot
from diagrams.layout import Layout
from diagrams.pages import is_chinese
from diagrams.render import render
from diagrams.styles import LegendRow, Look
from engine.core.graph import Graph

__all__ = ["DIFF_LOOKS", "SIDES", "diff_dot", "diff_legend", "render_diff"]

SIDES = ("old", "new")
DIFF_LOOKS: dict[str, Look] = {
    "added": Look(fill="#d8f0d2", pen="#2e7d32", font="#13401a", extra_width=1.6),
    "changed": Look(fill="#fff0c2", pen="#b26a00", font="#4a2c00", dash="dashed", extra_width=1.6),
    "removed": Look(fill="#f7d4d4", pen="#b00020", font="#5c0010", dash="dotted", strike=True),
}
DIFF_TEXT = {
    "added": "added in v{new}",
    "changed": "changed",
    "removed": "removed in v{new}",
}
DIFF_TEXT_ZH = {"added": "v{new} 新增", "changed": "有改动", "removed": "v{new} 删除"}
# What each side shows: the newer one cannot show removed elements, the older added ones.
SHOWN = {"new": ("added", "changed"), "old": ("removed", "changed")}
EDGE_WIDTH = 2.4


def diff_legend(side: str, old: int, new: int, *, zh: bool = False) -> tuple[str, list[LegendRow]]:
    """The legend of one side: its title and a row per mark (`zh`: in Simplified Chinese)."""
    texts = DIFF_TEXT_ZH if zh else DIFF_TEXT
    rows = [LegendRow(texts[status].format(new=new), DIFF_LOOKS[status]) for status in SHOWN[side]]
    rows.append(LegendRow("未改动" if zh else "unchanged", Look()))
    shown, other = (new, old) if side == "new" else (old, new)
    return (f"v{shown} 与 v{other} 对比" if zh else f"v{shown} compared with v{other}"), rows


def diff_dot(
    graph: Graph,
    layout: Layout,
    marks: Mapping[str, str],
    *,
    side: str,
    old: int,
    new: int,
    notes: Mapping[str, str] | None = None,
    title: str | None = None,
    zh: bool = False,
) -> str:
    """One side of a comparison as DOT: `marks` maps element and flow ids to added, changed
    or removed (ids the graph does not have are ignored); `notes` adds a small line under
    an element's name (what changed)."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}")
    shown = SHOWN[side]
    nodes = {n.id for n in graph.nodes}
    looks: dict[str, Look] = {}
    classes: dict[str, str] = {}
    edges: dict[str, EdgeLook] = {}
    for ident, status in marks.items():
        if status not in shown:
            continue
        look = DIFF_LOOKS[status]
        if ident in nodes:
            note = (notes or {}).get(ident)
            looks[ident] = replace(look, notes=(note,) if note else ())
            classes[ident] = f"diff-{status}"
        else:
            edges[ident] = EdgeLook(look.pen, EDGE_WIDTH)
    overlay = Overlay(looks, classes, edges, diff_legend(side, old, new, zh=zh))
    return definition_dot(graph, layout, title=title, overlay=overlay, zh=zh)


def render_diff(
    graph: Graph,
    marks: Mapping[str, str],
    fmt: str,
    *,
    side: str,
    old: int,
    new: int,
    notes: Mapping[str, str] | None = None,
    cache_key: str | None = None,
    lang: str | None = None,
) -> bytes:
    """One side of a comparison as svg, png, pdf or dot (the layout as for the plain chart,
    cached under the same key), its legend in `lang`."""
    chosen = layout_for(graph, None, cache_key)
    zh = is_chinese(lang)
    text = diff_dot(graph, chosen, marks, side=side, old=old, new=new, notes=notes, zh=zh)
    return render(text, fmt)
