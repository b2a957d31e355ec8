"""Flowcharts inside pages: diagrams/ SVG made safe to inline, ready tasks made links.

The SVG is parsed (no DTD, no entities, no network), anything that could run or load
something is dropped, and it is serialised again: names from a BPMN file or a deal are
text nodes and attribute values, escaped by the serialiser, never HTML.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree
from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_DROP = frozenset({"script", "foreignObject", "iframe", "object", "embed", "use", "image"})


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def inline_svg(svg: bytes, *, links: Mapping[str, str] | None = None, label: str = "") -> Markup:
    """The chart as markup for a page.  `links` maps element ids (the `<g id=...>` graphviz
    writes per BPMN element) to the pages they open; `label` names the chart for screen
    readers."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        huge_tree=False,
    )
    root = etree.fromstring(svg, parser)
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue  # processing instructions
        if _local(element.tag) in _DROP:
            element.getparent().remove(element)
            continue
        for name in list(element.attrib):
            local = etree.QName(name).localname.lower()
            if local.startswith("on") or local in ("href", "style"):
                del element.attrib[name]
    # The page decides the size: the chart scales to the width it is given.
    for attr in ("width", "height"):
        root.attrib.pop(attr, None)
    root.set("class", "chart-svg")
    root.set("role", "img")
    if label:
        root.set("aria-label", label)
    for element_id, href in (links or {}).items():
        for group in root.iter(f"{{{SVG_NS}}}g"):
            if group.get("id") == element_id:
                _wrap_in_link(group, href)
                break
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
