"""A process's heatmap (engine.core.graph.Heat): how many deals it has, how many of its open
deals sit at each element now, and the median time deals spent at each element.

Over 100,000 deals and a million history rows this read every deal's position and every
timed history row, seconds per view.  Now:

- the deals are counted and the open ones found in an index, and where each open deal sits is
  kept per deal and lock_version (engine.store.heat.OpenPositions), so a view reads the
  positions only of the deals changed since the last one;
- the median stays come from the report facts the reports keep per deal (`element`: each
  stay at an element deals wait at, the time from its becoming ready to its end; gateways and
  boundary events, where nobody waits, have none): the values are counted per bucket of
  duration (report_count), the median's bucket is found from the counts and only its
  values are read (engine.usecases.reports.stats).  Exact, as `statistics.median` over the
  stays.  The caller first works out the facts of deals changed since (facts.catch_up), as
  the reports do.

A version's heatmap is its process's when no deal of the process runs on another version;
otherwise its medians come the same way from the facts and counts of that version (they carry
the deal's version number).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from engine.core.graph import Heat
from engine.store import heat as store_heat
from engine.store.models import Instance, ReportFact
from engine.usecases.reports.facts import ELEMENT, NO_BUCKET, ZERO, coarse
from engine.usecases.reports.scope import Filters
from engine.usecases.reports.stats import counted

__all__ = ["median_stays", "process_heat"]


# A stay wanted: (element id, report_count's bucket, how many to skip in it, how many to read)
Wanted = tuple[str, int, int, int]


def _read(
    s: Session, process_id: str, version: int | None, wanted: list[Wanted]
) -> dict[str, list[float]]:
    """The stays `wanted`, in one statement: per element, the `n` stays from the `skip`-th
    (from 0) of a bucket of report_count, whose two fine buckets hold the stays in their
    order, read in that order from the index ix_report_fact_figure (of the deals on version
    number `version` when given: the index's last column)."""
    same_version = [] if version is None else [ReportFact.version == version]
    found: dict[str, list[float]] = {}
    parts = []
    for element, b, skip, n in wanted:
        if b == coarse(ZERO):  # a bucket of nothing but zeros
            found.setdefault(element, []).extend([0.0] * n)
            continue
        part = (
            select(ReportFact.key, ReportFact.seconds)
            .where(
                ReportFact.kind == ELEMENT,
                ReportFact.process_id == process_id,
                ReportFact.key == element,
                ReportFact.bucket.between(2 * b, 2 * b + 1),
                *same_version,
            )
            .order_by(ReportFact.bucket, ReportFact.seconds)
            .limit(n)
            .offset(skip)
            .subquery()
        )
        parts.append(select(part.c.key, part.c.seconds))
    if parts:
        for element, seconds in s.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
            found.setdefault(element, []).append(float(seconds or 0.0))
    return found


def median_stays(s: Session, process_id: str, version: int | None = None) -> dict[str, float]:
    """Element id -> the median of the deals' stays there over all time (of the deals on
    version number `version` when given), as `statistics.median` would give it: the stays
    counted per bucket, then the one or two stays in the middle read where they are."""
    deals = [Instance.process_id == process_id]
    if version is not None:
        deals.append(Instance.version_number == version)
    f = Filters(process=process_id, version=version)
    per: defaultdict[str, dict[int, int]] = defaultdict(dict)
    for (_kind, element, b, _further), n in counted(s, [ELEMENT], f, deals).items():
        if b != NO_BUCKET and n:
            per[str(element)][b] = per[str(element)].get(b, 0) + n
    wanted: list[Wanted] = []
    for element, buckets in per.items():
        total = sum(buckets.values())
        middle = [(total - 1) // 2] if total % 2 else [total // 2 - 1, total // 2]
        start = 0
        for b in sorted(buckets):
            inside = [p - start for p in middle if start <= p < start + buckets[b]]
            if inside:
                wanted.append((element, b, inside[0], len(inside)))
            start += buckets[b]
    # The middle one, or the two around the middle: their mean.
    read = _read(s, process_id, version, wanted)
    return {element: sum(xs) / len(xs) for element, xs in read.items()}


def process_heat(
    s: Session,
    kept: store_heat.OpenPositions,
    process_id: str,
    version: tuple[int, int] | None = None,
    *,
    single: bool = False,
) -> Heat:
    """The heat of a process, or of one of its versions (`version`: its id and number;
    `single`: the process has no other version, so every deal runs on it)."""
    version_id, number = version if version is not None else (None, None)
    counted_on = None if single else version_id
    total, on_version = store_heat.deal_counts(s, process_id, counted_on)
    own = number if version_id is not None and on_version != total else None
    return Heat(
        deals=on_version,
        here_now=kept.here_now(s, process_id, version_id),
        median_seconds=median_stays(s, process_id, own),
    )
