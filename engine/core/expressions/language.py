"""The restricted language itself: the limits of one evaluation, the methods and builtins
an expression may call, and the syntax-tree node types each kind of text may contain.
Shared by the check, the guards and the run of engine.core.expressions.

Pure: no I/O, no database, no clock (the time limits are numbers here; the guards measure
them with a monotonic timer).
"""

from __future__ import annotations

import ast
from typing import Literal

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

# What holds inside C code.  `a = [a, a]` thirty times is a few hundred bytes in memory but a
# tree of 2**30 leaves: comparing, hashing, sorting or writing it out walks every leaf, in C,
# where no step counter looks.  So every value such an operation receives is first measured as
# written out (shared parts counted each time they appear, a value containing itself is
# endless) and refused beyond MAX_VALUE_SIZE characters; the walk is charged to MAX_WORK.  What
# an evaluation leaves in the task data is measured the same way against MAX_DATA_SIZE, and no
# evaluation runs longer than MAX_SECONDS (nor one engine step, all its evaluations together,
# longer than the deadline the caller sets: engine.core.expressions.time_limit).
MAX_VALUE_SIZE = 1_000_000
MAX_DATA_SIZE = 1_000_000
MAX_SECONDS = 1.0
# One engine step (a task completed and everything the engine runs after it until the process
# waits again: scripts, decisions, a loop of script tasks going round) stops after this long.
MAX_STEP_SECONDS = 5.0

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
# Methods that change their receiver in place (an expression may call them: what it leaves in
# the task data is measured afterwards).
_MUTATING_METHODS = frozenset({"append", "extend", "pop"})

# The builtins an expression may call.  Data cannot shadow them (see run._scope) and scripts
# cannot assign to them (see check._Checker.visit_Name).
BUILTIN_NAMES = frozenset(
    {
        "len", "min", "max", "sum", "abs", "round", "int", "float", "str", "bool",
        "list", "dict", "set", "tuple", "sorted", "any", "all", "range", "enumerate", "zip",
        # spiff-arena's: who takes the step ({"username": ...}; engine.core.expressions.budget)
        "get_current_user",
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
