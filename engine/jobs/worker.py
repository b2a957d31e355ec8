"""`salesflow worker`: the long-running process that fires due timers and runs the periodic
jobs (SLA escalations, ending delegations, e-mail, daily digests).

- Timers: one indexed lookup of the earliest `next_due_at` decides how long to sleep (at most
  `poll` seconds, so a timer is fired well within a second of its due time); due deals are
  fired in batches by engine.jobs.timers.
- Jobs: each runs every `interval` seconds; a failing job is logged and retried at its next
  turn, it never stops the timers.
- Several workers against one PostgreSQL share the work (engine.jobs.timers locks with SKIP
  LOCKED).  On SQLite one worker is the supported set-up: a second one is refused while the
  first one's heartbeat is fresh (a worker that died without saying so — kill -9 — stops
  counting after `STALE_AFTER`, or at once if its process is gone from this machine).
- A database that cannot be written (disk full, read-only, server gone) does not stop it:
  it waits (1 s, doubling up to a minute) and carries on once writes work again.
- SIGTERM/SIGINT: the batch in hand is finished and committed, then the worker stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from engine import clock
from engine.errors import ConflictError, StorageUnavailableError
from engine.jobs import deliveries, timers
from engine.store.models import WorkerHeartbeat as WorkerRow

if TYPE_CHECKING:
    from engine.usecases.service import Service

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
HEARTBEAT_EVERY = 2.0
STALE_AFTER = timedelta(seconds=15)
# While the database cannot be written: the first wait, doubled up to the longest.
STORAGE_PAUSE = 1.0
STORAGE_PAUSE_MAX = 60.0


@dataclass
class Job:
    """A periodic piece of work: `run(service, now)` returns how many things it did."""

    name: str
    interval: float
    run: Callable[[Service, datetime], int]
    last: float = float("-inf")


@dataclass
class Stats:
    batches: int = 0
    deals: int = 0
    fired: int = 0
    failed: int = 0
    jobs: int = 0
    storage_failures: int = 0  # turns the database could not be written


class Worker:
    def __init__(
        self,
        service: Service,
        *,
        poll: float = POLL_SECONDS,
        jobs: list[Job] | None = None,
        name: str | None = None,
    ) -> None:
        self.service = service
        self.poll = poll
        self.jobs = default_jobs() if jobs is None else jobs
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.name = name or f"{self.host}:{self.pid}"
        self.stopping = threading.Event()
        self.stats = Stats()
        self.row_id: int | None = None
        self._beat = float("-inf")

    # --- lifecycle ---------------------------------------------------------------------

    def register(self) -> None:
        """Record this worker; on SQLite refuse to start beside a live one."""
        now = clock.now()
        with self.service.db.write() as s:
            if self.service.db.is_sqlite:
                live = s.scalars(
                    select(WorkerRow).where(
                        WorkerRow.stopped_at.is_(None),
                        WorkerRow.heartbeat_at > now - STALE_AFTER,
                    )
                ).all()
                for other in live:
                    if other.host == self.host and not _alive(other.pid):
                        other.stopped_at = now  # died without saying so
                        continue
                    raise ConflictError(
                        f"another worker ({other.name}, pid {other.pid} on {other.host}, "
                        f"started {other.started_at:%Y-%m-%d %H:%M:%S} UTC) is running against "
                        "this SQLite database; SQLite supports one worker — stop it first, "
                        "or use PostgreSQL (SALESFLOW_DATABASE_URL) to run several"
                    )
            row = WorkerRow(
                name=self.name,
                host=self.host,
                pid=self.pid,
                started_at=now,
                heartbeat_at=now,
            )
            s.add(row)
            s.flush()
            self.row_id = row.id
        self._beat = time.monotonic()

    def heartbeat(self, force: bool = False) -> None:
        if self.row_id is None or (not force and time.monotonic() - self._beat < HEARTBEAT_EVERY):
            return
        with self.service.db.write() as s:
            s.execute(
                update(WorkerRow)
                .where(WorkerRow.id == self.row_id)
                .values(heartbeat_at=clock.now())
            )
        self._beat = time.monotonic()

    def unregister(self) -> None:
        if self.row_id is None:
            return
        with self.service.db.write() as s:
            s.execute(
                update(WorkerRow)
                .where(WorkerRow.id == self.row_id)
                .values(stopped_at=clock.now(), heartbeat_at=clock.now())
            )
        self.row_id = None

    def stop(self, *_args: Any) -> None:
        """Ask the loop to stop after the batch in hand (also the signal handler)."""
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping after the batch in hand", signum)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # --- the loop ----------------------------------------------------------------------

    def run(self, *, until_idle: bool = False) -> Stats:
        """Work until stopped (or, with `until_idle`, until nothing is due)."""
        if self.row_id is None:
            self.register()
        pause = STORAGE_PAUSE
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.run_once()
                except StorageUnavailableError as exc:
                    # A full disk or a database gone: nothing was changed.  Wait and try
                    # again (longer each time), instead of dying with the timers undone.
                    self.stats.storage_failures += 1
                    log.warning("%s (%s); trying again in %ss", exc, exc.detail, pause)
                    self.stopping.wait(pause)
                    pause = min(pause * 2, STORAGE_PAUSE_MAX)
                    continue
                pause = STORAGE_PAUSE
                if until_idle and not busy:
                    break
                if not busy:
                    self.stopping.wait(self._sleep_time())
        finally:
            deliveries.wait_idle()  # the sends in hand (engine.jobs.deliveries) finish first
            with contextlib.suppress(StorageUnavailableError):
                self.unregister()
        return self.stats

    def run_once(self) -> bool:
        """One turn: a batch of due timers, the jobs whose turn it is, the heartbeat.  True
        when there may be more due work right away."""
        batch = timers.fire_due_batch(self.service)
        self.stats.batches += 1
        self.stats.deals += batch.deals
        self.stats.fired += batch.fired
        self.stats.failed += len(batch.failed)
        self._run_jobs()
        self.heartbeat()
        return batch.more

    def _run_jobs(self) -> None:
        ticks = time.monotonic()
        for job in self.jobs:
            if self.stopping.is_set() or ticks - job.last < job.interval:
                continue
            job.last = ticks
            try:
                self.stats.jobs += job.run(self.service, clock.now())
            except Exception:
                log.exception(
                    "the worker's job %r failed; it runs again in %ss", job.name, job.interval
                )

    def _sleep_time(self) -> float:
        due = timers.next_due(self.service)
        if due is None:
            return self.poll
        # A floor, so deals due but locked by another worker are not polled in a busy loop.
        return max(0.02, min(self.poll, (due - clock.now()).total_seconds()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_jobs() -> list[Job]:
    """The periodic jobs: SLA escalations every second (they fall due like timers), the end
    of delegations and the e-mail of notifications often, the daily digest when its hour
    comes, reminders for initiative rows nobody updated for a day and for customers silent
    past their tier's cadence, and the reports' facts of
    the deals that changed (so a report opened after a burst of timers need not work them
    out first), and the calls of service tasks' HTTP connectors (engine.jobs.connectors)
    every second, and the team-chat messages and webhook deliveries (engine.jobs.deliveries)
    every two seconds.  Each job knows what it already did, so a restart or a second worker repeats
    nothing."""
    from engine.jobs import cadence, deliveries, digest, escalation, mail, reminders
    from engine.jobs import connectors as connector_calls
    from engine.jobs import delegations as delegation_job
    from engine.usecases.reports import facts

    def delegations(service: Service, now: datetime) -> int:
        return sum(delegation_job.end_expired_delegations(service.db, now).values())

    return [
        Job("escalations", 1.0, lambda service, now: escalation.escalate_due(service.db, now)),
        Job("delegations", 30.0, delegations),
        Job("e-mail", 10.0, lambda service, now: mail.send_pending(service.db, now)),
        Job("deliveries", 2.0, lambda service, now: deliveries.in_background(service.db, now)),
        Job("digests", 60.0, lambda service, now: digest.send_digests(service.db, now)),
        Job("initiative reminders", 600.0, reminders.send_reminders),
        Job("cadence reminders", 600.0, cadence.send_cadence_reminders),
        Job("report facts", 5.0, lambda service, now: facts.catch_up(service.db)),
        Job("connector calls", 1.0, connector_calls.run_due_calls),
    ]
