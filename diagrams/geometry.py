"""Units and plane geometry in points (y up): boxes, where a line leaves an outline, the
spot half way along a flow.

Kept apart from layout.py so that the modules layout.py uses (routes.py, areas.py) can
share it without importing layout.py back; layout.py explains the units.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from engine.core.graph import EVENT_KINDS, GATEWAY_KINDS, Point

SCALE = 0.75  # points per DI pixel
LABEL_SIZE = 9.0  # font size of names, points (bpmn.io's 12 px)
LABEL_LINE = 11.0  # line height of names, points
FLOW_LABEL_SIZE = 8.0  # font size of flow names, points (bpmn.io's 11 px)
FLOW_LABEL_LINE = 10.0  # line height of flow names


@dataclass(frozen=True)
class Box:
    """A rectangle by its centre (points, y up) and size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2

    @property
    def top(self) -> float:
        return self.y + self.height / 2

    @property
    def bottom(self) -> float:
        return self.y - self.height / 2

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.bottom < other.top
            and other.bottom < self.top
        )

    def moved(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.width, self.height)


def outline(kind: str) -> str:
    """The outline an edge ends on: "circle", "diamond" or "rect"."""
    if kind in EVENT_KINDS:
        return "circle"
    if kind in GATEWAY_KINDS:
        return "diamond"
    return "rect"


def border_point(box: Box, shape: str, toward: Point) -> Point:
    """Where the ray from the centre of `box` toward `toward` leaves the outline."""
    dx, dy = toward.x - box.x, toward.y - box.y
    if dx == 0 and dy == 0:
        return Point(box.x, box.y)
    hw, hh = box.width / 2, box.height / 2
    if shape == "circle":
        t = min(hw, hh) / math.hypot(dx, dy)
    elif shape == "diamond":
        t = 1 / (abs(dx) / hw + abs(dy) / hh)
    else:
        t = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    return Point(box.x + dx * t, box.y + dy * t)


def straight(source: Box, source_shape: str, target: Box, target_shape: str) -> tuple[Point, ...]:
    """The line between two centres, cut at both outlines (for flows without waypoints)."""
    return (
        border_point(source, source_shape, Point(target.x, target.y)),
        border_point(target, target_shape, Point(source.x, source.y)),
    )


def halfway(points: tuple[Point, ...]) -> tuple[Point, float, float] | None:
    """The point half way along a polyline and the direction (unit vector) there; None for
    a polyline of no length."""
    segments = list(itertools.pairwise(points))
    lengths = [math.dist((a.x, a.y), (b.x, b.y)) for a, b in segments]
    remaining = sum(lengths) / 2
    for (a, b), length in zip(segments, lengths, strict=True):
        if remaining <= length and length > 0:
            t = remaining / length
            ux, uy = (b.x - a.x) / length, (b.y - a.y) / length
            return Point(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t), ux, uy
        remaining -= length
    return None


def label_point(points: tuple[Point, ...]) -> Point:
    """A default spot for a flow's name: half way along, 8 pt beside the line."""
    found = halfway(points)
    if found is None:
        return points[0]
    middle, ux, uy = found
    # The normal that points up (or right, for a vertical line).
    nx, ny = (-uy, ux) if ux > 0 or (ux == 0 and uy < 0) else (uy, -ux)
    return Point(middle.x + 8 * nx, middle.y + 8 * ny)
