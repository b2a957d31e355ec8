"""The translations files of a definition (engine.core.translations), as the designer's Check
words them: a malformed file is an error; a key that names nothing of the BPMN or its forms,
and a text of the designer's without a translation, are warnings naming the file and the key
(the designer's text is shown meanwhile).

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.core.lint.problems import Problem
from engine.core.lint.wording import say
from engine.core.translations import ELEMENT_KEYS, findings

_ELEMENTS = "elements."


def translation_problems(texts: Mapping[str, str]) -> list[Problem]:
    """Every problem of the translations files among `texts`; one about an element's text is
    on that element (the designer marks it on the diagram, like the other warnings)."""
    return [
        Problem(
            f.message if not f.key else f"{f.key}: {f.message}",
            element_id=_element_of(f.key),
            said=say("translations.problem", key=f.key, detail=f.message) if f.key else None,
            file=f.file,
            severity="error" if f.severity == "error" else "warning",
        )
        for f in findings(texts)
    ]


def _element_of(key: str) -> str | None:
    """The element id of a key `elements.<id>` or `elements.<id>.<text>`."""
    if not key.startswith(_ELEMENTS):
        return None
    element = key[len(_ELEMENTS) :]
    for text in ELEMENT_KEYS:
        if element.endswith("." + text):
            return element[: -len(text) - 1]
    return element
