"""The names a chart shows: what a modelling tool wrote but never shows is left out.

Tools fill in names nobody typed: Bizagi names every flow "Sequence Flow_36", others copy
the id into the name ("SequenceFlow_1abc", "Flow_0x9", "Task_1"), and some write the condition
"_undefined" on flows that have none.  Their own canvases hide these, so a designer who
sees them in our chart sees clutter they never drew.  A name the designer typed, even a
plain one like "Message Flow 1", is kept: only the generated shapes below are hidden.
"""

from __future__ import annotations

import re
from dataclasses import replace

from engine.core.graph import Edge, Graph

# Capitalised words run together or spaced, "_", then an id-like tail holding a digit:
# "Sequence Flow_36", "SequenceFlow_1abc", "Flow_0x9", "MessageFlow_2".  Only flows get
# such names from tools; a task called "Task_1" was typed by someone and stays.
_GENERATED_FLOW = re.compile(r"(?:[A-Z][a-z]+ ?)+_[0-9A-Za-z]*[0-9][0-9A-Za-z]*")
_EMPTY_CONDITIONS = frozenset({"_undefined", "undefined"})
# What sets an id a tool made ("Task_1", "sid-9A2F...", "Activity_0x9") apart from a word a
# designer typed as both id and name ("Approver"): a digit, an underscore or a hyphen.
_ID_LIKE = re.compile(r"[0-9_-]")


def generated(name: str, element_id: str, *, flow: bool = False) -> bool:
    """Whether `name` is one a tool made up (and hides) rather than one a designer typed."""
    text = name.strip()
    if not text:
        return False
    if text == element_id:  # a copied id; but a lane with id and name "Approver" says so
        return _ID_LIKE.search(text) is not None
    return flow and _GENERATED_FLOW.fullmatch(text) is not None


def _edge(edge: Edge) -> Edge:
    name = "" if generated(edge.name, edge.id, flow=True) else edge.name
    condition = edge.condition
    if condition is not None and condition.strip().lower() in _EMPTY_CONDITIONS:
        condition = None
    if name == edge.name and condition == edge.condition:
        return edge
    return replace(edge, name=name, condition=condition)


def shown(graph: Graph) -> Graph:
    """`graph` with the names and conditions tools hide emptied; the same object when there
    are none (the usual case), so caches keyed by it keep working."""
    nodes = tuple(replace(n, name="") if generated(n.name, n.id) else n for n in graph.nodes)
    lanes = tuple(replace(x, name="") if generated(x.name, x.id) else x for x in graph.lanes)
    pools = tuple(replace(p, name="") if generated(p.name, p.id) else p for p in graph.pools)
    edges = tuple(_edge(e) for e in graph.edges)
    same = all(
        a is b
        for new, old in (
            (nodes, graph.nodes),
            (lanes, graph.lanes),
            (pools, graph.pools),
            (edges, graph.edges),
        )
        for a, b in zip(new, old, strict=True)
    )
    if same:
        return graph
    return replace(graph, nodes=nodes, lanes=lanes, pools=pools, edges=edges)
