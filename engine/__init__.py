"""salesflow engine: definitions, the runtime over SpiffWorkflow, persistence, use cases, jobs.

Four layers, each a package that imports only the ones below it (import-linter holds this;
see `[tool.importlinter]` in pyproject.toml and the README's "Architecture"):

- `engine.jobs`      the worker and what it runs on a schedule: timers, escalation, digests, mail
- `engine.usecases`  what the pages, the API, the CLI and the jobs call; one module per concern,
                     all changing deals through one unit of work (`engine.usecases.unit`)
- `engine.store`     the database: connections, models, Alembic migrations, the change writer
- `engine.core`      pure: expressions, parsing and checking definitions, the runtime over
                     SpiffWorkflow, graphs, diffs, calendars, forms; no database, no I/O

`engine.errors` (the one error root) and `engine.clock` (the one clock) serve every layer.
This file imports nothing, so `import engine.core.graph` loads neither SQLAlchemy nor
SpiffWorkflow's runtime.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# The names callers used before the layers existed, loaded on first use (PEP 562) so that
# importing the package stays free.
_PUBLIC = {
    "ConflictError": "engine.errors",
    "Database": "engine.store.db",
    "DefinitionError": "engine.errors",
    "EngineError": "engine.errors",
    "ExpressionError": "engine.errors",
    "ForbiddenError": "engine.errors",
    "NotFoundError": "engine.errors",
    "Service": "engine.usecases.service",
    "UnsafeExpressionError": "engine.errors",
    "ValidationError": "engine.errors",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
