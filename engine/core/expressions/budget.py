"""The budget the guards of engine.core.expressions count against: `_Guards`, the helpers
and builtins one evaluation runs with, which charge every loop step, copy and scan, measure
every value a C operation would walk whole, watch the time, and raise ExpressionError past
the limits of engine.core.expressions.language.

Pure: no I/O, no database, no business clock (a monotonic timer bounds the running time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from engine.core.expressions.language import (
    _COPYING_METHODS,
    _MUTATING_METHODS,
    _SCANNING_METHODS,
    ALLOWED_METHODS,
    MAX_DATA_SIZE,
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_ROUND_DIGITS,
    MAX_SECONDS,
    MAX_SIZE,
    MAX_STEPS,
    MAX_VALUE_SIZE,
    MAX_WORK,
)
from engine.errors import ExpressionError

# --- Time -----------------------------------------------------------------------------------

# The deadline (time.monotonic()) of the engine step running in this thread, if its caller set
# one: every evaluation of the step stops there, however many there are.
_DEADLINE: ContextVar[float | None] = ContextVar("salesflow_expression_deadline", default=None)


def time_is_up() -> bool:
    """Whether the deadline of the engine step running in this thread has passed."""
    deadline = _DEADLINE.get()
    return deadline is not None and time.monotonic() > deadline


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Every evaluation inside stops once `seconds` have passed since entering (each one also
    stops after MAX_SECONDS of its own).  Nested limits keep the earlier deadline."""
    deadline = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


# --- The budget the guards count against ------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)
# What C code walks recursively when it compares, hashes, sorts or writes a value out.
_CONTAINERS = (list, tuple, dict, set, frozenset)


def _length(value: object) -> int:
    return len(value) if isinstance(value, Sized) else 0


class _Guards:
    """The helpers one evaluation runs with; they share its budget."""

    def __init__(self) -> None:
        self.steps = 0
        self.work = 0
        self.mutated = False  # a method changed a value in place
        self.started = time.monotonic()
        step_deadline = _DEADLINE.get()
        own = self.started + MAX_SECONDS
        self.deadline = own if step_deadline is None else min(own, step_deadline)

    # Budget ------------------------------------------------------------------------------

    def _charge(self, amount: int) -> None:
        self.work += amount
        if self.work > MAX_WORK:
            raise ExpressionError(f"too much work: more than {MAX_WORK:,} items copied or scanned")
        self._clock()

    def _clock(self) -> None:
        if time.monotonic() > self.deadline:
            spent = time.monotonic() - self.started
            raise ExpressionError(f"stopped after {spent:.1f} s: it ran longer than allowed")

    @staticmethod
    def _limit(size: int, what: str, unit: str = "items") -> None:
        if size > MAX_SIZE:
            raise ExpressionError(f"{what} would have {size:,} {unit}; the limit is {MAX_SIZE:,}")

    def _sized(self, size: int, what: str, unit: str = "items") -> None:
        self._limit(size, what, unit)
        self._charge(size)

    # Helpers the rewritten code calls ------------------------------------------------------

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise ExpressionError(f"too many loop steps: more than {MAX_STEPS:,}")
            self._clock()
            yield item

    def bounded(self, value: Any) -> Any:
        """A value a C operation is about to walk whole (==, <, in, a dict key or set member,
        sorted, min, max, set, dict, count, index): refused when written out it would be over
        MAX_VALUE_SIZE characters, so no such operation runs long where nothing can stop it.
        Numbers and texts pass at once (their size is bounded where they are built)."""
        if isinstance(value, _CONTAINERS):
            size = _items(value, MAX_VALUE_SIZE)
            if size > MAX_VALUE_SIZE:
                raise ExpressionError(
                    f"a value too large to compare, sort or use as a key: over "
                    f"{MAX_VALUE_SIZE:,} items, its shared parts counted each time they appear "
                    "(or it contains itself)"
                )
            self._charge(size)
        return value

    def add(self, left: Any, right: Any) -> Any:
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            self._sized(len(left) + len(right), "the result of '+'")
        return left + right

    def iadd(self, left: Any, right: Any) -> Any:
        if isinstance(left, list):
            # list += accepts any iterable: size it first (a generator is counted as it runs).
            # It appends in place, so only the new items cost work.
            right = right if isinstance(right, Sized) else list(right)
            self._limit(len(left) + len(right), "the result of '+='")
            self._charge(len(right))
        elif isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            self._sized(len(left) + len(right), "the result of '+='")
        left += right  # in place for lists, as in plain Python
        return left

    def _check_mul(self, left: Any, right: Any) -> None:
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(times, int):
                unit = "characters" if isinstance(seq, str | bytes) else "items"
                self._sized(len(seq) * max(times, 0), "the result of '*'", unit)
                return
        both_int = isinstance(left, int) and isinstance(right, int)
        if both_int and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise ExpressionError(f"the result of '*' would exceed {MAX_INT_BITS} bits")

    def mul(self, left: Any, right: Any) -> Any:
        self._check_mul(left, right)
        return left * right

    def imul(self, left: Any, right: Any) -> Any:
        self._check_mul(left, right)
        left *= right
        return left

    def mod(self, left: Any, right: Any) -> Any:
        # '%s' formatting takes widths from its arguments ('%*d' % (10**8, 1)).
        if isinstance(left, str | bytes):
            raise ExpressionError("'%' formatting of text is not allowed; use an f-string")
        return left % right

    def method(self, obj: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
        # The checker allowed only these names; checking again costs nothing.
        if name not in ALLOWED_METHODS or isinstance(obj, type):
            raise ExpressionError(f"method '{name}' cannot be called on {type(obj).__name__}")
        if name == "join" and isinstance(obj, str | bytes) and len(args) == 1:
            parts = list(args[0])
            size = sum(_length(p) for p in parts) + len(obj) * max(len(parts) - 1, 0)
            self._sized(size, "the result of join()", "characters")
            args = (parts,)
        elif name == "replace" and isinstance(obj, str) and len(args) >= 2:
            old, new = args[0], args[1]
            if isinstance(old, str) and isinstance(new, str):
                hits = obj.count(old) if old else len(obj) + 1
                if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                    hits = min(hits, args[2])
                self._sized(
                    len(obj) + hits * (len(new) - len(old)), "the result of replace()", "characters"
                )
        elif name == "extend" and isinstance(obj, list) and len(args) == 1:
            items = args[0] if isinstance(args[0], Sized) else list(args[0])
            self._limit(len(obj) + len(items), "the list after extend()")
            self._charge(len(items))
            args = (items,)
        for arg in args:
            self.bounded(arg)  # compared with each item (count, index) or hashed (get, pop)
        if name in _SCANNING_METHODS:
            self._charge(_length(obj))
            self.bounded(obj)
        if name in _MUTATING_METHODS:
            self.mutated = True
        result = getattr(obj, name)(*args, **kwargs)
        if name in _COPYING_METHODS:
            self._charge(_length(result))
        return result

    def copied(self, value: Any) -> Any:
        self._charge(_length(value))
        return value

    def text(self, value: Any) -> Any:
        """Refuse values whose str() would be huge: [[big] * 1000] * 1000 is small in memory."""
        self._sized(_text_size(value, MAX_SIZE), "the text of this value", "characters")
        return value

    # Builtins ----------------------------------------------------------------------------

    def builtins(self) -> dict[str, Any]:
        def charging(function: Callable[..., Any]) -> Callable[..., Any]:
            # Linear builtins: each call costs the size of what it walks or builds.
            def call(*args: Any, **kwargs: Any) -> Any:
                for arg in args:
                    self._charge(_length(arg))
                return function(*args, **kwargs)

            return call

        def walking(function: Callable[..., Any]) -> Callable[..., Any]:
            # Builtins that compare or hash the items of their arguments.
            def call(*args: Any, **kwargs: Any) -> Any:
                for arg in args:
                    self._charge(_length(arg))
                    self.bounded(arg)
                return function(*args, **kwargs)

            return call

        def safe_range(*args: int) -> range:
            numbers = range(*args)
            if len(numbers) > MAX_RANGE:
                raise ExpressionError(f"range() is limited to {MAX_RANGE:,} numbers")
            return numbers

        def safe_str(*args: Any, **kwargs: Any) -> str:
            if args:
                self.text(args[0])
            return str(*args, **kwargs)

        def safe_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
            # sum(lists, []) would concatenate without the '+' guard.
            if not isinstance(start, int | float):
                raise ExpressionError("sum() only adds numbers")
            self._charge(_length(iterable))
            return sum(iterable, start)

        def safe_round(number: Any, ndigits: int | None = None) -> Any:
            if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
                raise ExpressionError(f"round() takes at most {MAX_ROUND_DIGITS} digits")
            return round(number, ndigits)

        plain: dict[str, Any] = {
            "len": len, "abs": abs, "int": int, "float": float, "bool": bool,
        }  # fmt: skip
        linear_functions: dict[str, Callable[..., Any]] = {
            "any": any, "all": all, "list": list, "tuple": tuple, "enumerate": enumerate,
            "zip": zip,
        }  # fmt: skip
        comparing_functions: dict[str, Callable[..., Any]] = {
            "min": min, "max": max, "sorted": sorted, "dict": dict, "set": set,
        }  # fmt: skip
        linear = {name: charging(function) for name, function in linear_functions.items()}
        comparing = {name: walking(function) for name, function in comparing_functions.items()}
        guarded = {"range": safe_range, "str": safe_str, "sum": safe_sum, "round": safe_round}
        return plain | linear | comparing | guarded | {"get_current_user": current_user}

    def helpers(self) -> dict[str, Any]:
        return {
            "_iter": self.iterate, "_add": self.add, "_iadd": self.iadd, "_mul": self.mul,
            "_imul": self.imul, "_mod": self.mod, "_method": self.method,
            "_bounded": self.bounded, "_copied": self.copied, "_text": self.text,
        }  # fmt: skip


def check_data(data: MutableMapping[str, Any], names: Iterable[str]) -> None:
    """What an evaluation leaves in the task data must stay a tree the engine can copy and
    write out: `names` (the values it may have set or changed) measured written out, together
    at most MAX_DATA_SIZE characters.  Over it, the largest of them are dropped from the data
    (so nothing too large is ever saved) and ExpressionError names them."""
    sizes = {name: _text_size(data[name], MAX_DATA_SIZE) for name in names if name in data}
    total = sum(sizes.values())
    if total <= MAX_DATA_SIZE:
        return
    dropped = []
    for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
        del data[name]
        dropped.append(name)
        total -= sizes[name]
        if total <= MAX_DATA_SIZE:
            break
    raise ExpressionError(
        f"the task data would be over {MAX_DATA_SIZE:,} characters written out "
        f"(or contain itself); {', '.join(repr(n) for n in dropped)} not kept"
    )


def size_of(value: object, limit: int = MAX_VALUE_SIZE) -> int:
    """About how many characters `value` is written out, counted up to a little over `limit`."""
    return _text_size(value, limit)


# Types whose items C code never walks into: a container of only these is flat.
_LEAVES = frozenset({str, int, float, bool, type(None), bytes})


def _items(value: object, limit: int) -> int:
    """How many items C code walks comparing or hashing `value` whole (every nested item,
    shared parts counted each time they appear), counted up to a little over `limit`.  Flat
    containers, the usual case, are sized at C speed."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, dict):
            parts: Iterable[Any] = (*item.keys(), *item.values())
        elif isinstance(item, _CONTAINERS):
            parts = item
        else:
            continue
        total += len(item) + 1
        if total <= limit and not _LEAVES.issuperset(map(type, parts)):
            stack.extend(part for part in parts if isinstance(part, _CONTAINERS))
    return total


def _text_size(value: object, limit: int) -> int:
    """Estimate len(str(value)), walking at most about `limit` items (shared parts count
    each time they appear, as they would in the text)."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        total += 2  # quotes, brackets, separators
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3
        elif isinstance(item, list | tuple | set | frozenset | dict):
            total += len(item)  # separators; also stops before pushing a huge container
            if total <= limit:
                stack.extend(item.items() if isinstance(item, dict) else item)
        else:
            total += 30  # floats, dates, None: short texts
    return total


# Who takes the step being run: a use case sets it around a person's step (completing a task),
# and spiff-arena's get_current_user() tells a process (a pre-script noting who asked).  The
# worker's steps have nobody: the username is then None.
_ACTING_USER: ContextVar[str | None] = ContextVar("acting_user", default=None)


@contextmanager
def acting_user(username: str | None) -> Iterator[None]:
    """Steps run inside this block are `username`'s (get_current_user)."""
    token = _ACTING_USER.set(username)
    try:
        yield
    finally:
        _ACTING_USER.reset(token)


def current_user() -> dict[str, Any]:
    """spiff-arena's get_current_user(): the acting person, as {"username": ...}."""
    return {"username": _ACTING_USER.get()}
