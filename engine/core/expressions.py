"""The restricted Python that BPMN and DMN files may contain, and the engine that runs it.

SpiffWorkflow evaluates gateway conditions, scripts, timer texts, loop expressions and DMN
cells with plain ``eval``/``exec`` and full builtins, so a condition like
``__import__('os').system(...)`` would run a shell command.  Emptying ``__builtins__`` is
not enough (``().__class__.__base__.__subclasses__()``, generator frames and
``'{0.__class__}'.format(x)`` all escape), so the rule here is:

    Nothing is compiled unless its syntax tree passed a whitelist check, and nothing runs
    except through `safe_compile`.

Three layers, one per section below:

1. check   -- an ``ast`` whitelist: a few node types, names that cannot start with ``_``,
              attributes only as calls of harmless methods, calls only of our builtins.
2. guard   -- the checked tree is rewritten so that every loop step, every ``*``/``+``/``%``,
              every method call, slice, ``in`` scan and f-string value goes through a helper
              that counts work against a per-evaluation budget; exceeding it raises
              `ExpressionError` instead of eating the CPU or the memory.
3. run     -- `SafeEnvironment` evaluates with a fresh builtins dict and the helpers; task
              data can neither replace a builtin nor reach a helper (their names start
              with ``_``, which the checker refuses in user code).

Pure: no I/O, no database, no clock.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sized
from types import CodeType
from typing import Any, Literal

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ExpressionError, UnsafeExpressionError

__all__ = [
    "ALLOWED_METHODS",
    "BUILTIN_NAMES",
    "MAX_RANGE",
    "MAX_SIZE",
    "MAX_STEPS",
    "MAX_WORK",
    "Kind",
    "SafeEnvironment",
    "SafeScriptEngine",
    "check_expression",
    "safe_compile",
]

Kind = Literal["expression", "script"]

# --- Limits -------------------------------------------------------------------------------
# One evaluation may run MAX_STEPS loop iterations, build no single string/list/tuple longer
# than MAX_SIZE, and copy or scan at most MAX_WORK items in total.  Far above what a sales
# process needs; far below what hurts a shared server.
MAX_STEPS = 100_000
MAX_SIZE = 100_000
MAX_WORK = 10_000_000
MAX_RANGE = 10_000
MAX_INT_BITS = 4_096  # ~1,200 decimal digits: plenty for money, stops x = x * x doubling
MAX_ROUND_DIGITS = 100  # round(5, -10**7) computes 10**(10**7)
MAX_FORMAT_WIDTH = 1_000  # f"{x:>100000000}" would build a 100 MB string
MAX_TEXT_LENGTH = 100_000

# --- The language ---------------------------------------------------------------------------
# Harmless methods of str, list and dict.  Never format/format_map (they read attributes
# from a template: '{0.__class__}'), never anything starting with '_'.
ALLOWED_METHODS = frozenset(
    {
        "get", "keys", "values", "items", "copy", "pop",
        "append", "extend", "count", "index",
        "lower", "upper", "strip", "lstrip", "rstrip", "title", "capitalize",
        "startswith", "endswith", "split", "join", "replace", "isdigit", "isalpha",
    }
)  # fmt: skip
# Methods that copy their receiver (charged by result length) or scan it (by its length).
_COPYING_METHODS = frozenset(
    {"copy", "split", "join", "replace", "lower", "upper", "strip", "lstrip", "rstrip",
     "title", "capitalize"}
)  # fmt: skip
_SCANNING_METHODS = frozenset({"count", "index", "isdigit", "isalpha"})

# The builtins an expression may call.  Data cannot shadow them (see _scope) and scripts
# cannot assign to them (see _Checker.visit_Name).
BUILTIN_NAMES = frozenset(
    {
        "len", "min", "max", "sum", "abs", "round", "int", "float", "str", "bool",
        "list", "dict", "set", "tuple", "sorted", "any", "all", "range", "enumerate", "zip",
    }
)  # fmt: skip

_COMMON_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Constant, ast.Name, ast.Load, ast.Store, ast.Del,
        ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
        ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
        ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
        ast.In, ast.NotIn, ast.Is, ast.IsNot,
        ast.IfExp, ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set,
        ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
        ast.JoinedStr, ast.FormattedValue, ast.Call, ast.keyword,
        # Legal only in the places visit_Call handles; anywhere else their visitor refuses.
        ast.Attribute, ast.Starred,
    }
)  # fmt: skip
_NODES: dict[str, frozenset[type[ast.AST]]] = {
    "expression": _COMMON_NODES | {ast.Expression},
    "script": _COMMON_NODES
    | {
        ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.Delete,
        ast.If, ast.For, ast.Pass, ast.Break, ast.Continue,
    },
}  # fmt: skip

# How refused constructs are named in messages ("'import' is not allowed").
_NAMES: dict[type[ast.AST], str] = {
    ast.Import: "'import'", ast.ImportFrom: "'import'",
    ast.FunctionDef: "'def'", ast.AsyncFunctionDef: "'def'", ast.Lambda: "'lambda'",
    ast.ClassDef: "'class'", ast.Return: "'return'",
    ast.While: "'while'", ast.AsyncFor: "'async for'",
    ast.Global: "'global'", ast.Nonlocal: "'nonlocal'",
    ast.With: "'with'", ast.AsyncWith: "'with'",
    ast.Try: "'try'", ast.TryStar: "'try'", ast.Raise: "'raise'", ast.Assert: "'assert'",
    ast.Yield: "'yield'", ast.YieldFrom: "'yield'", ast.Await: "'await'",
    ast.NamedExpr: "':='", ast.AnnAssign: "an annotated assignment", ast.Match: "'match'",
    ast.Pow: "'**'", ast.LShift: "'<<'", ast.RShift: "'>>'", ast.BitAnd: "'&'",
    ast.BitOr: "'|'", ast.BitXor: "'^'", ast.MatMult: "'@'", ast.Invert: "'~'",
}  # fmt: skip


# --- 1. Check -------------------------------------------------------------------------------


class _Refused(Exception):
    """Internal: carries the message and the node's position out of the visitor."""

    def __init__(self, message: str, node: ast.AST | None) -> None:
        super().__init__(message)
        self.node = node


class _Checker(ast.NodeVisitor):
    """Walks a parsed text and refuses the first construct outside the language."""

    def __init__(self, kind: Kind) -> None:
        self.allowed = _NODES[kind]
        self.where: ast.AST | None = None

    def visit(self, node: ast.AST) -> None:
        if hasattr(node, "lineno"):
            self.where = node  # operators have no position: report their expression's
        if type(node) not in self.allowed:
            name = _NAMES.get(type(node), f"'{type(node).__name__}'")
            raise _Refused(f"{name} is not allowed", node if node is self.where else self.where)
        super().visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            raise _Refused(f"name '{node.id}' is not allowed", node)
        if not isinstance(node.ctx, ast.Load) and node.id in BUILTIN_NAMES:
            raise _Refused(f"assigning to '{node.id}' is not allowed: it is a builtin", node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # Reached only for attributes that are not the callee of a call: a bare bound method
        # could be handed to sorted(key=...) and called outside the guards.
        self.visit(node.value)  # report problems in reading order
        self._check_method_name(node)
        raise _Refused(f"attribute '{node.attr}' may only be called, as in x.{node.attr}()", node)

    def visit_Starred(self, node: ast.Starred) -> None:
        raise _Refused("'*' unpacking is only allowed in call arguments", node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            self.visit_Name(func)
            if func.id not in BUILTIN_NAMES:
                raise _Refused(f"calling '{func.id}' is not allowed", func)
        elif isinstance(func, ast.Attribute):
            self.visit(func.value)
            self._check_method_name(func)
        else:
            self.visit(func)  # reports a lambda or a nested refusal first
            raise _Refused("only builtins and methods can be called", func)
        for arg in node.args:
            self.visit(arg.value if isinstance(arg, ast.Starred) else arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _Refused("'**' unpacking is not allowed", keyword)
            self.visit(keyword.value)

    def visit_Dict(self, node: ast.Dict) -> None:
        if any(key is None for key in node.keys):
            raise _Refused("'**' unpacking is not allowed", node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # l[:0] = l doubles a list without going through any guard.
        if isinstance(node.slice, ast.Slice) and not isinstance(node.ctx, ast.Load):
            raise _Refused("slice assignment is not allowed", node)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            raise _Refused("'async for' is not allowed", node.target)
        self.generic_visit(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        self.visit(node.value)
        spec = node.format_spec
        if spec is None:
            return
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
            raise _Refused("a format spec must be constant, as in f'{x:.2f}'", spec)
        text = "".join(str(p.value) for p in parts if isinstance(p, ast.Constant))
        widths = [int(digits) for digits in re.findall(r"\d+", text)]
        if any(width > MAX_FORMAT_WIDTH for width in widths):
            raise _Refused(f"format width in '{text}' is over {MAX_FORMAT_WIDTH}", spec)

    @staticmethod
    def _check_method_name(node: ast.Attribute) -> None:
        if node.attr.startswith("_") or node.attr not in ALLOWED_METHODS:
            raise _Refused(f"attribute '{node.attr}' is not allowed", node)


def _position(node: ast.AST | None) -> str:
    line, col = getattr(node, "lineno", None), getattr(node, "col_offset", None)
    if isinstance(node, ast.Attribute) and node.end_col_offset is not None:
        # point at the attribute's name, not at the start of `a.b.c`
        line, col = node.end_lineno, node.end_col_offset - len(node.attr)
    return f" (line {line}, column {col + 1})" if line is not None and col is not None else ""


def _parse(text: str, kind: Kind) -> ast.AST:
    """Parse and check; raise UnsafeExpressionError (syntax errors keep theirs as __cause__)."""
    if kind not in _NODES:
        raise ValueError(f"kind must be 'expression' or 'script', not {kind!r}")
    if not isinstance(text, str):
        raise UnsafeExpressionError(f"expected text for the {kind}, got {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise UnsafeExpressionError(f"the {kind} is longer than {MAX_TEXT_LENGTH} characters")
    # eval() forgives leading blanks on the first line, and BPMN editors leave some.
    source = text.lstrip(" \t") if kind == "expression" else text
    try:
        tree = ast.parse(source, mode="eval" if kind == "expression" else "exec")
        _Checker(kind).visit(tree)
    except ValueError as err:  # null bytes in the source
        raise UnsafeExpressionError(f"cannot parse the {kind}: {err}") from None
    except SyntaxError as err:
        raise UnsafeExpressionError(
            f"syntax error at line {err.lineno}, column {err.offset}: {err.msg}"
        ) from err
    except _Refused as refused:
        raise UnsafeExpressionError(f"{refused}{_position(refused.node)}") from None
    except (RecursionError, MemoryError):
        raise UnsafeExpressionError(f"the {kind} is nested too deeply") from None
    return tree


def check_expression(text: str, *, kind: Kind = "expression") -> None:
    """Raise UnsafeExpressionError unless `text` is in the restricted language.

    kind "expression": one Python expression (conditions, timer texts, DMN cells, loops);
    kind "script": statements (script tasks, pre- and post-scripts).
    """
    _parse(text, kind)


# --- 2. Guard -------------------------------------------------------------------------------


class _Guarder(ast.NodeTransformer):
    """Routes every unbounded operation of a checked tree through a `_Guards` helper."""

    def __init__(self) -> None:
        self.temporaries = 0

    @staticmethod
    def _call(helper: str, where: ast.AST, *args: ast.expr) -> ast.Call:
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=list(args), keywords=[])
        return ast.copy_location(call, where)

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._call("_iter", node.iter, node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._call("_iter", node.iter, node.iter)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        helper = {ast.Add: "_add", ast.Mult: "_mul", ast.Mod: "_mod"}.get(type(node.op))
        return self._call(helper, node, node.left, node.right) if helper else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        helper = {ast.Add: "_iadd", ast.Mult: "_imul", ast.Mod: "_mod"}.get(type(node.op))
        if helper is None:
            return node
        target = node.target
        if isinstance(target, ast.Name):
            value = self._call(helper, node, ast.Name(id=target.id, ctx=ast.Load()), node.value)
            store = ast.Name(id=target.id, ctx=ast.Store())
            return ast.copy_location(ast.Assign(targets=[store], value=value), node)
        assert isinstance(target, ast.Subscript)  # the checker allows nothing else
        # d[k] += v: evaluate d and k once, as Python does.
        self.temporaries += 1
        obj, key = f"_aug{self.temporaries}_obj", f"_aug{self.temporaries}_key"

        def item(ctx: ast.expr_context) -> ast.Subscript:
            return ast.Subscript(
                value=ast.Name(id=obj, ctx=ast.Load()),
                slice=ast.Name(id=key, ctx=ast.Load()),
                ctx=ctx,
            )

        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(id=obj, ctx=ast.Store())], value=target.value),
            ast.Assign(targets=[ast.Name(id=key, ctx=ast.Store())], value=target.slice),
            ast.Assign(
                targets=[item(ast.Store())],
                value=self._call(helper, node, item(ast.Load()), node.value),
            ),
        ]
        return [ast.copy_location(statement, node) for statement in statements]

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute):
            method = node.func
            node.args = [method.value, ast.Constant(value=method.attr), *node.args]
            node.func = ast.copy_location(ast.Name(id="_method", ctx=ast.Load()), method)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        node.comparators = [
            self._call("_scan", right, right) if isinstance(op, ast.In | ast.NotIn) else right
            for op, right in zip(node.ops, node.comparators, strict=True)
        ]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.slice, ast.Slice) and isinstance(node.ctx, ast.Load):
            return self._call("_copied", node, node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        node.value = self._call("_text", node.value, node.value)
        return node


@functools.lru_cache(maxsize=2048)
def safe_compile(text: str, kind: Kind = "expression") -> CodeType:
    """Check, guard and compile `text` once; raise UnsafeExpressionError if it is refused."""
    tree = _Guarder().visit(_parse(text, kind))
    ast.fix_missing_locations(tree)
    try:
        # "<string>" is the file name the library looks for to report a script's line.
        return compile(tree, "<string>", "eval" if kind == "expression" else "exec")
    except (RecursionError, MemoryError):
        raise UnsafeExpressionError(f"the {kind} is nested too deeply") from None


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


# --- 3. Run ---------------------------------------------------------------------------------


def _visible(name: object) -> bool:
    """Task data names an expression can see: not helpers, not builtins."""
    return isinstance(name, str) and not name.startswith("_") and name not in BUILTIN_NAMES


def _scope(guards: _Guards, *sources: Mapping[str, Any]) -> dict[str, Any]:
    scope = {name: value for source in sources for name, value in source.items() if _visible(name)}
    scope.update(guards.helpers())
    scope["__builtins__"] = guards.builtins()
    return scope


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Same observable behaviour as SpiffWorkflow's TaskDataEnvironment, restricted.

    evaluate: task data (and the external context, which data overrides) are variables.
    execute: assignments land in the task data (mutated in place); nothing else does.
    Task data named like a builtin stays in the data but is invisible to expressions:
    `len` always means len.
    """

    def __init__(self) -> None:
        super().__init__({})

    def evaluate(
        self,
        expression: str,
        context: Mapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        code = safe_compile(expression, "expression")
        return eval(code, _scope(_Guards(), external_context or {}, context))

    def execute(
        self,
        script: str,
        context: MutableMapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        code = safe_compile(script, "script")
        external = external_context or {}
        clash = sorted(set(external) & set(context))
        if clash:  # as the library does: data must not hide a predefined name
            raise ExpressionError(f"task data overwrites predefined names: {', '.join(clash)}")
        scope = _scope(_Guards(), external, context)
        seen = [name for name in context if _visible(name)]
        try:
            exec(code, scope)
        finally:
            # Like the library, keep what ran before a failure, and drop functions.
            for name in seen:
                if name not in scope:
                    del context[name]  # the script said `del name`
            for name, value in scope.items():
                if not _visible(name) or name in external:
                    continue
                if callable(value):
                    context.pop(name, None)
                else:
                    context[name] = value
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        operation = kwargs.get("operation_name", "?")
        raise ExpressionError(f"service task operation '{operation}': no services are configured")


class SafeScriptEngine(PythonScriptEngine):
    """A PythonScriptEngine that runs only the restricted language.

    The base class keeps wrapping failures into WorkflowTaskException, so a failing
    expression puts its task in ERROR.
    """

    def __init__(self, environment: SafeEnvironment | None = None) -> None:
        if environment is not None and not isinstance(environment, SafeEnvironment):
            raise TypeError("SafeScriptEngine needs a SafeEnvironment")
        super().__init__(environment=environment or SafeEnvironment())

    def validate(self, expression: str) -> None:
        try:
            safe_compile(expression, "expression")
        except UnsafeExpressionError as err:
            # DMNEngine.needs_eq relies on SyntaxError to turn ">= 5" into "x >= 5".
            if isinstance(err.__cause__, SyntaxError):
                raise err.__cause__ from None
            raise

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        # The base class refers to an undefined name when wrapping this error.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err
