"""Which files one definition consists of, for checking many at once (`salesflow check
--each`): each BPMN file with the DMN and JSON files of its folder (its decisions, forms and
translations) and the BPMN files beside it that hold a process it calls.  Without `each`,
all the files given are one definition, as a deploy reads them.

Pure: file paths and contents in, groups out; no reading.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from lxml import etree

from engine.core.lint.bpmn import MODEL

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)


def grouped(found: Mapping[Path, bytes], *, each: bool) -> list[dict[Path, bytes]]:
    """The definitions among the files: one of them all, or (`each`) one per BPMN file."""
    if not each:
        return [dict(found)] if found else []
    folders: dict[Path, dict[Path, bytes]] = defaultdict(dict)
    for path, content in found.items():
        folders[path.parent][path] = content
    groups = []
    for _, files in sorted(folders.items()):
        bpmn = sorted(p for p in files if p.suffix == ".bpmn")
        beside = {p: c for p, c in sorted(files.items()) if p.suffix != ".bpmn"}
        holds = {p: _ids(files[p], "process", "id") for p in bpmn}
        for path in bpmn:
            group = {path: files[path], **beside}
            calls = _ids(files[path], "callActivity", "calledElement")
            group.update({p: files[p] for p in bpmn if p != path and holds[p] & calls})
            groups.append(group)
    return groups


def _ids(content: bytes, tag: str, attribute: str) -> set[str]:
    """The `attribute` of every bpmn:`tag` of a file (none when it is not XML at all)."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return set()
    if root is None:
        return set()
    return {e.get(attribute, "") for e in root.iter(f"{{{MODEL}}}{tag}")} - {""}
