"""Vertical pools and lanes (DI isHorizontal="false"): the header is a band on top with the
name written across it, not a strip at the left with an empty band.

A.4.1 of the MIWG reference is drawn with vertical pools and lanes; C.1.0 turned on its side
(every x swapped with its y) is a second one, with a black-box pool; nested vertical lanes
are a hand-made graph (no corpus file has them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

import diagrams
from diagrams.layout import HEADER
from engine.core.graph import Bounds, Graph, Lane, Node, Pool, graph_from_xml
from tests.diagrams.svg import classes, extent, groups, of_class, parse, text_spots

MIWG = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "miwg" / "Reference"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
needs_corpus = pytest.mark.skipif(not MIWG.is_dir(), reason="shared/corpora is not beside us")


def turned(xml: bytes) -> bytes:
    """The model on its side: every x swapped with its y (and width with height), pools and
    lanes marked vertical, as a tool that draws top to bottom would write it."""
    root = etree.fromstring(xml)
    for bounds in root.iter(f"{{{DC}}}Bounds"):
        x, y, w, h = (bounds.get(k) for k in ("x", "y", "width", "height"))
        bounds.set("x", y)
        bounds.set("y", x)
        bounds.set("width", h)
        bounds.set("height", w)
    for point in (e for e in root.iter() if etree.QName(e).localname == "waypoint"):
        x, y = point.get("x"), point.get("y")
        point.set("x", y)
        point.set("y", x)
    areas = {
        e.get("id") for e in root.iter() if etree.QName(e).localname in ("participant", "lane")
    }
    for shape in root.iter(f"{{{DI}}}BPMNShape"):
        if shape.get("bpmnElement") in areas:
            shape.set("isHorizontal", "false")
    return etree.tostring(root)


def assert_headers_on_top(graph: Graph, root: etree._Element) -> None:
    """Every vertical pool (with a process) and lane: its group is one plain rectangle (no
    stripe at the left), a shaded band spans its top HEADER points, and its name is written
    horizontally, centred in that band."""
    found = groups(root)
    bands = [extent(g) for g in of_class(root, "header")]
    spots = text_spots(root)
    areas = [(p.id, p.name) for p in graph.pools if p.process_id is not None]
    areas += [(x.id, x.name) for x in graph.lanes]
    assert areas
    for element, name in areas:
        left, bottom, right, top = extent(found[element])
        assert len(list(found[element].iter("{http://www.w3.org/2000/svg}polygon"))) == 1
        band = next(
            b
            for b in bands
            if abs(b[0] - left) < 1 and abs(b[2] - right) < 1 and abs(b[3] - top) < 1
        )
        assert band[3] - band[1] == pytest.approx(min(HEADER, top - bottom), abs=1), element
        if name.strip():  # (a task may have the lane's name: the text in the band)
            inside = [s for s in spots if s[0].strip() == name.strip() and band[1] < s[2] < band[3]]
            assert inside, f"{name!r} is not written in its band"
            _, x, _, _, anchor = inside[0]
            assert anchor == "middle" and x == pytest.approx((left + right) / 2, abs=1), name


@needs_corpus
def test_a_4_1_vertical_pools_and_lanes_have_their_header_on_top() -> None:
    path = MIWG / "A.4.1.bpmn"
    graph = graph_from_xml(path.read_bytes(), file=path.name)
    assert graph.pools and not any(p.horizontal for p in graph.pools)
    assert graph.lanes and not any(x.horizontal for x in graph.lanes)
    root = parse(diagrams.render_definition(graph, "svg"))
    assert_headers_on_top(graph, root)


@needs_corpus
def test_c_1_0_turned_on_its_side_draws_its_headers_on_top() -> None:
    path = MIWG / "C.1.0.bpmn"
    graph = graph_from_xml(turned(path.read_bytes()), file=path.name)
    assert not any(p.horizontal for p in graph.pools)
    root = parse(diagrams.render_definition(graph, "svg"))
    assert_headers_on_top(graph, root)
    black_box = [p for p in graph.pools if p.process_id is None]
    for pool in black_box:  # a black box keeps its name in the middle, no band
        assert pool.name in [s[0] for s in text_spots(root)]
    # Shapes stay where the (turned) designer put them: a task's x is its old y.
    upright = graph_from_xml(path.read_bytes(), file=path.name)
    task = next(n for n in upright.nodes if n.kind.endswith("Task") and n.bounds)
    turned_task = next(n for n in graph.nodes if n.id == task.id)
    assert task.bounds and turned_task.bounds
    assert (turned_task.bounds.x, turned_task.bounds.y) == (task.bounds.y, task.bounds.x)


def nested_vertical() -> Graph:
    """A vertical pool with a lane that holds two vertical lanes side by side."""
    p = "proc"
    return Graph(
        name="Nested",
        process_ids=(p,),
        pools=(Pool("pool", "Sales", p, Bounds(0, 0, 400, 500), horizontal=False),),
        lanes=(
            Lane("outer", "Field team", p, bounds=Bounds(0, 30, 400, 470), horizontal=False),
            Lane("north", "North", p, "outer", Bounds(0, 60, 200, 440), horizontal=False),
            Lane("south", "South 南区", p, "outer", Bounds(200, 60, 200, 440), horizontal=False),
        ),
        nodes=(
            Node("visit", "userTask", "Visit", p, "north", bounds=Bounds(50, 150, 100, 80)),
            Node("call", "userTask", "Call", p, "south", bounds=Bounds(250, 150, 100, 80)),
        ),
    )


def test_nested_vertical_lanes_each_have_their_band_below_their_parents() -> None:
    graph = nested_vertical()
    layout = diagrams.drawn_layout(graph)
    by_id = {a.id: a for a in layout.areas}
    for area in layout.areas:
        assert area.header is not None and not area.horizontal
        assert area.header.top == pytest.approx(area.box.top)
        assert area.header.width == pytest.approx(area.box.width)
    assert by_id["north"].header and by_id["outer"].header and by_id["pool"].header
    assert by_id["north"].header.top <= by_id["outer"].header.bottom + 0.01
    assert by_id["outer"].header.top <= by_id["pool"].header.bottom + 0.01
    root = parse(diagrams.render_definition(graph, "svg"))
    assert_headers_on_top(graph, root)
    assert classes(groups(root)["south"]) == ["node", "lane"]
