"""Rendered SVG (real neato): well-formed, ids and state classes on the <g> elements, no
injected script, Chinese text kept, shapes where the designer drew them."""

from __future__ import annotations

import pytest

from diagrams import definition_dot, drawn_layout, instance_dot, render
from diagrams.layout import MARGIN, SCALE
from engine.core.graph import InstanceView
from tests.diagrams.graphs import ERROR_VIEW, HOSTILE, READY_VIEW, small_graph
from tests.diagrams.svg import SVG, centre, classes, groups, parse, texts


@pytest.mark.parametrize("view", [READY_VIEW, ERROR_VIEW], ids=["ready", "error"])
def test_every_node_is_a_group_with_its_state(view: InstanceView) -> None:
    graph = small_graph()
    root = parse(render(instance_dot(graph, drawn_layout(graph), view), "svg"))
    found = groups(root)
    for node in graph.nodes:
        assert node.id in found, node.id
        state = view.states.get(node.id, "not-reached")
        assert classes(found[node.id]) == ["node", node.kind, f"state-{state}"]
    for edge in graph.edges:
        assert "flow" in classes(found[edge.id])


def test_the_error_message_is_the_tooltip() -> None:
    graph = small_graph()
    root = parse(render(instance_dot(graph, drawn_layout(graph), ERROR_VIEW), "svg"))
    titles = [a.get("{http://www.w3.org/1999/xlink}title") for a in root.iter(f"{SVG}a")]
    assert f"ZeroDivisionError {HOSTILE}" in titles


def test_a_hostile_name_is_text_not_markup() -> None:
    graph = small_graph(hostile=True)
    for dot in (
        instance_dot(graph, drawn_layout(graph), ERROR_VIEW),
        definition_dot(graph, drawn_layout(graph), title=HOSTILE),
    ):
        root = parse(render(dot, "svg"))
        assert not [e for e in root.iter() if str(e.tag).lower().endswith("script")]
        text = texts(root)
        assert "<script>alert(1)</script>" in text  # shown as the literal name
        assert '& "客户" \\n' in text  # quotes and the backslash survive as typed
        assert groups(root)["task_review"] is not None


def test_chinese_names_are_svg_text_in_the_cjk_font() -> None:
    graph = small_graph()
    root = parse(render(instance_dot(graph, drawn_layout(graph), READY_VIEW), "svg"))
    text = texts(root)
    assert "客户" in text and "财务" in text and "上海星辰" in text and "王芳" in text
    families = {t.get("font-family") for t in root.iter(f"{SVG}text")}
    assert families == {"Noto Sans CJK SC"}


def test_shapes_are_where_the_designer_drew_them() -> None:
    graph = small_graph()
    root = parse(render(definition_dot(graph, drawn_layout(graph)), "svg"))
    found = groups(root)
    x0 = min(b.x for b in (graph.pools[0].bounds, *(n.bounds for n in graph.nodes)) if b)
    y1 = max(b.y + b.height for b in (graph.pools[0].bounds, *(n.bounds for n in graph.nodes)) if b)
    for node in graph.nodes:
        b = node.bounds
        assert b is not None
        x, y = centre(found[node.id])
        # Back from points (y up, MARGIN from the corner) to DI pixels (y down).
        di_x = (x - MARGIN) / SCALE + x0
        di_y = y1 - (y - MARGIN) / SCALE
        assert abs(di_x - (b.x + b.width / 2)) <= 2, node.id
        assert abs(di_y - (b.y + b.height / 2)) <= 2, node.id


def test_the_canvas_is_the_layout() -> None:
    graph = small_graph()
    layout = drawn_layout(graph)
    root = parse(render(definition_dot(graph, layout), "svg"))
    assert root.get("viewBox") == f"0.00 0.00 {layout.width:.2f} {layout.height:.2f}"
