"""What failed in a deal's step, as a message that can be worded in any reader's language.

An incident keeps the failure's English text (`message`: the API's, and all old rows have)
and, beside it, the message's key and arguments from engine.core.lint.wording's table
(`said`), so that a page words it again in the language of whoever reads it.  Three kinds
of text reach an incident:

- our own English (connector failures, the safe language's limits): made with `say` where
  they are raised, and found again by `recognised` once they have travelled as plain text;
- a Python error inside a script or an expression: the ones a rep can act on are worded
  (a name the deal's data lacks, a division by zero), any other is framed as it is;
- a library's text (SpiffWorkflow, an HTTP server's answer) that no entry words: shown as
  it is inside a worded frame ("脚本出错: <text>" in Chinese), never dropped.

Pure: no database, no clock.
"""

from __future__ import annotations

import re
from typing import Any

from engine.core.lint.wording import Said, recognised, say, word
from engine.core.notices import wording
from engine.core.translations import locale_of
from engine.errors import EngineError

__all__ = [
    "framed",
    "incident_notice",
    "python_said",
    "said_from_record",
    "said_record",
    "worded",
]

_NAME_MISSING = re.compile(r"name '(?P<name>[^']+)' is not defined")
MAX_LIBRARY = 500  # characters of a library's text kept inside a frame


def framed(text: str) -> Said:
    """A text no entry words, kept as it is (the frame around it is the caller's)."""
    return say("incident.library", library=text[:MAX_LIBRARY])


def python_said(exc: BaseException) -> Said:
    """A Python or safe-language error raised while a script or an expression ran: worded
    when a rep can act on it, else framed with its type ("TypeError: ...")."""
    if isinstance(exc, NameError):
        found = _NAME_MISSING.match(str(exc))
        if found is not None:
            return say("incident.name_missing", name=found.group("name"))
    if isinstance(exc, ZeroDivisionError):
        return say("incident.division_by_zero")
    if isinstance(exc, EngineError):  # the safe language's limits, in our own English
        return recognised(str(exc)) or framed(str(exc))
    return framed(f"{type(exc).__name__}: {exc}")


def said_record(said: Said) -> dict[str, Any]:
    """A Said as JSON, to keep in the deal's incident."""
    return {
        "key": said.key,
        "args": [[n, said_record(v) if isinstance(v, Said) else v] for n, v in said.args],
    }


def said_from_record(record: Any) -> Said | None:
    """The Said `said_record` kept; None for anything else (a row from before, or a key the
    table no longer has)."""
    if not isinstance(record, dict) or not isinstance(record.get("args"), list):
        return None
    args: list[tuple[str, str | Said]] = []
    for pair in record["args"]:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            return None
        value = pair[1]
        nested = said_from_record(value) if isinstance(value, dict) else str(value)
        if nested is None:
            return None
        args.append((pair[0], nested))
    try:
        return say(str(record.get("key")), **dict(args))
    except KeyError:
        return None


def worded(message: str, said: Any, lang: str | None) -> tuple[str, str | None]:
    """A failure in `lang`, and the original text when the reader sees other words (the
    technical detail); `said` is the kept record, or None for a row from before one was
    kept: then the English is recognised, or framed."""
    found = said_from_record(said) or recognised(message) or say("incident.failed", library=message)
    text = word(found, lang)
    return text, (message if text != message else None)


def incident_notice(deal: str, failure: dict[str, Any], lang: str | None) -> str:
    """The owner's notification that `deal` stopped, in their language `lang`: the step
    (its name as the designer gave it) and what failed."""
    step = failure.get("element_name") or failure.get("element_id") or "?"
    reason, _ = worded(str(failure.get("message") or ""), failure.get("said"), lang)
    return wording("incident", locale_of(lang), {"deal": deal, "step": step, "reason": reason})
