"""Flowcharts of processes and deals: BPMN graph -> DOT text (pure) -> SVG, PNG or PDF.

    render_definition(graph, "svg")                 the process as designed
    render_definition(graph, "png", heat=heat)      where deals are now, how long they stay
    render_instance(graph, view, "pdf")             one deal: path taken, open tasks, errors

A PDF is printable pages (diagrams/pages.py): A4 landscape, or A3 with `paper="a3"`, the
chart scaled to one page or tiled, a header and the legend on every page in `lang`;
`join_pdfs` puts several (the diagrams of one file) into one document.

Layout: "drawn" (the designer's BPMN DI, 1 DI px = 0.75 pt) is the default when every node
has DI; otherwise "auto" (graphviz `dot`, left to right, lanes as clusters).  Only render.py
runs graphviz; dot.py is a pure function of the graph, the layout and the deal, pinned by
exact-text tests.  diagrams/ imports engine.core.graph only.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from diagrams.dot import definition_dot, instance_dot
from diagrams.errors import DiagramError, RenderError
from diagrams.layout import Area, Box, EdgePath, Layout, drawn_layout
from diagrams.pages import PAPERS, is_chinese, paginate
from diagrams.pages import join as join_pdfs
from diagrams.render import FORMATS, auto_layout, render
from diagrams.styles import heat_legend, state_legend
from engine.core.graph import Graph, Heat, InstanceView

__all__ = [
    "FORMATS",
    "Area",
    "Box",
    "DiagramError",
    "EdgePath",
    "Layout",
    "RenderError",
    "auto_layout",
    "clear_layout_cache",
    "definition_dot",
    "drawn_layout",
    "instance_dot",
    "join_pdfs",
    "layout_for",
    "render",
    "render_definition",
    "render_instance",
]

LAYOUTS = ("drawn", "auto")
CACHE_SIZE = 64  # layouts kept; one per definition version in use is plenty
_cache: OrderedDict[tuple[str, str], Layout] = OrderedDict()
_cache_lock = Lock()


def clear_layout_cache() -> None:
    with _cache_lock:
        _cache.clear()


def layout_for(graph: Graph, layout: str | None = None, cache_key: str | None = None) -> Layout:
    """The layout to draw `graph` with: "drawn" (BPMN DI) or "auto" (graphviz `dot`);
    None picks "drawn" when the graph has DI.  With `cache_key` (e.g. the definition
    version's content hash) the layout is kept in a small LRU and computed once."""
    choice = layout or ("drawn" if graph.has_di else "auto")
    if choice not in LAYOUTS:
        raise DiagramError(f"unknown layout {choice!r}: choose 'drawn' or 'auto'")
    if choice == "drawn" and not graph.has_di:
        raise DiagramError("this diagram has no drawn layout (no BPMN DI): choose 'auto'")
    key = (cache_key, choice) if cache_key is not None else None
    if key is not None:
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
    computed = drawn_layout(graph) if choice == "drawn" else auto_layout(graph)
    if key is not None:
        with _cache_lock:
            _cache[key] = computed
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return computed


def render_definition(
    graph: Graph,
    fmt: str,
    *,
    layout: str | None = None,
    heat: Heat | None = None,
    title: str | None = None,
    cache_key: str | None = None,
    paper: str = "a4",
    lang: str | None = None,
) -> bytes:
    """The process (with `heat`: a heatmap of deals here now) as svg, png, pdf or dot; a
    PDF on `paper` pages, their header and legend in `lang`."""
    chosen = layout_for(graph, layout, cache_key)
    zh = is_chinese(lang)
    if fmt != "pdf":
        return render(definition_dot(graph, chosen, heat=heat, title=title, zh=zh), fmt)
    _check_paper(paper)
    chart = render(
        definition_dot(graph, chosen, heat=heat, title=title, legend_inside=False, zh=zh), fmt
    )
    name = title or graph.name or graph.file or "process"
    if heat is not None:
        name += " · 热力图" if zh else " · heatmap"
    legend = heat_legend(heat, zh=zh) if heat is not None else None
    return paginate(chart, name, paper=paper, legend=legend, lang=lang)


def render_instance(
    graph: Graph,
    view: InstanceView,
    fmt: str,
    *,
    layout: str | None = None,
    cache_key: str | None = None,
    paper: str = "a4",
    lang: str | None = None,
) -> bytes:
    """One deal on its process as svg, png, pdf or dot, its legend and notes in `lang`; a
    PDF on `paper` pages, their header and legend in `lang` too."""
    chosen = layout_for(graph, layout, cache_key)
    zh = is_chinese(lang)
    if fmt != "pdf":
        return render(instance_dot(graph, chosen, view, zh=zh), fmt)
    _check_paper(paper)
    chart = render(instance_dot(graph, chosen, view, legend_inside=False, zh=zh), fmt)
    name = f"{view.deal} — {graph.name}" if graph.name else view.deal
    legend = state_legend(zh=zh, paper=True)
    return paginate(chart, name, paper=paper, legend=legend, lang=lang)


def _check_paper(paper: str) -> None:
    if paper not in PAPERS:
        raise DiagramError(f"unknown paper {paper!r}: choose {' or '.join(PAPERS)}")
