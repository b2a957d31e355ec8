"""Exact medians and 90th percentiles: linear interpolation between the two closest values,
as `statistics.median` and PostgreSQL's `percentile_cont`.

Two ways to the same figures.  Over the report facts (usecases.reports.facts), without sorting
every value: count the values per group and per bucket of duration (the buckets keep the
values' order, and an index hands the counts over in order), find the buckets that hold the
values at the positions wanted, and fetch only those buckets' values, counted per value
(many deals take exactly the same time).  Over any SELECT of a few thousand values (the
sales cycles of won deals): number the rows per group in SQL and bring back the two rows
around each position.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from engine.store.models import Instance, ReportCount, ReportFact
from engine.store.plans import Unindexed
from engine.usecases.reports.facts import COUNTED, NO_BUCKET, SPAN, ZERO, bucket, coarse
from engine.usecases.reports.scope import Filters

PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p = a/b: integer arithmetic

Stats = dict[str, Any]  # count, median, p90


def _positions(n: int) -> dict[str, tuple[int, int | None]]:
    """For p = a/b, the positions (from 0) of the two values around p*(n-1)."""
    found: dict[str, tuple[int, int | None]] = {}
    for name, (a, b) in PERCENTILES.items():
        i = a * (n - 1) // b
        found[name] = (i, i + 1 if i + 1 < n else None)
    return found


def _interpolate(n: int, picked: Mapping[int, float]) -> Stats:
    stats: Stats = {"count": n}
    for name, (i, j) in _positions(n).items():
        a, b = PERCENTILES[name]
        low = picked[i]
        value = low if j is None else low + (a * (n - 1) % b) / b * (picked[j] - low)
        stats[name] = round(value, 3)
    return stats


# (kind, key, report_count's bucket, further) -> n
Counted = dict[tuple[str, Any, int, int], int]


def _exact(ordered: Sequence[float]) -> Stats:
    n = len(ordered)
    return _interpolate(
        n, {p: ordered[p] for pair in _positions(n).values() for p in pair if p is not None}
    )


def _epochs(f: Filters) -> tuple[float | None, float | None]:
    return (
        f.since.timestamp() if f.since is not None else None,
        f.until.timestamp() if f.until is not None else None,
    )


def whole(f: Filters, deals: Sequence[ColumnElement[bool]]) -> bool:
    """Whether the deals asked for are all the process's, or all its version's: the facts
    and their counts carry both, so they answer alone (scope.deal_filter puts the version's
    clause right after the process's; any other filter, or a viewer who sees only some
    deals, adds more)."""
    return len(deals) == (1 if f.version is None else 2)


def _rows(
    f: Filters, deals: Sequence[ColumnElement[bool]], *, stage: bool
) -> list[ColumnElement[bool]]:
    """Which facts count, whatever their time: the process (its version), the deals asked
    for, and for stages a deal's first entry since the period began."""
    where: list[ColumnElement[bool]] = [ReportFact.process_id == f.process]
    if whole(f, deals):
        if f.version is not None:
            where.append(ReportFact.version == f.version)
    elif len(deals) > 1:  # a part of the process: the deals, from the instance table
        where.append(ReportFact.instance_id.in_(select(Instance.id).where(*deals)))
    since, _until = _epochs(f)
    if stage:
        if since is None:
            where.append(ReportFact.previous.is_(None))
        else:
            where.append(or_(ReportFact.previous.is_(None), ReportFact.previous < since))
    return where


def _between(
    low: float | None, high: float | None, *, seek: bool = True
) -> list[ColumnElement[bool]]:
    """Facts from `low` to before `high`; `seek=False`: not to be looked up by their time
    (SQLite would take the period's index where the buckets' one reads far fewer rows)."""
    at: Any = ReportFact.at if seek else Unindexed(ReportFact.at)
    where = []
    if low is not None:
        where.append(at >= low)
    if high is not None:
        where.append(at < high)
    return where


def _filtered(
    s: Session,
    kinds: Sequence[str],
    f: Filters,
    deals: Sequence[ColumnElement[bool]],
    *,
    stage: bool,
) -> list[tuple[str, Any, int | None, float | None, int]]:
    """(kind, key, bucket, seconds, further) of the facts in the period of the deals asked
    for, read once from the deals on (a filter by owner, team, tier, channel, version or
    viewer holds a part of the deals: their facts are few enough to count in Python)."""
    since, until = _epochs(f)
    if stage:
        went = ReportFact.higher.is_not(None) if since is None else ReportFact.higher >= since
        further: Any = case((went, 1), else_=0)
    else:
        further = literal(0)
    # From the deals to their facts (SQLite must not read the facts by kind or time).
    query = (
        select(ReportFact.kind, ReportFact.key, ReportFact.bucket, ReportFact.seconds, further)
        .select_from(Instance)
        .join(ReportFact, ReportFact.instance_id == Instance.id)
        .where(
            # The process is deals[0] (scope.deal_filter): a filter on the owner reads the
            # owner's deals through their index, not all the process's through the board's.
            Unindexed(Instance.process_id) == f.process,
            *deals[1:],
            Unindexed(ReportFact.kind).in_(kinds),
            Unindexed(ReportFact.process_id) == f.process,
            *_rows(f, [], stage=stage)[1:],
            *_between(since, until, seek=False),
        )
    )
    return [(k, key, b, x, int(up)) for k, key, b, x, up in s.execute(query).all()]


def counted(
    s: Session,
    kinds: Sequence[str],
    f: Filters,
    deals: Sequence[ColumnElement[bool]],
    *,
    stage: bool = False,
) -> Counted:
    """The facts of `kinds` in the period, counted per key, bucket (report_count's) and
    whether a stage entry went further since the period began.  Whole 30-day spans come
    from report_count when no filter but the process (and its version) is set; single facts
    from the ends of the period and those report_count leaves out (restage)."""
    since, until = _epochs(f)
    found: Counted = defaultdict(int)
    if not whole(f, deals):
        for kind, key, fine, _seconds, up in _filtered(s, kinds, f, deals, stage=stage):
            found[(kind, key, coarse(fine), up)] += 1
        return found
    if stage:
        went = ReportFact.higher.is_not(None) if since is None else ReportFact.higher >= since
        further: Any = case((went, 1), else_=0)
    else:
        further = literal(0)
    rows = _rows(f, deals, stage=stage)

    def single(kind_list: Sequence[str], low: float | None, high: float | None) -> None:
        query = (
            select(ReportFact.kind, ReportFact.key, ReportFact.bucket, further, func.count())
            .where(ReportFact.kind.in_(kind_list), *rows, *_between(low, high))
            .group_by(ReportFact.kind, ReportFact.key, ReportFact.bucket, further)
        )
        for kind, key, fine, up, n in s.execute(query).all():
            found[(kind, key, coarse(fine), int(up))] += n

    counted_kinds = [k for k in kinds if k in COUNTED]
    first = math.ceil(since / SPAN) if since is not None else None
    last = math.floor(until / SPAN) if until is not None else None  # spans before this one
    if not counted_kinds or (first is not None and last is not None and first >= last):
        single(kinds, since, until)
        return found
    spans = select(
        ReportCount.kind,
        ReportCount.key,
        ReportCount.bucket,
        ReportCount.further,
        func.sum(ReportCount.n),
    ).where(ReportCount.kind.in_(counted_kinds), ReportCount.process_id == f.process)
    if f.version is not None:
        spans = spans.where(ReportCount.version == f.version)
    if first is not None:
        spans = spans.where(ReportCount.span >= first)
    if last is not None:
        spans = spans.where(ReportCount.span < last)
    groups = (ReportCount.kind, ReportCount.key, ReportCount.bucket, ReportCount.further)
    for kind, key, b, up, n in s.execute(spans.group_by(*groups)).all():
        found[(kind, key, int(b), int(up))] += int(n)
    if first is not None:
        single(counted_kinds, since, first * SPAN)
    if last is not None:
        single(counted_kinds, last * SPAN, until)
    others = [k for k in kinds if k not in COUNTED]
    if others:
        single(others, since, until)
    return found


def fact_percentiles(
    s: Session,
    kinds: Sequence[str],
    f: Filters,
    deals: Sequence[ColumnElement[bool]],
    *,
    stage: bool = False,
    extra: Mapping[Any, Sequence[float]] | None = None,
) -> dict[Any, Stats]:
    """Per key of the facts of `kinds` in the period that have a duration (and per key of
    `extra`, values worked out elsewhere): the count, median and 90th percentile."""
    if not whole(f, deals):  # a part of the deals: their values, sorted here
        per_key: dict[Any, list[float]] = defaultdict(list)
        for _kind, key, _b, seconds, _up in _filtered(s, kinds, f, deals, stage=stage):
            if seconds is not None:
                per_key[key].append(float(seconds))
        for key, given in (extra or {}).items():
            per_key[key].extend(given)
        return {key: _exact(sorted(xs)) for key, xs in per_key.items()}
    counts: dict[Any, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    held: dict[tuple[Any, int], set[str]] = defaultdict(set)  # which kinds hold a bucket
    for (kind, key, b, _up), n in counted(s, kinds, f, deals, stage=stage).items():
        if b != NO_BUCKET and n:
            counts[key][b] += n
            held[(key, b)].add(kind)
    more: dict[Any, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for key, given in (extra or {}).items():
        for value in given:
            more[key][coarse(bucket(value))].append(value)
            counts[key][coarse(bucket(value))] += 1
    # Which buckets hold the positions wanted, and where in them.
    wanted: dict[tuple[Any, int], list[tuple[int, int]]] = defaultdict(list)
    totals: dict[Any, int] = {}
    for key, per in counts.items():
        n = totals[key] = sum(per.values())
        positions = sorted({p for pair in _positions(n).values() for p in pair if p is not None})
        start = 0
        for b in sorted(per):
            for p in positions:
                if start <= p < start + per[b]:
                    wanted[(key, b)].append((p, p - start))
            start += per[b]
    # Those buckets' values with how often each occurs (many deals take the same time).
    values: dict[tuple[Any, int], dict[float, int]] = defaultdict(lambda: defaultdict(int))
    needed: dict[tuple[str, Any], list[int]] = defaultdict(list)  # -> `bucket`s to read
    for key, b in wanted:
        if b == coarse(ZERO):  # nothing but zeros
            values[(key, b)][0.0] = counts[key][b] - len(more[key][b])
        else:
            for kind in held[(key, b)]:
                needed[(kind, key)] += [2 * b, 2 * b + 1]
    since, until = _epochs(f)
    where = [*_rows(f, deals, stage=stage), *_between(since, until, seek=False)]
    # One key and kind per part of one statement: the index seeks the buckets and hands
    # their values over in order, counted without sorting (a bucket may hold a hundred
    # thousand zeros).
    parts = [
        select(literal(key).label("key"), ReportFact.bucket, ReportFact.seconds, func.count())
        .where(
            ReportFact.kind == kind,
            ReportFact.key == key,
            ReportFact.bucket.in_(fine),
            ReportFact.seconds.is_not(None),
            *where,
        )
        .group_by(ReportFact.bucket, ReportFact.seconds)
        for (kind, key), fine in sorted(needed.items())
    ]
    if parts:
        query = parts[0] if len(parts) == 1 else union_all(*parts)
        for key, found, seconds, n in s.execute(query).all():
            values[(key, coarse(found))][float(seconds or 0.0)] += n
    picked: dict[Any, dict[int, float]] = defaultdict(dict)
    for (key, b), spots in wanted.items():
        counted_values = values[(key, b)]
        for value in more[key][b]:
            counted_values[value] += 1
        ordered = sorted(counted_values.items())
        for position, offset in spots:
            seen = 0
            for value, n in ordered:
                seen += n
                if offset < seen:
                    picked[key][position] = value
                    break
    return {key: _interpolate(n, picked[key]) for key, n in totals.items() if n}


def percentiles(s: Session, values: Select[Any, Any]) -> dict[Any, Stats]:
    """For a SELECT of (group, value): per group the count, median and 90th percentile.

    Rows are numbered per group in value order; for p = a/b the two rows around position
    p*(n-1) are picked with integer arithmetic (the same on every database), and only those
    come back to be interpolated."""
    d = values.subquery()
    g, x = d.c[0], d.c[1]
    numbered = select(
        g.label("g"),
        x.label("x"),
        (func.row_number().over(partition_by=g, order_by=x) - 1).label("i"),
        func.count().over(partition_by=g).label("n"),
    ).subquery()
    i, n = numbered.c.i, numbered.c.n
    picks = []
    needed = []
    for name, (a, b) in PERCENTILES.items():
        # lo: i*b <= a*(n-1) < (i+1)*b; hi: the row after it.
        lo = and_(i * b <= a * (n - 1), (i + 1) * b > a * (n - 1))
        hi = and_((i - 1) * b <= a * (n - 1), i * b > a * (n - 1))
        needed.append(and_((i - 1) * b <= a * (n - 1), (i + 1) * b > a * (n - 1)))
        picks += [
            func.min(case((lo, numbered.c.x))).label(f"{name}_lo"),
            func.min(case((hi, numbered.c.x))).label(f"{name}_hi"),
        ]
    query = (
        select(numbered.c.g, func.max(n).label("n"), *picks)
        .where(or_(*needed))  # a few rows per group
        .group_by(numbered.c.g)
    )
    found: dict[Any, Stats] = {}
    for row in s.execute(query).mappings():
        count = int(row["n"])
        stats: Stats = {"count": count}
        for name, (a, b) in PERCENTILES.items():
            low, high = float(row[f"{name}_lo"]), row[f"{name}_hi"]
            value = low if high is None else low + (a * (count - 1) % b) / b * (float(high) - low)
            stats[name] = round(value, 3)
        found[row["g"]] = stats
    return found
