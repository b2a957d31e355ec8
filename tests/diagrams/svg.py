"""Reading rendered SVG back: element groups by id, and where a node's shape was drawn."""

from __future__ import annotations

import re

from lxml import etree

SVG = "{http://www.w3.org/2000/svg}"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse(svg: bytes) -> etree._Element:
    return etree.fromstring(svg)


def groups(root: etree._Element) -> dict[str, etree._Element]:
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}


def classes(group: etree._Element) -> list[str]:
    return (group.get("class") or "").split()


def centre(group: etree._Element) -> tuple[float, float]:
    """The centre of the first shape drawn in the group, in graphviz coordinates (y up)."""
    for element in group.iter(f"{SVG}ellipse", f"{SVG}polygon", f"{SVG}path"):
        if element.tag == f"{SVG}ellipse":
            x, y = float(element.get("cx")), float(element.get("cy"))
        else:
            values = [float(v) for v in _NUMBER.findall(element.get("points") or element.get("d"))]
            xs, ys = values[0::2], values[1::2]
            x, y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        return x, -y  # graphviz writes y negated inside its translated root group
    raise AssertionError(f"no shape in <g id={group.get('id')}>")


def texts(root: etree._Element) -> str:
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def extent(group: etree._Element) -> tuple[float, float, float, float]:
    """Left, bottom, right, top of everything drawn in the group (y up)."""
    xs: list[float] = []
    ys: list[float] = []
    for element in group.iter(f"{SVG}ellipse", f"{SVG}polygon", f"{SVG}path", f"{SVG}polyline"):
        if element.tag == f"{SVG}ellipse":
            cx, cy, rx, ry = (float(element.get(k)) for k in ("cx", "cy", "rx", "ry"))
            xs += [cx - rx, cx + rx]
            ys += [cy - ry, cy + ry]
        else:
            values = [float(v) for v in _NUMBER.findall(element.get("points") or element.get("d"))]
            xs += values[0::2]
            ys += values[1::2]
    assert xs, f"nothing drawn in <g id={group.get('id')}>"
    return min(xs), -max(ys), max(xs), -min(ys)


def of_class(root: etree._Element, css: str) -> list[etree._Element]:
    """The groups whose class list holds `css` (helper nodes have no element id)."""
    return [g for g in root.iter(f"{SVG}g") if css in classes(g)]


def text_spots(root: etree._Element) -> list[tuple[str, float, float, float, str]]:
    """Every <text>: its text, x, baseline (y up), font size and text-anchor."""
    return [
        (
            "".join(t.itertext()),
            float(t.get("x")),
            -float(t.get("y")),
            float(t.get("font-size")),
            t.get("text-anchor") or "start",
        )
        for t in root.iter(f"{SVG}text")
    ]


def canvas(root: etree._Element) -> tuple[float, float]:
    """The canvas's width and height in points (the viewBox)."""
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    return width, height
