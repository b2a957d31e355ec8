"""The timer rule of engine.core.lint: a timer text (timeDuration, timeDate, timeCycle) is a
valid ISO 8601 constant, or an expression whose data names some form, script, decision or
loop of the files sets (else a warning).

Pure: no database, no clock.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.core.lint.problems import Severity, _quote
from engine.core.lint.wording import Said, say

_TIMER_KINDS = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}


def timer_problem(kind: str, text: str, data_names: Collection[str]) -> tuple[str | None, Severity]:
    """What is wrong with a timer text (kind "duration", "date" or "cycle"), if anything."""
    said, severity = timer_said(kind, text, data_names)
    return (said.text if said is not None else None), severity


def timer_said(kind: str, text: str, data_names: Collection[str]) -> tuple[Said | None, Severity]:
    """`timer_problem`, as engine.core.lint.wording keeps it (for the reader's language)."""
    try:
        tree = ast.parse(text.lstrip(" \t"), mode="eval")
    except SyntaxError:
        if _looks_iso(text):
            return say("timer.bare_iso", kind=kind, text=_quote(text), quoted=text), "error"
        return None, "error"  # the safe-expression check names the syntax error
    body = tree.body
    if isinstance(body, ast.Name) and _looks_iso(text):  # P3D parses as a name
        quoted = text.strip()
        return say("timer.bare_iso", kind=kind, text=_quote(text), quoted=quoted), "error"
    if isinstance(body, ast.Constant):
        if not isinstance(body.value, str):
            return say("timer.not_text", kind=kind, text=_quote(text)), "error"
        reason = _iso_problem(kind, body.value)
        if reason:
            return say("timer.invalid", kind=kind, text=_quote(text), reason=reason), "error"
        return None, "error"
    unknown = sorted(
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in data_names}
    )
    if unknown:
        listed = ", ".join(f"'{n}'" for n in unknown)
        return say("timer.unknown_names", kind=kind, text=_quote(text), names=listed), "warning"
    return None, "error"


_ISO_WORD = re.compile(r"(R\d*)?P(\d+[YMWD])*(T(\d+[HMS])+)?", re.IGNORECASE)


def _looks_iso(text: str) -> bool:
    """ISO 8601 written without quotes: P3D, PT4H, 2026-05-01T09:00, R3/PT1H."""
    stripped = text.strip()
    if _ISO_WORD.fullmatch(stripped) and len(stripped) > 1:
        return True
    return stripped[:4].isdigit() or bool(re.match(r"R\d*/", stripped, re.IGNORECASE))


def _iso_problem(kind: str, text: str) -> Said | None:
    try:
        if kind == "duration":
            if not text.upper().startswith("P"):
                return say("timer.not_duration")
            TimerEventDefinition.parse_iso_duration(text)
        elif kind == "date":
            TimerEventDefinition.get_datetime(text)
        else:
            parts = text.upper().replace("--", "/").split("/")
            if not parts[0].startswith("R") or len(parts) not in (2, 3):
                return say("timer.not_cycle")
            if parts[0][1:]:
                int(parts[0][1:])
            parsed = [TimerEventDefinition.parse_time_or_duration(p) for p in parts[1:]]
            if not any(isinstance(p, dict) for p in parsed):
                return say("timer.no_repeat_duration")
    except Exception:  # the library raises a bare Exception for a bad text
        what = {"duration": "duration", "date": "date-time", "cycle": "repeating interval"}
        return say("timer.not_valid_iso", kind=what[kind])
    return None
