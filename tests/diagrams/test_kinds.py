"""Elements other tools draw that charts once left out: a process's data inputs and outputs,
the message on a message flow and a message on its own, shapes and edges whose element the
file lacks, and sub-processes drawn open without saying so (no isExpanded)."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from lxml import etree

import diagrams
from engine.core.graph import UNKNOWN_KIND, Bounds, Edge, Graph, Node, Point, Pool, graph_from_xml
from tests.conftest import CORPORA
from tests.diagrams.svg import SVG, classes, extent, groups, of_class, parse, text_spots

P = "proc"
MIWG = CORPORA / "miwg"


def exchange(message: str | None) -> Graph:
    """Two pools; a message flow between their tasks carrying `message` (messageVisibleKind)."""
    return Graph(
        name="Exchange",
        process_ids=(P, "other"),
        pools=(
            Pool("buyer", "Buyer", P, Bounds(0, 0, 600, 150)),
            Pool("seller", "Seller", "other", Bounds(0, 250, 600, 150)),
        ),
        nodes=(
            Node("ask", "sendTask", "Ask", P, bounds=Bounds(100, 35, 100, 80)),
            Node("answer", "receiveTask", "Answer", "other", bounds=Bounds(100, 285, 100, 80)),
            Node("in", "dataInput", "Order", P, bounds=Bounds(300, 40, 36, 50)),
            Node("out", "dataOutput", "Receipt", P, bounds=Bounds(420, 40, 36, 50)),
            Node("note", "message", "Invoice", P, bounds=Bounds(300, 190, 40, 28)),
        ),
        edges=(
            Edge(
                "mf",
                "messageFlow",
                "ask",
                "answer",
                waypoints=(Point(150, 115), Point(150, 285)),
                message=message,
            ),
            Edge(
                "read",
                "dataInputAssociation",
                "in",
                "ask",
                waypoints=(Point(300, 65), Point(200, 65)),
            ),
        ),
    )


def test_data_inputs_and_outputs_are_pages_with_a_white_or_black_arrow() -> None:
    root = parse(diagrams.render_definition(exchange(None), "svg"))
    found = groups(root)
    assert classes(found["in"]) == ["node", "dataInput"]
    assert classes(found["out"]) == ["node", "dataOutput"]
    spots = {s[0]: s for s in text_spots(root)}
    for element, arrow in (("in", "⇨"), ("out", "➡")):
        left, _, right, top = extent(found[element])
        _, x, baseline, _, _ = spots[arrow]
        assert left < x < (left + right) / 2 and top - 12 < baseline < top, element
    assert "Order" in spots and "Receipt" in spots  # names below the page
    assert "flow" in classes(found["read"])


@pytest.mark.parametrize(("kind", "fill"), [("initiating", "white"), ("non_initiating", "#c8c8c8")])
def test_a_message_flow_carries_its_envelope_on_top_half_way(kind: str, fill: str) -> None:
    root = parse(diagrams.render_definition(exchange(kind), "svg"))
    envelopes = of_class(root, "envelope")
    assert len(envelopes) == 2  # the envelope and its flap
    body, flap = envelopes
    left, bottom, right, top = extent(body)
    flow = extent(groups(root)["mf"])
    assert left < flow[0] < right and bottom < (flow[1] + flow[3]) / 2 < top
    assert body.find(f"{SVG}polygon").get("fill") == fill
    f_left, f_bottom, f_right, f_top = extent(flap)
    assert (f_left, f_right, f_top) == pytest.approx((left, right, top), abs=0.6)
    assert bottom < f_bottom < (top + bottom) / 2 + 1  # the flap's tip: just below the middle
    # Graphviz draws edges over nodes: the dashed line stops at the envelope and goes on.
    lines = list(groups(root)["mf"].iter(f"{SVG}path"))
    assert len(lines) == 2
    ends = [extent_of(line) for line in lines]
    assert ends[0][1] >= top - 0.5 and ends[1][3] <= bottom + 0.5


def extent_of(element: etree._Element) -> tuple[float, float, float, float]:
    wrapper = etree.Element(f"{SVG}g")
    wrapper.append(copy.deepcopy(element))
    return extent(wrapper)


def test_no_envelope_when_the_file_asks_for_none() -> None:
    root = parse(diagrams.render_definition(exchange(None), "svg"))
    assert of_class(root, "envelope") == []
    assert len(list(groups(root)["mf"].iter(f"{SVG}path"))) == 1


def test_a_message_on_its_own_is_an_envelope_with_its_name_below() -> None:
    root = parse(diagrams.render_definition(exchange(None), "svg"))
    found = groups(root)
    assert classes(found["note"]) == ["node", "message"]
    left, bottom, right, top = extent(found["note"])
    flaps = [extent(g) for g in of_class(root, "marker") if g.find(f"{SVG}polygon") is not None]
    assert any(
        abs(f[0] - left) < 1 and abs(f[2] - right) < 1 and abs(f[3] - top) < 1 for f in flaps
    )
    name = next(s for s in text_spots(root) if s[0] == "Invoice")
    assert name[2] < bottom


def test_shapes_and_edges_of_no_known_element_are_dashed_grey_with_their_id() -> None:
    graph = replace(
        exchange(None),
        nodes=(
            *exchange(None).nodes,
            Node("Choreo_7", UNKNOWN_KIND, "", bounds=Bounds(450, 180, 100, 60)),
        ),
        edges=(
            *exchange(None).edges,
            Edge("Link_3", UNKNOWN_KIND, "note", "Choreo_7", waypoints=(Point(340, 204),) * 1),
        ),
    )
    root = parse(diagrams.render_definition(graph, "svg"))
    found = groups(root)
    box = next(found["Choreo_7"].iter(f"{SVG}polygon"))
    assert box.get("stroke") == "#8c8c8c" and box.get("stroke-dasharray")
    assert "Choreo_7" in [s[0] for s in text_spots(root)]
    line = next(found["Link_3"].iter(f"{SVG}path"))
    assert line.get("stroke") == "#8c8c8c" and line.get("stroke-dasharray")


def open_sub_process(expanded: bool | None, with_child: bool) -> Graph:
    child = Node("inner", "task", "Inner", P, parent_id="sub", bounds=Bounds(150, 80, 100, 80))
    return Graph(
        name="Open",
        process_ids=(P,),
        nodes=(
            Node(
                "sub",
                "subProcess",
                "Handle order",
                P,
                bounds=Bounds(100, 40, 350, 200),
                expanded=expanded,
            ),
            *((child,) if with_child else ()),
        ),
    )


@pytest.mark.parametrize("expanded", [None, True])
def test_a_sub_process_drawn_around_its_children_is_open(expanded: bool | None) -> None:
    graph = open_sub_process(expanded, with_child=True)
    assert "sub" in diagrams.drawn_layout(graph).containers
    root = parse(diagrams.render_definition(graph, "svg"))
    texts = [s for s in text_spots(root)]
    assert "⊞" not in [t[0] for t in texts]
    title = next(t for t in texts if t[0] == "Handle order")
    left, _, _, top = extent(groups(root)["sub"])
    assert title[4] == "start" and left < title[1] < left + 10 and top - 16 < title[2] < top


def test_a_sub_process_without_children_here_stays_collapsed() -> None:
    graph = open_sub_process(None, with_child=False)
    assert diagrams.drawn_layout(graph).containers == frozenset()
    root = parse(diagrams.render_definition(graph, "svg"))
    assert "⊞" in [t[0] for t in text_spots(root)]
    assert diagrams.drawn_layout(open_sub_process(False, with_child=True)).containers == frozenset()


def test_event_sub_processes_compensation_collections_states_and_directed_associations() -> None:
    """C.6.0 and C.7.0 of the MIWG suite as modellers draw them: the event sub-process
    dotted, the compensation handlers with their rewind marker and the associations to them
    with an arrow, a data collection with its three bars, a data state after the name."""
    travel = MIWG / "Reference" / "C.6.0.bpmn"
    graph = graph_from_xml(travel.read_bytes())
    by_id = {n.id: n for n in graph.nodes}
    handlers = [n for n in graph.nodes if n.compensation]
    assert sorted(n.name for n in handlers) == ["Cancel Flight", "Cancel Hotel"]
    (event_sub,) = [n for n in graph.nodes if n.triggered]
    assert event_sub.name == "Handle Compensation" and event_sub.kind == "subProcess"
    directed = [e for e in graph.edges if e.kind == "association" and e.direction == "One"]
    assert {by_id[e.target].name for e in directed} == {"Cancel Flight", "Cancel Hotel"}
    root = parse(diagrams.render_definition(graph, "svg"))
    found = groups(root)
    rewinds = [(x, y) for text, x, y, _, _ in text_spots(root) if text == "◀◀"]

    def marked(ident: str) -> bool:  # the marker inside the element's box
        left, y1, right, y2 = extent(found[ident])
        return any(left < x < right and min(y1, y2) < y < max(y1, y2) for x, y in rewinds)

    assert all(marked(n.id) for n in handlers)
    tasks = [n for n in graph.nodes if n.kind.endswith("Task") and not n.compensation]
    assert tasks and not any(marked(n.id) for n in tasks)
    border = found[event_sub.id].find(f"{SVG}path")
    assert border is not None and border.get("stroke-dasharray")  # dotted
    plain = [n for n in graph.nodes if n.kind == "subProcess" and not n.triggered]
    assert plain and not found[plain[0].id].find(f"{SVG}path").get("stroke-dasharray")
    for edge in directed:  # a line arrow at the handler: a path besides the line
        assert (
            len(found[edge.id].findall(f"{SVG}path")) + len(found[edge.id].findall(f"{SVG}polygon"))
            >= 2
        )

    hiring = graph_from_xml((MIWG / "Reference" / "C.7.0.bpmn").read_bytes())
    names = {n.name for n in hiring.nodes}
    assert "Advertisement [Approved]" in names
    collections = [n for n in hiring.nodes if n.collection]
    assert [" ".join(n.name.split()) for n in collections] == ["Selected platforms"]
    spots = [s[0] for s in text_spots(parse(diagrams.render_definition(hiring, "svg")))]
    assert "Approved]" in " ".join(spots) and "|||" in spots
