"""Report facts: per deal, its stage entries, stays at elements, first actions on tasks and
wins, and their counts per stretch of time: what the reports read instead of grouping the
history (engine.usecases.reports.facts); filled here from the history and the open tasks.

The backfill is a frozen copy of the engine's code as it was when this migration was
written (see "the backfill, frozen" below): a migration must do the same on every database,
whenever it runs, whatever the engine has become since.  That copy is why this file is
longer than the ~600 lines a module of ours keeps to: it is one frozen unit, never edited.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("bucket", sa.Integer(), nullable=True),
        sa.Column("previous", sa.Float(), nullable=True),
        sa.Column("higher", sa.Float(), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instance.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_fact", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_fact_instance", ["instance_id", "kind", "task_id"], unique=False
        )
        batch_op.create_index(
            "ix_report_fact_figure",
            ["kind", "process_id", "key", "bucket", "seconds", "at", "previous", "higher"],
            unique=False,
        )
        batch_op.create_index(
            "ix_report_fact_period",
            ["kind", "process_id", "at", "key", "bucket", "previous", "higher"],
            unique=False,
        )
    op.create_table(
        "report_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("further", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_count", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_count_group",
            ["kind", "process_id", "span", "key", "bucket", "further", "n"],
            unique=False,
        )
    op.create_table(
        "report_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The facts of the deals there are.  They depend on each version's graph (stages, entry
    # elements), read from the stored specs.
    _rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("report_pending")
    with op.batch_alter_table("report_count", schema=None) as batch_op:
        batch_op.drop_index("ix_report_count_group")

    op.drop_table("report_count")
    with op.batch_alter_table("report_fact", schema=None) as batch_op:
        batch_op.drop_index("ix_report_fact_period")
        batch_op.drop_index("ix_report_fact_figure")
        batch_op.drop_index("ix_report_fact_instance")

    op.drop_table("report_fact")


# --- the backfill, frozen ----------------------------------------------------------------------
#
# Why a copy: this migration used to call the engine's own rebuild
# (engine.usecases.reports.facts).  The engine moves on (another kind of fact, another way to
# read a graph); a database migrated later would then get other rows from this revision than
# one migrated today.  And the engine's models describe the newest schema, not the one this
# revision leaves: a column a later revision adds would break this one.
# So what the backfill needs is copied here as it was on 2026-12-06 (commit 976af39), and
# this file imports nothing of the engine (tests/engine/test_migrations.py checks that):
#
# - engine.usecases.reports.facts: rebuild, deal_facts and the functions and constants they use;
# - engine.usecases.reports.scope: build_graph, reduced to what the facts read of a graph
#   (entry elements, human tasks, timed elements, stage ranks), and WON, LOST;
# - engine.store.changes.STAGE_ORDER;
# - engine.store.models: the columns read and written, as lightweight tables, and UTCDateTime;
# - engine.core.runtime.load_spec: the stored spec is SpiffWorkflow 3.2's JSON; it is read as
#   JSON here, giving what SpiffWorkflow's restore gives for the attributes used (_bpmn_id,
#   _is_manual), not through SpiffWorkflow, which may change too.
#
# Do not bring this copy up to date with the engine: a change of the facts is a new migration.

_STAGE, _RESTAGE, _IRREGULAR = "stage", "restage", "irregular"
_ELEMENT, _RESPONSE, _WON_KIND = "element", "response", "won"
_COUNTED = (_STAGE, _ELEMENT, _RESPONSE, _WON_KIND)  # kinds counted in report_count
_ACTION_KINDS = ("claimed", "completed")  # what a person does with a task
_PER_DOUBLING = 16  # buckets per doubling of a duration
_SPAN = 30 * 86400  # report_count's stretches of time, in seconds
_NO_BUCKET = -(2**31 - 1)  # report_count's bucket of facts without a duration
_ZERO = _PER_DOUBLING - 1  # the bucket of no time at all
_BATCH = 5_000
_WON, _LOST = "won", "lost"
_STAGE_ORDER = (
    "lead",
    "qualification",
    "contact",
    "needs",
    "proposal",
    "negotiation",
    "contract",
    "won",
    "lost",
    "after_sales",
)
_FACT_COLUMNS = ("kind", "key", "at", "seconds", "bucket", "previous", "higher", "task_id")
_GROUP = ("kind", "process_id", "span", "key", "bucket", "further")

# (kind, element id, actor, task id, at, entered_at) of a history row
_HistoryRow = tuple[str, str | None, str | None, str | None, datetime, datetime | None]
_OpenRow = tuple[str, str, datetime]  # (task id, element id, created_at) of an open task
_Counts = Counter[tuple[str, str, int, str, int, int]]


class _UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive, as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


_definition_version = sa.table(
    "definition_version",
    sa.column("id", sa.Integer()),
    sa.column("content_hash", sa.String(64)),
    sa.column("spec", sa.Text()),
)
_instance = sa.table(
    "instance",
    sa.column("id", sa.Integer()),
    sa.column("version_id", sa.Integer()),
    sa.column("process_id", sa.String(200)),
    sa.column("created_at", _UTCDateTime()),
)
_open_task = sa.table(
    "open_task",
    sa.column("task_id", sa.String(36)),
    sa.column("instance_id", sa.Integer()),
    sa.column("element_id", sa.String(200)),
    sa.column("created_at", _UTCDateTime()),
)
_history = sa.table(
    "history",
    sa.column("id", sa.Integer()),
    sa.column("instance_id", sa.Integer()),
    sa.column("at", _UTCDateTime()),
    sa.column("actor", sa.String(80)),
    sa.column("kind", sa.String(40)),
    sa.column("element_id", sa.String(200)),
    sa.column("task_id", sa.String(36)),
    sa.column("entered_at", _UTCDateTime()),
)
_report_fact = sa.table(
    "report_fact",
    sa.column("instance_id", sa.Integer()),
    sa.column("process_id", sa.String(200)),
    sa.column("kind", sa.String(16)),
    sa.column("key", sa.String(200)),
    sa.column("at", sa.Float()),
    sa.column("seconds", sa.Float()),
    sa.column("bucket", sa.Integer()),
    sa.column("previous", sa.Float()),
    sa.column("higher", sa.Float()),
    sa.column("task_id", sa.String(36)),
)
_report_count = sa.table(
    "report_count",
    sa.column("kind", sa.String(16)),
    sa.column("process_id", sa.String(200)),
    sa.column("span", sa.Integer()),
    sa.column("key", sa.String(200)),
    sa.column("bucket", sa.Integer()),
    sa.column("further", sa.Integer()),
    sa.column("n", sa.Integer()),
)
_report_pending = sa.table("report_pending", sa.column("id", sa.Integer()))


# --- a version's graph (engine.usecases.reports.scope.build_graph) ------------------------------


class _Graph(NamedTuple):
    """What the facts read of one version's elements."""

    entries: dict[str | None, str]  # entry element id -> the stage it enters
    manual: frozenset[str]  # human tasks
    timed: frozenset[str]  # where deals spend time: not gateways, not boundary events
    ranks: dict[str, int]  # stage -> its rank in this version (see _ranked)


# SpiffWorkflow 3.2's control specs: its restore leaves them without an element id.
_CONTROL_SPECS = frozenset(
    {
        "BoundaryEventJoin",
        "BoundaryEventSplit",
        "BpmnStartTask",
        "SimpleBpmnTask",
        "StartEventJoin",
        "StartEventSplit",
        "_EndJoin",
    }
)
# ... and the specs its restore makes manual, whatever the JSON says.
_MANUAL_SPECS = frozenset({"ManualTask", "NoneTask", "UserTask"})

_Spec = dict[str, Any]  # one task spec's JSON


def _bpmn_id(ts: _Spec) -> str | None:
    return None if ts["typename"] in _CONTROL_SPECS else ts["bpmn_id"]


def _is_manual(ts: _Spec) -> bool:
    return bool(ts.get("manual", False)) or ts["typename"] in _MANUAL_SPECS


def _stage_of(ts: _Spec) -> str | None:
    ext = ts.get("extensions") or {}
    props = ext.get("properties") or {}
    stage: str | None = dict(props).get("stage")
    return stage


def _graph(spec_text: str) -> _Graph:
    """The graph of a stored version (its spec's JSON)."""
    stored = json.loads(spec_text)
    processes = [stored["spec"], *stored["subprocess_specs"].values()]
    stages: dict[str, str] = {}
    entries: dict[str | None, str] = {}
    manual: set[str] = set()
    timed: set[str] = set()
    order: list[str] = []
    for process in processes:
        # The task specs by name, in stored order, as SpiffWorkflow's restore keeps them.
        specs: dict[str, _Spec] = {
            ts["name"]: ts for key, ts in process["task_specs"].items() if key != "Root"
        }
        for ts in specs.values():
            bpmn_id = _bpmn_id(ts)
            if bpmn_id is None:
                continue
            kind = ts["typename"]
            if "Gateway" not in kind and kind != "BoundaryEvent":
                timed.add(bpmn_id)
            if _is_manual(ts):
                manual.add(bpmn_id)
            stage = _stage_of(ts)
            if stage:
                stages[bpmn_id] = stage
        order.extend(_flow_order(process["task_specs"]["Start"], specs, stages, order))
        rank = {name: n for n, name in enumerate(_ranked(order))}
        for ts in specs.values():
            bpmn_id = _bpmn_id(ts)
            stage = stages.get(bpmn_id or "")
            if stage is None:
                continue
            before = _stages_before(ts, specs, stages)
            if None in before or any(rank[b] < rank[stage] for b in before if b is not None):
                entries[bpmn_id] = stage
    return _Graph(
        entries,
        frozenset(manual),
        frozenset(timed),
        {name: n for n, name in enumerate(_ranked(order))},
    )


def _flow_order(
    start: _Spec, specs: Mapping[str, _Spec], stages: Mapping[str, str], seen: list[str]
) -> list[str]:
    """Stages in the order a walk from the start meets them."""
    found: list[str] = []
    queue = [start]
    visited = {start["name"]}
    while queue:
        ts = queue.pop(0)
        stage = stages.get(_bpmn_id(ts) or "")
        if stage and stage not in seen and stage not in found:
            found.append(stage)
        for name in ts["outputs"]:
            child = specs[name]
            if child["name"] not in visited:
                visited.add(child["name"])
                queue.append(child)
    return found


def _ranked(order: list[str]) -> list[str]:
    """The sales stages in their order, others in flow order before "won"."""
    known = [s for s in _STAGE_ORDER if s in order]
    others = [s for s in order if s not in _STAGE_ORDER]
    at = known.index(_WON) if _WON in known else len(known)
    return [*known[:at], *others, *known[at:]]


def _stages_before(
    ts: _Spec, specs: Mapping[str, _Spec], stages: Mapping[str, str]
) -> set[str | None]:
    """The stages of the nearest staged elements before `ts` (None: the process start).  A
    boundary event is where its activity is."""
    found: set[str | None] = set()
    todo = [(ts, specs[i]) for i in ts["inputs"]]
    visited: set[str] = set()
    while todo:
        child, spec = todo.pop()
        if spec["typename"] == "BoundaryEventSplit":
            attached = specs.get(spec["name"].removesuffix(".BoundaryEventSplit"))
            if attached is not None and attached is not child:
                spec = attached  # reached from one of the boundary events
        if spec["name"] in visited:
            continue
        visited.add(spec["name"])
        stage = stages.get(_bpmn_id(spec) or "")
        if stage is not None:
            found.add(stage)
        elif not spec["inputs"]:
            found.add(None)
        else:
            todo.extend((spec, specs[i]) for i in spec["inputs"])
    return found


# --- a deal's facts (engine.usecases.reports.facts.deal_facts) ----------------------------------


def _bucket(seconds: float) -> int:
    """A coarse class of a duration that keeps its order, _PER_DOUBLING classes per
    doubling; nothing but zero falls in _ZERO."""
    if seconds == 0:
        return _ZERO
    mantissa, exponent = math.frexp(1.0 + abs(seconds))
    n = exponent * _PER_DOUBLING + int((mantissa * 2 - 1) * _PER_DOUBLING)
    return n if seconds > 0 else -n - 1


def _coarse(fine: int | None) -> int:
    """report_count's bucket: two of `_bucket`'s in one."""
    return _NO_BUCKET if fine is None else fine // 2


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


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


def _row_facts(
    graph: _Graph, base: dict[str, Any], row: _HistoryRow, created: datetime
) -> list[dict[str, Any]]:
    """The facts one history row makes by itself: a stay at an element, a win."""
    _kind, element, _actor, _task_id, at, entered = row
    found = []
    if element is not None and graph.entries.get(element) == _WON:
        took = (at - created).total_seconds()  # the sales cycle: from creation to the win
        found.append(_fact(base, _WON_KIND, "", _epoch(at), seconds=took, bucket=_bucket(took)))
    if entered is not None and element in graph.timed:
        took = (at - entered).total_seconds()
        found.append(_fact(base, _ELEMENT, element, _epoch(at), seconds=took, bucket=_bucket(took)))
    return found


def _entry(graph: _Graph, row: _HistoryRow) -> tuple[float, str] | None:
    """The stage entry a history row tells of: the engine's own rows of an entry element
    (a human task's carry the time it became ready; claims, escalations and hand-overs of it
    do not)."""
    _kind, element, _actor, _task_id, at, entered = row
    stage = graph.entries.get(element or "")
    if stage is None or (entered is None and element in graph.manual):
        return None
    return _epoch(entered or at), stage


def _is_action(graph: _Graph, row: _HistoryRow) -> bool:
    kind, element, actor, task_id, _at, _entered = row
    return (
        kind in _ACTION_KINDS
        and element in graph.manual
        and actor is not None
        and task_id is not None
    )


def _responses(
    graph: _Graph,
    base: dict[str, Any],
    rows: Iterable[_HistoryRow],
    opened: Mapping[str, datetime],
) -> list[dict[str, Any]]:
    """Each person's first action on each task of `rows`, from when the task became ready:
    the completion says, or the open task."""
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
                _RESPONSE,
                actor,
                _epoch(ready),
                seconds=took,
                bucket=_bucket(took),
                task_id=task_id,
            )
        )
    return found


def _entries(
    history: Iterable[tuple[float, str]], graph: _Graph, open_tasks: Iterable[_OpenRow]
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


def _deal_facts(
    graph: _Graph,
    process_id: str,
    instance_id: int,
    history: list[_HistoryRow],
    open_tasks: list[_OpenRow],
    created: datetime,
) -> list[dict[str, Any]]:
    """The facts of one deal (created at `created`), as rows of report_fact."""
    base = {"instance_id": instance_id, "process_id": process_id}
    facts: list[dict[str, Any]] = []
    for row in history:
        facts.extend(_row_facts(graph, base, row, created))
    opened = {task_id: ready for task_id, _element, ready in open_tasks}
    facts.extend(_responses(graph, base, history, opened))
    told = (e for e in (_entry(graph, row) for row in history) if e is not None)
    facts.extend(_stage_facts(graph, base, _entries(told, graph, open_tasks)))
    return facts


def _stage_facts(
    graph: _Graph, base: dict[str, Any], entries: Mapping[tuple[float, str], str | None]
) -> list[dict[str, Any]]:
    """One row per stage entry, in the order the reports see them: by time, then rank."""
    if not entries:
        return []
    ranks = graph.ranks

    def rank(stage: str) -> int:
        return ranks.get(stage, len(ranks))

    ordered = sorted(entries, key=lambda x: (x[0], rank(x[1])))
    n = len(ordered)
    # The next entry of another stage, by position.
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
        if stage != _LOST:
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
        further = higher[stage]
        plain = previous[i] is None and (further is None or further >= e)
        rows.append(
            _fact(
                base,
                _STAGE if plain else _RESTAGE,
                stage,
                e,
                seconds=stay,
                bucket=_bucket(stay) if stay is not None else None,
                previous=previous[i],
                higher=higher[stage],
                task_id=entries[(e, stage)],
            )
        )
    if irregular:
        rows.append(_fact(base, _IRREGULAR, "", ordered[0][0]))
    return rows


def _depends_on_start(
    ordered: Sequence[tuple[float, str]],
    i: int,
    j: int | None,
    previous: float | None,
    times: dict[str, list[float]],
) -> bool:
    """Whether the stay of entry i depends on where a period starts."""
    if j is None:
        return False
    ends_at, stage = ordered[j]
    return any((previous is None or e > previous) and e < ends_at for e in times[stage])


# --- writing them (engine.usecases.reports.facts.rebuild) ---------------------------------------


def _counts_of(facts: Iterable[Mapping[str, Any]]) -> _Counts:
    """report_count's rows for some facts: (kind, process, span, key, bucket, further) -> n."""
    found: _Counts = Counter()
    for fact in facts:
        if fact["kind"] in _COUNTED:
            further = int(fact["kind"] == _STAGE and fact["higher"] is not None)
            span = math.floor(fact["at"] / _SPAN)
            found[
                (
                    fact["kind"],
                    fact["process_id"],
                    span,
                    fact["key"],
                    _coarse(fact["bucket"]),
                    further,
                )
            ] += 1
    return found


def _count_rows(counts: _Counts) -> list[dict[str, Any]]:
    return [dict(zip(_GROUP, k, strict=True)) | {"n": n} for k, n in sorted(counts.items()) if n]


def _rebuild(conn: sa.Connection) -> int:
    """Every deal's facts and counts, from the whole history.  Returns how many facts it
    wrote."""
    graphs: dict[str, _Graph] = {}  # content hash -> graph; a version's content never changes
    versions: dict[int, _Graph] = {}
    for vid, content_hash in conn.execute(
        sa.select(_definition_version.c.id, _definition_version.c.content_hash)
    ):
        if content_hash not in graphs:
            text = conn.scalar(
                sa.select(_definition_version.c.spec).where(_definition_version.c.id == vid)
            )
            graphs[content_hash] = _graph(text or "")
        versions[vid] = graphs[content_hash]
    deals = {
        iid: (process_id, versions[vid], created)
        for iid, process_id, vid, created in conn.execute(
            sa.select(
                _instance.c.id,
                _instance.c.process_id,
                _instance.c.version_id,
                _instance.c.created_at,
            )
        )
    }
    open_tasks: dict[int, list[_OpenRow]] = defaultdict(list)
    for iid, task_id, element_id, created in conn.execute(
        sa.select(
            _open_task.c.instance_id,
            _open_task.c.task_id,
            _open_task.c.element_id,
            _open_task.c.created_at,
        )
    ):
        open_tasks[iid].append((task_id, element_id, created))
    conn.execute(sa.delete(_report_fact))
    conn.execute(sa.delete(_report_count))
    conn.execute(sa.delete(_report_pending))
    h = _history.c
    rows = (
        sa.select(h.instance_id, h.kind, h.element_id, h.actor, h.task_id, h.at, h.entered_at)
        .where(h.element_id.is_not(None))
        .order_by(h.instance_id, h.id)
        .execution_options(yield_per=_BATCH)
    )
    pending: list[dict[str, Any]] = []
    counts: _Counts = Counter()
    written = 0

    def add(iid: int, history: list[_HistoryRow]) -> None:
        nonlocal written
        if iid not in deals:
            return
        process_id, graph, created = deals.pop(iid)
        facts = _deal_facts(graph, process_id, iid, history, open_tasks.get(iid, []), created)
        pending.extend(facts)
        counts.update(_counts_of(facts))
        if len(pending) >= _BATCH:
            conn.execute(sa.insert(_report_fact), pending)
            written += len(pending)
            pending.clear()

    current: int | None = None
    of_deal: list[_HistoryRow] = []
    for iid, *row in conn.execute(rows):
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
        conn.execute(sa.insert(_report_fact), pending)
        written += len(pending)
    summed = _count_rows(counts)
    for start in range(0, len(summed), _BATCH):
        conn.execute(sa.insert(_report_count), summed[start : start + _BATCH])
    return written
