"""The dependency rule and the public API, pinned.

webui -> engine, diagrams; diagrams -> engine; engine -> SpiffWorkflow, SQLAlchemy, stdlib.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import engine
import webui

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "engine": {"flask", "werkzeug", "jinja2", "graphviz", "diagrams", "webui"},
    "diagrams": {"flask", "werkzeug", "webui"},
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
            found.update((str(path.relative_to(ROOT)), n.split(".")[0]) for n in names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package: str) -> None:
    imports = imported_modules(package)
    bad = sorted((file, mod) for file, mod in imports if mod in FORBIDDEN[package])
    assert bad == []


def test_the_import_walk_sees_imports() -> None:
    assert ("engine/service.py", "sqlalchemy") in imported_modules("engine")


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
