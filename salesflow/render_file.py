"""`salesflow render FILE.bpmn`: the main diagram of a file, one chosen by id or name, or
every one (`--diagram all`: one page per diagram in a PDF, else one file per diagram), and
what reading the file said (its repairs, what could not be drawn as designed).

No database: the file is read and drawn here.  Kept apart from salesflow.cli so that the
command stays a thin caller.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from diagrams import join_pdfs, render_definition
from engine.core.graph import Graph, diagram_list, graph_from_xml, graphs_from_xml, warning_text
from engine.errors import DefinitionError

__all__ = ["ALL", "render_file"]

ALL = "all"


def render_file(
    text: bytes,
    name: str,
    out: Path,
    fmt: str,
    *,
    diagram: str | None,
    layout: str | None,
    paper: dict[str, Any],
    lang: str | None,
    translate: Callable[[Graph], Graph] | None = None,
) -> dict[str, Any]:
    """Draw the file `name` (its bytes `text`) into `out` (or beside it, one file per
    diagram) and say what was drawn: the file's diagrams (id, name, main, drawn, and the
    file each went to) and the warnings, in `lang`.  `translate` puts the labels in `lang`
    (engine.usecases.texts.file_texts: the translation files beside the file)."""
    listed = diagram_list(text, file=name)
    if diagram == ALL:
        graphs = graphs_from_xml(text, file=name)
    else:
        graphs = [graph_from_xml(text, file=name, diagram=diagram)]
    if translate is not None:
        graphs = [translate(g) if g is not None else None for g in graphs]
    drawn = [g for g in graphs if g is not None]
    for graph in drawn:
        _refuse_blank(graph, name)
    # Which listed diagram each graph is: by position with --diagram all, else the one chosen.
    if diagram == ALL:
        chosen = [n for n, g in enumerate(graphs) if g is not None] if listed else []
    else:
        chosen = [_position(listed, drawn[0])] if listed else []
    outputs = _write(drawn, [listed[n] for n in chosen], out, fmt, layout, paper, name)
    where = dict(zip(chosen, outputs, strict=False)) if len(outputs) > 1 else {}
    # An empty diagram (bpmn.io writes one per collapsed sub-process) loses no shape: it is
    # listed as not drawn, without a warning.
    warnings = _unique(w for g in drawn for w in g.warnings)
    return {
        "file": name,
        "output": ", ".join(str(p) for p, _ in outputs),
        "format": fmt,
        "bytes": sum(size for _, size in outputs),
        "outputs": [{"output": str(p), "bytes": size} for p, size in outputs],
        "diagrams": [
            {
                "id": d["id"],
                "name": d["name"],
                "main": d["main"],
                "drawn": n in chosen,
                **({"output": str(where[n][0])} if n in where else {}),
            }
            for n, d in enumerate(listed)
        ],
        "warnings": [warning_text(w, lang) for w in warnings],
    }


def _refuse_blank(graph: Graph, name: str) -> None:
    """A picture with nothing in it is no answer: say why instead (exit code of a
    DefinitionError, the reasons the reader gave)."""
    if graph.nodes or graph.pools or graph.lanes:
        return
    why = "; ".join(graph.warnings) or "no process, no pool and no shape"
    raise DefinitionError(f"nothing to draw: {why}", file=name)


def _position(listed: list[dict[str, Any]], graph: Graph) -> int:
    """The listed diagram a graph shows (the main one when it has no id)."""
    for n, d in enumerate(listed):
        if graph.diagram is not None and d["id"] == graph.diagram:
            return n
    return next(n for n, d in enumerate(listed) if d["main"])


def _write(
    graphs: list[Graph],
    listed: list[dict[str, Any]],
    out: Path,
    fmt: str,
    layout: str | None,
    paper: dict[str, Any],
    name: str,
) -> list[tuple[Path, int]]:
    out.parent.mkdir(parents=True, exist_ok=True)
    pictures = [render_definition(g, fmt, layout=layout, **paper) for g in graphs]
    if len(pictures) == 1:
        out.write_bytes(pictures[0])
        return [(out, len(pictures[0]))]
    if fmt == "pdf":  # one document, a diagram's pages after another's
        data = join_pdfs(pictures, name)
        out.write_bytes(data)
        return [(out, len(data))]
    written = []
    stems: set[str] = set()
    for n, (picture, about) in enumerate(zip(pictures, listed, strict=True)):
        stem = f"{out.stem}-{_slug(about['name'] or about['id'] or str(n + 1))}"
        if stem in stems:  # two diagrams of one name: the second by its position
            stem += f"-{n + 1}"
        stems.add(stem)
        path = out.with_name(stem + out.suffix)
        path.write_bytes(picture)
        written.append((path, len(picture)))
    return written


def _slug(name: str) -> str:
    """A file-name-safe form of a diagram's name or id (keeps CJK letters)."""
    kept = "".join(c if c.isalnum() else "-" for c in name.strip())
    return "-".join(part for part in kept.split("-") if part)[:60] or "diagram"


def _unique(texts: Any) -> list[str]:
    """Each text once, in the order first met (every diagram repeats the file's repairs)."""
    return list(dict.fromkeys(texts))
