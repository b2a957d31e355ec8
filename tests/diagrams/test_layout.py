"""Layouts: the designer's (DI) scaled uniformly, and graphviz's for files without DI."""

from __future__ import annotations

import pytest

import diagrams
from diagrams import DiagramError, auto_layout, definition_dot, drawn_layout, render
from diagrams.layout import HEADER, MARGIN, SCALE
from engine.core.graph import Graph, Point
from tests.diagrams.graphs import HEAT, READY_VIEW, small_graph, without_di
from tests.diagrams.svg import classes, groups, parse


def test_di_is_scaled_flipped_and_moved_to_the_margin() -> None:
    layout = drawn_layout(small_graph())
    # The pool (100, 50, 700 x 300 px) spans the content: x from 100 px, y up to 350 px.
    assert layout.width == pytest.approx(700 * SCALE + 2 * MARGIN)
    assert layout.height == pytest.approx(300 * SCALE + 2 * MARGIN + 20 * SCALE)
    start = layout.nodes["start"]  # DI (180, 107) 36 x 36: centre (198, 125)
    assert (start.x, start.y) == pytest.approx(
        ((198 - 100) * SCALE + MARGIN, (350 - 125) * SCALE + MARGIN)
    )
    assert (start.width, start.height) == (36 * SCALE, 36 * SCALE)
    lane = next(a for a in layout.areas if a.id == "lane_a")
    assert lane.header is not None and lane.header.width == HEADER
    assert lane.label.left > lane.header.right  # the name right of the strip
    assert [a.id for a in layout.areas] == ["pool", "lane_a", "lane_b"]  # drawn outer first


def test_flows_without_waypoints_run_between_the_outlines() -> None:
    layout = drawn_layout(small_graph())
    timer, end = layout.nodes["timer"], layout.nodes["end_late"]
    a, b = layout.edges["f6"].points
    assert abs(((a.x - timer.x) ** 2 + (a.y - timer.y) ** 2) ** 0.5 - timer.width / 2) < 0.01
    assert abs(((b.x - end.x) ** 2 + (b.y - end.y) ** 2) ** 0.5 - end.width / 2) < 0.01


def test_names_without_di_label_go_below_the_shape() -> None:
    layout = drawn_layout(small_graph())
    end, label = layout.nodes["end_ok"], layout.labels["end_ok"]
    assert label.x == end.x and label.top < end.bottom


def test_a_graph_without_any_di_cannot_be_drawn_as_designed() -> None:
    with pytest.raises(DiagramError, match="automatic layout"):
        drawn_layout(without_di(small_graph()))


def test_auto_layout_places_everything_and_keeps_lanes() -> None:
    graph = without_di(small_graph())
    layout = auto_layout(graph)
    assert set(layout.nodes) == {n.id for n in graph.nodes}
    assert {a.id for a in layout.areas} == {"pool", "lane_a", "lane_b"}
    for node in graph.nodes:  # each node inside its lane's cluster
        if node.kind == "boundaryEvent":
            continue
        lane = next(a for a in layout.areas if a.id == node.lane_id)
        box = layout.nodes[node.id]
        assert lane.box.left <= box.left and box.right <= lane.box.right, node.id
        assert lane.box.bottom <= box.bottom and box.top <= lane.box.top, node.id
    host, timer = layout.nodes["task_review"], layout.nodes["timer"]
    assert timer.y == pytest.approx(host.bottom)  # on its host's border
    flow = layout.edges["f2"]
    assert flow.curved and (len(flow.points) - 1) % 3 == 0
    assert all(0 <= p.x <= layout.width and 0 <= p.y <= layout.height for p in flow.points)


def test_auto_layout_renders() -> None:
    graph = without_di(small_graph())
    root = parse(render(definition_dot(graph, auto_layout(graph), heat=HEAT), "svg"))
    found = groups(root)
    assert all(n.id in found for n in graph.nodes)
    assert classes(found["lane_b"]) == ["node", "lane"]


def test_the_layout_is_chosen_by_di_and_cached_by_key() -> None:
    diagrams.clear_layout_cache()
    drawn, bare = small_graph(), without_di(small_graph())
    assert diagrams.layout_for(drawn) == drawn_layout(drawn)
    auto = diagrams.layout_for(bare, cache_key="v1")
    assert diagrams.layout_for(bare, cache_key="v1") is auto  # no second `dot` run
    assert diagrams.layout_for(bare) is not auto  # no key: computed again
    assert diagrams.layout_for(drawn, cache_key="v1").scale == SCALE  # keyed by layout too
    with pytest.raises(DiagramError, match="unknown layout"):
        diagrams.layout_for(drawn, "circular")


def test_the_cache_is_bounded() -> None:
    diagrams.clear_layout_cache()
    graph = small_graph()
    for n in range(diagrams.CACHE_SIZE + 5):
        diagrams.layout_for(graph, cache_key=f"k{n}")
    assert len(diagrams._cache) == diagrams.CACHE_SIZE
    diagrams.clear_layout_cache()


def test_render_instance_and_definition_end_to_end() -> None:
    graph = small_graph()
    svg = parse(diagrams.render_instance(graph, READY_VIEW, "svg", cache_key="small"))
    assert classes(groups(svg)["task_review"]) == ["node", "userTask", "state-ready"]
    heat = diagrams.render_definition(graph, "svg", heat=HEAT, cache_key="small")
    assert "7 deals · 3.5 d" in heat.decode()
    diagrams.clear_layout_cache()


def test_an_empty_graph_is_a_clear_error() -> None:
    with pytest.raises(DiagramError):
        drawn_layout(Graph(name="empty"))


def test_edge_label_default_sits_beside_the_middle() -> None:
    from diagrams.layout import label_point

    assert label_point((Point(0, 0), Point(100, 0))) == Point(50, 8)
    assert label_point((Point(0, 0), Point(0, -100))) == Point(8, -50)
