"""The translations files of a definition (engine.core.translations), as the designer's Check
words them: a malformed file is an error; a key that names nothing of the BPMN or its forms,
and a text of the designer's without a translation, are warnings naming the file and the key
(the designer's text is shown meanwhile).

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.core.lint.problems import Problem
from engine.core.translations import findings


def translation_problems(texts: Mapping[str, str]) -> list[Problem]:
    """Every problem of the translations files among `texts`."""
    return [
        Problem(
            f"{f.key}: {f.message}" if f.key else f.message,
            file=f.file,
            severity="error" if f.severity == "error" else "warning",
        )
        for f in findings(texts)
    ]
