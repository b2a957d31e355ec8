"""The restricted Python that BPMN and DMN files may contain, and the engine that runs it.

SpiffWorkflow evaluates gateway conditions, scripts, timer texts, loop expressions and DMN
cells with plain ``eval``/``exec`` and full builtins, so a condition like
``__import__('os').system(...)`` would run a shell command.  Emptying ``__builtins__`` is
not enough (``().__class__.__base__.__subclasses__()``, generator frames and
``'{0.__class__}'.format(x)`` all escape), so the rule here is:

    Nothing is compiled unless its syntax tree passed a whitelist check, and nothing runs
    except through `safe_compile`.

Three layers, one module each (`check`; `guard`, counting against `budget`; `run`), over
the language they share (`language`):

1. check   -- an ``ast`` whitelist: a few node types, names that cannot start with ``_``,
              attributes only as calls of harmless methods, calls only of our builtins.
2. guard   -- the checked tree is rewritten so that every loop step, every ``*``/``+``/``%``,
              every method call, slice and f-string value goes through a helper that counts
              work against a per-evaluation budget, and every value that C code would walk
              whole (compared, hashed, sorted, written out) is measured first: a structure
              of shared parts (``a = [a, a]`` thirty times) is refused before C code walks its
              2**30 leaves.  Exceeding a limit, or the time limit, raises `ExpressionError`
              instead of eating the CPU or the memory.
3. run     -- `SafeEnvironment` evaluates with a fresh builtins dict and the helpers; task
              data can neither replace a builtin nor reach a helper (their names start
              with ``_``, which the checker refuses in user code).

Pure: no I/O, no database, no clock.
"""

from __future__ import annotations

from engine.core.expressions.budget import acting_user, time_is_up, time_limit
from engine.core.expressions.check import check_expression
from engine.core.expressions.guard import safe_compile
from engine.core.expressions.language import (
    ALLOWED_METHODS,
    BUILTIN_NAMES,
    MAX_DATA_SIZE,
    MAX_RANGE,
    MAX_SECONDS,
    MAX_SIZE,
    MAX_STEP_SECONDS,
    MAX_STEPS,
    MAX_VALUE_SIZE,
    MAX_WORK,
    Kind,
)

# Public before the split, though not in __all__: still importable from here.
from engine.core.expressions.language import MAX_FORMAT_WIDTH as MAX_FORMAT_WIDTH
from engine.core.expressions.language import MAX_INT_BITS as MAX_INT_BITS
from engine.core.expressions.language import MAX_ROUND_DIGITS as MAX_ROUND_DIGITS
from engine.core.expressions.language import MAX_TEXT_LENGTH as MAX_TEXT_LENGTH
from engine.core.expressions.run import SafeEnvironment, SafeScriptEngine

__all__ = [
    "ALLOWED_METHODS",
    "BUILTIN_NAMES",
    "MAX_DATA_SIZE",
    "MAX_RANGE",
    "MAX_SECONDS",
    "MAX_SIZE",
    "MAX_STEPS",
    "MAX_STEP_SECONDS",
    "MAX_VALUE_SIZE",
    "MAX_WORK",
    "Kind",
    "SafeEnvironment",
    "SafeScriptEngine",
    "acting_user",
    "check_expression",
    "safe_compile",
    "time_is_up",
    "time_limit",
]
