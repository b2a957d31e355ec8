"""The base of every concern's use cases (engine.usecases.service composes them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from engine.core.version import VersionRuntime
from engine.store.db import Database
from engine.usecases.unit import WorkflowCache, Workspace


class UseCases:
    """What every use case stands on: the workspace (database, versions, live workflows).
    A use case that changes a deal opens `self.space.write()` and changes it through the
    unit of work; one that only reads opens `self.db.read()`."""

    space: Workspace

    @property
    def db(self) -> Database:
        return self.space.db

    @property
    def workflows(self) -> WorkflowCache:
        return self.space.workflows

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Several use cases that only read, as one read transaction (engine.store.db
        `Database.reading`): a page's, the web app opens it around each GET request."""
        with self.db.reading():
            yield

    def version(self, s: Session, version_id: int) -> VersionRuntime:
        """A deployed version ready to run, restored once per process and kept."""
        return self.space.version(s, version_id)
