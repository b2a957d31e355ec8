"""salesflow engine: definitions, runtime over SpiffWorkflow, persistence, timers.

Layers (each only imports the ones above it):
- pure: errors, clock, roles, expressions, spec_check, definitions, forms, runtime
- persistence: models, db, migrations; users, versions, recording (functions on a session)
- use cases: service (one transaction each), demo
- callers live outside: salesflow/ (the command line) and webui/ (HTTP)
The engine never imports flask, graphviz, diagrams or webui.
"""

from engine.db import Database
from engine.errors import (
    ConflictError,
    DefinitionError,
    EngineError,
    ExpressionError,
    ForbiddenError,
    NotFoundError,
    UnsafeExpressionError,
    ValidationError,
)
from engine.service import Service

__all__ = [
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
