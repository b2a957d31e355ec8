"""The exclusive-gateway rule of engine.core.lint: do a gateway's conditions provably cover
every case (a condition and its negation, number ranges of one field, `==`/`in` against
`!=`/`not in` of one field)?  Pure logic over Python syntax trees.
"""

from __future__ import annotations

import ast
import math

# --- exclusive gateways: do the conditions cover every case? --------------------------


Interval = tuple[float, bool, float, bool]  # low, low included, high, high included
_FULL: list[Interval] = [(-math.inf, False, math.inf, False)]


def covers_every_case(conditions: list[str]) -> bool:
    """True when one of the conditions holds for any data (see the package docstring); False
    when that cannot be shown."""
    trees = []
    for text in conditions:
        try:
            trees.append(ast.parse(text.strip(), mode="eval").body)
        except SyntaxError:
            return False
    dumps = {ast.dump(t) for t in trees}
    for tree in trees:
        negated = (
            tree.operand if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not) else None
        )
        if negated is not None and ast.dump(negated) in dumps:
            return True
    return _ranges_cover(trees) or _values_cover(trees)


def _ranges_cover(trees: list[ast.expr]) -> bool:
    subject: list[str] = []
    union: list[Interval] = []
    for tree in trees:
        found = _ranges(tree, subject)
        if found is None:
            return False
        union.extend(found)
    return _covers(union)


def _ranges(tree: ast.expr, subject: list[str]) -> list[Interval] | None:
    """The numbers for which `tree` holds, as intervals of its one subject, or None."""
    if isinstance(tree, ast.BoolOp):
        parts = [_ranges(v, subject) for v in tree.values]
        if any(p is None for p in parts):
            return None
        result = parts[0] or []
        for part in parts[1:]:
            assert part is not None
            result = result + part if isinstance(tree.op, ast.Or) else _intersect(result, part)
        return result
    if not isinstance(tree, ast.Compare):
        return None
    result = list(_FULL)
    left = tree.left
    for op, right in zip(tree.ops, tree.comparators, strict=True):
        pair = _number_side(left, right, subject)
        if pair is None:
            return None
        value, flipped = pair
        ranges = _compare(op, value, flipped)
        if ranges is None:
            return None
        result = _intersect(result, ranges)
        left = right
    return result


def _number(node: ast.expr) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _number_side(left: ast.expr, right: ast.expr, subject: list[str]) -> tuple[float, bool] | None:
    """(constant, flipped) for `subject OP constant` (flipped: `constant OP subject`)."""
    for value_node, other, flipped in ((right, left, False), (left, right, True)):
        value = _number(value_node)
        if value is None or _number(other) is not None:
            continue
        key = ast.dump(other)
        if subject and subject[0] != key:
            return None
        subject[:] = [key]
        return value, flipped
    return None


def _compare(op: ast.cmpop, value: float, flipped: bool) -> list[Interval] | None:
    if flipped:  # c < x is x > c
        swap: dict[type[ast.cmpop], ast.cmpop] = {
            ast.Lt: ast.Gt(),
            ast.LtE: ast.GtE(),
            ast.Gt: ast.Lt(),
            ast.GtE: ast.LtE(),
        }
        op = swap.get(type(op), op)
    inf = math.inf
    table: dict[type[ast.cmpop], list[Interval]] = {
        ast.Lt: [(-inf, False, value, False)],
        ast.LtE: [(-inf, False, value, True)],
        ast.Gt: [(value, False, inf, False)],
        ast.GtE: [(value, True, inf, False)],
        ast.Eq: [(value, True, value, True)],
        ast.NotEq: [(-inf, False, value, False), (value, False, inf, False)],
    }
    return table.get(type(op))


def _intersect(first: list[Interval], second: list[Interval]) -> list[Interval]:
    result = []
    for lo1, li1, hi1, hi1_in in first:
        for lo2, li2, hi2, hi2_in in second:
            lo, li = max((lo1, li1), (lo2, li2), key=lambda b: (b[0], not b[1]))
            hi, hi_in = min((hi1, hi1_in), (hi2, hi2_in), key=lambda b: (b[0], b[1]))
            if lo < hi or (lo == hi and li and hi_in):
                result.append((lo, li, hi, hi_in))
    return result


def _covers(intervals: list[Interval]) -> bool:
    """Whether the intervals together hold every number."""
    reach, reach_in = -math.inf, True
    for lo, lo_in, hi, hi_in in sorted(intervals, key=lambda i: (i[0], not i[1])):
        if lo > reach or (lo == reach and not reach_in and not lo_in):
            return False
        if hi > reach or (hi == reach and hi_in):
            reach, reach_in = hi, hi_in or (hi == reach and reach_in)
    return reach == math.inf


def _values_cover(trees: list[ast.expr]) -> bool:
    """`==`/`in` against `!=`/`not in` of one subject with constants: every value is taken
    when the values some condition excludes are all matched by another."""
    subject: list[str] = []
    matched: set[object] = set()
    excluded: list[set[object]] = []
    for tree in trees:
        found = _values(tree, subject)
        if found is None:
            return False
        positive, values = found
        if positive:
            matched |= values
        else:
            excluded.append(values)
    return any(values <= matched for values in excluded)


def _values(tree: ast.expr, subject: list[str]) -> tuple[bool, set[object]] | None:
    if not isinstance(tree, ast.Compare) or len(tree.ops) != 1:
        return None
    op, right = tree.ops[0], tree.comparators[0]
    values: set[object] | None
    if isinstance(op, ast.Eq | ast.NotEq):
        values = _constants(ast.Tuple(elts=[right], ctx=ast.Load()))
    elif isinstance(op, ast.In | ast.NotIn):
        values = _constants(right)
    else:
        return None
    if values is None:
        return None
    key = ast.dump(tree.left)
    if subject and subject[0] != key:
        return None
    subject[:] = [key]
    return isinstance(op, ast.Eq | ast.In), values


def _constants(node: ast.expr) -> set[object] | None:
    if not isinstance(node, ast.Tuple | ast.List | ast.Set):
        return None
    values: set[object] = set()
    for element in node.elts:
        if not isinstance(element, ast.Constant) or isinstance(element.value, bool | type(None)):
            return None
        values.add(element.value)
    return values
