"""definition_dot and instance_dot pinned as whole texts (viewflow's chart tests, our way).

A changed drawing shows up here as a diff to read.  After an intended change, regenerate
the files with SALESFLOW_UPDATE_EXPECTED=1 and read the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from diagrams import definition_dot, drawn_layout, instance_dot
from tests.diagrams.graphs import ERROR_VIEW, HEAT, HOSTILE, READY_VIEW, small_graph

EXPECTED = Path(__file__).parent / "expected"


def assert_text(name: str, actual: str) -> None:
    path = EXPECTED / name
    if os.environ.get("SALESFLOW_UPDATE_EXPECTED"):
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"expected/{name}",
                tofile="actual",
            )
        )
        pytest.fail(f"DOT text differs from expected/{name}:\n{diff}", pytrace=False)


def test_definition_is_pinned() -> None:
    graph = small_graph()
    assert_text("definition.dot", definition_dot(graph, drawn_layout(graph)))


def test_heatmap_is_pinned() -> None:
    graph = small_graph()
    dot = definition_dot(graph, drawn_layout(graph), heat=HEAT, title="Small: 12 deals")
    assert_text("heatmap.dot", dot)


def test_instance_is_pinned() -> None:
    graph = small_graph()
    assert_text("instance.dot", instance_dot(graph, drawn_layout(graph), READY_VIEW))


def test_hostile_names_are_pinned() -> None:
    graph = small_graph(hostile=True)
    assert_text("hostile.dot", instance_dot(graph, drawn_layout(graph), ERROR_VIEW))


def test_the_text_is_a_pure_function() -> None:
    graph = small_graph()
    first = instance_dot(graph, drawn_layout(graph), READY_VIEW)
    assert instance_dot(small_graph(), drawn_layout(small_graph()), READY_VIEW) == first


def test_hostile_text_never_appears_raw() -> None:
    graph = small_graph(hostile=True)
    dot = instance_dot(graph, drawn_layout(graph), ERROR_VIEW)
    assert HOSTILE not in dot  # its quotes are always escaped
    # Every text is a quoted string (labels end in graphviz's justification, "\\l" = left):
    # quotes and backslashes escaped, so nothing ends a string early or expands as "\\N".
    assert 'label="Small pool <script>alert(1)</script> & \\"客户\\" \\\\n\\l"' in dot
    assert '"ZeroDivisionError <script>alert(1)</script> & \\"客户\\" \\\\n"' in dot
    assert "<TD" not in dot  # no HTML-like label holds text


def test_every_element_has_its_id_and_exactly_one_state() -> None:
    graph = small_graph()
    dot = instance_dot(graph, drawn_layout(graph), ERROR_VIEW)
    for node in graph.nodes:
        line = next(x for x in dot.splitlines() if x.startswith(f'  "{node.id}" ['))
        classes = line.split('class="')[1].split('"')[0].split()
        assert classes[0] == node.kind
        assert [c for c in classes if c.startswith("state-")] == [
            f"state-{ERROR_VIEW.states.get(node.id, 'not-reached')}"
        ]
        assert f'id="{node.id}"' in line


def test_flows_taken_are_the_ones_between_reached_elements() -> None:
    graph = small_graph()
    dot = instance_dot(graph, drawn_layout(graph), ERROR_VIEW)
    taken = {
        line.split('id="')[1].split('"')[0]
        for line in dot.splitlines()
        if " -> " in line and "state-completed" in line
    }
    # start -> review -> gateway -> fix (error) were reached; the rest was not.
    assert taken == {"f1", "f2", "f4"}
