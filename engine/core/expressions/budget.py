"""The budget the guards of engine.core.expressions count against: `_Guards`, the helpers
and builtins one evaluation runs with, which charge every loop step, copy and scan and
raise ExpressionError past the limits of engine.core.expressions.language.

Pure: no I/O, no database, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any

from engine.core.expressions.language import (
    _COPYING_METHODS,
    _SCANNING_METHODS,
    ALLOWED_METHODS,
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_ROUND_DIGITS,
    MAX_SIZE,
    MAX_STEPS,
    MAX_WORK,
)
from engine.errors import ExpressionError

# --- The budget the guards count against ------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)


def _length(value: object) -> int:
    return len(value) if isinstance(value, Sized) else 0


class _Guards:
    """The helpers one evaluation runs with; they share its budget."""

    def __init__(self) -> None:
        self.steps = 0
        self.work = 0

    # Budget ------------------------------------------------------------------------------

    def _charge(self, amount: int) -> None:
        self.work += amount
        if self.work > MAX_WORK:
            raise ExpressionError(f"too much work: more than {MAX_WORK:,} items copied or scanned")

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
            yield item

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
        if name in _SCANNING_METHODS:
            self._charge(_length(obj))
        result = getattr(obj, name)(*args, **kwargs)
        if name in _COPYING_METHODS:
            self._charge(_length(result))
        return result

    def scan(self, container: Any) -> Any:
        # 'x in big_list' is a linear scan; dicts and sets are not.
        if isinstance(container, _SEQUENCES):
            self._charge(len(container))
        return container

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
            "min": min, "max": max, "any": any, "all": all, "sorted": sorted,
            "list": list, "dict": dict, "set": set, "tuple": tuple,
            "enumerate": enumerate, "zip": zip,
        }  # fmt: skip
        linear = {name: charging(function) for name, function in linear_functions.items()}
        guarded = {"range": safe_range, "str": safe_str, "sum": safe_sum, "round": safe_round}
        return plain | linear | guarded

    def helpers(self) -> dict[str, Any]:
        return {
            "_iter": self.iterate, "_add": self.add, "_iadd": self.iadd, "_mul": self.mul,
            "_imul": self.imul, "_mod": self.mod, "_method": self.method, "_scan": self.scan,
            "_copied": self.copied, "_text": self.text,
        }  # fmt: skip


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
