"""Names as modelers write them: where the DI label puts them, fitted into the shape (a
smaller font before an ellipsis), never broken inside a word, never over an event's or a
gateway's symbol, never off the canvas; and the names tools generate but hide, hidden."""

from __future__ import annotations

import pytest

import diagrams
from diagrams.names import generated, shown
from diagrams.styles import OWNER_NOTE
from diagrams.text import lines, text_width
from engine.core.graph import Bounds, Edge, Graph, Lane, Node, Point, Pool
from tests.diagrams.svg import canvas, extent, groups, parse, text_spots, texts

P = "proc"
LONG = "Informationsverarbeitungssystem aktualisieren"  # a word wider than any task


def named(*nodes: Node, edges: tuple[Edge, ...] = ()) -> Graph:
    return Graph(name="Names", process_ids=(P,), nodes=nodes, edges=edges)


def task(ident: str, name: str, x: float = 100, kind: str = "serviceTask") -> Node:
    """A task at (x, 100), 100 x 80 px (a service task: no chart note on who does it)."""
    return Node(ident, kind, name, P, bounds=Bounds(x, 100, 100, 80))


def test_tool_generated_names_are_hidden_and_typed_ones_kept() -> None:
    start = Node("start", "startEvent", "", P, bounds=Bounds(20, 122, 36, 36))
    end = Node("end", "endEvent", "", P, bounds=Bounds(400, 122, 36, 36))
    flows = (
        Edge("f1", "sequenceFlow", "start", "t1", "Sequence Flow_36", waypoints=()),
        Edge("SequenceFlow_1abc", "sequenceFlow", "t1", "t2", "SequenceFlow_1abc"),
        Edge("f3", "sequenceFlow", "t2", "end", "Flow_0x9", condition="_undefined"),
        Edge("f4", "messageFlow", "t2", "t1", "Message Flow 1"),
        Edge("f5", "sequenceFlow", "t1", "end", "", condition="amount > 5"),
    )
    nodes = (start, task("t1", "Qualify lead"), task("Task_7", "Task_7", x=250), end)
    graph = named(*nodes, task("t2", "t2", x=250), edges=flows)
    written = texts(parse(diagrams.render_definition(graph, "svg")))
    for hidden in ("Sequence Flow_36", "SequenceFlow_1abc", "Flow_0x9", "_undefined", "Task_7"):
        assert hidden not in written
    assert "Qualify lead" in written and "Message Flow 1" in written and "amount > 5" in written
    # A word typed as both id and name is the designer's (MIWG C.1.0's lane "Approver").
    assert not generated("Approver", "Approver") and generated("sid-3F2A", "sid-3F2A")
    assert shown(graph).nodes[2].name == "" and shown(graph).nodes[0].name == ""
    clean = named(task("t", "Qualify lead"))
    assert shown(clean) is clean  # nothing to hide: the very same graph


def test_a_name_gets_a_smaller_font_before_an_ellipsis() -> None:
    # Below a task's marker there is room for three lines at 9 pt, four at 8 pt.
    name = "Check the signed contract and archive every page of it"
    assert len(lines(name, 67, 9)) == 4 and len(lines(name, 67, 8)) <= 4
    root = parse(diagrams.render_definition(named(task("t", name, kind="userTask")), "svg"))
    spots = [s for s in text_spots(root) if s[0] in name]
    assert spots and {s[3] for s in spots} == {8.0}
    assert " ".join(s[0] for s in spots) == name  # whole: no ellipsis


def test_latin_words_are_never_broken_and_a_cut_name_shows_in_full_on_hover() -> None:
    root = parse(diagrams.render_definition(named(task("t", LONG, kind="task")), "svg"))
    shown_lines = [s[0] for s in text_spots(root) if s[0] != OWNER_NOTE]
    words = LONG.split()
    for line in shown_lines:
        for word in line.split():
            assert word in words or (word.endswith("…") and words[0].startswith(word[:-1]))
    assert any(line.endswith("…") for line in shown_lines)
    titles = [a.get("{http://www.w3.org/1999/xlink}title") for a in root.iter()]
    assert LONG in titles


def test_chinese_names_break_between_characters() -> None:
    assert lines("客户满意度回访", 30, 9) == ["客户满", "意度回", "访"]
    assert lines("Follow-up call", 45, 9) == ["Follow-up", "call"]


@pytest.mark.parametrize("kind", ["startEvent", "exclusiveGateway"])
def test_a_label_stored_over_the_symbol_goes_below_it(kind: str) -> None:
    size = 36 if kind == "startEvent" else 50
    shape = Bounds(100, 100, size, size)
    node = Node("n", kind, "Lead arrived", P, bounds=shape, label_bounds=shape)
    layout = diagrams.drawn_layout(named(node))
    label, box = layout.labels["n"], layout.nodes["n"]
    assert label.top <= box.bottom and label.x == box.x
    beside = Node("n", kind, "Lead", P, bounds=shape, label_bounds=Bounds(160, 110, 40, 14))
    moved = diagrams.drawn_layout(named(beside)).labels["n"]
    assert moved.left > diagrams.drawn_layout(named(beside)).nodes["n"].right  # kept


def test_a_label_fits_its_di_box_with_a_smaller_font_first() -> None:
    # B.2.0's "Start Event 1 Timer": one line of 95 px for the tool's font; ours at 8 pt.
    node = Node(
        "n",
        "startEvent",
        "Start Event 1 Timer",
        P,
        bounds=Bounds(71, 139, 30, 30),
        label_bounds=Bounds(38.7, 174.3, 94.9, 12.8),
    )
    root = parse(diagrams.render_definition(named(node), "svg"))
    spots = [s for s in text_spots(root) if "Start" in s[0]]
    assert [(s[0], s[3]) for s in spots] == [("Start Event 1 Timer", 8.0)]


def test_no_name_is_written_off_the_canvas() -> None:
    """Names that stick out left, below and right of everything with DI, and a pool name
    written above its pool: the canvas grows (and the drawing moves) to hold them all."""
    left = Node(
        "left",
        "endEvent",
        "A very long end event name",
        P,
        bounds=Bounds(0, 100, 36, 36),
        label_bounds=Bounds(-90, 140, 60, 40),
    )
    right = task("right", "Ship", x=200)
    flow = Edge(
        "f",
        "sequenceFlow",
        "right",
        "left",
        "a long condition nobody wrapped",
        waypoints=(Point(300, 140), Point(310, 140), Point(310, 118), Point(36, 118)),
        label_bounds=Bounds(305, 150, 200, 14),
    )
    pool = Pool("pool", "Customer 客户", P, Bounds(-10, 80, 330, 120))
    graph = Graph(
        name="Off",
        process_ids=(P,),
        pools=(pool,),
        nodes=(left, right),
        edges=(flow,),
    )
    layout = diagrams.drawn_layout(graph)
    root = parse(diagrams.render_definition(graph, "svg"))
    width, height = canvas(root)
    assert (width, height) == pytest.approx((layout.width, layout.height))
    for text, x, baseline, size, anchor in text_spots(root):
        wide = text_width(text, size)
        start = {"start": x, "middle": x - wide / 2, "end": x - wide}[anchor]
        assert start >= 0 and start + wide <= width, text
        assert baseline - 0.3 * size >= 0 and baseline + 0.9 * size <= height, text
    # The shapes moved with the names: the end event is no longer at the margin.
    assert extent(groups(root)["left"])[0] > 12


def test_a_chinese_lane_or_pool_name_is_written_down_its_strip() -> None:
    # Graphviz cannot rotate text as bpmn.io does; a Chinese name goes down the strip a
    # character a line (as Chinese is written vertically), a Latin one stays at the top left,
    # and a name longer than its strip ends in a vertical ellipsis.
    pool = Pool("pool", "商机流程", P, Bounds(0, 0, 600, 300))
    lanes = (
        Lane("rep", "销售代表", P, bounds=Bounds(30, 0, 570, 150)),
        Lane("legal", "Legal", P, bounds=Bounds(30, 150, 570, 100)),
        Lane("finance", "财务与法务部门联合审核小组", P, bounds=Bounds(30, 250, 570, 50)),
    )
    graph = Graph(
        name="Strips",
        process_ids=(P,),
        pools=(pool,),
        lanes=lanes,
        nodes=(task("t", "报价", x=200),),
    )
    spots = text_spots(parse(diagrams.render_definition(graph, "svg")))
    for name in ("销售代表", "商机流程"):
        chars = [next(s for s in spots if s[0] == c) for c in name]
        assert len({round(x, 1) for _, x, _, _, _ in chars}) == 1, name  # one column
        baselines = [baseline for _, _, baseline, _, _ in chars]
        assert baselines == sorted(baselines, reverse=True), name  # read downwards
    pool_x = next(s[1] for s in spots if s[0] == "流")
    lane_x = next(s[1] for s in spots if s[0] == "代")
    task_x = next(s[1] for s in spots if s[0] == "报价")
    assert pool_x < lane_x < task_x  # each in its own strip, left of the shapes
    assert any(s[0] == "Legal" for s in spots)  # a Latin name: one line, as before
    cut = [s[0] for s in spots if s[0] in "财务与法务部门联合审核小组⋮"]
    assert cut[-1] == "⋮" and len(cut) < len("财务与法务部门联合审核小组")
