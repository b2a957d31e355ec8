"""Flows whose stored waypoints are no path: (0, 0) points, one point, two equal points, and
two-point diagonals in a diagram whose tool draws orthogonally.  Each is drawn from its
source's border to its target's: orthogonally when the diagram's bent flows all are."""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

import diagrams
from diagrams.geometry import Box, outline
from engine.core.graph import Bounds, Edge, Graph, Node, Point, graph_from_xml
from tests.diagrams.svg import extent, groups, parse

P = "proc"
MIWG = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "miwg" / "Reference"
ZERO = Point(0, 0)


def shapes() -> tuple[Node, ...]:
    """A start event, a gateway, three tasks, in a diagram that starts at (200, 100)."""
    return (
        Node("start", "startEvent", "In", P, bounds=Bounds(200, 182, 36, 36)),
        Node("gw", "exclusiveGateway", "", P, bounds=Bounds(300, 175, 50, 50)),
        Node("up", "task", "Up", P, bounds=Bounds(420, 60, 100, 80)),
        Node("down", "task", "Down", P, bounds=Bounds(420, 300, 100, 80)),
        Node("far", "task", "Far", P, bounds=Bounds(650, 180, 100, 80)),
    )


def broken(bent: bool) -> Graph:
    """Flows with every kind of unusable geometry; with `bent`, one flow has three orthogonal
    waypoints (so the tool draws orthogonally), without it none has more than two."""
    bend = (Point(470, 140), Point(470, 245), Point(650, 245)) if bent else ()
    edges = (
        Edge("at_origin", "sequenceFlow", "start", "gw", waypoints=(ZERO, ZERO)),
        Edge("one_point", "sequenceFlow", "gw", "up", waypoints=(Point(325, 175),)),
        Edge("same_twice", "sequenceFlow", "gw", "down", waypoints=(Point(325, 225),) * 2),
        Edge("diagonal", "sequenceFlow", "down", "far", waypoints=(Point(520, 340), ZERO)),
        Edge("slant", "sequenceFlow", "up", "far", waypoints=(Point(520, 100), Point(650, 200))),
        Edge("bent", "sequenceFlow", "up", "far", waypoints=bend) if bent else None,
    )
    return Graph(
        name="Broken", process_ids=(P,), nodes=shapes(), edges=tuple(e for e in edges if e)
    )


def on_outline(p: Point, box: Box, shape: str) -> bool:
    """Whether `p` lies on the outline of `box` drawn as `shape` (within 0.5 pt)."""
    dx, dy = abs(p.x - box.x), abs(p.y - box.y)
    hw, hh = box.width / 2, box.height / 2
    if shape == "circle":
        return abs(math.hypot(dx, dy) - min(hw, hh)) < 0.5
    if shape == "diamond":
        return abs(dx / hw + dy / hh - 1) < 0.5 / min(hw, hh)
    inside = dx <= hw + 0.5 and dy <= hh + 0.5
    return inside and (abs(dx - hw) < 0.5 or abs(dy - hh) < 0.5)


def level_or_upright(points: tuple[Point, ...]) -> bool:
    return all(
        abs(a.x - b.x) < 0.01 or abs(a.y - b.y) < 0.01 for a, b in itertools.pairwise(points)
    )


@pytest.mark.parametrize("bent", [True, False], ids=["orthogonal tool", "straight tool"])
def test_unusable_waypoints_become_a_path_from_border_to_border(bent: bool) -> None:
    graph = broken(bent)
    layout = diagrams.drawn_layout(graph)
    kinds = {n.id: n.kind for n in graph.nodes}
    # The canvas is the shapes' (and the bent flow's) extent: no (0, 0) pulled it out.
    assert layout.width == pytest.approx((750 - 200) * 0.75 + 24)
    for edge in graph.edges:
        if edge.id == "bent":
            continue
        path = layout.edges[edge.id].points
        source, target = layout.nodes[edge.source], layout.nodes[edge.target]
        assert len(path) >= 2 and len(set(path)) == len(path), edge.id
        assert on_outline(path[0], source, outline(kinds[edge.source])), edge.id
        assert on_outline(path[-1], target, outline(kinds[edge.target])), edge.id
        assert min(p.x for p in path) > 12 and min(p.y for p in path) > 12, edge.id
        if bent:
            assert level_or_upright(path), (edge.id, path)
        else:
            assert len(path) == 2, edge.id  # a straight line between the outlines


def test_a_gateway_turns_once_and_tasks_apart_turn_twice() -> None:
    layout = diagrams.drawn_layout(broken(True))
    assert len(layout.edges["one_point"].points) == 3  # gateway: up, then across: an L
    assert len(layout.edges["same_twice"].points) == 3
    gw, up = layout.nodes["gw"], layout.nodes["up"]
    start, corner, end = layout.edges["one_point"].points
    assert start == Point(gw.x, gw.top) and corner == Point(gw.x, up.y)
    assert end == Point(up.left, up.y)
    # down -> far: their sides face each other; the path turns half way (a Z).
    assert len(layout.edges["diagonal"].points) == 4
    # The slant's stored ends sit on the right side of "up" and the left side of "far":
    # it keeps them and turns half way between.
    a, b, c, d = layout.edges["slant"].points
    assert a == Point(up.right, up.y) and d == Point(layout.nodes["far"].left, d.y)
    assert a.y == b.y and b.x == c.x == (a.x + d.x) / 2 and c.y == d.y != a.y


def test_a_flow_missing_one_end_is_joined_to_its_shape() -> None:
    graph = broken(False)
    # Its last point is at the origin: the rest is kept and joined to the target's border.
    kept = replace(
        graph.edges[3], waypoints=(Point(520, 340), Point(600, 340), Point(600, 220), ZERO)
    )
    layout = diagrams.drawn_layout(replace(graph, edges=(kept,)))
    path = layout.edges["diagonal"].points
    assert len(path) == 4
    assert on_outline(path[-1], layout.nodes["far"], "rect")


def test_every_broken_flow_is_drawn_and_none_reaches_the_corner() -> None:
    graph = broken(True)
    root = parse(diagrams.render_definition(graph, "svg"))
    found = groups(root)
    for edge in graph.edges:
        left, bottom, _, _ = extent(found[edge.id])
        assert left > 12 and bottom > 12, edge.id


@pytest.mark.skipif(not MIWG.is_dir(), reason="shared/corpora is not beside the repository")
def test_c_2_0_with_half_its_flows_stored_at_the_origin_draws_them_between_their_shapes() -> None:
    path = MIWG / "C.2.0.bpmn"
    whole = graph_from_xml(path.read_bytes(), file=path.name)
    root = etree.fromstring(path.read_bytes())
    edges = [e for e in root.iter() if etree.QName(e).localname == "BPMNEdge"]
    zeroed = {e.get("bpmnElement") for e in edges[::2]}
    for edge in edges[::2]:  # the others still show how the tool draws: orthogonally
        for point in (e for e in edge if etree.QName(e).localname == "waypoint"):
            point.set("x", "0")
            point.set("y", "0")
    graph = graph_from_xml(etree.tostring(root), file=path.name)
    assert {e.id for e in graph.edges} == {e.id for e in whole.edges}
    layout, before = diagrams.drawn_layout(graph), diagrams.drawn_layout(whole)
    assert (layout.width, layout.height) == (before.width, before.height)
    svg = groups(parse(diagrams.render_definition(graph, "svg")))
    for edge in graph.edges:
        if edge.id not in zeroed:
            assert layout.edges[edge.id] == before.edges[edge.id]
            continue
        points = layout.edges[edge.id].points
        if edge.kind in ("sequenceFlow", "messageFlow"):
            assert level_or_upright(points), edge.id
        left, bottom, _, _ = extent(svg[edge.id])
        assert left > 12 and bottom > 12, edge.id


def test_what_cannot_be_placed_is_listed_and_said_never_dropped_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph = broken(True)
    nowhere = replace(graph.nodes[-1], bounds=None)  # "far" has no DI: nothing to place
    graph = replace(graph, nodes=(*graph.nodes[:-1], nowhere))
    with caplog.at_level(logging.WARNING, logger="diagrams.layout"):
        layout = diagrams.drawn_layout(graph)
    assert set(layout.missing) == {"far", "diagonal", "slant", "bent"}
    assert any("far" in r.getMessage() and "slant" in r.getMessage() for r in caplog.records)
    assert diagrams.drawn_layout(broken(True)).missing == ()
