"""Flowcharts inside pages: diagrams/ SVG made safe to inline, ready tasks made links.

The SVG is parsed (no DTD, no entities, no network), anything that could run or load
something is dropped, and it is serialised again: names from a BPMN file or a deal are
text nodes and attribute values, escaped by the serialiser, never HTML.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

from lxml import etree
from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Elements that could run or load something, lowercased: the HTML parser lowercases the tag
# names of inline SVG (and then restores foreignObject's case), so <SCRIPT> is a script.
_DROP = frozenset({"script", "foreignobject", "iframe", "object", "embed", "use", "image"})
CHART_CACHE_SIZE = 256  # rendered deal charts kept per app
MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}  # downloads

T = TypeVar("T")


class ChartCache(Generic[T]):
    """A small thread-safe LRU of rendered charts.  Keys must name everything the chart
    is drawn from (see `deal_chart_key`), so an entry never needs to be invalidated: a
    changed deal has a new key and the old entry falls off the end."""

    def __init__(self, size: int = CHART_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> T | None:
        """The entry if it is there (made already), else None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        made = make()  # outside the lock: rendering takes milliseconds
        with self._lock:
            self._items[key] = made
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def deal_chart_key(deal: Mapping[str, Any]) -> tuple[str, ...]:
    """A cache key for a deal's chart from `Service.show`: the deal, its definition version
    (charts are drawn from that version, which never changes) and everything the chart shows
    of the deal — position, status, stage, name, owner, open tasks with their holders and due
    times, timers, error.  Any change of the deal (a completed task, a claim, a fired timer)
    changes the key."""
    drawn = {
        "updated_at": deal.get("updated_at"),
        "status": deal.get("status"),
        "stage": deal.get("stage"),
        "name": deal.get("name"),
        "owner": deal.get("owner"),
        "position": deal.get("position"),
        "tasks": [
            [
                t.get("task_id"),
                t.get("element_id"),
                t.get("assignee"),
                t.get("lane"),
                t.get("due_at"),
            ]
            for t in deal.get("tasks", ())
        ],
        "timers": deal.get("timers"),
        "error": deal.get("error"),
    }
    return (
        str(deal["instance_id"]),
        str(deal["process_id"]),
        str(deal["version"]),
        json.dumps(drawn, sort_keys=True, default=str),
    )


# Attributes that could run or load something: on* handlers, href, style, in any letter case
# (the HTML parser lowercases attribute names of inline SVG) and in any namespace.
_BAD_ATTRIBUTE = re.compile(r"(?:^|\})(?:[oO][nN][^}]*|[hH][rR][eE][fF]|[sS][tT][yY][lL][eE])$")
# Verdicts by name: a chart uses a few dozen tag and attribute names over and over.
_VERDICTS_KEPT = 4_096
_tag_verdicts: dict[object, bool] = {}
_attribute_verdicts: dict[str, bool] = {}


def _dangerous(tag: object) -> bool:
    verdict = _tag_verdicts.get(tag)
    if verdict is None:
        if len(_tag_verdicts) > _VERDICTS_KEPT:
            _tag_verdicts.clear()
        verdict = isinstance(tag, str) and tag.rpartition("}")[2].lower() in _DROP
        _tag_verdicts[tag] = verdict
    return verdict


def _acting(name: str) -> bool:
    verdict = _attribute_verdicts.get(name)
    if verdict is None:
        if len(_attribute_verdicts) > _VERDICTS_KEPT:
            _attribute_verdicts.clear()
        verdict = _attribute_verdicts[name] = _BAD_ATTRIBUTE.search(name) is not None
    return verdict


_GROUPS = etree.XPath("//svg:g[@id]", namespaces={"svg": SVG_NS})


def inline_svg(svg: bytes, *, links: Mapping[str, str] | None = None, label: str = "") -> Markup:
    """The chart as markup for a page.  `links` maps element ids (the `<g id=...>` graphviz
    writes per BPMN element) to the pages they open; `label` names the chart for screen
    readers."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
    )
    root = etree.fromstring(svg, parser)
    dropped = []
    for element in root.iter():  # ~700 elements, ~1,700 attributes in a deal chart
        if _dangerous(element.tag):
            dropped.append(element)
        for name in element.keys():  # noqa: SIM118 (an lxml element iterates its children)
            if _acting(name):
                del element.attrib[name]
    for element in dropped:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    # The page decides the size: the chart scales to the width it is given.
    for attr in ("width", "height"):
        root.attrib.pop(attr, None)
    root.set("class", "chart-svg")
    root.set("role", "img")
    # The whole drawing's hover text is graphviz's graph name ("process"): the label instead.
    for title in root.iterfind(f"{{{SVG_NS}}}g/{{{SVG_NS}}}title"):
        parent = title.getparent()
        if label:
            title.text = label
        elif parent is not None:
            parent.remove(title)
        break
    if label:
        root.set("aria-label", label)
    if links:
        groups: dict[str, etree._Element] = {}
        for group in _GROUPS(root):
            groups.setdefault(group.get("id"), group)
        for element_id, href in links.items():
            if element_id in groups:
                _wrap_in_link(groups[element_id], href)
    return Markup(etree.tostring(root, encoding="unicode"))


def _wrap_in_link(group: etree._Element, href: str) -> None:
    parent = group.getparent()
    if parent is None:
        return
    link = etree.Element(f"{{{SVG_NS}}}a")
    link.set("href", href)
    link.set("class", "chart-link")
    parent.replace(group, link)
    link.append(group)
