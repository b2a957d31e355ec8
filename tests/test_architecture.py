"""The dependency rule and the public API, pinned.

salesflow (CLI), webui -> engine, diagrams; diagrams -> engine's graph types;
engine -> SpiffWorkflow, SQLAlchemy, stdlib.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import engine
import webui

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "engine": {"flask", "werkzeug", "jinja2", "graphviz", "diagrams", "webui", "salesflow"},
    "diagrams": {"flask", "werkzeug", "webui", "salesflow", "sqlalchemy", "SpiffWorkflow"},
    "webui": {"salesflow"},
}


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            found.update((str(path.relative_to(ROOT)), n) for n in names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package: str) -> None:
    imports = imported_modules(package)
    bad = sorted((file, mod) for file, mod in imports if mod.split(".")[0] in FORBIDDEN[package])
    assert bad == []


def test_the_import_walk_sees_imports() -> None:
    assert ("engine/usecases/deals.py", "sqlalchemy.orm") in imported_modules("engine")


def test_public_api_is_pinned() -> None:
    assert engine.__all__ == [
        "ConflictError",
        "Database",
        "DefinitionError",
        "EngineError",
        "ExpressionError",
        "ForbiddenError",
        "NotFoundError",
        "Service",
        "UnsafeExpressionError",
        "ValidationError",
    ]
    assert webui.__all__ == ["create_app"]
    for name in engine.__all__:
        assert getattr(engine, name) is not None


def test_diagrams_uses_only_the_engines_graph_types() -> None:
    from_engine = {mod for _, mod in imported_modules("diagrams") if mod.startswith("engine")}
    assert from_engine <= {"engine.core.graph"}
