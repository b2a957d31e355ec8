"""Small hand-built graphs for the diagram tests (no parser involved).

A pool with two lanes: a start, a user task in lane A with a non-interrupting boundary
timer, an exclusive gateway with a default flow and a conditional one, a task in lane B,
two end events; one flow has no waypoints (drawn straight between centres).
"""

from __future__ import annotations

from engine.core.graph import Bounds, Edge, Graph, Heat, InstanceView, Lane, Node, Point, Pool

HOSTILE = '<script>alert(1)</script> & "客户" \\n'
P = "proc"


def small_graph(hostile: bool = False) -> Graph:
    """With `hostile`, the task, the lane, the pool, a flow name and a condition carry a
    name that tries to break the DOT and inject a script into the SVG."""
    task_name = HOSTILE if hostile else "Review 客户 offer"
    extra = f" {HOSTILE}" if hostile else ""
    nodes = (
        Node(
            "start",
            "startEvent",
            "Lead in",
            P,
            "lane_a",
            bounds=Bounds(180, 107, 36, 36),
            label_bounds=Bounds(170, 148, 56, 14),
        ),
        Node("task_review", "userTask", task_name, P, "lane_a", bounds=Bounds(260, 85, 100, 80)),
        Node(
            "timer",
            "boundaryEvent",
            "2 days",
            P,
            "lane_a",
            bounds=Bounds(292, 147, 36, 36),
            event="timer",
            interrupting=False,
            attached_to="task_review",
        ),
        Node(
            "gw",
            "exclusiveGateway",
            "OK?",
            P,
            "lane_a",
            bounds=Bounds(410, 100, 50, 50),
            label_bounds=Bounds(420, 80, 30, 14),
        ),
        Node("end_ok", "endEvent", "Done", P, "lane_a", bounds=Bounds(682, 107, 36, 36)),
        Node("task_fix", "scriptTask", "Fix it", P, "lane_b", bounds=Bounds(510, 235, 100, 80)),
        Node("end_late", "endEvent", "Late", P, "lane_b", bounds=Bounds(392, 257, 36, 36)),
    )
    edges = (
        Edge(
            "f1",
            "sequenceFlow",
            "start",
            "task_review",
            waypoints=(Point(216, 125), Point(260, 125)),
        ),
        Edge(
            "f2", "sequenceFlow", "task_review", "gw", waypoints=(Point(360, 125), Point(410, 125))
        ),
        Edge(
            "f3",
            "sequenceFlow",
            "gw",
            "end_ok",
            name=f"yes{extra}",
            is_default=True,
            waypoints=(Point(460, 125), Point(682, 125)),
        ),
        Edge(
            "f4",
            "sequenceFlow",
            "gw",
            "task_fix",
            condition=f"amount > 5{extra}",
            waypoints=(Point(435, 150), Point(435, 275), Point(510, 275)),
        ),
        Edge(
            "f5",
            "sequenceFlow",
            "task_fix",
            "end_ok",
            waypoints=(Point(610, 275), Point(700, 275), Point(700, 143)),
        ),
        Edge("f6", "sequenceFlow", "timer", "end_late"),
    )
    return Graph(
        name="Small",
        file="small.bpmn",
        process_ids=(P,),
        pools=(Pool("pool", f"Small pool{extra}", P, Bounds(100, 50, 700, 300)),),
        lanes=(
            Lane("lane_a", "Lane A", P, bounds=Bounds(130, 50, 670, 150)),
            Lane("lane_b", f"Lane B 财务{extra}", P, bounds=Bounds(130, 200, 670, 150)),
        ),
        nodes=nodes,
        edges=edges,
    )


def without_di(graph: Graph) -> Graph:
    """The same process as a file without diagram coordinates."""
    from dataclasses import replace

    return replace(
        graph,
        pools=tuple(replace(p, bounds=None) for p in graph.pools),
        lanes=tuple(replace(lane, bounds=None) for lane in graph.lanes),
        nodes=tuple(replace(n, bounds=None, label_bounds=None) for n in graph.nodes),
        edges=tuple(replace(e, waypoints=(), label_bounds=None) for e in graph.edges),
    )


READY_VIEW = InstanceView(
    deal="Deal 7 上海星辰",
    owner="王芳",
    status="running",
    stage="needs",
    states={"start": "completed", "task_review": "ready", "timer": "waiting"},
    assignees={"task_review": "王芳 (Lane A)"},
    due={"timer": "2024-05-03 09:00"},
)
ERROR_VIEW = InstanceView(
    deal="Deal 8",
    owner=None,
    status="error",
    stage=None,
    states={
        "start": "completed",
        "task_review": "completed",
        "timer": "cancelled",
        "gw": "completed",
        "task_fix": "error",
    },
    errors={"task_fix": f"ZeroDivisionError {HOSTILE}"},
)
HEAT = Heat(
    deals=12,
    here_now={"task_review": 7, "task_fix": 2, "timer": 1},
    median_seconds={"task_review": 3.5 * 86400, "gw": 30.0, "task_fix": 5400.0},
)
