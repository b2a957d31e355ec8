"""The unit of work: the one way to change a deal.

Every change to a deal — a task completed on a page or through the API, a message delivered,
a timer fired by the worker, an incident retried, a deal moved to another version, a step
of the demo — goes the same way (design.md, "completing a task"):

    with space.write() as unit:                  # one transaction
        deal = unit.deal(instance_id)            # locked; its workflow from the cache or the
        deal.run(task.run)                       #   database; a person's step: failure refused
        deal.save(actor=user)                    # history, open tasks, state, lock_version + 1
    # committed: the workflow goes back into the cache for the next step

Any error before the commit leaves the deal exactly where it was, and a workflow whose change
was not committed never goes back into the cache.  `Workspace` is what a process keeps for
its whole life (the database, the deployed versions ready to run, the live workflows);
`UnitOfWork` is one transaction; `DealChange` is one deal being changed in it.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, defer

from engine import clock
from engine.core import runtime
from engine.core.failures import describe_failure
from engine.core.graph import Graph
from engine.core.version import VersionRuntime
from engine.errors import ConflictError, ExpressionError, NotFoundError
from engine.store import changes, heat
from engine.store import deployments as versions
from engine.store.db import Database
from engine.store.models import Instance

__all__ = [
    "DealChange",
    "StaleReadError",
    "UnitOfWork",
    "WorkflowCache",
    "Workspace",
    "parse_id",
    "retried",
]

_T = TypeVar("_T")

# Live workflows kept between calls; 0 turns the cache off (every step restored from the
# database: what the engine tests run with, see tests/engine/conftest.py).
WORKFLOW_CACHE_SIZE = 2000


# The ids are the database's INTEGER columns: 32 bits on PostgreSQL, so no row has a larger id
# (and a larger number would overflow the driver, SQLite's 64 bits included: a 500).
MAX_ID = 2**31 - 1


def parse_id(value: str | int, what: str = "instance") -> int:
    """An id from a URL, a form or the command line; NotFoundError for anything else,
    a number no row can have (below 1, beyond the database's integers) included."""
    try:
        if isinstance(value, str) and len(value.strip()) > len(str(MAX_ID)) + 1:
            raise ValueError(value)  # no int() of 5,000 digits
        number = int(value)
    except (TypeError, ValueError):
        raise NotFoundError(f"no {what} with id '{str(value)[:40]}'") from None
    if not 1 <= number <= MAX_ID:
        raise NotFoundError(f"no {what} with id '{number}'")
    return number


class WorkflowCache:
    """Live workflows kept between calls, keyed by instance and valid for one lock_version.

    `checkout` removes the entry, so two threads never share a workflow object; whoever commits
    puts the new state back.
    """

    def __init__(self, size: int | None = None) -> None:
        self.size = WORKFLOW_CACHE_SIZE if size is None else size
        self._items: OrderedDict[int, tuple[int, runtime.SalesWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def checkout(self, instance_id: int, lock_version: int) -> runtime.SalesWorkflow | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is not None and item[0] == lock_version:
            return item[1]
        return None

    def holds(self, instance_id: int) -> bool:
        """Whether a workflow of the instance is kept (of some lock_version): then its stored
        state is likely not needed."""
        return instance_id in self._items

    def checkin(self, instance_id: int, lock_version: int, wf: runtime.SalesWorkflow) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[instance_id] = (lock_version, wf)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _locking(*, for_update: bool, with_state: bool) -> Select[Instance]:
    query = (
        select(Instance)
        .where(Instance.id == bindparam("instance_id"))
        .execution_options(populate_existing=True)
    )
    if not with_state:
        query = query.options(defer(Instance.state))
    return query.with_for_update() if for_update else query


# How `UnitOfWork.lock` reads a deal, built once (a statement built per call, as `Session.get`
# with options does, costs more than the read): (FOR UPDATE, with the state) -> query.
_LOCKING = {
    (for_update, with_state): _locking(for_update=for_update, with_state=with_state)
    for for_update in (False, True)
    for with_state in (False, True)
}


class StaleReadError(ConflictError):
    """A deal read by a unit of work changed before the unit could write (SQLite): nothing
    was written, so the use case may simply run again (`retried`)."""


_P = ParamSpec("_P")
_R = TypeVar("_R")
STALE_RETRIES = 3


def retried(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """A use case that changes deals, run again (up to STALE_RETRIES times) when a deal it
    read changed before it could write: it then sees the other change (the task already
    done, the message already delivered) as it would have waited for it."""

    @functools.wraps(method)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for attempt in range(STALE_RETRIES + 1):
            try:
                return method(*args, **kwargs)
            except StaleReadError:
                if attempt == STALE_RETRIES:
                    raise
        raise AssertionError("unreachable")

    return run


def run_step(step: Callable[[], _T]) -> _T:
    """Run engine work a person started: a failure refuses the whole change (ExpressionError
    naming the element), so the deal stays where it was."""
    try:
        return step()
    except WorkflowException as exc:
        info = describe_failure(exc)
        where = info["element_name"] or info["element_id"] or "the process"
        raise ExpressionError(f"{where} ({info['element_id']}) failed: {info['message']}") from exc


@dataclass
class DealChange:
    """One deal being changed inside a unit of work: its locked row, its version ready to run,
    its live workflow and the change being recorded on it."""

    unit: UnitOfWork
    deal: Instance
    version: VersionRuntime
    workflow: runtime.SalesWorkflow
    change: runtime.Change

    def run(self, step: Callable[[], _T]) -> _T:
        """A person's step (see `run_step`)."""
        return run_step(step)

    def save(
        self,
        *,
        actor: str | None,
        roles: dict[str, set[str]] | None = None,
        now: datetime | None = None,
        **more: Any,
    ) -> list[runtime.Event]:
        """Write what the change did (engine.store.changes.save_change): history, open tasks,
        the deal's fields and state with lock_version + 1; ConflictError when someone else
        changed the deal meanwhile.  After the commit the workflow goes back into the cache."""
        events = changes.save_change(
            self.unit.s,
            self.deal,
            self.version,
            self.change,
            actor=actor,
            now=clock.now() if now is None else now,
            roles=self.unit.roles if roles is None else roles,
            **more,
        )
        self.unit.saved.append(self)
        return events

    def keep(self) -> None:
        """The deal was looked at and not changed: after the commit its workflow goes back
        into the cache as it was."""
        self.unit.saved.append(self)


@dataclass
class UnitOfWork:
    """One write transaction of a use case, and the deals it changes."""

    space: Workspace
    s: Session
    saved: list[DealChange] = field(default_factory=list)
    # Who holds which role, read once per unit (the change writer fills it as it goes).
    roles: dict[str, set[str]] = field(default_factory=dict)
    # The deals opened, with the lock_version they were read at.
    read_at: dict[int, int] = field(default_factory=dict)

    def still_current(self, cursor: Any) -> None:
        """On SQLite, once the write lock is taken after the engine ran (see Workspace.write):
        the deals this unit read must not have changed meanwhile, else nothing is written."""
        if not self.read_at:
            return
        ids = list(self.read_at)
        marks = ", ".join("?" * len(ids))
        now = dict(
            cursor.execute(f"SELECT id, lock_version FROM instance WHERE id IN ({marks})", ids)
        )
        changed = sorted(iid for iid in ids if now.get(iid) != self.read_at[iid])
        if changed:
            raise StaleReadError(
                f"deal {changed[0]} was changed by someone else while this step ran; "
                "nothing was changed: reload it and try again"
            )

    def version(self, version_id: int) -> VersionRuntime:
        return self.space.version(self.s, version_id)

    def lock(self, instance_id: str | int, *, status: str | None = "running") -> Instance:
        """The deal's row, locked for this transaction (FOR UPDATE on PostgreSQL; on SQLite
        `still_current` checks it at the first write).  `status`: the one it must have."""
        iid = parse_id(instance_id)
        # The stored state (tens of KB) is read only when no live workflow is kept: a cache
        # miss after all loads it with a second, small query (`open`).
        query = _LOCKING[not self.space.db.is_sqlite, not self.space.workflows.holds(iid)]
        inst = self.s.execute(query, {"instance_id": iid}).scalar_one_or_none()
        if inst is None:
            raise NotFoundError(f"no instance with id '{instance_id}'")
        if status is not None and inst.status != status:
            raise ConflictError(f"deal {iid} is {inst.status}")
        return inst

    def deal(self, instance_id: str | int, *, status: str | None = "running") -> DealChange:
        """Lock a deal and take its workflow: from the cache when it holds this lock_version,
        else restored from the stored state."""
        return self.open(self.lock(instance_id, status=status))

    def open(self, inst: Instance) -> DealChange:
        """A deal this transaction has locked already (a batch of the worker), ready to change."""
        vr = self.version(inst.version_id)
        self.read_at.setdefault(inst.id, inst.lock_version)
        wf = self.space.workflows.checkout(inst.id, inst.lock_version)
        if wf is None:
            wf = runtime.load_state(inst.state, vr.spec, vr.subprocess_specs)
        return DealChange(self, inst, vr, wf, runtime.Change(wf))

    def adopt(self, inst: Instance, vr: VersionRuntime, change: runtime.Change) -> DealChange:
        """A deal locked here whose workflow the caller has rebuilt (moved to version `vr`):
        the cached workflow, the old version's, is dropped."""
        self.space.workflows.checkout(inst.id, inst.lock_version)
        old_version_id, inst.version_id = inst.version_id, vr.version_id
        inst.version_number = vr.version
        if old_version_id != vr.version_id:
            heat.moved(self.s, inst, old_version_id)  # the versions' deal counts
        return DealChange(self, inst, vr, change.workflow, change)

    def new_deal(
        self, vr: VersionRuntime, wf: runtime.SalesWorkflow, change: runtime.Change, inst: Instance
    ) -> DealChange:
        """A deal being started: its row is added when it is saved."""
        self.s.add(inst)
        return DealChange(self, inst, vr, wf, change)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Changes that may fail alone: on an error they are rolled back (and their deals'
        workflows are not cached), the rest of the transaction goes on."""
        before = len(self.saved)
        nested = self.s.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            del self.saved[before:]
            raise
        nested.commit()


class Workspace:
    """What the use cases of one process share: the database, the deployed versions restored
    once and kept, and the live workflows kept between calls."""

    def __init__(self, db: Database, *, workflow_cache: int | None = None) -> None:
        self.db = db
        self.workflows = WorkflowCache(workflow_cache)
        self._versions: dict[int, VersionRuntime] = {}
        self._versions_lock = threading.Lock()
        # Charts' graphs, parsed once per version (engine.usecases.charts): by version id,
        # and by (process id, version number) with the layout's cache key.
        self.graphs: dict[int, Graph] = {}
        self.graphs_by_number: dict[tuple[str, int], tuple[Graph, str]] = {}
        # Words gathered over every process's latest versions, per kind and language, with the
        # versions they were gathered from (engine.usecases.texts: stage labels, field titles).
        self.latest_texts: dict[tuple[str, str], tuple[tuple[int, ...], dict[str, str]]] = {}
        # Where each open deal sits, per lock_version: what a heatmap counts (engine.store.heat).
        self.open_positions = heat.OpenPositions()
        # What use cases keep between calls for a while: the latest forecasts of the board
        # and the deal page (engine.usecases.forecast), by kind and process.
        self.kept: dict[tuple[Any, ...], Any] = {}

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        """One write transaction; after its commit the saved deals' workflows are cached.

        On SQLite it takes the database's write lock only at its first write: the engine
        step, however long a process's scripts make it, runs before, and other people's
        changes go on meanwhile.  Then `UnitOfWork.still_current` refuses the change if
        one of its deals was changed in between (PostgreSQL locks the deal's row instead)."""
        with self.db.write(deferred=True) as s:
            unit = UnitOfWork(self, s)
            self.db.on_upgrade(s, unit.still_current)
            yield unit
        for done in unit.saved:
            self.workflows.checkin(done.deal.id, done.deal.lock_version, done.workflow)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.db.read() as s:
            yield s

    def version(self, s: Session, version_id: int) -> VersionRuntime:
        """A deployed version ready to run, restored once per process and kept."""
        cached = self._versions.get(version_id)
        if cached is not None:
            return cached
        vr = versions.load_version(s, version_id)
        with self._versions_lock:
            return self._versions.setdefault(version_id, vr)
