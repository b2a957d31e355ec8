"""A problem of a definition (`Problem`), the files read as text, and the helpers every
check of engine.core.lint uses to word and collect its problems.

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from engine.core.lint.wording import Said, say

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
    # How the message was made (engine.core.lint.wording), for wording it in another
    # language; and the element's name and id that `named` put before it.
    said: Said | None = field(default=None, compare=False)
    subject: str | None = field(default=None, compare=False)

    @classmethod
    def of(
        cls,
        said: Said,
        element_id: str | None = None,
        line: int | None = None,
        file: str | None = None,
        severity: Severity = "error",
    ) -> Problem:
        """The problem worded by `said` (its English text is the message)."""
        return cls(said.text, element_id, line, file, severity, said=said)

    @property
    def element_name(self) -> str | None:
        """The element's name as `named` put it before the message (None: it has none)."""
        ident, subject = self.element_id, self.subject
        if not ident or not subject or not subject.endswith(f" ({ident})"):
            return None
        return subject[: -len(ident) - 3]

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
            problems.append(Problem.of(say("file.not_utf8", library=exc.reason), file=name))
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


def named(
    problems: list[Problem],
    names: Mapping[tuple[str, str], str],
    ids: Mapping[str, str | None],
) -> list[Problem]:
    """Each problem on an element worded the way a designer finds the element: its name, its
    id after it, "Prepare quote (task_prepare_quote): ..." (an element without a name: its id
    alone).  `names`: (file, id) -> name, `ids`: every id of the files -> the name of the one
    element with that id (None when several files have it, or it has none); a problem on an
    id no file has (a translations file's stale key) is left as it is."""
    result = []
    for problem in problems:
        ident = problem.element_id
        if not ident or ident not in ids:  # none, or no element of the files (a stale key)
            result.append(problem)
            continue
        name = names.get((problem.file or "", ident)) or ids.get(ident)
        label = f"{' '.join(name.split())} ({ident})" if name and name.strip() else ident
        result.append(replace(problem, message=f"{label}: {problem.message}", subject=label))
    return result
