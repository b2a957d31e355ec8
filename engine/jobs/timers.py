"""Firing due timers in batches: the worker's main use case (and `salesflow tick`).

Only due deals are read: `instance.next_due_at` is indexed and kept by every save.  On
PostgreSQL a batch is one transaction: its deals are locked with FOR UPDATE SKIP LOCKED, so
several workers take disjoint batches and never wait for each other, each deal runs inside
its own savepoint, and the batch commits once.  On SQLite, whose write lock is the whole
database's, each due deal is fired in a transaction of its own that takes the lock only once
the deal's timers have run, so no process's scripts keep the web app's writes waiting.  Either
way a worker killed mid-batch leaves nothing half done: what was not committed is fired again
after the restart, never twice.

A deal whose timers fail with an engine error goes to `error` (an incident, recorded by
changes.save_change).  Any other failure — a bug, a lost connection — rolls back that deal's
savepoint only and puts its next look `RETRY_AFTER` later, so one broken deal can neither block
the others nor be retried in a hot loop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.core.failures import describe_failure
from engine.errors import StorageUnavailableError
from engine.store.models import Instance, OpenTask
from engine.usecases.unit import StaleReadError

if TYPE_CHECKING:
    from engine.usecases.service import Service
    from engine.usecases.unit import UnitOfWork

log = logging.getLogger(__name__)

BATCH_SIZE = 100
# How long one batch may hold its transaction (on SQLite: the database's write lock, which
# the web app's writes wait for).
BATCH_SECONDS = 0.25
RETRY_AFTER = timedelta(minutes=1)


@dataclass
class Batch:
    """What one batch did."""

    deals: int = 0  # deals whose timers were looked at and saved
    fired: int = 0  # timer events that fired
    failed: list[int] = field(default_factory=list)  # deals put off for a retry
    more: bool = False  # due deals were left for the next batch


def fire_due_batch(
    service: Service,
    *,
    now: datetime | None = None,
    limit: int = BATCH_SIZE,
    seconds: float = BATCH_SECONDS,
) -> Batch:
    """Fire the timers of up to `limit` due deals (fewer if `seconds` run out) in one
    transaction, earliest due first.  The batch first runs without savepoints (two
    statements and a flush less per deal); if any deal fails for a reason other than its
    process, that attempt rolls back as a whole and the batch runs again with a savepoint
    per deal, so the failing deal is put off and the others fire."""
    if service.db.is_sqlite:
        return _deal_by_deal(service, now or clock.now(), limit, seconds)
    try:
        return _batch(service, now or clock.now(), limit, seconds, isolate=False)
    except Exception:
        log.warning("a deal of the batch failed: firing the batch again deal by deal")
        return _batch(service, now or clock.now(), limit, seconds, isolate=True)


def _deal_by_deal(service: Service, now: datetime, limit: int, seconds: float) -> Batch:
    """SQLite: the due deals, each fired in a transaction of its own that takes the
    database's write lock only once the deal's timers have run (engine.usecases.unit), so a
    process's scripts never keep the web app's writes waiting.  A deal that fails for a
    reason other than its process is put off by RETRY_AFTER; the others go on."""
    started = time.monotonic()
    batch = Batch()
    due_now = (Instance.status == "running", Instance.next_due_at <= now)
    with service.db.read() as s:
        rows = s.execute(
            select(Instance.id, Instance.lock_version)
            .where(*due_now)
            .order_by(Instance.next_due_at, Instance.id)
            .limit(limit)
        )
        versions: dict[int, int] = {iid: version for iid, version in rows}
        due = list(versions)
        open_before = _open_tasks(s, due)
    for n, iid in enumerate(due):
        if n and time.monotonic() - started > seconds:
            batch.more = True
            break
        try:
            with service.space.write() as unit:
                inst = unit.s.scalars(select(Instance).where(Instance.id == iid, *due_now)).first()
                if inst is None:
                    continue  # fired or changed meanwhile
                # Its open tasks as read with the batch, unless the deal changed since.
                known = open_before[iid] if inst.lock_version == versions[iid] else None
                fired = _fire(unit, inst, known)
        except StaleReadError:
            batch.more = True  # changed meanwhile: the next batch looks at it again
            continue
        except StorageUnavailableError:
            raise  # the worker waits and tries again
        except Exception:
            log.exception("firing the timers of deal %s failed; retrying later", iid)
            with service.db.write() as s:
                s.execute(
                    update(Instance)
                    .where(Instance.id == iid)
                    .values(next_due_at=clock.now() + RETRY_AFTER)
                )
            batch.failed.append(iid)
            continue
        batch.deals += 1
        batch.fired += fired
    else:
        batch.more = len(due) == limit
    return batch


def _batch(service: Service, now: datetime, limit: int, seconds: float, *, isolate: bool) -> Batch:
    started = time.monotonic()
    batch = Batch()
    with service.space.write() as unit:
        s = unit.s
        query = (
            select(Instance)
            .where(Instance.status == "running", Instance.next_due_at <= now)
            .order_by(Instance.next_due_at, Instance.id)
            .limit(limit)
        )
        if not service.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        due = list(s.scalars(query))
        # The open tasks of the whole batch in one read (each saved change compares them).
        open_before = _open_tasks(s, [inst.id for inst in due])
        for n, inst in enumerate(due):
            if n and time.monotonic() - started > seconds:
                batch.more = True
                break
            iid = inst.id
            if not isolate:
                fired = _fire(unit, inst, open_before[iid])  # a failure ends the batch
            else:
                try:
                    with unit.savepoint():
                        fired = _fire(unit, inst, open_before[iid])
                except Exception:
                    log.exception("firing the timers of deal %s failed; retrying later", iid)
                    s.execute(
                        update(Instance)
                        .where(Instance.id == iid)
                        .values(next_due_at=clock.now() + RETRY_AFTER)
                        .execution_options(synchronize_session=False)
                    )
                    batch.failed.append(iid)
                    continue
            batch.deals += 1
            batch.fired += fired
        else:
            batch.more = len(due) == limit
    return batch  # only committed states went back into the cache (the unit of work)


def _open_tasks(s: Session, ids: list[int]) -> dict[int, set[str]]:
    """The open tasks of these deals, in one read."""
    found: dict[int, set[str]] = {iid: set() for iid in ids}
    if ids:
        query = select(OpenTask.instance_id, OpenTask.task_id)
        for iid, task_id in s.execute(query.where(OpenTask.instance_id.in_(ids))):
            found[iid].add(task_id)
    return found


def _fire(unit: UnitOfWork, inst: Instance, open_before: set[str] | None = None) -> int:
    """Fire a locked deal's due timers; how many fired.  A failure of the process puts the
    deal in error (an incident); anything else is raised."""
    deal = unit.open(inst)
    error = None
    try:
        deal.workflow.refresh_timers()
        deal.change.engine_steps()
    except WorkflowException as exc:
        error = describe_failure(exc)
    events = deal.save(actor=None, error=error, open_before=open_before)
    unit.s.flush()
    return sum(1 for e in events if e.kind == "timer")


def fire_due(service: Service, *, now: datetime | None = None) -> Batch:
    """Fire everything due at `now`, batch after batch (what `salesflow tick` does once)."""
    now = now or clock.now()
    total = Batch()
    while True:
        batch = fire_due_batch(service, now=now)
        total.deals += batch.deals
        total.fired += batch.fired
        total.failed += batch.failed
        if not batch.more:
            return total


def next_due(service: Service) -> datetime | None:
    """When the earliest waiting timer of any running deal is due (an index lookup)."""
    with service.db.read() as s:
        return s.scalar(select(func.min(Instance.next_due_at)).where(Instance.status == "running"))


def tick(service: Service) -> dict[str, int]:
    """Fire every timer that is due now, once (`salesflow tick`; the worker does it
    continuously)."""
    return {"fired": fire_due(service).fired}
