"""Flows whose stored waypoints cannot be drawn as they are: repaired between their shapes.

Some tools store waypoints that are not a path: every point at (0, 0) (drawn as is, spokes
run to the canvas corner), a single point, or two identical points (the flow vanishes).
Others store only a flow's two ends and let their own canvas draw it orthogonally, so the
file holds a diagonal where the designer saw an L or a Z.  Here such flows get a path from
border to border: orthogonal when the diagram's other flows are (that is how the tool draws
them), else straight.  Stored waypoints are judged in DI pixels; the paths made here are in
points, y up, like everything in a Layout (see layout.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from diagrams.geometry import Box, border_point, straight
from engine.core.graph import Bounds, Edge, Point

SLANT = 2.0  # DI px: a segment leaning less than this is drawn as the tool meant, level
ON_SIDE = 2.0  # points: how close to a side a stored end must be to say where it leaves
ROUTED_KINDS = frozenset({"sequenceFlow", "messageFlow"})  # associations stay straight


def _at_origin(p: Point) -> bool:
    return p.x == 0 and p.y == 0


def _covers_origin(bounds: Bounds | None) -> bool:
    return (
        bounds is not None
        and bounds.x <= 0 <= bounds.x + bounds.width
        and (bounds.y <= 0 <= bounds.y + bounds.height)
    )


def usable(edge: Edge, ends: Sequence[Bounds | None]) -> tuple[Point, ...]:
    """The waypoints worth drawing, in DI pixels: points at the origin left out when
    neither end is there (tools write (0, 0) for "unknown"), repeats merged; empty when
    fewer than two different points remain."""
    keep_origin = any(_covers_origin(b) for b in ends)
    points: list[Point] = []
    for p in edge.waypoints:
        if (keep_origin or not _at_origin(p)) and (not points or points[-1] != p):
            points.append(p)
    return tuple(points) if len(points) >= 2 else ()


def dropped_ends(edge: Edge, kept: Sequence[Point]) -> tuple[bool, bool]:
    """Whether the stored first and last waypoints were left out (at the origin)."""
    if not kept or not edge.waypoints:
        return False, False
    return edge.waypoints[0] != kept[0], edge.waypoints[-1] != kept[-1]


def orthogonal_style(paths: Iterable[Sequence[Point]]) -> bool:
    """Whether the tool draws flows orthogonally: every flow with three or more waypoints
    (its bends are the tool's, not a straight line's) runs only level or upright, and there
    is at least one such flow."""
    bent = [p for p in paths if len(p) >= 3]
    return bool(bent) and all(
        abs(a.x - b.x) <= SLANT or abs(a.y - b.y) <= SLANT
        for path in bent
        for a, b in itertools.pairwise(path)
    )


def slanted(points: Sequence[Point]) -> bool:
    """A two-point path that is neither level nor upright (DI pixels)."""
    return (
        len(points) == 2
        and abs(points[0].x - points[1].x) > SLANT
        and abs(points[0].y - points[1].y) > SLANT
    )


def _side_point(box: Box, shape: str, dx: int, dy: int) -> Point:
    """The middle of a side of the outline: right (1, 0), left (-1, 0), top (0, 1) or
    bottom (0, -1)."""
    far = Point(box.x + dx * (box.width + 1), box.y + dy * (box.height + 1))
    return border_point(box, shape, far)


def _leaves(box: Box, p: Point) -> str | None:
    """Which way a path starting at `p` on `box`'s outline leaves it: "h" through the left
    or right side, "v" through the top or bottom, None if `p` is not on a side."""
    on_x = box.bottom - ON_SIDE <= p.y <= box.top + ON_SIDE
    on_y = box.left - ON_SIDE <= p.x <= box.right + ON_SIDE
    if on_x and min(abs(p.x - box.left), abs(p.x - box.right)) <= ON_SIDE:
        return "h"
    if on_y and min(abs(p.y - box.bottom), abs(p.y - box.top)) <= ON_SIDE:
        return "v"
    return None


def _outward(box: Box, p: Point, corner: Point) -> bool:
    """Whether going from `p` (on the outline) to `corner` moves away from the box."""
    return (corner.x - p.x) * (p.x - box.x) + (corner.y - p.y) * (p.y - box.y) > 0 and not (
        box.left < corner.x < box.right and box.bottom < corner.y < box.top
    )


def _from_ends(source: Box, target: Box, a: Point, b: Point) -> tuple[Point, ...] | None:
    """An L or a Z through the two stored ends, leaving each shape the way the end sits on
    it (a point on a left or right side leaves level, on a top or bottom upright); None
    when the ends do not say (not on a side) or the path would turn back into a shape."""
    first, last = _leaves(source, a), _leaves(target, b)
    if first is None or last is None:
        return None
    path: tuple[Point, ...]
    if first == last == "h":
        mid = (a.x + b.x) / 2
        path = (a, Point(mid, a.y), Point(mid, b.y), b)
    elif first == last == "v":
        mid = (a.y + b.y) / 2
        path = (a, Point(a.x, mid), Point(b.x, mid), b)
    elif first == "v":
        path = (a, Point(a.x, b.y), b)
    else:
        path = (a, Point(b.x, a.y), b)
    if not (_outward(source, a, path[1]) and _outward(target, b, path[-2])):
        return None
    return path


def _between(source: Box, s_shape: str, target: Box, t_shape: str) -> tuple[Point, ...]:
    """An L or a Z between two shapes by where they are: a gateway's flows leave by a
    corner and turn once (as modelers draw them), others leave the sides facing each other
    and turn twice half way; shapes that overlap get a straight line."""
    gap_x = max(target.left - source.right, source.left - target.right)
    gap_y = max(target.bottom - source.top, source.bottom - target.top)
    sx = 1 if target.x > source.x else -1
    sy = 1 if target.y > source.y else -1
    if gap_x <= 0 and gap_y <= 0:
        return straight(source, s_shape, target, t_shape)
    if gap_x > 0 and gap_y > 0 and (s_shape == "diamond" or t_shape == "diamond"):
        if s_shape == "diamond":  # down (or up) out of the gateway, then across
            a, b = _side_point(source, s_shape, 0, sy), _side_point(target, t_shape, -sx, 0)
            return (a, Point(a.x, b.y), b)
        a, b = _side_point(source, s_shape, sx, 0), _side_point(target, t_shape, 0, -sy)
        return (a, Point(b.x, a.y), b)
    if gap_x >= gap_y:
        a, b = _side_point(source, s_shape, sx, 0), _side_point(target, t_shape, -sx, 0)
        mid = (a.x + b.x) / 2
        return _merged((a, Point(mid, a.y), Point(mid, b.y), b))
    a, b = _side_point(source, s_shape, 0, sy), _side_point(target, t_shape, 0, -sy)
    mid = (a.y + b.y) / 2
    return _merged((a, Point(a.x, mid), Point(b.x, mid), b))


def _merged(points: Sequence[Point]) -> tuple[Point, ...]:
    """Repeated points and points in the middle of a straight run left out."""
    out: list[Point] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2:
            a, b = out[-2], out[-1]
            if (a.x == b.x == p.x) or (a.y == b.y == p.y):
                out[-1] = p
                continue
        out.append(p)
    return tuple(out)


def orthogonal(
    source: Box, s_shape: str, target: Box, t_shape: str, hint: Sequence[Point] = ()
) -> tuple[Point, ...]:
    """An orthogonal path from `source`'s outline to `target`'s: through the stored ends in
    `hint` when they sit on the shapes' sides, else by where the shapes are."""
    if len(hint) == 2:
        through = _from_ends(source, target, hint[0], hint[1])
        if through is not None:
            return through
    return _between(source, s_shape, target, t_shape)
