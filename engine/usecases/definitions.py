"""Definitions: deploying process files, checking them in plain words (engine.core.lint),
publishing a designer's edit as a new version, designers' unfinished drafts, and a diagram
for a file that has none (`with_layout`).

A publish or deploy is all or nothing: any error refuses the whole save and leaves what was
deployed as it was.  Both run the designer's Check (engine.core.lint) first, the same rules
and the same messages, and store what its parse built; `salesflow check` runs it without
deploying (`check_paths`, no database needed).  Only designers and admins change
definitions (`actor` None is the command line).  An edit of one process never overwrites
another: given `replaces` (the processes the edit may give a new version: the designer's
opened one, none for a new process), a publish, a check or a draft holding any other
deployed process's id is refused (ProcessIdTakenError).  The API and the command line name
what they publish, so any id of their files is theirs to replace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import iso
from engine.core.bpmn_di import DiLayout, DiShape, add_diagram
from engine.core.definitions import (
    ProcessBundle,
    check_limits,
    parse_sources,
    process_ids,
    source_files,
)
from engine.core.graph import Graph, graph_from_xml
from engine.core.lint import Checked, Problem, checked, localized, source_texts
from engine.core.lint import check as lint_check
from engine.core.lint.grouping import grouped
from engine.core.lint.wording import say, word
from engine.core.records import DefinitionRecord, Deployed
from engine.core.roles import DESIGNERS
from engine.errors import (
    DefinitionError,
    DefinitionProblemsError,
    ForbiddenError,
    ProcessIdTakenError,
    ValidationError,
)
from engine.store import deployments as versions
from engine.store import users
from engine.store.config import DEFAULT_DATABASE_FILE
from engine.store.connectors import reachable
from engine.store.models import (
    DefinitionDraft,
    User,
    UserRole,
)
from engine.usecases.base import UseCases
from engine.usecases.texts import is_english

__all__ = [
    "DefinitionCases",
    "DiLayout",
    "DiShape",
    "check_paths",
    "check_process_ids",
    "database_configured",
    "process_ids",
    "severity_word",
    "with_layout",
    "with_more",
]

log = logging.getLogger(__name__)


class DefinitionCases(UseCases):
    """Deploy, check, publish and draft process definitions."""

    def deploy(self, paths: Iterable[str | Path], *, actor: str | None = None) -> list[Deployed]:
        """Deploy every executable process in the files/folders; all or nothing.  The files
        are read as bytes: the Check repairs an encoding other tools get wrong, or names
        it."""
        named = _by_name(_read(paths))
        return self.deploy_sources({n: content for n, (_, content) in named.items()}, actor=actor)

    def deploy_sources(
        self, sources: Mapping[str, str | bytes], *, actor: str | None = None
    ) -> list[Deployed]:
        """The designer's Check first (engine.core.lint, with the roles the team holds):
        any error refuses the deploy (DefinitionProblemsError, every problem in English),
        nothing is stored and the previous version stays.  Its warnings are logged (the
        command line shows them on stderr).  Files too large to check are a
        DefinitionError before any parsing."""
        check_limits(sources)
        with self.db.read() as s:
            held = _held_roles(s)
            hosts = reachable(s)
        result = checked(sources, held_roles=held, hosts=hosts)
        _refuse_errors(result.problems, None)
        bundles = _bundles(result, source_texts(sources)[0])
        with self.db.write() as s:
            deployed = [versions.store_bundle(s, bundle, actor) for bundle in bundles]
        for problem in result.problems:
            log.warning("%s", _line(problem))
        return deployed

    def held_roles(self) -> frozenset[str] | None:
        """The role keys some active user holds; None while the database is not set up (a
        check then leaves out the warnings about roles nobody holds)."""
        if not self.db.is_initialised():
            return None
        with self.db.read() as s:
            return _held_roles(s)

    def definitions(self) -> list[DefinitionRecord]:
        with self.db.read() as s:
            return versions.list_definitions(s)

    def check_definition(
        self,
        files: Mapping[str, str | bytes],
        *,
        replaces: Collection[str] | None = None,
        lang: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every problem of a definition's files, errors and warnings (engine.core.lint), in
        the reader's language `lang` (English when None); ProcessIdTakenError first for the
        id of a process it may not replace; files too large to check
        (engine.core.definitions.check_limits) are one error, nothing parsed."""
        try:
            check_limits(files)  # before any parser sees them
        except DefinitionError as exc:
            return _dicts([Problem(exc.detail, file=exc.file)], lang)
        with self.db.read() as s:
            check_process_ids(s, files, replaces)
            held = _held_roles(s)
            hosts = reachable(s)
        return _dicts(lint_check(files, held_roles=held, hosts=hosts), lang)

    def publish(
        self,
        files: Mapping[str, str | bytes],
        *,
        actor: str | None,
        replaces: Collection[str] | None = None,
        lang: str | None = None,
    ) -> dict[str, Any]:
        """Check everything, then deploy: a new version, or `changed` False for content that
        is deployed already.  Any error refuses the whole save (DefinitionProblemsError, or
        ProcessIdTakenError for the id of a process it may not replace) and leaves what was
        deployed as it was.  `actor` None is the command line.  Files too large to check are
        a DefinitionError (engine.core.definitions.check_limits) before any parsing.  The
        problems and the warnings are worded in `lang` (English when None)."""
        try:
            check_limits(files)
        except DefinitionError as exc:
            if is_english(lang):
                raise
            raise DefinitionError(word(exc.detail, lang), file=exc.file) from exc
        with self.db.read() as s:
            _check_designer(s, actor)
            check_process_ids(s, files, replaces)
            held = _held_roles(s)
            hosts = reachable(s)
        found = checked(files, held_roles=held, hosts=hosts)
        problems = found.problems
        _refuse_errors(problems, lang)
        texts, _ = source_texts(files)
        bundles = _bundles(found, texts)
        with self.db.write() as s:
            results = [versions.store_bundle(s, bundle, actor) for bundle in bundles]
            if actor is not None:
                for result in results:
                    _drop_draft(s, result["process_id"], actor)
        return {
            **results[0],
            "processes": results,
            "warnings": _dicts(problems, lang),
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
        lang: str | None = None,
    ) -> dict[str, Any]:
        """Keep a designer's unfinished edit (one per process and designer), problems and
        all; the answer lists the problems a publish would meet, worded in `lang`."""
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
            hosts = reachable(s)
        record["problems"] = _dicts(lint_check(files, held_roles=held, hosts=hosts), lang)
        return record

    def save_designer_draft(
        self,
        files: Mapping[str, str | bytes],
        *,
        actor: str,
        opened: str | None,
        base_version: int | None,
        lang: str | None = None,
    ) -> dict[str, Any]:
        """The designer's "save as draft": kept under the id of the files' first process
        (`save_draft_definition`), which must be `opened` or a new one (ProcessIdTakenError);
        `base_version` counts only for the process opened.  ValidationError (field `files`)
        when the files hold no process.  The problems are worded in `lang`."""
        with self.db.read() as s:
            check_process_ids(s, files, () if opened is None else (opened,))
        ids = process_ids(files)
        if not ids:
            raise ValidationError(
                "there is no process in the BPMN file to keep a draft of", field="files"
            )
        if opened != ids[0]:
            base_version = None  # saved under another process id: it starts no version of it
        return self.save_draft_definition(
            ids[0], files, actor=actor, base_version=base_version, lang=lang
        )

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


DESIGNER_ROLES = DESIGNERS


def check_process_ids(
    s: Session, files: Mapping[str, str | bytes], replaces: Collection[str] | None
) -> None:
    """ProcessIdTakenError for a process of `files` that is deployed and not one of
    `replaces` (None: any may be replaced)."""
    if replaces is None:
        return
    deployed = {d["process_id"] for d in versions.list_definitions(s)}
    for pid in process_ids(files):
        if pid not in replaces and pid in deployed:
            raise ProcessIdTakenError(pid)


def with_layout(xml: str, lay_out: Callable[[Graph], DiLayout]) -> str:
    """`xml` with a diagram (BPMN DI) where `lay_out` puts everything, when it has none, so
    that the modeler can show and edit it; a file with a diagram comes back as it is.
    DefinitionError for text that is not BPMN."""
    graph = graph_from_xml(xml)
    if graph.has_di:
        return xml
    return add_diagram(xml, lay_out(graph))


def with_more(first: str, more: int, lang: str | None) -> str:
    """A refusal's first error and how many more follow, "<first> (and 2 more)", in `lang`."""
    return word(say("refused.more", detail=first, count=more), lang)


def database_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a database is there to ask (SALESFLOW_DATABASE_URL, or the default SQLite
    file): `salesflow check` asks it for the roles the team holds, and creates no SQLite
    file where there is none."""
    env = os.environ if environ is None else environ
    url = env.get("SALESFLOW_DATABASE_URL") or ""
    if not url:
        return DEFAULT_DATABASE_FILE.is_file()
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    return not url.startswith("sqlite")  # a server, or an in-memory SQLite with nothing in it


def check_paths(
    paths: Iterable[str | Path],
    *,
    each: bool = False,
    held_roles: Collection[str] | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """The designer's Check of files and folders, nothing deployed: all of them as one
    definition (as `deploy` reads them), or with `each` every BPMN file with the files of
    its folder (engine.core.lint.grouping).  `held_roles` None leaves out the warnings
    about roles nobody holds.  The answer, worded in `lang`: "verdict" ("ok", "warnings"
    or "errors"), "message" (the designer's verdict), "errors", "warnings", "problems"
    (Problem.to_dict() with "element_name" and the file's "path") and "definitions" (each
    one's "files", "verdict", "message", "errors", "warnings").  DefinitionError for a path
    that does not exist, or two different files of one definition with the same name."""
    definitions, problems = [], []
    for group in grouped(_read(paths), each=each):
        named = _by_name(group)
        found = localized(_checked(named, held_roles), lang)
        path_of = {name: str(path) for name, (path, _) in named.items()}
        dicts = [
            {**p.to_dict(), "element_name": p.element_name, "path": path_of.get(p.file or "")}
            for p in found
        ]
        definitions.append({"files": [str(p) for p in group], **_verdict(dicts, lang)})
        problems.extend(dicts)
    verdict = _verdict(problems, lang)
    if len(definitions) > 1:  # how many of them can be published
        failed = sum(1 for d in definitions if d["errors"])
        said = say(
            "verdict.each" if failed else "verdict.each_ok", failed=failed, count=len(definitions)
        )
        verdict["message"] = word(said, lang)
    return {**verdict, "problems": problems, "definitions": definitions}


def severity_word(severity: str, lang: str | None) -> str:
    """The word for a severity ("error", "warning") in the reader's language."""
    return word(say("severity.warning" if severity == "warning" else "severity.error"), lang)


def _read(paths: Iterable[str | Path]) -> dict[Path, bytes]:
    """The definition files of the paths (folders searched), as bytes: the Check says what
    is wrong with a file's encoding itself."""
    return {file: file.read_bytes() for file in source_files(paths)}


def _by_name(group: Mapping[Path, bytes]) -> dict[str, tuple[Path, bytes]]:
    named: dict[str, tuple[Path, bytes]] = {}
    for path, content in group.items():
        other = named.get(path.name)
        if other is not None and other[1] != content:
            said = say("file.same_name", first=str(other[0]), second=str(path))
            raise DefinitionError(said.text, file=path.name)
        named[path.name] = (path, content)
    return named


def _checked(
    named: Mapping[str, tuple[Path, bytes]], held_roles: Collection[str] | None
) -> list[Problem]:
    """check_definition's answer, without the database: files too large are one problem."""
    files = {name: content for name, (_, content) in named.items()}
    try:
        check_limits(files)
    except DefinitionError as exc:
        return [Problem(exc.detail, file=exc.file)]
    return lint_check(files, held_roles=held_roles)


def _verdict(problems: list[dict[str, Any]], lang: str | None) -> dict[str, Any]:
    """The designer's verdict on problems: what the Check page says of them."""
    errors = sum(1 for p in problems if p["severity"] == "error")
    warnings = len(problems) - errors
    if errors:
        verdict = "errors"
        said = say("verdict.error" if errors == 1 else "verdict.errors", count=errors)
    elif warnings:
        verdict = "warnings"
        said = say("verdict.warning" if warnings == 1 else "verdict.warnings", count=warnings)
    else:
        verdict, said = "ok", say("verdict.ready")
    return {
        "verdict": verdict,
        "message": word(said, lang),
        "errors": errors,
        "warnings": warnings,
    }


def _refuse_errors(problems: list[Problem], lang: str | None) -> None:
    """DefinitionProblemsError with every problem when one of them is an error."""
    if any(p.severity == "error" for p in problems):
        raise DefinitionProblemsError(_dicts(problems, lang))


def _bundles(result: Checked, sources: Mapping[str, str]) -> list[ProcessBundle]:
    """What the Check's parse built (the files are not parsed twice), or a parse of the
    sources when it did not run."""
    if result.bundles is not None:
        return result.bundles
    return parse_sources(dict(sources))


def _line(problem: Problem) -> str:
    """A warning as the command line shows it: "file:line: warning: message"."""
    where = ":".join(str(x) for x in (problem.file, problem.line) if x)
    return f"{where}: {problem.severity}: {problem.message}" if where else problem.message


def _dicts(problems: list[Problem], lang: str | None) -> list[dict[str, Any]]:
    """The problems as the callers show them, worded in the reader's language."""
    return [p.to_dict() for p in localized(problems, lang)]


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
