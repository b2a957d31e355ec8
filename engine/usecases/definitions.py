"""Definitions: deploying process files, checking them in plain words (engine.core.lint),
publishing a designer's edit as a new version, and designers' unfinished drafts.

A publish or deploy is all or nothing: any error refuses the whole save and leaves what was
deployed as it was.  Only designers and admins change definitions (`actor` None is the
command line).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import iso
from engine.core.definitions import parse_sources, read_paths
from engine.core.lint import check as lint_check
from engine.core.lint import source_texts
from engine.core.roles import role_key
from engine.errors import (
    DefinitionError,
    DefinitionProblemsError,
    ForbiddenError,
)
from engine.store import deployments as versions
from engine.store import users
from engine.store.models import (
    DefinitionDraft,
    User,
    UserRole,
)
from engine.usecases.base import UseCases


class DefinitionCases(UseCases):
    """Deploy, check, publish and draft process definitions."""

    def deploy(
        self, paths: Iterable[str | Path], *, actor: str | None = None
    ) -> list[dict[str, Any]]:
        """Deploy every executable process in the files/folders; all or nothing."""
        return self.deploy_sources(read_paths(paths), actor=actor)

    def deploy_sources(
        self, sources: dict[str, str], *, actor: str | None = None
    ) -> list[dict[str, Any]]:
        bundles = parse_sources(sources)  # raises before anything is written
        with self.db.write() as s:
            return [versions.store_bundle(s, bundle, actor) for bundle in bundles]

    def definitions(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return versions.list_definitions(s)

    def check_definition(self, files: Mapping[str, str | bytes]) -> list[dict[str, Any]]:
        """Every problem of a definition's files, errors and warnings (engine.core.lint)."""
        with self.db.read() as s:
            held = _held_roles(s)
        return [p.to_dict() for p in lint_check(files, held_roles=held)]

    def publish(self, files: Mapping[str, str | bytes], *, actor: str | None) -> dict[str, Any]:
        """Check everything, then deploy: a new version, or `changed` False for content that
        is deployed already.  Any error refuses the whole save (DefinitionProblemsError) and
        leaves what was deployed as it was.  `actor` None is the command line."""
        with self.db.read() as s:
            _check_designer(s, actor)
            held = _held_roles(s)
        problems = lint_check(files, held_roles=held)
        if any(p.severity == "error" for p in problems):
            raise DefinitionProblemsError([p.to_dict() for p in problems])
        texts, _ = source_texts(files)
        bundles = parse_sources(texts)
        with self.db.write() as s:
            results = [versions.store_bundle(s, bundle, actor) for bundle in bundles]
            if actor is not None:
                for result in results:
                    _drop_draft(s, result["process_id"], actor)
        return {
            **results[0],
            "processes": results,
            "warnings": [p.to_dict() for p in problems],
        }

    def definition_files(self, process_id: str, version: int | None = None) -> dict[str, str]:
        """The files of a deployed version (its latest without `version`), as stored."""
        with self.db.read() as s:
            return dict(versions.version_row(s, process_id, version).files)

    def export_definitions(self) -> dict[str, str]:
        """The files of every process's latest version, by file name; a file name that two
        processes use with different contents is a DefinitionError."""
        files: dict[str, str] = {}
        owner: dict[str, str] = {}
        with self.db.read() as s:
            for found in versions.list_definitions(s):
                pid = found["process_id"]
                for name, text in versions.version_row(s, pid, None).files.items():
                    if name in files and files[name] != text:
                        raise DefinitionError(
                            f"the latest versions of '{owner[name]}' and '{pid}' hold "
                            "different files of this name: deploy them together first",
                            file=name,
                        )
                    files[name], owner[name] = text, pid
        return files

    def save_draft_definition(
        self,
        process_id: str,
        files: Mapping[str, str | bytes],
        *,
        actor: str,
        base_version: int | None,
    ) -> dict[str, Any]:
        """Keep a designer's unfinished edit (one per process and designer), problems and
        all; the answer lists the problems a publish would meet."""
        texts, _ = source_texts(files)
        with self.db.write() as s:
            _check_designer(s, actor)
            if base_version is not None:
                versions.version_row(s, process_id, base_version)  # NotFoundError
            row = s.scalars(
                select(DefinitionDraft).where(
                    DefinitionDraft.process_id == process_id, DefinitionDraft.saved_by == actor
                )
            ).first()
            if row is None:
                row = DefinitionDraft(process_id=process_id, saved_by=actor)
                s.add(row)
            row.base_version = base_version
            row.files = texts
            row.saved_at = clock.now()
            s.flush()
            record = _draft_record(row)
            held = _held_roles(s)
        record["problems"] = [p.to_dict() for p in lint_check(files, held_roles=held)]
        return record

    def definition_draft(self, process_id: str, actor: str) -> dict[str, Any] | None:
        """The designer's draft of a process, if they kept one."""
        with self.db.read() as s:
            row = s.scalars(
                select(DefinitionDraft).where(
                    DefinitionDraft.process_id == process_id, DefinitionDraft.saved_by == actor
                )
            ).first()
            return _draft_record(row) if row is not None else None

    def discard_definition_draft(self, process_id: str, actor: str) -> bool:
        """Drop the designer's draft; False when there was none."""
        with self.db.write() as s:
            return _drop_draft(s, process_id, actor)


DESIGNER_ROLES = frozenset({role_key("designer"), role_key("admin")})


def _check_designer(s: Session, actor: str | None) -> None:
    """Only designers and admins change definitions; None is the command line."""
    if actor is not None and not users.roles_of(s, actor) & DESIGNER_ROLES:
        raise ForbiddenError(f"{actor} may not change process definitions (designers, admins)")


def _held_roles(s: Session) -> frozenset[str]:
    """The role keys at least one active user holds."""
    rows = s.scalars(select(UserRole.role).join(User).where(User.active).distinct())
    return frozenset(rows)


def _drop_draft(s: Session, process_id: str, actor: str) -> bool:
    row = s.scalars(
        select(DefinitionDraft).where(
            DefinitionDraft.process_id == process_id, DefinitionDraft.saved_by == actor
        )
    ).first()
    if row is not None:
        s.delete(row)
    return row is not None


def _draft_record(row: DefinitionDraft) -> dict[str, Any]:
    return {
        "process_id": row.process_id,
        "base_version": row.base_version,
        "files": dict(row.files),
        "saved_by": row.saved_by,
        "saved_at": iso(row.saved_at),
    }
