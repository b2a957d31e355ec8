"""The dependency rule and the public API, pinned.

salesflow (CLI), webui -> engine, diagrams; diagrams -> engine's graph types;
engine -> SpiffWorkflow, SQLAlchemy, stdlib.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
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


# --- the layers (README "Architecture"), as import-linter contracts -------------------------

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("engine", "webui", "salesflow", "diagrams")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the tree at `root`, with `root` first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("file", "line", "contract"),
    [
        ("engine/core/roles.py", "from engine.store import db", "engine layers"),
        ("engine/store/records.py", "from engine.usecases import unit", "engine layers"),
        ("engine/core/stages.py", "import sqlalchemy", "the core is pure"),
        ("webui/labels.py", "from engine.store import models", "touch no database"),
        ("salesflow/cli.py", "import sqlalchemy", "touch no database"),
        ("engine/usecases/deals.py", "import flask", "knows nothing of the web"),
        ("diagrams/text.py", "from engine.usecases import service", "drawing reads only"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, file: str, line: str, contract: str
) -> None:
    """The contracts can fail: one forbidden import in a copy of the tree is caught."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("node_modules", "__pycache__", "static", "templates"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert lint_imports(tmp_path).returncode == 0  # the copy as it is: kept
    target = tmp_path / file
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    broken = [ln for ln in result.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(contract in ln for ln in broken), result.stdout


def module_level_imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The project modules `module` imports when it is loaded: module-level imports only
    (not inside functions, not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(getattr(node, "finalbody", []))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                for alias in node.names:
                    name = f"{base}.{alias.name}"
                    if name in known:
                        found.add(name)
                    elif base in known:
                        found.add(base)

    visit(tree.body)
    found.discard(module)
    return found


def test_no_import_circles_among_the_projects_modules() -> None:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    graph = {m: module_level_imports(p, m, set(modules)) for m, p in modules.items()}
    assert graph["engine.usecases.service"], "the walk sees the service's imports"
    circles = strongly_connected(graph)
    assert [sorted(c) for c in circles if len(c) > 1] == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative: the graph has hundreds of nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.add(top)
                        if top == node:
                            break
                    found.append(component)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    circles = strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert sorted(sorted(c) for c in circles if len(c) > 1) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["diagrams", "engine", "engine.core.graph", "engine.errors"])
def test_light_imports_load_no_database_code(module: str) -> None:
    """Drawing a chart, or reading the engine's types, loads neither SQLAlchemy nor the
    use cases (engine/__init__.py imports nothing)."""
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('sqlalchemy', 'engine.usecases', 'engine.store') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
