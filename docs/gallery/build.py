"""Build the gallery: our rendering of every MIWG reference model beside its reference PNG.

    .venv/bin/python docs/gallery/build.py

Writes one SVG per diagram into docs/gallery/ and docs/gallery/index.html, a contact sheet
that shows each of our charts next to the reference image of the BPMN Model Interchange
Working Group test suite (CC-BY-3.0, read from ../shared/corpora/miwg/Reference, which is not
copied into this repository).
"""

from __future__ import annotations

import html
import os
import sys
from pathlib import Path

from diagrams import render_definition
from engine.core.graph import diagram_ids, graph_from_xml
from engine.errors import DefinitionError

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parents[2] / "shared" / "corpora" / "miwg" / "Reference"


def main() -> int:
    if not REFERENCE.is_dir():
        print(f"the MIWG corpus is not at {REFERENCE}", file=sys.stderr)
        return 1
    rows = []
    for source in sorted(REFERENCE.glob("*.bpmn")):
        text = source.read_bytes()
        ids = diagram_ids(text, file=source.name) or [None]
        references = sorted(REFERENCE.glob(f"{source.stem}*.png"))
        for n, diagram in enumerate(ids):
            name = source.stem if len(ids) == 1 else f"{source.stem}.{n + 1}"
            try:
                graph = graph_from_xml(text, file=source.name, diagram=diagram)
                svg = render_definition(graph, "svg")
            except DefinitionError as exc:
                rows.append((name, None, references, str(exc)))
                continue
            (HERE / f"{name}.svg").write_bytes(svg)
            reference = references[n] if n < len(references) else None
            rows.append((name, f"{name}.svg", [reference] if reference else [], ""))
    (HERE / "index.html").write_text(page(rows), encoding="utf-8")
    print(f"wrote {len(rows)} diagrams to {HERE}")
    return 0


def page(rows: list[tuple[str, str | None, list[Path], str]]) -> str:
    parts = [
        "<!doctype html><meta charset='utf-8'><title>salesflow: MIWG reference models</title>",
        "<style>body{font-family:sans-serif;margin:1rem}td{vertical-align:top;padding:.5rem;"
        "border-bottom:1px solid #ddd}img{max-width:46vw;max-height:60vh}</style>",
        "<h1>MIWG reference models: salesflow (left) and the reference (right)</h1>",
        "<p>Reference images: BPMN Model Interchange Working Group test suite, CC-BY-3.0, "
        "read from <code>../shared/corpora/miwg/Reference</code>.</p><table>",
    ]
    for name, ours, references, error in rows:
        left = (
            f"<img src='{html.escape(ours)}' alt='{html.escape(name)}'>"
            if ours
            else f"<pre>{html.escape(error)}</pre>"
        )
        right = "".join(
            f"<img src='{html.escape(os.path.relpath(r, HERE))}' alt='reference'>"
            for r in references
        )
        parts.append(f"<tr><th>{html.escape(name)}</th><td>{left}</td><td>{right}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
