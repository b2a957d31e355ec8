"""The automatic layout, as pure functions: Graph -> `dot` input, `dot -Tjson` -> Layout.

render.auto_layout runs `dot` between the two.  Left to right (rankdir=LR), one labelled
cluster per lane (inside one per pool), so the lanes still show who does what; shapes keep
bpmn.io's default sizes at 0.75 pt per pixel, like the drawn layout.  Expanded sub-processes
are clusters too (flows to them end on the cluster border, graphviz's `lhead`/`ltail`).
Boundary events are not given to `dot`: their flows leave the host's bottom side and the
event is put there afterwards, on the border, as in a drawn diagram.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from diagrams.errors import RenderError
from diagrams.layout import (
    FLOW_LABEL_SIZE,
    LABEL_SIZE,
    MARGIN,
    OUTSIDE_LABEL_KINDS,
    SCALE,
    Area,
    Box,
    EdgePath,
    Layout,
    edge_text,
)
from diagrams.names import shown
from diagrams.styles import FONT
from diagrams.text import lines, number, quote
from engine.core.graph import EVENT_KINDS, GATEWAY_KINDS, SUBPROCESS_KINDS, Graph, Node, Point

LABEL_WIDTH = 90 * SCALE  # outside names wrap at bpmn.io's 90 px
BOUNDARY_PORTS = ("s", "se", "sw")


def size(node: Node) -> tuple[float, float]:
    """bpmn.io's default size of each kind, in points."""
    if node.kind in EVENT_KINDS:
        px = (36, 36)
    elif node.kind in GATEWAY_KINDS:
        px = (50, 50)
    elif node.kind in ("dataObjectReference", "dataObject", "dataInput", "dataOutput"):
        px = (36, 50)
    elif node.kind == "message":
        px = (40, 28)
    elif node.kind == "dataStoreReference":
        px = (50, 50)
    elif node.kind == "textAnnotation":
        px = (100, 30 + 14 * max(0, len(lines(node.text or node.name, 86, 12)) - 1))
    else:
        px = (100, 80)
    return px[0] * SCALE, px[1] * SCALE


def clusters(graph: Graph) -> set[str]:
    """Sub-processes with children in the graph: drawn as containers."""
    parents = {n.parent_id for n in graph.nodes if n.parent_id}
    return {n.id for n in graph.nodes if n.kind in SUBPROCESS_KINDS and n.id in parents}


def _ends(graph: Graph, containers: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """For a container: the child a flow enters by (a start event if any) and leaves by."""
    children: dict[str, list[Node]] = defaultdict(list)
    for node in graph.nodes:
        if node.parent_id in containers and node.kind != "boundaryEvent":
            children[node.parent_id].append(node)
    enter, leave = {}, {}

    def inner(container: str, kind: str, pick_last: bool) -> str:
        nodes = children[container]
        chosen = next((n for n in nodes if n.kind == kind), nodes[-1 if pick_last else 0])
        return inner(chosen.id, kind, pick_last) if chosen.id in containers else chosen.id

    for container in containers:
        if children[container]:
            enter[container] = inner(container, "startEvent", False)
            leave[container] = inner(container, "endEvent", True)
    return enter, leave


def _join(attrs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in attrs)


def _statement(name: str, attrs: list[tuple[str, str]]) -> str:
    return f"{quote(name)} [{_join(attrs)}];"


def auto_dot(graph: Graph) -> str:
    """The `dot` input: clusters for pools, lanes and containers; fixed-size nodes."""
    graph = shown(graph)
    containers = clusters(graph)
    hosts = {n.id: n.attached_to for n in graph.nodes if n.kind == "boundaryEvent"}
    members: dict[str | None, list[str]] = defaultdict(list)  # cluster id -> statements
    parent: dict[str, str | None] = {}
    pool_of_process = {p.process_id: p.id for p in graph.pools if p.process_id}
    for pool in graph.pools:
        parent[pool.id] = None
        if pool.process_id is None:  # a black box: a plain box for message flows to reach
            attrs = [("shape", '"box"'), ("width", "3"), ("height", "0.8")]
            members[None].append(_statement(pool.id, [*attrs, ("label", quote(pool.name))]))
    for lane in graph.lanes:
        parent[lane.id] = lane.parent_id or pool_of_process.get(lane.process_id or "")
    for node in graph.nodes:
        if node.id in containers:
            owner = pool_of_process.get(node.process_id or "")
            parent[node.id] = node.parent_id or node.lane_id or owner
    for node in graph.nodes:
        if node.kind == "boundaryEvent" or node.kind == "group" or node.id in containers:
            continue
        where = node.parent_id if node.parent_id in containers else node.lane_id
        where = where or pool_of_process.get(node.process_id or "")
        width, height = size(node)
        attrs = [
            ("shape", '"box"'),
            ("width", number(width / 72)),
            ("height", number(height / 72)),
            ("label", '""'),
        ]
        if node.kind in OUTSIDE_LABEL_KINDS and node.name.strip():
            attrs.append(("xlabel", quote("\n".join(lines(node.name, LABEL_WIDTH, LABEL_SIZE)))))
        members[where].append(_statement(node.id, attrs))
    names = {p.id: p.name for p in graph.pools} | {lane.id: lane.name for lane in graph.lanes}
    names.update({n.id: n.name for n in graph.nodes if n.id in containers})
    out = [
        'digraph "auto" {',
        f'  graph [rankdir="LR", compound="true", newrank="true", nodesep="0.3", ranksep="0.45", '
        f"fontname={quote(FONT)}, fontsize={number(LABEL_SIZE)}];",
        f'  node [fixedsize="true", fontname={quote(FONT)}, fontsize={number(LABEL_SIZE)}];',
        f'  edge [fontname={quote(FONT)}, fontsize={number(FLOW_LABEL_SIZE)}, arrowsize="0.8"];',
    ]
    children: dict[str | None, list[str]] = defaultdict(list)
    for cluster_id, cluster_parent in parent.items():
        children[cluster_parent if cluster_parent in parent else None].append(cluster_id)

    def emit(cluster_id: str | None, indent: str) -> None:
        for statement in members[cluster_id]:
            out.append(indent + statement.strip())
        for child in children[cluster_id]:
            out.append(f"{indent}subgraph {quote('cluster_' + child)} {{")
            out.append(f"{indent}  label={quote(names.get(child, ''))};")
            emit(child, indent + "  ")
            out.append(f"{indent}}}")

    emit(None, "  ")
    enter, leave = _ends(graph, containers)
    drawn = {n.id for n in graph.nodes if n.kind not in ("boundaryEvent", "group")}
    drawn |= {p.id for p in graph.pools if p.process_id is None}
    for edge in graph.edges:
        attrs = [("id", quote(edge.id))]
        source, target = edge.source, edge.target
        if source in hosts:
            port = BOUNDARY_PORTS[_boundary_index(graph, source) % len(BOUNDARY_PORTS)]
            source = hosts[source] or source
            attrs.append(("tailport", quote(port)))
        if source in containers and source in leave:
            attrs.append(("ltail", quote("cluster_" + source)))
            source = leave[source]
        if target in containers and target in enter:
            attrs.append(("lhead", quote("cluster_" + target)))
            target = enter[target]
        if source not in drawn or target not in drawn or source == target:
            continue
        text = edge_text(edge)
        if text.strip():
            attrs.append(("label", quote("\n".join(lines(text, 110, FLOW_LABEL_SIZE, 3)))))
        if edge.kind == "messageFlow":
            attrs.append(("constraint", '"false"'))
        out.append(
            f"  {quote(source)} -> {quote(target)} [{', '.join(f'{k}={v}' for k, v in attrs)}];"
        )
    out.append("}")
    return "\n".join(out) + "\n"


def _boundary_index(graph: Graph, event_id: str) -> int:
    event = next(n for n in graph.nodes if n.id == event_id)
    siblings = [n.id for n in graph.nodes if n.attached_to == event.attached_to]
    return siblings.index(event_id)


# --- reading `dot -Tjson` back ----------------------------------------------------------------


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def _spline(pos: str) -> tuple[list[Point], Point | None]:
    """Control points of graphviz's first spline and its arrow tip."""
    tip = None
    points = []
    for part in pos.split(";")[0].split():
        if part.startswith("e,"):
            x, y = _floats(part[2:])
            tip = Point(x, y)
        elif not part.startswith("s,"):
            x, y = _floats(part)
            points.append(Point(x, y))
    return points, tip


def _bezier(p: Sequence[Point], t: float) -> Point:
    u = 1 - t
    x = u**3 * p[0].x + 3 * u * u * t * p[1].x + 3 * u * t * t * p[2].x + t**3 * p[3].x
    y = u**3 * p[0].y + 3 * u * u * t * p[1].y + 3 * u * t * t * p[2].y + t**3 * p[3].y
    return Point(x, y)


def _clip_start(points: list[Point], centre: Point, radius: float) -> list[Point]:
    """Cut the first cubic where it leaves a circle (a flow leaving a boundary event)."""
    if len(points) < 4:
        return points
    segment = points[:4]
    if math.dist((segment[3].x, segment[3].y), (centre.x, centre.y)) <= radius:
        return points
    low, high = 0.0, 1.0
    for _ in range(30):
        mid = (low + high) / 2
        q = _bezier(segment, mid)
        if math.dist((q.x, q.y), (centre.x, centre.y)) < radius:
            low = mid
        else:
            high = mid
    t = high
    # de Casteljau: the part of the cubic after t.
    p0, p1, p2, p3 = segment

    def lerp(a: Point, b: Point) -> Point:
        return Point(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)

    a, b, c = lerp(p0, p1), lerp(p1, p2), lerp(p2, p3)
    d, e = lerp(a, b), lerp(b, c)
    f = lerp(d, e)
    return [f, e, c, p3, *points[4:]]


def layout_from_json(graph: Graph, data: Mapping[str, Any]) -> Layout:
    """Positions, splines and cluster boxes from `dot -Tjson`, moved MARGIN from the corner."""
    graph = shown(graph)
    try:
        x0, y0, x1, y1 = _floats(data["bb"])
        objects = data.get("objects", [])
        dot_edges = data.get("edges", [])
    except (KeyError, ValueError, TypeError) as exc:
        raise RenderError(f"unexpected `dot -Tjson` output: {exc}") from exc
    dx, dy = MARGIN - x0, MARGIN - y0

    def point(x: float, y: float) -> Point:
        return Point(x + dx, y + dy)

    def box_of(x_left: float, y_low: float, x_right: float, y_high: float) -> Box:
        c = point((x_left + x_right) / 2, (y_low + y_high) / 2)
        return Box(c.x, c.y, x_right - x_left, y_high - y_low)

    nodes: dict[str, Box] = {}
    labels: dict[str, Box] = {}
    areas: dict[str, Area] = {}
    kinds = {p.id: "pool" for p in graph.pools} | {lane.id: "lane" for lane in graph.lanes}
    names = {p.id: p.name for p in graph.pools} | {lane.id: lane.name for lane in graph.lanes}
    names |= {n.id: n.name for n in graph.nodes}
    for obj in objects:
        name = str(obj.get("name", ""))
        if name.startswith("cluster_") and "bb" in obj:
            element = name.removeprefix("cluster_")
            box = box_of(*_floats(obj["bb"]))
            if element in kinds:
                lx, ly = _floats(obj.get("lp", f"{box.x - dx},{box.top - dy - 8}"))
                lp = point(lx, ly)
                label = Box(lp.x, lp.y, box.width - 8, 14)
                areas[element] = Area(element, kinds[element], names[element], box, label, "center")
            else:
                nodes[element] = box
        elif "pos" in obj:
            x, y = _floats(obj["pos"])
            width, height = float(obj["width"]) * 72, float(obj["height"]) * 72
            centre = point(x, y)
            if kinds.get(name) == "pool":  # a black-box pool
                box = Box(centre.x, centre.y, width, height)
                areas[name] = Area(name, "pool", names[name], box, box, "center")
                continue
            nodes[name] = Box(centre.x, centre.y, width, height)
            if "xlp" in obj:
                lx, ly = _floats(obj["xlp"])
                lp = point(lx, ly)
                count = max(1, len(lines(names.get(name, ""), LABEL_WIDTH, LABEL_SIZE)))
                labels[name] = Box(lp.x, lp.y, LABEL_WIDTH, count * 11)
    by_id = {n.id: n for n in graph.nodes}
    for node in graph.nodes:  # boundary events on the bottom side of their host
        host = nodes.get(node.attached_to or "")
        if node.kind != "boundaryEvent" or host is None:
            continue
        index = _boundary_index(graph, node.id)
        offset = (0.0, host.width / 2, -host.width / 2)[index % 3]
        width, height = size(node)
        nodes[node.id] = Box(host.x + offset, host.bottom, width, height)
        if node.name.strip():
            labels[node.id] = Box(
                host.x + offset + width, host.bottom - height / 2 - 6, LABEL_WIDTH, 11
            )
    edges: dict[str, EdgePath] = {}
    for dot_edge in dot_edges:
        edge_id = dot_edge.get("id")
        edge = next((e for e in graph.edges if e.id == edge_id), None)
        if edge is None or "pos" not in dot_edge:
            continue
        raw, tip = _spline(dot_edge["pos"])
        points = [point(p.x, p.y) for p in raw]
        if tip is not None and points:
            end, last = point(tip.x, tip.y), points[-1]
            points += [
                Point(last.x + (end.x - last.x) / 3, last.y + (end.y - last.y) / 3),
                Point(last.x + 2 * (end.x - last.x) / 3, last.y + 2 * (end.y - last.y) / 3),
                end,
            ]
        source = by_id.get(edge.source)
        if source is not None and source.kind == "boundaryEvent" and source.id in nodes:
            event = nodes[source.id]
            points = _clip_start(points, Point(event.x, event.y), event.width / 2)
        name_at = None
        if "lp" in dot_edge:
            lx, ly = _floats(dot_edge["lp"])
            name_at = point(lx, ly)
        if len(points) >= 4:
            edges[edge.id] = EdgePath(tuple(points), True, name_at)
    order = [p.id for p in graph.pools] + [lane.id for lane in graph.lanes]
    ordered = [areas[i] for i in order if i in areas]
    return Layout(
        x1 - x0 + 2 * MARGIN,
        y1 - y0 + 2 * MARGIN,
        nodes,
        labels,
        edges,
        tuple(ordered),
        1.0,
        frozenset(clusters(graph) & set(nodes)),
    )
