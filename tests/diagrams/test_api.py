"""The public API of diagrams/, pinned, and the rule that only render.py runs graphviz."""

from __future__ import annotations

import ast
from pathlib import Path

import diagrams

ROOT = Path(diagrams.__file__).parent


def test_public_api_is_pinned() -> None:
    assert diagrams.__all__ == [
        "FORMATS",
        "Area",
        "Box",
        "DiagramError",
        "EdgePath",
        "Layout",
        "RenderError",
        "auto_layout",
        "clear_layout_cache",
        "definition_dot",
        "drawn_layout",
        "instance_dot",
        "join_pdfs",
        "layout_for",
        "render",
        "render_definition",
        "render_instance",
    ]
    for name in diagrams.__all__:
        assert getattr(diagrams, name) is not None
    assert issubclass(diagrams.RenderError, diagrams.DiagramError)
    assert diagrams.DiagramError.__bases__ == (Exception,)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_only_render_runs_programs_and_only_engine_graph_is_used() -> None:
    for path in ROOT.glob("*.py"):
        imports = _imports(path)
        engine = {m for m in imports if m.split(".")[0] == "engine"}
        assert engine <= {"engine.core.graph"}, path.name
        if path.name not in ("render.py", "resident.py"):
            assert not imports & {"subprocess", "graphviz", "shutil", "os"}, path.name
