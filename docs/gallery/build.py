"""Build the gallery: our rendering of every BPMN file of the shared corpora that carries a
diagram, beside the reference image of its MIWG test case where the test suite has one.

    make gallery        (or .venv/bin/python docs/gallery/build.py)

Writes one SVG per diagram into docs/gallery/ (named after the corpus folder and the file)
and docs/gallery/index.html, a contact sheet: each of our charts next to the reference PNG of
the BPMN Model Interchange Working Group test suite (CC-BY-3.0, read from
../shared/corpora/miwg/Reference, which is not copied into this repository).  A file with
several diagrams shows its main one first (the one `salesflow render` draws by default), then
the others; the warnings of each file (what the reader repaired or could not draw) are listed
under its chart.
"""

from __future__ import annotations

import html
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from diagrams import DiagramError, render_definition
from engine.core.graph import diagram_ids, graph_from_xml
from engine.errors import DefinitionError

HERE = Path(__file__).resolve().parent
CORPORA = HERE.parents[2] / "shared" / "corpora"
REFERENCE = CORPORA / "miwg" / "Reference"
# A tool's export of test case C.4.0 is named C.4.0-export.1.bpmn: the case is its prefix.
CASE = re.compile(r"^([ABC]\.\d+\.\d+)")


@dataclass
class Row:
    title: str
    ours: str | None  # our SVG's file name, None when it could not be drawn
    references: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def main() -> int:
    if not CORPORA.is_dir():
        print(f"the corpora are not at {CORPORA}", file=sys.stderr)
        return 1
    for old in HERE.glob("*.svg"):
        old.unlink()
    rows: list[Row] = []
    for source in sorted(CORPORA.rglob("*.bpmn")):
        rows.extend(rows_of(source))
    (HERE / "index.html").write_text(page(rows), encoding="utf-8")
    drawn = sum(1 for r in rows if r.ours)
    print(f"wrote {drawn} charts of {len(rows)} diagrams to {HERE}")
    return 0


def rows_of(source: Path) -> list[Row]:
    text = source.read_bytes()
    if b"BPMNDiagram" not in text:
        return []  # nothing drawn by its tool: nothing to compare
    folder = source.parent.relative_to(CORPORA)
    stem = _slug(f"{folder}/{source.stem}")
    try:
        ids = diagram_ids(text, file=source.name)
        main_graph = graph_from_xml(text, file=source.name)
    except DefinitionError as exc:
        return [Row(f"{folder}/{source.name}", None, notes=[str(exc)])]
    # The main diagram first, then the others in file order.
    order = [main_graph.diagram, *(d for d in ids if d != main_graph.diagram)]
    case = CASE.match(source.name)
    references = sorted(REFERENCE.glob(f"{case.group(1)}*.png")) if case else []
    rows = []
    for n, diagram in enumerate(order):
        title = f"{folder}/{source.name}" + (f" · {diagram}" if len(order) > 1 else "")
        name = f"{stem}.{n + 1}.svg" if len(order) > 1 else f"{stem}.svg"
        try:
            graph = main_graph if n == 0 else graph_from_xml(text, diagram=diagram)
            (HERE / name).write_bytes(render_definition(graph, "svg"))
        except (DefinitionError, DiagramError) as exc:
            rows.append(Row(title, None, notes=[str(exc)]))
            continue
        # The test suite draws a multi-diagram case as C.4.0.1.png, C.4.0.2.png, ... in the
        # file's order; the main diagram is not always the first.
        index = ids.index(diagram) if diagram in ids else 0
        shown = [references[index]] if len(references) > 1 and index < len(references) else []
        if len(references) == 1 and n == 0:
            shown = references
        rows.append(Row(title, name, shown, list(graph.warnings)))
    return rows


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


def page(rows: list[Row]) -> str:
    parts = [
        "<!doctype html><meta charset='utf-8'><title>salesflow: the corpora drawn</title>",
        "<style>body{font-family:sans-serif;margin:1rem}td,th{vertical-align:top;padding:.5rem;"
        "border-bottom:1px solid #ddd;text-align:left}img{max-width:46vw;max-height:60vh}"
        ".note{color:#8a5a00;font-size:.85rem}</style>",
        "<h1>Every BPMN file of the shared corpora: salesflow (left), the MIWG reference "
        "(right)</h1>",
        "<p>Reference images: BPMN Model Interchange Working Group test suite, CC-BY-3.0, "
        "read from <code>../shared/corpora/miwg/Reference</code>.  Camunda and "
        "spiff-examples files have no reference image.</p><table>",
    ]
    for row in rows:
        left = (
            f"<img src='{html.escape(row.ours)}' alt='{html.escape(row.title)}'>"
            if row.ours
            else ""
        )
        left += "".join(f"<p class='note'>{html.escape(n)}</p>" for n in row.notes)
        right = "".join(
            f"<img src='{html.escape(os.path.relpath(r, HERE))}' alt='reference'>"
            for r in row.references
        )
        parts.append(f"<tr><th>{html.escape(row.title)}</th><td>{left}</td><td>{right}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
