"""One error root for the engine.

The web layer maps these to status codes and the CLI to exit codes; every message is written
for the person who has to act on it (a designer fixing a file, a rep fixing a form).
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    def to_dict(self) -> dict[str, object]:
        return {"error": type(self).__name__, "message": str(self)}


class DefinitionError(EngineError):
    """A BPMN/DMN/form file cannot be deployed: names the file, the line and the element."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        element_id: str | None = None,
    ) -> None:
        self.detail = message
        self.file = file
        self.line = line
        self.element_id = element_id
        where = []
        if file:
            where.append(file if line is None else f"{file}:{line}")
        elif line is not None:
            where.append(f"line {line}")
        if element_id:
            where.append(f"element '{element_id}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
        }


class UnsafeExpressionError(DefinitionError):
    """An expression uses something outside the restricted language."""


class DefinitionProblemsError(DefinitionError):
    """A save or publish refused: every problem found (engine.core.lint `Problem.to_dict()`s),
    the first error's file, line and element on the exception itself."""

    def __init__(self, problems: list[dict[str, object]]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.get("severity") == "error"] or problems
        first = errors[0] if errors else {}
        more = len(errors) - 1
        message = str(first.get("message") or "the definition has problems")
        if more > 0:
            message += f" (and {more} more error{'s' if more > 1 else ''})"
        line = first.get("line")
        super().__init__(
            message,
            file=str(first["file"]) if first.get("file") else None,
            line=line if isinstance(line, int) else None,
            element_id=str(first["element_id"]) if first.get("element_id") else None,
        )

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "problems": self.problems}


class NotFoundError(EngineError):
    """An id (instance, task, process, user) that does not exist."""


class ForbiddenError(EngineError):
    """The user may not do this (for example lacks the lane's role)."""


class ConflictError(EngineError):
    """Someone else changed the same instance first; nothing was changed."""


class ProcessIdTakenError(ConflictError):
    """A designer's edit would save under the id of another deployed process, and so
    overwrite it; `process_id` is that id."""

    def __init__(self, process_id: str) -> None:
        self.process_id = process_id
        super().__init__(
            f"A process with the id '{process_id}' is deployed already: give this one another "
            "id, or open that process in the designer to change it."
        )


class ValidationError(EngineError):
    """Submitted data is wrong; names the field."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        self.field = field
        # Every failing field, so a form can mark them all at once.
        self.errors = errors or ([{"field": field, "message": message}] if field else [])
        super().__init__(f"{field}: {message}" if field else message)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "field": self.field, "errors": self.errors}


class ExpressionError(EngineError):
    """An expression failed while running (bad data, not bad code)."""


class StorageUnavailableError(EngineError):
    """The database cannot be written or reached right now: the disk is full, the file or the
    server is read-only, the server is gone.  Nothing was changed; the same request works again
    once an administrator has made room (engine.store.failures recognises these).  `reason`
    is one word (`full`, `read_only`, `io_error`, `unreachable`, `resources`); `detail` is the
    database's own message, for the log and the command line only (it may name files, hosts
    and ports), so not in `to_dict()`."""

    def __init__(self, message: str, *, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(message)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "reason": self.reason}
