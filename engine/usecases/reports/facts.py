"""The report facts (tables report_fact and report_count): what the reports read instead of
the history.

A report over two years would otherwise read every stage entry, stay and task action of the
history and group it per deal.  The facts are that grouping done once per deal after the
deal changed (store.changes.save_change and a claim in usecases.service note the deal), or
for every deal at once (the migration that made the tables, the benchmark):

- `stage` / `restage`: each time the deal entered a stage (at: seconds since 1970, as the
  reports define an entry: an entry element became ready), with the deal's previous entry of
  that stage, the last time it entered a stage further on (the funnel's conversion), and how
  long it stayed: until it entered another stage.  Whether an entry is the deal's first one
  in a period, and whether the deal went further since, are comparisons with the period's
  start.  `stage` is a first entry without a further stage entered before it: in every
  period that holds it, it counts and went further if it ever did; `restage` is any other.
- `irregular`: one row for a deal whose stays depend on where the period starts (a stage
  entered again after another stage was entered in between, and left for that one): its
  stays are left out of `seconds` and worked out for the period asked for.
- `element`: each stay at an element that waited (at: when it was done).
- `response`: each person's first action (claim or completion) on a task (at: when the task
  became ready).
- `won`: each win, with the deal's sales cycle.

report_count counts the facts but restage per 30-day span, key, bucket of duration (halved),
whether a stage entry went further and the version the deal runs on: a report over a long
period, of the whole process or of one version, adds up these counts and reads single facts
only at the period's two ends (engine.usecases.reports.stats).

A deal's facts are a function of its history, its open tasks and its version's graph:
`deal_facts` is that function, `refresh_many` writes some deals' anew (only the rows that
differ), `rebuild` every deal's.  A change of a deal only notes it (`touch`, one small
insert); the reports work out the noted deals' facts before they read (`catch_up`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    func,
    insert,
    select,
    tuple_,
    union_all,
    values,
)
from sqlalchemy import column as sa_column
from sqlalchemy.orm import Session

from engine.store import changes
from engine.store.db import Database
from engine.store.models import (
    DefinitionVersion,
    History,
    Instance,
    OpenTask,
    ReportCount,
    ReportFact,
    ReportPending,
)
from engine.usecases.reports.scope import GRAPHS, LOST, WON, Outline, graph_of

__all__ = [
    "ACTION_KINDS",
    "bucket",
    "catch_up",
    "coarse",
    "counts_of",
    "deal_facts",
    "rebuild",
    "refresh",
    "refresh_many",
]

STAGE, RESTAGE, IRREGULAR = "stage", "restage", "irregular"
ELEMENT, RESPONSE, WON_KIND = "element", "response", "won"
COUNTED = (STAGE, ELEMENT, RESPONSE, WON_KIND)  # kinds counted in report_count
ACTION_KINDS = ("claimed", "completed")  # what a person does with a task
PER_DOUBLING = 16  # buckets per doubling of a duration: a bucket holds ~1/16 of an octave
SPAN = 30 * 86400  # report_count's stretches of time, in seconds
NO_BUCKET = -(2**31 - 1)  # report_count's bucket of facts without a duration
ZERO = PER_DOUBLING - 1  # the bucket of no time at all: below every other duration from 0
BATCH = 5_000
CATCH_UP_BATCH = 500  # deals worked out in one transaction

# (kind, element id, actor, task id, at, entered_at) of a history row
HistoryRow = tuple[str, str | None, str | None, str | None, datetime, datetime | None]
OpenRow = tuple[str, str, datetime]  # (task id, element id, created_at) of an open task


def bucket(seconds: float) -> int:
    """A coarse class of a duration that keeps its order (a longer one never falls in a
    lower bucket), PER_DOUBLING classes per doubling; computed from the float's exponent and
    mantissa, so the order holds exactly.  Nothing but zero falls in ZERO (many stays
    take no time at all: their values need not be read)."""
    if seconds == 0:
        return ZERO
    mantissa, exponent = math.frexp(1.0 + abs(seconds))
    n = exponent * PER_DOUBLING + int((mantissa * 2 - 1) * PER_DOUBLING)
    return n if seconds > 0 else -n - 1


def coarse(fine: int | None) -> int:
    """report_count's bucket: two of `bucket`'s in one (floor division keeps the order)."""
    return NO_BUCKET if fine is None else fine // 2


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _row_facts(
    graph: Outline, base: dict[str, Any], row: HistoryRow, created: datetime
) -> list[dict[str, Any]]:
    """The facts one history row makes by itself: a stay at an element, a win."""
    _kind, element, _actor, _task_id, at, entered = row
    found = []
    if element is not None and graph.entries.get(element) == WON:
        took = (at - created).total_seconds()  # the sales cycle: from creation to the win
        found.append(_fact(base, WON_KIND, "", _epoch(at), seconds=took, bucket=bucket(took)))
    if entered is not None and element in graph.timed:
        took = (at - entered).total_seconds()
        found.append(_fact(base, ELEMENT, element, _epoch(at), seconds=took, bucket=bucket(took)))
    return found


def _entry(graph: Outline, row: HistoryRow) -> tuple[float, str] | None:
    """The stage entry a history row tells of: the engine's own rows of an entry element
    (a human task's carry the time it became ready; claims, escalations and hand-overs of it
    do not)."""
    _kind, element, _actor, _task_id, at, entered = row
    stage = graph.entries.get(element or "")
    if stage is None or (entered is None and element in graph.manual):
        return None
    return _epoch(entered or at), stage


def _is_action(graph: Outline, row: HistoryRow) -> bool:
    kind, element, actor, task_id, _at, _entered = row
    return (
        kind in ACTION_KINDS
        and element in graph.manual
        and actor is not None
        and task_id is not None
    )


def _responses(
    graph: Outline,
    base: dict[str, Any],
    rows: Iterable[HistoryRow],
    opened: Mapping[str, datetime],
) -> list[dict[str, Any]]:
    """Each person's first action on each task of `rows` (all of those tasks' actions),
    from when the task became ready: the completion says, or the open task."""
    actions: dict[tuple[str, str], list[Any]] = {}  # -> [first action, ready]
    for row in rows:
        if not _is_action(graph, row):
            continue
        _kind, _element, actor, task_id, at, entered = row
        first = actions.setdefault((str(task_id), str(actor)), [at, entered])
        first[0] = min(first[0], at)
        if entered is not None and (first[1] is None or entered > first[1]):
            first[1] = entered
    found = []
    for (task_id, actor), (acted, ready) in sorted(actions.items()):
        ready = ready or opened.get(task_id)
        if ready is None:
            continue  # a claim of a task done by someone else: no longer known when it began
        took = (acted - ready).total_seconds()
        found.append(
            _fact(
                base,
                RESPONSE,
                actor,
                _epoch(ready),
                seconds=took,
                bucket=bucket(took),
                task_id=task_id,
            )
        )
    return found


def _entries(
    history: Iterable[tuple[float, str]], graph: Outline, open_tasks: Iterable[OpenRow]
) -> dict[tuple[float, str], str | None]:
    """Stage entries -> None when the history tells of them, else the open task that does
    (the first by id when several do)."""
    found: dict[tuple[float, str], str | None] = dict.fromkeys(history)
    for task_id, element, ready in sorted(open_tasks):
        if element in graph.entries:
            entry = (_epoch(ready), graph.entries[element])
            if entry not in found:
                found[entry] = task_id
    return found


def deal_facts(
    graph: Outline,
    process_id: str,
    version: int,
    instance_id: int,
    history: Iterable[HistoryRow],
    open_tasks: Iterable[OpenRow],
    created: datetime,
) -> list[dict[str, Any]]:
    """The facts of one deal (created at `created`, running on version number `version`), as
    rows of report_fact."""
    history = [tuple(row) for row in history]  # type: ignore[misc]
    open_tasks = [tuple(row) for row in open_tasks]  # type: ignore[misc]
    base = {"instance_id": instance_id, "process_id": process_id, "version": version}
    facts: list[dict[str, Any]] = []
    for row in history:
        facts.extend(_row_facts(graph, base, row, created))
    opened = {task_id: ready for task_id, _element, ready in open_tasks}
    facts.extend(_responses(graph, base, history, opened))
    told = (e for e in map(lambda row: _entry(graph, row), history) if e is not None)
    facts.extend(_stage_facts(graph, base, _entries(told, graph, open_tasks)))
    return facts


def _fact(base: dict[str, Any], kind: str, key: str, at: float, **more: Any) -> dict[str, Any]:
    return {
        **base,
        "kind": kind,
        "key": key,
        "at": at,
        "seconds": None,
        "bucket": None,
        "previous": None,
        "higher": None,
        "task_id": None,
        **more,
    }


def _stage_facts(
    graph: Outline, base: dict[str, Any], entries: Mapping[tuple[float, str], str | None]
) -> list[dict[str, Any]]:
    """One row per stage entry, in the order the reports see them: by time, then rank."""
    if not entries:
        return []
    ranks = graph.ranks

    def rank(stage: str) -> int:
        return ranks.get(stage, len(ranks))

    ordered = sorted(entries, key=lambda x: (x[0], rank(x[1])))
    n = len(ordered)
    # The next entry of another stage, by position (entries of the same stage in between
    # are no first entries of a period that holds the one before them).
    after: list[int | None] = [None] * n
    for i in range(n - 2, -1, -1):
        after[i] = i + 1 if ordered[i + 1][1] != ordered[i][1] else after[i + 1]
    previous: list[float | None] = []
    last: dict[str, float] = {}
    times: dict[str, list[float]] = defaultdict(list)
    for e, stage in ordered:
        previous.append(last.get(stage))
        last[stage] = e
        times[stage].append(e)
    # The last entry of each stage further on ("lost" is no progress).
    furthest: dict[int, float] = {}
    for e, stage in ordered:
        if stage != LOST:
            furthest[rank(stage)] = max(furthest.get(rank(stage), e), e)
    higher = {
        stage: max((e for r, e in furthest.items() if r > rank(stage)), default=None)
        for stage in times
    }
    irregular = any(_depends_on_start(ordered, i, after[i], previous[i], times) for i in range(n))
    rows = []
    for i, (e, stage) in enumerate(ordered):
        j = after[i]
        stay = ordered[j][0] - e if j is not None and not irregular else None
        # A first entry without a further stage before it is counted in report_count: in any
        # period that holds it, it is the deal's first entry and went further if `higher`.
        further = higher[stage]
        plain = previous[i] is None and (further is None or further >= e)
        rows.append(
            _fact(
                base,
                STAGE if plain else RESTAGE,
                stage,
                e,
                seconds=stay,
                bucket=bucket(stay) if stay is not None else None,
                previous=previous[i],
                higher=higher[stage],
                task_id=entries[(e, stage)],
            )
        )
    if irregular:
        rows.append(_fact(base, IRREGULAR, "", ordered[0][0]))
    return rows


def _depends_on_start(
    ordered: Sequence[tuple[float, str]],
    i: int,
    j: int | None,
    previous: float | None,
    times: dict[str, list[float]],
) -> bool:
    """Whether the stay of entry i depends on where a period starts.  Entry i is a deal's
    first one in the stage for periods starting after `previous`, up to it; its stay ends at
    the next entry j of another stage unless that stage was entered, in such a period,
    before j too: then j is no first entry and the stay ends later."""
    if j is None:
        return False
    ends_at, stage = ordered[j]
    return any((previous is None or e > previous) and e < ends_at for e in times[stage])


# --- writing them -----------------------------------------------------------------------------

FACT_COLUMNS = (
    "kind",
    "key",
    "at",
    "seconds",
    "bucket",
    "previous",
    "higher",
    "task_id",
    "version",
)
Counts = Counter[tuple[str, str, int, str, int, int, int]]


def counts_of(facts: Iterable[Mapping[str, Any]]) -> Counts:
    """report_count's rows for some facts: (kind, process, span, key, bucket, further,
    version) -> n."""
    found: Counts = Counter()
    for fact in facts:
        if fact["kind"] in COUNTED:
            further = int(fact["kind"] == STAGE and fact["higher"] is not None)
            span = math.floor(fact["at"] / SPAN)
            found[
                (
                    fact["kind"],
                    fact["process_id"],
                    span,
                    fact["key"],
                    coarse(fact["bucket"]),
                    further,
                    fact["version"],
                )
            ] += 1
    return found


GROUP = ("kind", "process_id", "span", "key", "bucket", "further", "version")


def _count_rows(counts: Counts) -> list[dict[str, Any]]:
    return [dict(zip(GROUP, k, strict=True)) | {"n": n} for k, n in sorted(counts.items()) if n]


def add_counts(s: Session, counts: Counts) -> None:
    """Add one deal's changes to report_count and fold the rows of the groups they touch.
    On PostgreSQL the rows another transaction is folding are skipped (they are folded by
    it, or next time): no change waits for another here, and none can deadlock.  SQLite
    has one writer at a time."""
    counts = Counter({k: n for k, n in counts.items() if n})
    if not counts:
        return
    columns = [getattr(ReportCount, c) for c in GROUP]
    touched = tuple_(*columns).in_(sorted(counts))
    if s.get_bind().dialect.name == "postgresql":
        held = select(ReportCount.id).where(touched).with_for_update(skip_locked=True)
        gone = (
            delete(ReportCount)
            .where(ReportCount.id.in_(held))
            .returning(*columns, ReportCount.n)
            .cte("gone")
        )
        added = values(
            *(sa_column(c, ReportCount.__table__.c[c].type) for c in (*GROUP, "n")), name="added"
        ).data([(*k, n) for k, n in sorted(counts.items())])
        both = union_all(select(*(gone.c[c] for c in (*GROUP, "n"))), select(added)).subquery(
            "both"
        )
        total = func.sum(both.c.n)
        folded = (
            select(*(both.c[c] for c in GROUP), total)
            .group_by(*(both.c[c] for c in GROUP))
            .having(total != 0)
        )
        s.execute(insert(ReportCount).from_select([*GROUP, "n"], folded))
        return
    for row in s.execute(
        select(*columns, func.sum(ReportCount.n)).where(touched).group_by(*columns)
    ):
        counts[tuple(row[:-1])] += int(row[-1])
    s.execute(delete(ReportCount).where(touched))
    rows = _count_rows(counts)
    if rows:
        s.execute(insert(ReportCount), rows)


def _version_graph(s: Session | Connection, content_hash: str, version_id: int) -> Outline:
    graph = GRAPHS.get(content_hash)
    if graph is None:
        text = s.scalar(select(DefinitionVersion.spec).where(DefinitionVersion.id == version_id))
        graph = graph_of(content_hash, text or "")
    return graph


def _history_columns() -> tuple[Any, ...]:
    return (
        History.kind,
        History.element_id,
        History.actor,
        History.task_id,
        History.at,
        History.entered_at,
    )


def _content(fact: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(fact[c] for c in FACT_COLUMNS)


def refresh(s: Session, instance_id: int) -> None:
    """Work out one deal's facts anew from its history and open tasks (pending ORM rows
    must be flushed)."""
    refresh_many(s, [instance_id])


def refresh_many(s: Session, instance_ids: Iterable[int]) -> None:
    """Work out some deals' facts anew from their history and open tasks: only the facts
    that differ are deleted and inserted, and their counts moved."""
    wanted = sorted(set(instance_ids))
    if not wanted:
        return
    deals = {
        iid: (process_id, number, _version_graph(s, content_hash, vid), created)
        for iid, process_id, number, created, content_hash, vid in s.execute(
            select(
                Instance.id,
                Instance.process_id,
                Instance.version_number,
                Instance.created_at,
                DefinitionVersion.content_hash,
                DefinitionVersion.id,
            )
            .join(DefinitionVersion, DefinitionVersion.id == Instance.version_id)
            .where(Instance.id.in_(wanted))
        )
    }
    history: dict[int, list[HistoryRow]] = defaultdict(list)
    for iid, *told in s.execute(
        select(History.instance_id, *_history_columns())
        .where(History.instance_id.in_(wanted), History.element_id.is_not(None))
        .order_by(History.instance_id, History.id)
    ).all():
        history[iid].append(tuple(told))
    open_tasks: dict[int, list[OpenRow]] = defaultdict(list)
    for iid, task_id, element_id, ready in s.execute(
        select(
            OpenTask.instance_id, OpenTask.task_id, OpenTask.element_id, OpenTask.created_at
        ).where(OpenTask.instance_id.in_(wanted))
    ).all():
        open_tasks[iid].append((task_id, element_id, ready))
    unmatched: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    gone: dict[int, dict[str, Any]] = {}
    columns = [ReportFact.id, ReportFact.instance_id, ReportFact.process_id]
    columns += [getattr(ReportFact, c) for c in FACT_COLUMNS]
    for row in s.execute(select(*columns).where(ReportFact.instance_id.in_(wanted))).all():
        fact_id = int(row[0])  # type: ignore[call-overload]
        fact = dict(zip(FACT_COLUMNS, row[3:], strict=True))
        fact.update(instance_id=row[1], process_id=row[2])
        unmatched[(row[1], *_content(fact))].append(fact_id)
        gone[fact_id] = fact
    added = []
    for iid, (process_id, number, graph, created) in deals.items():
        facts = deal_facts(graph, process_id, number, iid, history[iid], open_tasks[iid], created)
        for fact in facts:
            ids = unmatched.get((iid, *_content(fact)))
            if ids:
                gone.pop(ids.pop())  # there already
            else:
                added.append(fact)
    if gone:
        s.execute(delete(ReportFact).where(ReportFact.id.in_(sorted(gone))))
    if added:
        s.execute(insert(ReportFact), added)
    change = counts_of(added)
    change.subtract(counts_of(gone.values()))
    add_counts(s, change)


# --- keeping them in step -----------------------------------------------------------------


def catch_up(db: Database, batch: int = CATCH_UP_BATCH) -> int:
    """Work out the facts of the deals changed since the last time (touch); returns how
    many deals.  Called by the reports before they read.  On PostgreSQL several may run at
    once: each takes notes no other holds, and the deals it works on are locked, so no two
    work on the same deal at the same time (a deal being changed waits its turn, and is
    noted again)."""
    with db.read() as s:
        if s.scalar(select(ReportPending.id).limit(1)) is None:
            return 0
    done = 0
    while True:
        with db.write() as s:
            if db.is_sqlite:
                notes = s.execute(
                    select(ReportPending.id, ReportPending.instance_id)
                    .order_by(ReportPending.id)
                    .limit(batch)
                ).all()
                if notes:
                    s.execute(delete(ReportPending).where(ReportPending.id <= notes[-1][0]))
                deals = {iid for _id, iid in notes}
            else:
                held = (
                    select(ReportPending.id)
                    .order_by(ReportPending.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
                notes = s.execute(
                    delete(ReportPending)
                    .where(ReportPending.id.in_(held))
                    .returning(ReportPending.id, ReportPending.instance_id)
                ).all()
                wanted = sorted({iid for _id, iid in notes})
                locked = select(Instance.id).where(Instance.id.in_(wanted)).order_by(Instance.id)
                deals = set(s.scalars(locked.with_for_update(skip_locked=True)))
                for iid in sorted(set(wanted) - deals):  # being changed now: noted again
                    changes.touch(s, iid)
            refresh_many(s, deals)
        done += len(deals)
        if len(notes) < batch:
            return done


def rebuild(s: Session | Connection) -> int:
    """Every deal's facts and counts anew, from the whole history (the migration that made
    the tables; the benchmark after its bulk inserts).  Returns how many facts it wrote."""
    versions = {
        vid: _version_graph(s, content_hash, vid)
        for vid, content_hash in s.execute(
            select(DefinitionVersion.id, DefinitionVersion.content_hash)
        )
    }
    deals = {
        iid: (process_id, number, versions[vid], created)
        for iid, process_id, number, vid, created in s.execute(
            select(
                Instance.id,
                Instance.process_id,
                Instance.version_number,
                Instance.version_id,
                Instance.created_at,
            )
        )
    }
    open_tasks: dict[int, list[OpenRow]] = defaultdict(list)
    for iid, task_id, element_id, created in s.execute(
        select(OpenTask.instance_id, OpenTask.task_id, OpenTask.element_id, OpenTask.created_at)
    ):
        open_tasks[iid].append((task_id, element_id, created))
    s.execute(delete(ReportFact))
    s.execute(delete(ReportCount))
    s.execute(delete(ReportPending))
    rows = (
        select(History.instance_id, *_history_columns())
        .where(History.element_id.is_not(None))
        .order_by(History.instance_id, History.id)
        .execution_options(yield_per=BATCH)
    )
    pending: list[dict[str, Any]] = []
    counts: Counts = Counter()
    written = 0

    def add(iid: int, history: list[HistoryRow]) -> None:
        nonlocal written
        if iid not in deals:
            return
        process_id, number, graph, created = deals.pop(iid)
        opened = open_tasks.get(iid, [])
        facts = deal_facts(graph, process_id, number, iid, history, opened, created)
        pending.extend(facts)
        counts.update(counts_of(facts))
        if len(pending) >= BATCH:
            s.execute(insert(ReportFact), pending)
            written += len(pending)
            pending.clear()

    current: int | None = None
    of_deal: list[HistoryRow] = []
    for iid, *row in s.execute(rows):
        if iid != current:
            if current is not None:
                add(current, of_deal)
            current, of_deal = iid, []
        of_deal.append(tuple(row))
    if current is not None:
        add(current, of_deal)
    for iid in list(deals):  # deals with no element in their history yet
        add(iid, [])
    if pending:
        s.execute(insert(ReportFact), pending)
        written += len(pending)
    summed = _count_rows(counts)
    for start in range(0, len(summed), BATCH):
        s.execute(insert(ReportCount), summed[start : start + BATCH])
    return written
