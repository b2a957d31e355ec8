"""A problem of a definition (`Problem`), the files read as text, and the helpers every
check of engine.core.lint uses to word and collect its problems.

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
_QUOTE = 80


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, where the designer has to fix it."""

    message: str
    element_id: str | None = None
    line: int | None = None
    file: str | None = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, object]:
        return {
            "element_id": self.element_id,
            "message": self.message,
            "line": self.line,
            "file": self.file,
            "severity": self.severity,
        }


def source_texts(files: Mapping[str, str | bytes]) -> tuple[dict[str, str], list[Problem]]:
    """The files as text; a file that is not UTF-8 is a problem (and left out)."""
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for name, content in files.items():
        if isinstance(content, str):
            texts[name] = content
            continue
        try:
            texts[name] = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(f"not UTF-8 text ({exc.reason})", file=name))
    return texts, problems


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _QUOTE else flat[: _QUOTE - 3] + "...")


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
