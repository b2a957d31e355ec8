"""What a process's heatmap reads of its deals (engine.usecases.heat): how many there are, and
where the open ones are now (`OpenPositions`).

How many: kept per process and version as deals are added and moved (ProcessDeals,
migrations 0018 and 0021).  Where: read
from the index ix_instance_version (process, status, version, lock_version; migration 0015)
alone: a row of `instance` carries the deal's serialized workflow and its JSON, and
reading 100,000 of them is what made the heatmap take seconds.  Where an open deal is (its
`position`) is read once and kept with the lock_version it was read at: every change of a
deal's position goes through the unit of work, which raises lock_version (the workflow cache
relies on the same), so a deal whose lock_version is the one kept is where it was.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from engine.store.db import remembered
from engine.store.models import ADD_DEAL, STRIPES, Instance, ProcessDeals

__all__ = [
    "OPEN_DEALS",
    "OPEN_STATES",
    "OpenPositions",
    "deal_counts",
    "moved",
    "open_deals",
    "positions",
    "version_counts",
]

OPEN_DEALS = ("running", "error")  # deals that sit somewhere in their process now
OPEN_STATES = ("ready", "waiting", "error")  # where in a position a deal sits now
_CHUNK = 500  # ids in one IN (...) list


def deal_counts(s: Session, process_id: str, version_id: int | None) -> tuple[int, int]:
    """How many deals the process has, and how many of them run on `version_id` (all of
    them when None): kept per version as deals are added and moved (ProcessDeals), read once
    per page (the heatmap and the versions list beside it both ask;
    engine.store.db.remembered)."""
    kept = _kept_counts(s, process_id)
    total = sum(kept.values())
    return total, total if version_id is None else kept.get(version_id, 0)


def _kept_counts(s: Session, process_id: str) -> dict[int, int]:
    """version id -> how many of the process's deals run on it (ProcessDeals)."""

    def read() -> dict[int, int]:
        query = (
            select(ProcessDeals.version_id, func.sum(ProcessDeals.n))
            .where(ProcessDeals.process_id == process_id)
            .group_by(ProcessDeals.version_id)
        )
        return {int(v): int(n or 0) for v, n in s.execute(query) if n}

    return remembered(s, ("deal_counts", process_id), read)


def moved(s: Session, deal: Instance, old_version_id: int) -> None:
    """Count `deal`, being moved from version `old_version_id` to its `version_id` now, on
    the version it runs on (engine.usecases.unit, in the move's own transaction)."""
    stripe = deal.id % STRIPES
    s.execute(
        update(ProcessDeals)
        .where(
            ProcessDeals.process_id == deal.process_id,
            ProcessDeals.version_id == old_version_id,
            ProcessDeals.stripe == stripe,
        )
        .values(n=ProcessDeals.n - 1)
    )
    s.execute(
        ADD_DEAL,
        {"process_id": deal.process_id, "version_id": deal.version_id, "stripe": stripe},
    )


def recount(s: Session) -> None:
    """Count every process's deals anew (after rows were written around the ORM, as
    bench/_bulk.py does)."""
    s.execute(delete(ProcessDeals))
    deals = Instance.__table__.c
    stripe = deals.id % STRIPES
    s.execute(
        insert(ProcessDeals).from_select(
            ["process_id", "version_id", "stripe", "n"],
            select(deals.process_id, deals.version_id, stripe, func.count()).group_by(
                deals.process_id, deals.version_id, stripe
            ),
        )
    )


def version_counts(s: Session, process_id: str) -> dict[int, dict[str, int]]:
    """version id -> status -> how many of the process's deals (the versions list of the
    process page): the open ones per status from their entries (the heatmap beside the list
    reads them too: `open_deals`), the others, from the kept counts, under "closed"."""
    found: dict[int, dict[str, int]] = {}
    for _iid, _lock, status, version_id in _open_rows(s, process_id):
        statuses = found.setdefault(version_id, {})
        statuses[status] = statuses.get(status, 0) + 1
    for version_id, n in _kept_counts(s, process_id).items():
        statuses = found.setdefault(version_id, {})
        statuses["closed"] = n - sum(statuses.values())
    return found


def open_deals(s: Session, process_id: str, version_id: int | None) -> dict[int, int]:
    """id -> lock_version of the process's open deals (of `version_id` when given)."""
    return {
        iid: lock
        for iid, lock, _status, version in _open_rows(s, process_id)
        if version_id is None or version == version_id
    }


def _open_rows(s: Session, process_id: str) -> list[tuple[int, int, str, int]]:
    """(id, lock_version, status, version id) of the process's open deals, read once per
    page (engine.store.db.remembered)."""
    return remembered(s, ("open_deals", process_id), lambda: _read_open_rows(s, process_id))


def _read_open_rows(s: Session, process_id: str) -> list[tuple[int, int, str, int]]:
    deals = Instance.__table__.c
    query = select(deals.id, deals.lock_version, deals.status, deals.version_id).where(
        deals.process_id == process_id, deals.status.in_(OPEN_DEALS)
    )
    # The driver's own rows, all at once: they need no conversion, and building
    # SQLAlchemy's rows (through the ORM, or one by one) for 10,000 of them took two to five
    # times as long as reading them.
    result = s.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def positions(s: Session, ids: Iterable[int]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(id, lock_version, position) of the deals `ids`."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(Instance.id, Instance.lock_version, Instance.position).where(
            Instance.id.in_(chunk)
        )
        for iid, lock, position in s.execute(query):
            yield int(iid), int(lock), dict(position or {})


def _open_elements(position: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(e for e, state in position.items() if state in OPEN_STATES))


class OpenPositions:
    """The elements each open deal sits at, kept per process and deal with the deal's
    lock_version (see the module's docstring); one per process, shared by its threads."""

    def __init__(self) -> None:
        # process id -> (deal -> lock_version, deal -> the elements it sits at)
        self._kept: dict[str, tuple[dict[int, int], dict[int, tuple[str, ...]]]] = {}
        self._lock = threading.Lock()

    def here_now(self, s: Session, process_id: str, version_id: int | None) -> dict[str, int]:
        """Element id -> how many of the process's open deals (of `version_id`) sit there."""
        open_now = open_deals(s, process_id, version_id)
        with self._lock:
            locks, sits = self._kept.setdefault(process_id, ({}, {}))
            changed = [iid for iid, _lock in open_now.items() - locks.items()]
        if changed:
            fresh = [(iid, lock, _open_elements(pos)) for iid, lock, pos in positions(s, changed)]
            with self._lock:
                for iid, lock, elements in fresh:
                    sits[iid] = elements
                    locks[iid] = lock
        # Deals sitting at the same elements are counted together: once per distinct set (a
        # deal gone between the two reads has none).
        sets: Counter[tuple[str, ...] | None] = Counter(map(sits.get, open_now))
        here: Counter[str] = Counter()
        for at, n in sets.items():
            for element in at or ():
                here[element] += n
        if version_id is None and len(locks) > 2 * len(open_now) + 1000:
            with self._lock:  # most deals kept have ended: forget them
                self._kept[process_id] = (
                    {i: v for i, v in locks.items() if i in open_now},
                    {i: v for i, v in sits.items() if i in open_now},
                )
        return dict(here)
